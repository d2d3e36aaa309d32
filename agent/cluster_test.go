package agent_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/switchyard/switchyard/agent"
	"github.com/switchyard/switchyard/agent/agenttest"
)

// do sends a request to an agent's HTTP API.
func do(t *testing.T, a *agent.Agent, method, path, body string) (int, string, http.Header) {
	t.Helper()
	req, err := http.NewRequest(method, "http://"+a.HTTPAddr()+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), resp.Header
}

func TestClusterBootstrapsForwardsAndSurvivesLeaderLoss(t *testing.T) {
	c := agenttest.NewCluster(t, 3)
	f := c.Followers()[0]
	code, body, _ := do(t, f, "PUT", "/v1/config", `{"Kind":"service-defaults","Name":"web","Protocol":"http"}`)
	if code != 200 || body != "true" {
		t.Fatalf("write via follower: %d %q", code, body)
	}
	for _, a := range c.Agents {
		agenttest.Eventually(t, 10*time.Second, func() error {
			code, body, h := do(t, a, "GET", "/v1/config/service-defaults/web?stale", "")
			if code != 200 || !strings.Contains(body, `"Protocol":"http"`) {
				return fmt.Errorf("%s: %d %s", a.Config().NodeName, code, body)
			}
			if h.Get("X-Consul-Index") == "" || h.Get("X-Consul-Index") == "0" || h.Get("X-Consul-LastContact") == "" {
				return fmt.Errorf("query meta headers missing: %v", h)
			}
			return nil
		})
	}
	// A default-consistency read on a follower is answered by the leader.
	if code, body, _ := do(t, f, "GET", "/v1/config/service-defaults/web", ""); code != 200 {
		t.Fatalf("forwarded read: %d %s", code, body)
	}

	old := c.Leader()
	for i, a := range c.Agents {
		if a == old {
			c.Kill(i)
		}
	}
	leader := c.WaitForLeader()
	code, body, _ = do(t, leader, "PUT", "/v1/config", `{"Kind":"service-defaults","Name":"api","Protocol":"grpc"}`)
	if code != 200 || body != "true" {
		t.Fatalf("write after failover: %d %q", code, body)
	}
	code, body, _ = do(t, leader, "GET", "/v1/config/service-defaults?consistent", "")
	if code != 200 || !strings.Contains(body, `"Name":"web"`) || !strings.Contains(body, `"Name":"api"`) {
		t.Fatalf("consistent list after failover: %d %s", code, body)
	}
	// The surviving servers converge on one state digest.
	agenttest.Eventually(t, 10*time.Second, func() error {
		var first struct {
			Index uint64
			Hash  string
		}
		for i, a := range c.Agents {
			if a == nil || a == old { // killed
				continue
			}
			code, body, _ := do(t, a, "GET", "/v1/operator/state-hash", "")
			var d struct {
				Index uint64
				Hash  string
			}
			if code != 200 || json.Unmarshal([]byte(body), &d) != nil || d.Hash == "" || d.Index == 0 {
				return fmt.Errorf("state-hash of server %d: %d %s", i, code, body)
			}
			if first.Hash == "" {
				first = d
			} else if d != first {
				return fmt.Errorf("digests differ: %+v vs %+v", first, d)
			}
		}
		return nil
	})
}

