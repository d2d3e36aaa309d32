package scenariotests

import (
	"encoding/json"
	"fmt"
	"math/rand"
	"sync/atomic"
	"testing"
	"time"

	"github.com/switchyard/switchyard/scenario-tests/harness"
)

// The pair scenarios run a writer on one side of a peering or a federation
// while the nemesis hits servers of both sides and the link between them.
// They check the end state only: once everything is healed, what the
// importer or the secondary holds must converge to the exporter's or the
// primary's state, on every one of its servers.

// pairDuration is the fault phase of each pair scenario: a quarter of the
// five-server nemesis's, so the three fit CI's budget together.
func pairDuration() time.Duration { return *nemesisDuration / 4 }

// faultPhase runs write (true: acknowledged) in a steady trickle while the
// nemesis hits the clusters for pairDuration, then repairs everything and
// returns when the repair began.
func faultPhase(t *testing.T, clusters []*harness.Cluster, netw *harness.Net, seed int64, write func(r *rand.Rand) bool) time.Time {
	stop := make(chan struct{})
	var writes, acked atomic.Int64
	done := make(chan struct{})
	go func() {
		defer close(done)
		r := rand.New(rand.NewSource(seed))
		for {
			select {
			case <-stop:
				return
			default:
			}
			writes.Add(1)
			if write(r) {
				acked.Add(1)
			}
			time.Sleep(20 * time.Millisecond) // a steady trickle, not a flood
		}
	}()
	nem := &nemesis{t: t, clusters: clusters, net: netw, r: rand.New(rand.NewSource(seed)), counts: map[string]int{}}
	nem.run(pairDuration())
	close(stop)
	<-done
	start := time.Now()
	nem.repairAll()
	t.Logf("writes: %d acknowledged of %d; nemesis: %s", acked.Load(), writes.Load(), nem.summary())
	return start
}

var statusRank = map[string]int{"passing": 0, "warning": 1, "critical": 2}

// localHealth returns instance ID → worst check status of service, as the
// exporting cluster's leader sees it.
func localHealth(s *harness.Server, service string) (map[string]string, error) {
	code, body, out := call("GET", "http://"+s.HTTPAddr()+"/v1/health/service/"+service, nil)
	if out != answered || code != 200 {
		return nil, fmt.Errorf("%s: health of %s: %d %s", s.Name, service, code, body)
	}
	var entries []struct {
		Service struct{ ID string }
		Checks  []struct{ Status string }
	}
	if err := json.Unmarshal(body, &entries); err != nil {
		return nil, err
	}
	res := map[string]string{}
	for _, e := range entries {
		worst := "passing"
		if len(e.Checks) == 0 {
			worst = "none" // imported with no check (peering.md §5)
		}
		for _, c := range e.Checks {
			if statusRank[c.Status] > statusRank[worst] {
				worst = c.Status
			}
		}
		res[e.Service.ID] = worst
	}
	return res, nil
}

// importedHealth is healthOf read from one given server, locally.
func importedHealth(s *harness.Server, service, peer string) (map[string]string, error) {
	code, body, out := call("GET", "http://"+s.HTTPAddr()+"/v1/health/service/"+service+"?stale&peer="+peer, nil)
	if out != answered || code != 200 {
		return nil, fmt.Errorf("%s: imported health of %s: %d %s", s.Name, service, code, body)
	}
	var entries []struct {
		Service struct{ ID string }
		Checks  []struct{ Status string }
	}
	if err := json.Unmarshal(body, &entries); err != nil {
		return nil, err
	}
	res := map[string]string{}
	for _, e := range entries {
		switch len(e.Checks) {
		case 0: // the exporter's instance has no checks
			res[e.Service.ID] = "none"
		case 1:
			res[e.Service.ID] = e.Checks[0].Status
		default:
			return nil, fmt.Errorf("%s: imported %s has %d checks, want one overall check at most", s.Name, e.Service.ID, len(e.Checks))
		}
	}
	return res, nil
}

