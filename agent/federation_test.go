package agent_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/switchyard/switchyard/agent"
	"github.com/switchyard/switchyard/agent/agenttest"
	"github.com/switchyard/switchyard/replication"
)

// getJSON GETs path from a and decodes a 200 answer into out.
func getJSON(t *testing.T, a *agent.Agent, path string, out any) error {
	t.Helper()
	code, body, _ := do(t, a, "GET", path, "")
	if code != 200 {
		return fmt.Errorf("GET %s: %d %s", path, code, body)
	}
	return json.Unmarshal([]byte(body), out)
}

// modifyIndex reads an entry's ModifyIndex from a's local state (stale).
func modifyIndex(t *testing.T, a *agent.Agent, kind, name string) (uint64, error) {
	var e struct{ ModifyIndex uint64 }
	err := getJSON(t, a, "/v1/config/"+kind+"/"+name+"?stale", &e)
	return e.ModifyIndex, err
}

func replicationOf(t *testing.T, a *agent.Agent) map[string]any {
	t.Helper()
	var self map[string]map[string]any
	if err := getJSON(t, a, "/v1/agent/self", &self); err != nil {
		t.Fatal(err)
	}
	return self["Replication"]
}

func TestFederationWANForwardingAndReplication(t *testing.T) {
	f := agenttest.NewFederation(t, []agenttest.DC{{Name: "dc1", Servers: 1}, {Name: "dc2", Servers: 1}})
	p, s := f.DC("dc1").Agents[0], f.DC("dc2").Agents[0]

	var members []agent.Member
	if err := getJSON(t, s, "/v1/agent/members?wan=1", &members); err != nil || len(members) != 2 ||
		members[0].Name != "s1.dc1" || members[1].Name != "s1.dc2" {
		t.Fatalf("WAN members %+v, %v", members, err)
	}
	for a, want := range map[*agent.Agent]string{p: `["dc1","dc2"]`, s: `["dc2","dc1"]`} {
		if _, body, _ := do(t, a, "GET", "/v1/catalog/datacenters", ""); body != want {
			t.Errorf("%s datacenters %s, want %s", a.Config().Datacenter, body, want)
		}
	}
	if code, body, _ := do(t, s, "GET", "/v1/catalog/nodes?dc=nowhere", ""); code != 500 || body != "No path to datacenter" {
		t.Errorf("unknown dc: %d %q", code, body)
	}
	if _, body, _ := do(t, s, "GET", "/v1/status/leader?dc=dc1", ""); body != `"`+p.LeaderAddr()+`"` {
		t.Errorf("status/leader?dc=dc1 from dc2: %s, want %s", body, p.LeaderAddr())
	}

	// A config write sent to the secondary lands in the primary, then comes
	// back through replication.
	if code, body, _ := do(t, s, "PUT", "/v1/config", `{"Kind":"service-defaults","Name":"web","Protocol":"http"}`); code != 200 || body != "true" {
		t.Fatalf("write via dc2: %d %s", code, body)
	}
	if _, err := modifyIndex(t, p, "service-defaults", "web"); err != nil {
		t.Fatalf("primary lacks the entry written via dc2: %v", err)
	}
	do(t, p, "PUT", "/v1/config", `{"Kind":"service-defaults","Name":"api","Protocol":"grpc"}`)
	waitEntries(t, s, "service-defaults", "api", "web")

	// exported-services is primary-only.
	exp := `{"Kind":"exported-services","Name":"default","Services":[]}`
	for _, q := range []string{"", "?dc=dc2"} {
		if code, body, _ := do(t, s, "PUT", "/v1/config"+q, exp); code != 400 || !strings.Contains(body, "exported-services writes") {
			t.Errorf("exported-services via dc2%s: %d %s", q, code, body)
		}
	}
	if code, body, _ := do(t, s, "PUT", "/v1/config?dc=dc1", exp); code != 200 || body != "true" {
		t.Fatalf("exported-services with dc=dc1: %d %s", code, body)
	}

	// Deletes via the secondary disappear everywhere.
	if code, body, _ := do(t, s, "DELETE", "/v1/config/service-defaults/api", ""); code != 200 {
		t.Fatalf("delete via dc2: %d %s", code, body)
	}
	waitEntries(t, s, "service-defaults", "web")
	if code, _, _ := do(t, s, "GET", "/v1/config/exported-services/default?stale", ""); code != 404 {
		t.Errorf("exported-services was replicated into dc2: %d", code)
	}
	if code, _, _ := do(t, s, "GET", "/v1/config/exported-services/default?dc=dc1", ""); code != 200 {
		t.Errorf("exported-services not readable in dc1 via ?dc=: %d", code)
	}

	rs := replicationOf(t, s)
	if rs["Enabled"] != true || rs["Running"] != true || rs["LastSuccess"] == "" || rs["ReplicatedIndex"].(float64) == 0 {
		t.Errorf("replication status in dc2: %v", rs)
	}
	if rp := replicationOf(t, p); rp["Enabled"] != false || rp["Running"] != false {
		t.Errorf("replication status in the primary: %v", rp)
	}

	// A restart resumes from the recorded index and rewrites nothing.
	before, err := modifyIndex(t, s, "service-defaults", "web")
	if err != nil {
		t.Fatal(err)
	}
	f.DC("dc2").Kill(0)
	do(t, p, "PUT", "/v1/config", `{"Kind":"service-defaults","Name":"late","Protocol":"tcp"}`)
	s = f.DC("dc2").Restart(0)
	f.DC("dc2").WaitForLeader()
	waitEntries(t, s, "service-defaults", "late", "web")
	if after, err := modifyIndex(t, s, "service-defaults", "web"); err != nil || after != before {
		t.Errorf("untouched entry's ModifyIndex moved from %d to %d (%v) after restart", before, after, err)
	}
}