func TestBlockingQueryWakesOnlyForItsEntry(t *testing.T) {
	c := agenttest.NewCluster(t, 1)
	a := c.Agents[0]
	do(t, a, "PUT", "/v1/config", `{"Kind":"service-defaults","Name":"watched","Protocol":"http"}`)
	_, _, h := do(t, a, "GET", "/v1/config/service-defaults/watched", "")
	idx := h.Get("X-Consul-Index")

	type result struct {
		body  string
		index string
	}
	done := make(chan result, 1)
	go func() {
		resp, err := http.Get("http://" + a.HTTPAddr() + "/v1/config/service-defaults/watched?index=" + idx + "&wait=30s")
		if err != nil {
			done <- result{body: err.Error()}
			return
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		done <- result{string(b), resp.Header.Get("X-Consul-Index")}
	}()
	// A write to another entry must not end the blocking query: when the
	// query does return, it must carry the watched entry's new content.
	do(t, a, "PUT", "/v1/config", `{"Kind":"service-defaults","Name":"other","Protocol":"grpc"}`)
	do(t, a, "PUT", "/v1/config", `{"Kind":"service-defaults","Name":"watched","Protocol":"grpc"}`)
	select {
	case r := <-done:
		if !strings.Contains(r.body, `"Protocol":"grpc"`) {
			t.Fatalf("blocking query returned before its entry changed: %s", r.body)
		}
		if r.index == idx {
			t.Fatalf("index did not move: %s", r.index)
		}
	case <-time.After(25 * time.Second):
		t.Fatal("blocking query did not return after its entry changed")
	}
}

func TestConfigEntryWritesValidateAndCAS(t *testing.T) {
	c := agenttest.NewCluster(t, 1)
	a := c.Agents[0]
	// A splitter on a tcp service breaks its chain: 400, nothing stored.
	code, body, _ := do(t, a, "PUT", "/v1/config", `{"Kind":"service-splitter","Name":"web","Splits":[{"Weight":50},{"Weight":50,"Service":"web2"}]}`)
	if code != 400 || !strings.Contains(body, "does not permit advanced routing or splitting behavior") {
		t.Fatalf("graph error: %d %s", code, body)
	}
	if code, _, _ := do(t, a, "GET", "/v1/config/service-splitter/web", ""); code != 404 {
		t.Fatalf("refused entry was stored: %d", code)
	}
	code, body, _ = do(t, a, "PUT", "/v1/config", `{"Kind":"service-router","Name":"web","Routes":[{"Match":{"HTTP":{"PathExact":"/a","PathPrefix":"/b"}}}]}`)
	if code != 400 || !strings.Contains(body, "Routes[0].Match.HTTP") {
		t.Fatalf("entry-local error: %d %s", code, body)
	}
	code, body, _ = do(t, a, "PUT", "/v1/config", `{"Kind":"service-defaults","Name":"web","Protocl":"http"}`)
	if code != 400 || !strings.Contains(body, `invalid config key "Protocl"`) {
		t.Fatalf("unknown key: %d %s", code, body)
	}
	// CAS: 0 means create-only.
	if _, body, _ := do(t, a, "PUT", "/v1/config?cas=0", `{"Kind":"service-defaults","Name":"web","Protocol":"http"}`); body != "true" {
		t.Fatalf("cas=0 create: %s", body)
	}
	if _, body, _ := do(t, a, "PUT", "/v1/config?cas=0", `{"Kind":"service-defaults","Name":"web","Protocol":"grpc"}`); body != "false" {
		t.Fatalf("cas=0 on existing must fail: %s", body)
	}
	_, body, _ = do(t, a, "GET", "/v1/config/service-defaults/web", "")
	var e struct{ ModifyIndex uint64 }
	_ = json.Unmarshal([]byte(body), &e)
	if _, body, _ := do(t, a, "PUT", fmt.Sprintf("/v1/config?cas=%d", e.ModifyIndex), `{"Kind":"service-defaults","Name":"web","Protocol":"grpc"}`); body != "true" {
		t.Fatalf("cas with current index: %s", body)
	}
	if _, body, _ := do(t, a, "DELETE", fmt.Sprintf("/v1/config/service-defaults/web?cas=%d", e.ModifyIndex), ""); body != "false" {
		t.Fatalf("delete with a stale cas must fail: %s", body)
	}
	if code, body, _ := do(t, a, "DELETE", "/v1/config/service-defaults/web", ""); code != 200 || body != "{}" {
		t.Fatalf("delete: %d %s", code, body)
	}
	if code, body, _ := do(t, a, "GET", "/v1/config/service-defaults/web", ""); code != 404 || !strings.Contains(body, `Config entry not found for "service-defaults" / "web"`) {
		t.Fatalf("after delete: %d %s", code, body)
	}
}

func TestDiscoveryChainEndpoint(t *testing.T) {
	c := agenttest.NewCluster(t, 1)
	a := c.Agents[0]
	for _, e := range []string{
		`{"Kind":"proxy-defaults","Name":"global","Config":{"protocol":"http"}}`,
		`{"Kind":"service-resolver","Name":"frontend","ConnectTimeout":"15s","Failover":{"*":{"Targets":[{"Peer":"cluster-02"}]}}}`,
		`{"Kind":"service-splitter","Name":"frontend","Splits":[{"Weight":50},{"Weight":50,"Service":"frontend-peer"}]}`,
		`{"Kind":"service-resolver","Name":"frontend-peer","Redirect":{"Service":"frontend","Peer":"cluster-02"}}`,
	} {
		if code, body, _ := do(t, a, "PUT", "/v1/config", e); code != 200 || body != "true" {
			t.Fatalf("write %s: %d %s", e, code, body)
		}
	}
	code, body, h := do(t, a, "GET", "/v1/discovery-chain/frontend", "")
	if code != 200 || h.Get("X-Consul-Index") == "" {
		t.Fatalf("chain: %d %s", code, body)
	}
	var resp struct {
		Chain struct {
			StartNode string
			Protocol  string
			Targets   map[string]struct{ Peer, SNI string }
		}
	}
	if err := json.Unmarshal([]byte(body), &resp); err != nil {
		t.Fatal(err)
	}
	if resp.Chain.StartNode != "splitter:frontend.default.default" || resp.Chain.Protocol != "http" {
		t.Errorf("chain: %+v", resp.Chain)
	}
	if tgt, ok := resp.Chain.Targets["frontend.default.default.external.cluster-02"]; !ok || tgt.Peer != "cluster-02" {
		t.Errorf("peer target missing: %s", body)
	}
	// Overrides through POST, with a bad mesh gateway mode refused.
	code, body, _ = do(t, a, "POST", "/v1/discovery-chain/frontend", `{"OverrideMeshGateway":{"Mode":"sideways"}}`)
	if code != 400 || !strings.Contains(body, "Invalid OverrideMeshGateway.Mode parameter") {
		t.Errorf("bad override: %d %s", code, body)
	}
	code, body, _ = do(t, a, "POST", "/v1/discovery-chain/frontend?compile-dc=dc9", `{"override_connect_timeout":"3s"}`)
	if code != 200 || !strings.Contains(body, `"Datacenter":"dc9"`) || !strings.Contains(body, `"ConnectTimeout":"3s"`) || !strings.Contains(body, `"CustomizationHash"`) {
		t.Errorf("override: %d %s", code, body)
	}
}

func TestHTTPConventions(t *testing.T) {
	c := agenttest.NewCluster(t, 1)
	a := c.Agents[0]
	if code, body, _ := do(t, a, "GET", "/v1/nope", ""); code != 404 || !strings.Contains(body, "/v1/nope") {
		t.Errorf("unknown path: %d %s", code, body)
	}
	code, _, h := do(t, a, "POST", "/v1/status/leader", "")
	if code != 405 || !strings.Contains(h.Get("Allow"), "GET") {
		t.Errorf("wrong method: %d allow=%q", code, h.Get("Allow"))
	}
	if code, body, _ := do(t, a, "GET", "/v1/config/service-defaults?stale&consistent", ""); code != 400 || !strings.Contains(body, "conflicting semantics") {
		t.Errorf("stale+consistent: %d %s", code, body)
	}
	if code, body, _ := do(t, a, "GET", "/v1/config/service-defaults?index=abc", ""); code != 400 || body != "Invalid index" {
		t.Errorf("bad index: %d %s", code, body)
	}
	if code, body, _ := do(t, a, "GET", "/v1/config/service-defaults?ns=team", ""); code != 400 || !strings.Contains(body, "Namespaces are a Consul Enterprise feature") {
		t.Errorf("ns: %d %s", code, body)
	}
	code, body, _ := do(t, a, "GET", "/v1/config/service-defaults?pretty", "")
	if code != 200 || body != "[]\n" {
		t.Errorf("pretty empty list: %d %q", code, body)
	}
	big := bytes.Repeat([]byte("x"), 5<<20)
	if code, _, _ := do(t, a, "PUT", "/v1/config", string(big)); code != 400 {
		t.Errorf("oversized body: %d", code)
	}
}

// Writes through a follower travel to the leader over one ForwardStream;
// each, valid or refused, must get its own answer.
func TestConcurrentForwardedWritesGetTheirOwnAnswers(t *testing.T) {
	c := agenttest.NewCluster(t, 3)
	f := c.Followers()[0]
	const n = 48
	type answer struct {
		i    int
		code int
		body string
	}
	answers := make(chan answer, n)
	for i := 0; i < n; i++ {
		go func() {
			body := fmt.Sprintf(`{"Kind":"service-defaults","Name":"svc-%d","Protocol":"http"}`, i)
			if i%3 == 0 { // refused, naming this write's own value
				body = fmt.Sprintf(`{"Kind":"service-defaults","Name":"svc-%d","Protocol":"proto-%d"}`, i, i)
			}
			code, out, _ := do(t, f, "PUT", "/v1/config", body)
			answers <- answer{i, code, out}
		}()
	}
	for k := 0; k < n; k++ {
		a := <-answers
		if a.i%3 == 0 {
			if a.code != 400 || !strings.Contains(a.body, fmt.Sprintf("proto-%d", a.i)) {
				t.Errorf("write %d: want a 400 naming its own protocol, got %d %q", a.i, a.code, a.body)
			}
		} else if a.code != 200 || a.body != "true" {
			t.Errorf("write %d: %d %q", a.i, a.code, a.body)
		}
	}
	if got := f.ForwardStreamsOpen(); got != 1 {
		t.Fatalf("follower keeps %d forward streams, want 1 (to the leader)", got)
	}
	for i := 0; i < n; i++ {
		code, body, _ := do(t, c.Leader(), "GET", fmt.Sprintf("/v1/config/service-defaults/svc-%d", i), "")
		if want := map[bool]int{true: 404, false: 200}[i%3 == 0]; code != want {
			t.Errorf("svc-%d after the writes: %d %s, want %d", i, code, body, want)
		}
	}
}

// A leader answers reads only once its state store holds every committed
// entry (its session's barrier): until then a read waits, on the leader and
// through a follower, and after the hold timeout fails instead of answering
// from older state. ?stale reads are not held.
func TestLeaderReadsWaitUntilTheLeaderHasCaughtUp(t *testing.T) {
	c := agenttest.NewCluster(t, 3, func(i int, cfg *agent.Config) { cfg.RPCHoldTimeout = 2 * time.Second })
	l := c.Leader()
	f := c.Followers()[0]
	if code, body, _ := do(t, l, "PUT", "/v1/config", `{"Kind":"service-defaults","Name":"web","Protocol":"http"}`); code != 200 {
		t.Fatalf("write: %d %s", code, body)
	}
	term := l.ReadyTermForTest()
	if term == 0 {
		t.Fatal("the leader's session has not passed its barrier")
	}
	l.SetReadyTermForTest(0)
	type answer struct {
		via  string
		code int
		body string
	}
	answers := make(chan answer, 3)
	for _, a := range []*agent.Agent{l, f} {
		for _, q := range []string{"?consistent", ""} {
			if a == f && q == "" {
				continue
			}
			go func() {
				code, body, _ := do(t, a, "GET", "/v1/config/service-defaults/web"+q, "")
				answers <- answer{a.Config().NodeName + q, code, body}
			}()
		}
	}
	time.Sleep(500 * time.Millisecond)
	select {
	case a := <-answers:
		t.Fatalf("read via %s answered (%d %s) before the leader caught up", a.via, a.code, a.body)
	default:
	}
	if code, body, _ := do(t, f, "GET", "/v1/config/service-defaults/web?stale", ""); code != 200 {
		t.Fatalf("stale read was held: %d %s", code, body)
	}
	l.SetReadyTermForTest(term)
	for i := 0; i < 3; i++ {
		a := <-answers
		if a.code != 200 || !strings.Contains(a.body, `"Name":"web"`) {
			t.Fatalf("read via %s after catching up: %d %s", a.via, a.code, a.body)
		}
	}

	// A leader that never catches up fails the read after the hold
	// timeout. A readiness from an earlier term does not count.
	l.SetReadyTermForTest(term - 1)
	code, body, _ := do(t, l, "GET", "/v1/config/service-defaults/web?consistent", "")
	if code != 500 || !strings.Contains(body, "No cluster leader") || !strings.Contains(body, "not yet applied") {
		t.Fatalf("read from a leader that has not caught up: %d %s", code, body)
	}
	l.SetReadyTermForTest(term)
}