// leaderOf is c's leader, or an error to retry on while it has none.
func leaderOf(c *harness.Cluster) (*harness.Server, error) {
	if l := c.Leader(); l != nil {
		return l, nil
	}
	return nil, fmt.Errorf("%s has no leader", c.Name)
}

func postJSON(s *harness.Server, path, body string) (map[string]any, error) {
	code, out, how := call("POST", "http://"+s.HTTPAddr()+path, []byte(body))
	if how != answered || code != 200 {
		return nil, fmt.Errorf("%s %s: %d %s", s.Name, path, code, out)
	}
	var m map[string]any
	return m, json.Unmarshal(out, &m)
}

func TestNemesisPeeredPairConverges(t *testing.T) {
	seed, netw := nemesisSetup(t, pairDuration())
	importer := harness.NewCluster(t, 3, harness.ClusterOptions{Datacenter: "dc1", Net: netw})
	exporter := harness.NewCluster(t, 3, harness.ClusterOptions{Datacenter: "dc2", Net: netw})

	var token string
	harness.Eventually(t, 30*time.Second, func() error {
		l, err := leaderOf(exporter)
		if err != nil {
			return err
		}
		m, err := postJSON(l, "/v1/peering/token", `{"PeerName":"cluster-01"}`)
		if err != nil {
			return err
		}
		token, _ = m["PeeringToken"].(string)
		return nil
	})
	if _, err := postJSON(importer.WaitForLeader(30*time.Second), "/v1/peering/establish",
		fmt.Sprintf(`{"PeerName":"cluster-02","PeeringToken":%q}`, token)); err != nil {
		t.Fatal(err)
	}

	// The writer changes what the exporter exports: instances come, go and
	// change health; the export of "api" is switched on and off.
	const instances = 8
	exportEntry := func(api bool) string {
		svcs := `{"Name":"web","Consumers":[{"Peer":"cluster-01"}]}`
		if api {
			svcs += `,{"Name":"api","Consumers":[{"Peer":"cluster-01"}]}`
		}
		return `{"Kind":"exported-services","Name":"default","Services":[` + svcs + `]}`
	}
	harness.Eventually(t, 20*time.Second, func() error {
		s, err := leaderOf(exporter)
		if err != nil {
			return err
		}
		for i := 0; i < 2; i++ {
			body := fmt.Sprintf(`{"Node":"api-%d","Address":"10.3.0.%d","Service":{"ID":"api-%d","Service":"api","Port":80}}`, i, i+1, i)
			if code, out, how := call("PUT", "http://"+s.HTTPAddr()+"/v1/catalog/register", []byte(body)); how != answered || code != 200 {
				return fmt.Errorf("register api: %d %s", code, out)
			}
		}
		if code, out, how := call("PUT", "http://"+s.HTTPAddr()+"/v1/config", []byte(exportEntry(true))); how != answered || code != 200 {
			return fmt.Errorf("export: %d %s", code, out)
		}
		return nil
	})
	start := faultPhase(t, []*harness.Cluster{importer, exporter}, netw, seed, func(r *rand.Rand) bool {
		s := exporter.Servers[r.Intn(len(exporter.Servers))]
		i := r.Intn(instances)
		var method, path, body string
		switch p := r.Intn(10); {
		case p < 7:
			status := []string{"passing", "warning", "critical"}[r.Intn(3)]
			method, path = "PUT", "/v1/catalog/register"
			body = fmt.Sprintf(`{"Node":"web-%d","Address":"10.2.0.%d","Service":{"ID":"web-%d","Service":"web","Port":8080},
				"Checks":[{"CheckID":"web-%d-http","Name":"http","ServiceID":"web-%d","Status":%q}]}`, i, i+1, i, i, i, status)
		case p < 9:
			method, path = "PUT", "/v1/catalog/deregister"
			body = fmt.Sprintf(`{"Node":"web-%d"}`, i)
		default:
			method, path, body = "PUT", "/v1/config", exportEntry(r.Intn(2) == 0)
		}
		code, _, how := call(method, "http://"+s.HTTPAddr()+path, []byte(body))
		return how == answered && code == 200
	})

	harness.Eventually(t, 90*time.Second, func() error {
		for _, svc := range []string{"web", "api"} {
			l, err := leaderOf(exporter)
			if err != nil {
				return err
			}
			want, err := localHealth(l, svc)
			if err != nil {
				return err
			}
			code, body, how := call("GET", "http://"+l.HTTPAddr()+"/v1/config/exported-services/default", nil)
			if how != answered || code != 200 {
				return fmt.Errorf("exported-services: %d %s", code, body)
			}
			var e struct{ Services []struct{ Name string } }
			if err := json.Unmarshal(body, &e); err != nil {
				return err
			}
			exported := false
			for _, s := range e.Services {
				exported = exported || s.Name == svc
			}
			if !exported {
				want = map[string]string{}
			}
			for _, s := range importer.Servers {
				got, err := importedHealth(s, svc, "cluster-02")
				if err != nil {
					return err
				}
				if fmt.Sprint(got) != fmt.Sprint(want) {
					return fmt.Errorf("%s imports %s as %v, exporter has %v", s.Name, svc, got, want)
				}
			}
		}
		return nil
	})
	t.Logf("importer converged to the exporter's state %s after the repair began", time.Since(start).Round(time.Millisecond))
	importer.WaitConverged(60 * time.Second)
	exporter.WaitConverged(60 * time.Second)
}

