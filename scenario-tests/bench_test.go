package scenariotests

import (
	"bytes"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
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
// `clients` concurrent clients. Write i goes to server i mod 3, so one
// write in three reaches the leader directly and the others are forwarded,
// as a real client population would cause, whatever the number of clients
// and whichever server won the election. (Giving each client a fixed server
// made a 1-client run all-leader or all-follower by the luck of the
// election.)
func benchmarkConfigPut(b *testing.B, clients int) {
	profileDir := os.Getenv("SWITCHYARD_BENCH_PROFILE")
	var opts harness.ClusterOptions
	if profileDir != "" {
		if err := os.MkdirAll(profileDir, 0o755); err != nil {
			b.Fatal(err)
		}
		opts.ExtraArgs = []string{"-enable-debug"}
	}
	c := harness.NewCluster(b, 3, opts)
	var pids []int
	for _, s := range c.Servers {
		pids = append(pids, s.Pid())
	}
	if profileDir != "" {
		done := profileServers(b, c, profileDir, fmt.Sprintf("put%d", clients))
		defer done()
	}
	targets := c.Servers
	if only := benchTarget(b); only != "" {
		l := c.Leader()
		if l == nil {
			b.Fatal("no leader to tell leader from followers")
		}
		targets = nil
		for _, s := range c.Servers {
			if (s == l) == (only == "leader") {
				targets = append(targets, s)
			}
		}
	}
	runPuts(b, clients, pids, func(w int, i int64) error {
		s := targets[int(i)%len(targets)]
		ok, err := putDefaults(s, "bench-"+strconv.FormatInt(i, 10))
		if err == nil && !ok {
			err = fmt.Errorf("PUT answered false")
		}
		return err
	})
}

// benchTarget is SWITCHYARD_BENCH_TARGET: "leader" or "follower" sends
// every write of the put benchmarks (ours and etcd's) to the leader or to
// the followers only, to tell the cost of forwarding from the rest; ""
// (the default) spreads writes over all servers in turn.
func benchTarget(b *testing.B) string {
	t := os.Getenv("SWITCHYARD_BENCH_TARGET")
	if t != "" && t != "leader" && t != "follower" {
		b.Fatalf("SWITCHYARD_BENCH_TARGET=%q: want leader, follower or nothing", t)
	}
	return t
}

// profileServers takes a 5-second CPU profile of every server while the
// benchmark runs (SWITCHYARD_BENCH_PROFILE=dir; size the run with
// -benchtime to last longer) and then its allocation profile, and writes
// dir/<prefix>-<server>.pprof and .allocs.
func profileServers(b *testing.B, c *harness.Cluster, dir, prefix string) (wait func()) {
	var wg sync.WaitGroup
	for _, s := range c.Servers {
		wg.Add(1)
		go func(s *harness.Server) {
			defer wg.Done()
			code, body, _, err := s.Get("/debug/pprof/profile?seconds=5")
			if err != nil || code != http.StatusOK {
				b.Errorf("profile %s: %d %v", s.Name, code, err)
				return
			}
			if err := os.WriteFile(filepath.Join(dir, prefix+"-"+s.Name+".pprof"), body, 0o644); err != nil {
				b.Error(err)
			}
			// Allocations since the start, most of them the benchmark's.
			code, body, _, err = s.Get("/debug/pprof/allocs")
			if err != nil || code != http.StatusOK {
				b.Errorf("allocs %s: %d %v", s.Name, code, err)
				return
			}
			if err := os.WriteFile(filepath.Join(dir, prefix+"-"+s.Name+".allocs"), body, 0o644); err != nil {
				b.Error(err)
			}
		}(s)
	}
	return wg.Wait
}

// runPuts runs b.N writes from `clients` concurrent workers and reports
// writes/s, p50/p99 latency, and the CPU time the server processes (pids)
// spent per write, which is what the comparison with etcd rests on: on two
// cores the servers and the load generator share, CPU is the limit.
func runPuts(b *testing.B, clients int, pids []int, put func(worker int, i int64) error) {
	var next atomic.Int64
	lat := make([]time.Duration, b.N)
	var failures atomic.Int64
	var firstErr atomic.Value
	var wg sync.WaitGroup
	cpu0 := processCPU(b, pids)
	b.ResetTimer()
	start := time.Now()
	for w := 0; w < clients; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for {
				i := next.Add(1) - 1
				if i >= int64(b.N) {
					return
				}
				t0 := time.Now()
				err := put(w, i)
				lat[i] = time.Since(t0)
				if err != nil {
					failures.Add(1)
					firstErr.CompareAndSwap(nil, err)
				}
			}
		}(w)
	}
	wg.Wait()
	elapsed := time.Since(start)
	b.StopTimer()
	cpu := processCPU(b, pids) - cpu0
	if f := failures.Load(); f > 0 {
		b.Fatalf("%d of %d writes failed; first: %v", f, b.N, firstErr.Load())
	}
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "writes/s")
	b.ReportMetric(float64(cpu.Microseconds())/1000/float64(b.N), "server-cpu-ms/write")
	reportLatencies(b, lat)
}

// processCPU sums user and system CPU time of the processes from
// /proc/PID/stat (clock ticks of 10 ms).
func processCPU(b *testing.B, pids []int) time.Duration {
	var ticks int64
	for _, pid := range pids {
		raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if err != nil {
			b.Fatal(err)
		}
		// The command name (field 2) may hold spaces; fields after it
		// are counted from its closing parenthesis.
		fields := strings.Fields(string(raw[bytes.LastIndexByte(raw, ')')+1:]))
		for _, f := range fields[11:13] { // utime, stime
			n, err := strconv.ParseInt(f, 10, 64)
			if err != nil {
				b.Fatal(err)
			}
			ticks += n
		}
	}
	return time.Duration(ticks) * 10 * time.Millisecond
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