// waitEntries waits until a's local copy of kind holds exactly names.
func waitEntries(t *testing.T, a *agent.Agent, kind string, names ...string) {
	t.Helper()
	agenttest.Eventually(t, 15*time.Second, func() error {
		var got []struct{ Name string }
		if err := getJSON(t, a, "/v1/config/"+kind+"?stale", &got); err != nil {
			return err
		}
		var have []string
		for _, e := range got {
			have = append(have, e.Name)
		}
		if strings.Join(have, ",") != strings.Join(names, ",") {
			return fmt.Errorf("%s has %v, want %v", a.Config().Datacenter, have, names)
		}
		return nil
	})
}

func TestFederationRemoteHealthAndDeadDatacenter(t *testing.T) {
	f := agenttest.NewFederation(t, []agenttest.DC{{Name: "dc1", Servers: 1}, {Name: "dc2", Servers: 1}})
	p, s := f.DC("dc1").Agents[0], f.DC("dc2").Agents[0]
	reg := `{"Node":"n1","Address":"10.0.0.1","Service":{"Service":"web","Port":80},
		"Check":{"CheckID":"web-ok","Name":"web","Status":"passing","ServiceID":"web"}}`
	if code, body, _ := do(t, s, "PUT", "/v1/catalog/register?dc=dc1", reg); code != 200 {
		t.Fatalf("register in dc1 via dc2: %d %s", code, body)
	}
	var nodes []struct{ Node struct{ Node string } }
	code, body, h := do(t, s, "GET", "/v1/health/service/web?dc=dc1&passing=1", "")
	if code != 200 || json.Unmarshal([]byte(body), &nodes) != nil || len(nodes) != 1 || nodes[0].Node.Node != "n1" {
		t.Fatalf("health of dc1 via dc2: %d %s", code, body)
	}
	// The index is dc1's, and blocking on it works across datacenters.
	idx := h.Get("X-Consul-Index")
	start := time.Now()
	if code, _, h2 := do(t, s, "GET", "/v1/health/service/web?dc=dc1&index="+idx+"&wait=300ms", ""); code != 200 || h2.Get("X-Consul-Index") != idx {
		t.Errorf("blocking read via dc: %d index %s", code, h2.Get("X-Consul-Index"))
	}
	if el := time.Since(start); el < 250*time.Millisecond {
		t.Errorf("blocking read across datacenters returned after %v", el)
	}
	if code, _, _ := do(t, p, "GET", "/v1/catalog/service/web?stale", ""); code != 200 {
		t.Fatal("dc1 lacks the registration")
	}

	// The whole primary fails: noticed, reported, and dc2 keeps serving.
	f.DC("dc1").Kill(0)
	agenttest.Eventually(t, 20*time.Second, func() error {
		var self map[string]map[string]any
		if err := getJSON(t, s, "/v1/agent/self", &self); err != nil {
			return err
		}
		for _, d := range self["Federation"]["Datacenters"].([]any) {
			m := d.(map[string]any)
			if m["Datacenter"] == "dc1" && m["Reachable"] == false {
				return nil
			}
		}
		return fmt.Errorf("dc1 not reported unreachable: %v", self["Federation"])
	})
	if code, body, _ := do(t, s, "GET", "/v1/catalog/nodes?dc=dc1", ""); code != 500 {
		t.Errorf("read for a dead datacenter: %d %s", code, body)
	}
	if code, _, _ := do(t, s, "GET", "/v1/catalog/nodes", ""); code != 200 {
		t.Errorf("dc2 stopped serving its own reads")
	}
	if _, body, _ := do(t, s, "GET", "/v1/catalog/datacenters", ""); body != `["dc2","dc1"]` {
		t.Errorf("datacenters with dc1 down: %s", body)
	}
}

