package agent_test

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"testing"

	"github.com/switchyard/switchyard/agent"
	"github.com/switchyard/switchyard/agent/agenttest"
)

// BenchmarkConfigPut measures PUT /v1/config of a new small service-defaults
// entry on a one-server cluster over loopback HTTP: handler, Raft (with its
// fsync) and Apply. Wall time is dominated by the disk; allocs/op and CPU
// profiles are the useful outputs on a shared machine.
func BenchmarkConfigPut(b *testing.B) {
	c := agenttest.NewCluster(b, 1)
	benchmarkConfigPut(b, c.Agents[0])
}

// BenchmarkConfigPutViaFollower is BenchmarkConfigPut sent to a follower of
// a three-server cluster, so every write is also forwarded to the leader.
func BenchmarkConfigPutViaFollower(b *testing.B) {
	c := agenttest.NewCluster(b, 3)
	benchmarkConfigPut(b, c.Followers()[0])
}

func benchmarkConfigPut(b *testing.B, a *agent.Agent) {
	url := "http://" + a.HTTPAddr() + "/v1/config"
	client := &http.Client{}
	put := func(i int) {
		body := fmt.Sprintf(`{"Kind":"service-defaults","Name":"bench-%d","Protocol":"http"}`, i)
		req, err := http.NewRequest(http.MethodPut, url, bytes.NewReader([]byte(body)))
		if err != nil {
			b.Fatal(err)
		}
		resp, err := client.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		out, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || string(out) != "true" {
			b.Fatalf("PUT: %d %s", resp.StatusCode, out)
		}
	}
	put(-1) // warm the connection and the route table
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		put(i)
		i++
	}
}
