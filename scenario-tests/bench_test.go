package scenariotests

import (
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/switchyard/switchyard/scenario-tests/harness"
)

// Run with: go test ./scenario-tests -run '^$' -bench . -benchtime 2000x
// Each benchmark starts its own 3-server cluster of real processes.

// percentile returns the p-th percentile (0-100) of sorted durations.
func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(float64(len(sorted)-1) * p / 100)
	return sorted[i]
}

func reportLatencies(b *testing.B, lat []time.Duration) {
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	b.ReportMetric(float64(percentile(lat, 50).Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(percentile(lat, 99).Microseconds())/1000, "p99-ms")
}

// benchmarkConfigPut issues b.N config-entry PUTs through HTTP from
// `clients` concurrent clients spread over all servers (followers forward
// to the leader, as a real client population would cause).
func benchmarkConfigPut(b *testing.B, clients int) {
	c := harness.NewCluster(b, 3, harness.ClusterOptions{})
	var next atomic.Int64
	lat := make([]time.Duration, b.N)
	var failures atomic.Int64
	var wg sync.WaitGroup
	b.ResetTimer()
	start := time.Now()
	for w := 0; w < clients; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			s := c.Servers[w%len(c.Servers)]
			for {
				i := next.Add(1) - 1
				if i >= int64(b.N) {
					return
				}
				t0 := time.Now()
				ok, err := putDefaults(s, "bench-"+strconv.FormatInt(i, 10))
				lat[i] = time.Since(t0)
				if err != nil || !ok {
					failures.Add(1)
				}
			}
		}(w)
	}
	wg.Wait()
	elapsed := time.Since(start)
	b.StopTimer()
	if f := failures.Load(); f > 0 {
		b.Fatalf("%d of %d writes failed", f, b.N)
	}
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "writes/s")
	reportLatencies(b, lat)
}

func BenchmarkConfigPut1(b *testing.B)  { benchmarkConfigPut(b, 1) }
func BenchmarkConfigPut16(b *testing.B) { benchmarkConfigPut(b, 16) }
func BenchmarkConfigPut64(b *testing.B) { benchmarkConfigPut(b, 64) }

// BenchmarkWriteToWatchers measures, per write, the time from the write's
// acknowledgement to the moment a blocking query on the chain returns the
// new chain on every server (stale reads, so each server answers from its
// own replica).
func BenchmarkWriteToWatchers(b *testing.B) {
	c := harness.NewCluster(b, 3, harness.ClusterOptions{})
	leader := c.Leader()
	if ok, err := putDefaults(leader, "watched"); err != nil || !ok {
		b.Fatal(err)
	}
	lat := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		proto := []string{"http", "grpc"}[i%2]
		type seen struct {
			at  time.Time
			err error
		}
		results := make(chan seen, len(c.Servers))
		indexes := make([]string, len(c.Servers))
		for j, s := range c.Servers {
			_, _, h, err := s.Get("/v1/discovery-chain/watched?stale")
			if err != nil {
				b.Fatal(err)
			}
			indexes[j] = h.Get("X-Consul-Index")
		}
		for j, s := range c.Servers {
			go func(s *harness.Server, idx string) {
				for {
					code, body, _, err := s.Get("/v1/discovery-chain/watched?stale&wait=10s&index=" + idx)
					if err != nil || code != http.StatusOK {
						results <- seen{err: fmt.Errorf("%s: %d %v", s.Name, code, err)}
						return
					}
					if containsProtocol(body, proto) {
						results <- seen{at: time.Now()}
						return
					}
				}
			}(s, indexes[j])
		}
		body := fmt.Sprintf(`{"Kind":"service-defaults","Name":"watched","Protocol":%q}`, proto)
		code, out, _, err := leader.Do("PUT", "/v1/config", []byte(body))
		acked := time.Now()
		if err != nil || code != 200 {
			b.Fatalf("write: %d %s %v", code, out, err)
		}
		var last time.Time
		for range c.Servers {
			r := <-results
			if r.err != nil {
				b.Fatal(r.err)
			}
			if r.at.After(last) {
				last = r.at
			}
		}
		lat = append(lat, max(0, last.Sub(acked)))
	}
	b.StopTimer()
	reportLatencies(b, lat)
}

func containsProtocol(body []byte, proto string) bool {
	return strings.Contains(string(body), `"Protocol":"`+proto+`"`)
}

// BenchmarkLeaderKillToFirstWrite kills the leader of a fresh 3-server
// cluster under a steady write load and measures the time to the first
// acknowledged write; one cluster per iteration.
func BenchmarkLeaderKillToFirstWrite(b *testing.B) {
	var lat []time.Duration
	for i := 0; i < b.N; i++ {
		c := harness.NewCluster(b, 3, harness.ClusterOptions{})
		load := startWriteLoad(c, 4)
		harness.Eventually(b, 10*time.Second, func() error {
			if len(load.snapshot()) < 20 {
				return fmt.Errorf("warming up")
			}
			return nil
		})
		c.Leader().Kill(b)
		load.markFault()
		harness.Eventually(b, 15*time.Second, func() error {
			if load.recovery() < 0 {
				return fmt.Errorf("no write since the kill")
			}
			return nil
		})
		lat = append(lat, load.recovery())
		load.finish()
		for _, s := range c.Running() {
			s.Kill(b)
		}
	}
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	b.ReportMetric(float64(percentile(lat, 50).Milliseconds()), "p50-ms")
	b.ReportMetric(float64(lat[len(lat)-1].Milliseconds()), "max-ms")
}