func TestFederationChainFailoverToPrimaryDatacenter(t *testing.T) {
	f := agenttest.NewFederation(t, []agenttest.DC{{Name: "dc1", Servers: 1}, {Name: "dc2", Servers: 1}})
	s := f.DC("dc2").Agents[0]
	for _, e := range []string{
		`{"Kind":"service-resolver","Name":"web","Failover":{"*":{"Datacenters":["dc1"]}}}`,
		`{"Kind":"service-resolver","Name":"api","Redirect":{"Datacenter":"dc1"}}`,
	} {
		if code, body, _ := do(t, s, "PUT", "/v1/config", e); code != 200 {
			t.Fatalf("write %s: %d %s", e, code, body)
		}
	}
	waitEntries(t, s, "service-resolver", "api", "web")
	reg := `{"Node":"n1","Address":"10.0.0.1","Service":{"Service":"web","Port":80},
		"Check":{"CheckID":"web-ok","Name":"web","Status":"passing","ServiceID":"web"}}`
	if code, body, _ := do(t, s, "PUT", "/v1/catalog/register?dc=dc1", reg); code != 200 {
		t.Fatalf("register in dc1: %d %s", code, body)
	}

	type target struct{ Service, Datacenter string }
	type chainResp struct {
		Chain struct {
			Datacenter string
			Nodes      map[string]struct {
				Resolver *struct {
					Target   string
					Failover *struct{ Targets []string }
				}
			}
			Targets map[string]target
		}
	}
	var web chainResp
	if err := getJSON(t, s, "/v1/discovery-chain/web?stale", &web); err != nil {
		t.Fatal(err)
	}
	fo := web.Chain.Nodes["resolver:web.default.default.dc2"].Resolver
	if web.Chain.Datacenter != "dc2" || fo == nil || fo.Failover == nil || len(fo.Failover.Targets) != 1 {
		t.Fatalf("web chain in dc2: %+v", web.Chain)
	}
	remote := web.Chain.Targets[fo.Failover.Targets[0]]
	if remote.Datacenter != "dc1" || remote.Service != "web" {
		t.Fatalf("failover target %+v", remote)
	}
	// The failover target's instances are dc1's, read through ?dc=.
	var inst []struct{ Node struct{ Node string } }
	if err := getJSON(t, s, "/v1/health/service/"+remote.Service+"?passing=1&dc="+remote.Datacenter, &inst); err != nil || len(inst) != 1 || inst[0].Node.Node != "n1" {
		t.Fatalf("healthy dc1 instances via dc2: %+v %v", inst, err)
	}
	if err := getJSON(t, s, "/v1/health/service/web?passing=1", &inst); err != nil || len(inst) != 0 {
		t.Fatalf("dc2 has its own web instances: %+v %v", inst, err)
	}

	// compile-dc and a redirect to another datacenter, compiled in dc2.
	var api chainResp
	if err := getJSON(t, s, "/v1/discovery-chain/api?stale&compile-dc=dc1", &api); err != nil {
		t.Fatal(err)
	}
	if api.Chain.Datacenter != "dc1" || len(api.Chain.Targets) != 1 {
		t.Fatalf("api chain with compile-dc=dc1: %+v", api.Chain)
	}
	for id, tg := range api.Chain.Targets {
		if tg.Datacenter != "dc1" || id != "api.default.default.dc1" {
			t.Errorf("redirect target %s %+v", id, tg)
		}
	}
	if err := getJSON(t, s, "/v1/discovery-chain/api?stale", &api); err != nil {
		t.Fatal(err)
	}
	if _, ok := api.Chain.Targets["api.default.default.dc1"]; !ok || api.Chain.Datacenter != "dc2" {
		t.Errorf("redirect to dc1 compiled in dc2: %+v", api.Chain)
	}
}