func TestNemesisFederatedPairConverges(t *testing.T) {
	seed, netw := nemesisSetup(t, pairDuration())
	f := harness.NewFederationIn(t, netw, 3, "dc1", "dc2")
	dc1, dc2 := f.DC("dc1"), f.DC("dc2")

	// Writes go through servers of both datacenters; dc2 forwards its
	// writes to dc1, the primary.
	const entries = 16
	all := append(append([]*harness.Server(nil), dc1.Servers...), dc2.Servers...)
	start := faultPhase(t, []*harness.Cluster{dc1, dc2}, netw, seed, func(r *rand.Rand) bool {
		s := all[r.Intn(len(all))]
		name := fmt.Sprintf("fed-%d", r.Intn(entries))
		var code int
		var how callOutcome
		if r.Intn(4) == 0 {
			code, _, how = call("DELETE", "http://"+s.HTTPAddr()+"/v1/config/service-defaults/"+name, nil)
		} else {
			proto := []string{"http", "grpc", "tcp", "http2"}[r.Intn(4)]
			code, _, how = call("PUT", "http://"+s.HTTPAddr()+"/v1/config",
				[]byte(fmt.Sprintf(`{"Kind":"service-defaults","Name":%q,"Protocol":%q}`, name, proto)))
		}
		return how == answered && code == 200
	})

	protocols := func(s *harness.Server, query string) (map[string]string, error) {
		code, body, how := call("GET", "http://"+s.HTTPAddr()+"/v1/config/service-defaults"+query, nil)
		if how != answered || code != 200 {
			return nil, fmt.Errorf("%s: list: %d %s", s.Name, code, body)
		}
		var es []struct{ Name, Protocol string }
		if err := json.Unmarshal(body, &es); err != nil {
			return nil, err
		}
		out := map[string]string{}
		for _, e := range es {
			out[e.Name] = e.Protocol
		}
		return out, nil
	}
	harness.Eventually(t, 90*time.Second, func() error {
		l, err := leaderOf(dc1)
		if err != nil {
			return err
		}
		want, err := protocols(l, "?consistent")
		if err != nil {
			return err
		}
		for _, s := range dc2.Servers {
			got, err := protocols(s, "?stale")
			if err != nil {
				return err
			}
			if fmt.Sprint(got) != fmt.Sprint(want) {
				return fmt.Errorf("%s holds %v, the primary %v", s.Name, got, want)
			}
		}
		return nil
	})
	t.Logf("dc2 converged to the primary's entries %s after the repair began", time.Since(start).Round(time.Millisecond))
	dc1.WaitConverged(60 * time.Second)
	dc2.WaitConverged(60 * time.Second)
}
