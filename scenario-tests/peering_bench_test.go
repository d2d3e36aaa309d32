package scenariotests

import (
	"encoding/json"
	"fmt"
	"strconv"
	"testing"
	"time"

	"github.com/switchyard/switchyard/scenario-tests/harness"
)

// Run with: go test ./scenario-tests -run '^$' -bench Peering -benchtime 200x
//
// BenchmarkPeeringPropagation measures, on two peered 3-server clusters,
// the time from a write in the exporter (cluster-02) to its visibility in
// the importer's health endpoint (cluster-01, blocking query with ?peer):
// even iterations flip the health of an exported instance, odd ones add or
// remove an exported service's instance.
func BenchmarkPeeringPropagation(b *testing.B) {
	c1 := harness.NewCluster(b, 3, harness.ClusterOptions{Datacenter: "dc1"})
	c2 := harness.NewCluster(b, 3, harness.ClusterOptions{Datacenter: "dc2"})
	token := benchToken(b, c2.Leader())
	if code, out, _, err := c1.Leader().Do("POST", "/v1/peering/establish", []byte(fmt.Sprintf(`{"PeerName":"cluster-02","PeeringToken":%q}`, token))); err != nil || code != 200 {
		b.Fatalf("establish: %d %s %v", code, out, err)
	}
	exporter, importer := c2.Leader(), c1.Leader()
	benchRegister(b, exporter, "fe-0", "frontend-0", "passing")
	if code, out, _, err := exporter.Do("PUT", "/v1/config", []byte(`{"Kind":"exported-services","Name":"default","Services":[{"Name":"frontend","Consumers":[{"Peer":"cluster-01"}]}]}`)); err != nil || code != 200 {
		b.Fatalf("export: %d %s %v", code, out, err)
	}
	idx := waitImported(b, importer, 0, func(m map[string]string) bool { return m["frontend-0"] == "passing" })

	lat := make([]time.Duration, b.N)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		start := time.Now()
		var cond func(map[string]string) bool
		switch {
		case i%2 == 0:
			status := []string{"critical", "passing"}[(i/2)%2]
			benchRegister(b, exporter, "fe-0", "frontend-0", status)
			cond = func(m map[string]string) bool { return m["frontend-0"] == status }
		case (i/2)%2 == 0:
			benchRegister(b, exporter, "fe-1", "frontend-1", "passing")
			cond = func(m map[string]string) bool { _, ok := m["frontend-1"]; return ok }
		default:
			if code, out, _, err := exporter.Do("PUT", "/v1/catalog/deregister", []byte(`{"Node":"fe-1"}`)); err != nil || code != 200 {
				b.Fatalf("deregister: %d %s %v", code, out, err)
			}
			cond = func(m map[string]string) bool { _, ok := m["frontend-1"]; return !ok }
		}
		idx = waitImported(b, importer, idx, cond)
		lat[i] = time.Since(start)
	}
	b.StopTimer()
	reportLatencies(b, lat)
}

func benchToken(b *testing.B, s *harness.Server) string {
	var tok string
	harness.Eventually(b, 20*time.Second, func() error {
		code, out, _, err := s.Do("POST", "/v1/peering/token", []byte(`{"PeerName":"cluster-01"}`))
		if err != nil || code != 200 {
			return fmt.Errorf("token: %d %s %v", code, out, err)
		}
		var resp struct{ PeeringToken string }
		if err := json.Unmarshal(out, &resp); err != nil {
			return err
		}
		tok = resp.PeeringToken
		return nil
	})
	return tok
}

func benchRegister(b *testing.B, s *harness.Server, node, id, status string) {
	body := fmt.Sprintf(`{"Node":%q,"Address":"10.2.0.1","Service":{"ID":%q,"Service":"frontend","Port":8080},
		"Checks":[{"CheckID":"%s-http","Name":"http","ServiceID":%q,"Status":%q}]}`, node, id, id, id, status)
	if code, out, _, err := s.Do("PUT", "/v1/catalog/register", []byte(body)); err != nil || code != 200 {
		b.Fatalf("register: %d %s %v", code, out, err)
	}
}

// waitImported blocks on the importer's health endpoint from index idx
// until cond holds for instance ID → overall status, and returns the index.
func waitImported(b *testing.B, s *harness.Server, idx uint64, cond func(map[string]string) bool) uint64 {
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		code, body, hdr, err := s.Get("/v1/health/service/frontend?peer=cluster-02&wait=5s&index=" + strconv.FormatUint(idx, 10))
		if err != nil || code != 200 {
			b.Fatalf("health: %d %s %v", code, body, err)
		}
		idx, _ = strconv.ParseUint(hdr.Get("X-Consul-Index"), 10, 64)
		var entries []struct {
			Service struct{ ID string }
			Checks  []struct{ Status string }
		}
		if err := json.Unmarshal(body, &entries); err != nil {
			b.Fatal(err)
		}
		got := map[string]string{}
		for _, e := range entries {
			if len(e.Checks) > 0 {
				got[e.Service.ID] = e.Checks[0].Status
			}
		}
		if cond(got) {
			return idx
		}
	}
	b.Fatal("change not visible in the importer within 20s")
	return 0
}