// replicationList GETs the primary's internal replication list with query.
func replicationList(t *testing.T, a *agent.Agent, query string) (map[string]any, replication.Remote) {
	t.Helper()
	code, body, _ := do(t, a, "GET", "/v1/internal/replication/config-entries?"+query, "")
	if code != 200 {
		t.Fatalf("list ?%s: %d %s", query, code, body)
	}
	var raw map[string]any
	if err := json.Unmarshal([]byte(body), &raw); err != nil {
		t.Fatal(err)
	}
	r, err := replication.DecodeList([]byte(body))
	if err != nil {
		t.Fatal(err)
	}
	return raw, r
}

func TestReplicationEndpointDeltasAndV1Peers(t *testing.T) {
	p := agenttest.NewCluster(t, 1).WaitForLeader()
	for _, n := range []string{"web", "api"} {
		if code, body, _ := do(t, p, "PUT", "/v1/config", `{"Kind":"service-defaults","Name":"`+n+`"}`); code != 200 {
			t.Fatalf("put %s: %d %s", n, code, body)
		}
	}
	key := func(n string) replication.Key { return replication.Key{Kind: "service-defaults", Name: n} }
	hash := func(names ...string) string {
		var ks []replication.Key
		for _, n := range names {
			ks = append(ks, key(n))
		}
		return replication.HashKeys(ks)
	}

	// A version 1 peer gets a version 1 full list, even if it sends since.
	raw, r := replicationList(t, p, "replication_version=1&since=1&keys_hash="+hash("web", "api"))
	if raw["Version"] != 1.0 || len(raw) != 3 || r.Delta || len(r.Entries) != 2 {
		t.Fatalf("v1 answer: %v", raw)
	}
	idx := r.Index

	// Version 2 in sync: nothing but the index.
	since := fmt.Sprintf("replication_version=2&since=%d&keys_hash=", idx)
	if _, r = replicationList(t, p, since+hash("web", "api")); !r.Delta || !r.KeysUnchanged || len(r.Entries) != 0 || r.Index != idx {
		t.Fatalf("v2 in sync: %+v", r)
	}
	// Blocking on ?index= still waits for the primary to move.
	start := time.Now()
	if _, r = replicationList(t, p, since+hash("web", "api")+fmt.Sprintf("&index=%d&wait=300ms", idx)); r.Index != idx {
		t.Fatalf("blocking list moved to %d", r.Index)
	}
	if el := time.Since(start); el < 250*time.Millisecond {
		t.Errorf("blocking list returned after %v", el)
	}

	// A new entry: its body alone, the key list left out.
	do(t, p, "PUT", "/v1/config", `{"Kind":"service-defaults","Name":"new","Protocol":"grpc"}`)
	_, r = replicationList(t, p, since+hash("web", "api")+fmt.Sprintf("&index=%d", idx))
	if !r.Delta || !r.KeysUnchanged || len(r.Entries) != 1 || r.Entries[0].GetName() != "new" {
		t.Fatalf("v2 after an upsert: %+v", r)
	}
	// A delete: the key list comes back, without api.
	do(t, p, "DELETE", "/v1/config/service-defaults/api", "")
	_, r = replicationList(t, p, since+hash("web", "api"))
	if r.KeysUnchanged || len(r.Keys) != 2 || len(r.Entries) != 1 {
		t.Fatalf("v2 after a delete: %+v", r)
	}
	// A requester ahead of the primary (a restored primary) gets it all.
	_, r = replicationList(t, p, fmt.Sprintf("replication_version=2&since=%d", r.Index+100))
	if r.Delta || len(r.Entries) != 2 {
		t.Fatalf("v2 from ahead of the primary: %+v", r)
	}
}
