package agent_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/consul/api"

	"github.com/switchyard/switchyard/agent"
	"github.com/switchyard/switchyard/agent/agenttest"
)

// Two in-process clusters peer through the official client: token,
// establish, export, import with health, health change, both-way deletion,
// token reuse. Timings are shrunk so failures show within seconds.

func fastPeering(dc string) agenttest.Option {
	return func(_ int, c *agent.Config) {
		c.Datacenter = dc
		c.Peering.HeartbeatInterval = 100 * time.Millisecond
		c.Peering.HeartbeatTimeout = 600 * time.Millisecond
		c.Peering.RedialMax = 500 * time.Millisecond
		c.Peering.DialTimeout = 2 * time.Second
	}
}

type peeredClusters struct {
	c1, c2 *agenttest.Cluster
	api1   *api.Client
	api2   *api.Client
	token  string
	ctx    context.Context
}

// peerClusters starts cluster-01 (dialer, dc1) and cluster-02 (acceptor,
// dc2, n servers) and establishes cluster-01 → cluster-02.
func peerClusters(t *testing.T, n2 int) *peeredClusters {
	t.Helper()
	p := &peeredClusters{ctx: context.Background()}
	p.c1 = agenttest.NewCluster(t, 1, fastPeering("dc1"))
	p.c2 = agenttest.NewCluster(t, n2, fastPeering("dc2"))
	p.api1 = consulClient(t, p.c1.Leader().HTTPAddr())
	// Through a follower when there is one: writes are forwarded.
	p.api2 = consulClient(t, p.c2.Agents[len(p.c2.Agents)-1].HTTPAddr())
	agenttest.Eventually(t, 20*time.Second, func() error {
		resp, _, err := p.api2.Peerings().GenerateToken(p.ctx, api.PeeringGenerateTokenRequest{PeerName: "cluster-01"}, nil)
		if err != nil {
			return err
		}
		p.token = resp.PeeringToken
		var tok struct{ ServerAddresses []string }
		raw, _ := base64.StdEncoding.DecodeString(p.token)
		if err := json.Unmarshal(raw, &tok); err != nil || len(tok.ServerAddresses) != n2 {
			return fmt.Errorf("token addresses %v (%v), want %d", tok.ServerAddresses, err, n2)
		}
		return nil
	})
	if _, _, err := p.api1.Peerings().Establish(p.ctx, api.PeeringEstablishRequest{PeerName: "cluster-02", PeeringToken: p.token}, nil); err != nil {
		t.Fatalf("establish: %v", err)
	}
	return p
}

func waitState(t *testing.T, c *api.Client, name string, want api.PeeringState, timeout time.Duration) *api.Peering {
	t.Helper()
	var got *api.Peering
	agenttest.Eventually(t, timeout, func() error {
		p, _, err := c.Peerings().Read(context.Background(), name, nil)
		if err != nil {
			return err
		}
		if p == nil || p.State != want {
			return fmt.Errorf("peering %s is %+v, want %s", name, p, want)
		}
		got = p
		return nil
	})
	return got
}

func registerInstance(t *testing.T, c *api.Client, node, id, service, status string) {
	t.Helper()
	_, err := c.Catalog().Register(&api.CatalogRegistration{
		Node: node, Address: "10.1.0.1",
		Service: &api.AgentService{ID: id, Service: service, Port: 8080},
		Checks:  api.HealthChecks{{Node: node, CheckID: id + "-http", Name: "http", ServiceID: id, Status: status}},
	}, nil)
	if err != nil {
		t.Fatalf("register %s: %v", id, err)
	}
}

func exportTo(t *testing.T, c *api.Client, peer string, services ...string) {
	t.Helper()
	entry := &api.ExportedServicesConfigEntry{Name: "default"}
	for _, s := range services {
		entry.Services = append(entry.Services, api.ExportedService{Name: s, Consumers: []api.ServiceConsumer{{Peer: peer}}})
	}
	if _, _, err := c.ConfigEntries().Set(entry, nil); err != nil {
		t.Fatalf("exported-services: %v", err)
	}
}

// imported waits until the importer's health view of service from peer
// matches: instance ID → overall-check status.
func imported(t *testing.T, c *api.Client, service, peer string, want map[string]string) {
	t.Helper()
	agenttest.Eventually(t, 10*time.Second, func() error {
		entries, _, err := c.Health().Service(service, "", false, &api.QueryOptions{Peer: peer})
		if err != nil {
			return err
		}
		got := map[string]string{}
		for _, e := range entries {
			if e.Node.PeerName != peer || e.Service.PeerName != peer {
				return fmt.Errorf("instance %s lacks PeerName: %+v %+v", e.Service.ID, e.Node, e.Service)
			}
			if len(e.Checks) != 1 || e.Checks[0].CheckID != e.Service.ID+":overall-check" || e.Checks[0].PeerName != peer {
				return fmt.Errorf("instance %s checks %+v", e.Service.ID, e.Checks)
			}
			got[e.Service.ID] = e.Checks[0].Status
		}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			return fmt.Errorf("imported %s = %v, want %v", service, got, want)
		}
		return nil
	})
}

func TestPeeringExportImportHealthAndDelete(t *testing.T) {
	p := peerClusters(t, 1)
	ctx := p.ctx
	registerInstance(t, p.api2, "fe-1", "frontend-1", "frontend", api.HealthPassing)
	registerInstance(t, p.api2, "fe-2", "frontend-2", "frontend", api.HealthWarning)
	registerInstance(t, p.api2, "be-1", "backend-1", "backend", api.HealthPassing)
	exportTo(t, p.api2, "cluster-01", "frontend")
	registerInstance(t, p.api1, "db-1", "db-1", "db", api.HealthPassing)
	exportTo(t, p.api1, "cluster-02", "db")

	imported(t, p.api1, "frontend", "cluster-02", map[string]string{"frontend-1": "passing", "frontend-2": "warning"})
	imported(t, p.api2, "db", "cluster-01", map[string]string{"db-1": "passing"})
	imported(t, p.api1, "backend", "cluster-02", map[string]string{})

	dialer := waitState(t, p.api1, "cluster-02", api.PeeringStateActive, 10*time.Second)
	acceptor := waitState(t, p.api2, "cluster-01", api.PeeringStateActive, 10*time.Second)
	if dialer.PeerID != acceptor.ID || dialer.Remote.Datacenter != "dc2" || len(dialer.PeerServerAddresses) != 1 || dialer.PeerServerName == "" {
		t.Fatalf("dialer record %+v (acceptor ID %s)", dialer, acceptor.ID)
	}
	checkTrustBundles(t, p)
	agenttest.Eventually(t, 5*time.Second, func() error {
		d, _, _ := p.api1.Peerings().Read(ctx, "cluster-02", nil)
		a, _, _ := p.api2.Peerings().Read(ctx, "cluster-01", nil)
		if fmt.Sprint(d.StreamStatus.ImportedServices) != "[frontend]" || fmt.Sprint(a.StreamStatus.ExportedServices) != "[frontend]" ||
			d.StreamStatus.LastHeartbeat == nil || a.StreamStatus.LastSend == nil || a.Remote.Datacenter != "dc1" {
			return fmt.Errorf("stream status dialer %+v acceptor %+v remote %+v", d.StreamStatus, a.StreamStatus, a.Remote)
		}
		return nil
	})

	// A health change and a new instance travel as deltas.
	registerInstance(t, p.api2, "fe-1", "frontend-1", "frontend", api.HealthCritical)
	registerInstance(t, p.api2, "fe-3", "frontend-3", "frontend", api.HealthPassing)
	imported(t, p.api1, "frontend", "cluster-02", map[string]string{"frontend-1": "critical", "frontend-2": "warning", "frontend-3": "passing"})
	passing, _, err := p.api1.Health().Service("frontend", "", true, &api.QueryOptions{Peer: "cluster-02"})
	if err != nil || len(passing) != 1 || passing[0].Service.ID != "frontend-3" {
		t.Fatalf("?passing over imported data: %v %+v", err, passing)
	}
	// Instance removed, then export withdrawn.
	if _, err := p.api2.Catalog().Deregister(&api.CatalogDeregistration{Node: "fe-3"}, nil); err != nil {
		t.Fatal(err)
	}
	imported(t, p.api1, "frontend", "cluster-02", map[string]string{"frontend-1": "critical", "frontend-2": "warning"})
	exportTo(t, p.api2, "cluster-01", "backend")
	imported(t, p.api1, "frontend", "cluster-02", map[string]string{})
	imported(t, p.api1, "backend", "cluster-02", map[string]string{"backend-1": "passing"})

	// The token was consumed by the establishment.
	_, _, err = p.api1.Peerings().Establish(ctx, api.PeeringEstablishRequest{PeerName: "again", PeeringToken: p.token}, nil)
	if err == nil || !strings.Contains(err.Error(), "400") || !strings.Contains(err.Error(), "already been used") {
		t.Fatalf("reused token: %v", err)
	}

	// Deleting on the dialer cleans up both sides.
	if _, err := p.api1.Peerings().Delete(ctx, "cluster-02", nil); err != nil {
		t.Fatal(err)
	}
	agenttest.Eventually(t, 10*time.Second, func() error {
		got, _, err := p.api1.Peerings().Read(ctx, "cluster-02", nil)
		if err != nil || got != nil {
			return fmt.Errorf("dialer record still there: %+v %v", got, err)
		}
		return nil
	})
	imported(t, p.api1, "backend", "cluster-02", map[string]string{})
	waitState(t, p.api2, "cluster-01", api.PeeringStateTerminated, 10*time.Second)
	if b, ok := p.c2.Leader().PeerTrustBundleForTest("cluster-01"); !ok || b != nil {
		t.Fatalf("terminated peering: record %v, trust bundle %+v (want none)", ok, b)
	}
	imported(t, p.api2, "db", "cluster-01", map[string]string{})
	if nodes, _, _ := p.api2.Catalog().Nodes(&api.QueryOptions{Peer: "cluster-01"}); len(nodes) != 0 {
		t.Fatalf("imported nodes left on the acceptor: %+v", nodes)
	}
	// The terminated record stays until deleted locally; then it goes.
	if _, err := p.api2.Peerings().Delete(ctx, "cluster-01", nil); err != nil {
		t.Fatal(err)
	}
	agenttest.Eventually(t, 10*time.Second, func() error {
		list, _, err := p.api2.Peerings().List(ctx, nil)
		if err != nil || len(list) != 0 {
			return fmt.Errorf("acceptor peerings %+v %v", list, err)
		}
		return nil
	})
}

// checkTrustBundles waits until each side stores the other's trust
// bundle: the trust domain of the peer's server name and the CA its token
// carried (peering.md §4.1, §5).
func checkTrustBundles(t *testing.T, p *peeredClusters) {
	t.Helper()
	var tok struct {
		CA         []string
		ServerName string
	}
	raw, _ := base64.StdEncoding.DecodeString(p.token)
	if err := json.Unmarshal(raw, &tok); err != nil {
		t.Fatal(err)
	}
	agenttest.Eventually(t, 10*time.Second, func() error {
		for _, side := range []struct {
			local, remote *agenttest.Cluster
			peer          string
		}{{p.c1, p.c2, "cluster-02"}, {p.c2, p.c1, "cluster-01"}} {
			got, ok := side.local.Leader().PeerTrustBundleForTest(side.peer)
			td, roots, err := side.remote.Leader().LocalTrustBundleForTest()
			if err != nil || !ok || got == nil {
				return fmt.Errorf("%s: bundle %+v (record %v, remote %v)", side.peer, got, ok, err)
			}
			if got.TrustDomain != td || fmt.Sprint(got.RootPEMs) != fmt.Sprint(roots) {
				return fmt.Errorf("%s: bundle %+v, want domain %s", side.peer, got, td)
			}
		}
		return nil
	})
	got, _ := p.c1.Leader().PeerTrustBundleForTest("cluster-02")
	if fmt.Sprint(got.RootPEMs) != fmt.Sprint(tok.CA) || !strings.HasSuffix(tok.ServerName, ".peering."+got.TrustDomain) {
		t.Fatalf("dialer's bundle %+v does not match the token's CA and server name %s", got, tok.ServerName)
	}
}

// blockUntil issues blocking reads of peering name from index from until
// one satisfies cond and returns that read's index. Every answer must come
// with an index above the request's: an answer at the same index is a
// timeout, meaning the change did not wake the read.
func blockUntil(t *testing.T, c *api.Client, name string, from uint64, cond func(*api.Peering) error) uint64 {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	idx := from
	for {
		got, meta, err := c.Peerings().Read(context.Background(), name, &api.QueryOptions{WaitIndex: idx, WaitTime: 20 * time.Second})
		if err != nil {
			t.Fatalf("blocking read of %s: %v", name, err)
		}
		if meta.LastIndex <= idx {
			t.Fatalf("blocking read of %s at index %d returned index %d (a timeout: the change did not wake it); peering %+v", name, idx, meta.LastIndex, got)
		}
		idx = meta.LastIndex
		if err := cond(got); err == nil {
			return idx
		} else if time.Now().After(deadline) {
			t.Fatalf("blocking reads of %s never showed the change: %v", name, err)
		}
	}
}

func stateIs(want api.PeeringState) func(*api.Peering) error {
	return func(p *api.Peering) error {
		if p == nil || p.State != want {
			return fmt.Errorf("peering %+v, want %s", p, want)
		}
		return nil
	}
}

// Blocking reads of peerings wake when only the leader's in-memory stream
// state changes — exported services, ACTIVE to FAILING and back — with a
// larger X-Consul-Index, and a read at the newest index still blocks.
func TestPeeringBlockingReadsWakeOnStreamState(t *testing.T) {
	p := peerClusters(t, 1)
	ctx := p.ctx
	registerInstance(t, p.api2, "fe-1", "frontend-1", "frontend", api.HealthPassing)
	registerInstance(t, p.api2, "be-1", "backend-1", "backend", api.HealthPassing)
	exportTo(t, p.api2, "cluster-01", "frontend")
	imported(t, p.api1, "frontend", "cluster-02", map[string]string{"frontend-1": "passing"})
	waitState(t, p.api1, "cluster-02", api.PeeringStateActive, 10*time.Second)
	waitState(t, p.api2, "cluster-01", api.PeeringStateActive, 10*time.Second)

	// Exporter side: the exported list is stream state, not a peering write.
	_, meta, err := p.api2.Peerings().Read(ctx, "cluster-01", nil)
	if err != nil {
		t.Fatal(err)
	}
	exportTo(t, p.api2, "cluster-01", "frontend", "backend")
	blockUntil(t, p.api2, "cluster-01", meta.LastIndex, func(got *api.Peering) error {
		if fmt.Sprint(got.StreamStatus.ExportedServices) != "[backend frontend]" {
			return fmt.Errorf("exported %v", got.StreamStatus.ExportedServices)
		}
		return nil
	})

	// Dialer side: the acceptor goes away, the stream fails.
	_, meta, err = p.api1.Peerings().Read(ctx, "cluster-02", nil)
	if err != nil {
		t.Fatal(err)
	}
	p.c2.Kill(0)
	failing := blockUntil(t, p.api1, "cluster-02", meta.LastIndex, stateIs(api.PeeringStateFailing))

	// Nothing changes while the peer stays down, so reads at the newest
	// index block until their wait runs out. The barrier of a change can
	// land after a read already showed the change, so a read or two may
	// still wake with the same data under a larger index; the chain must
	// end in a read that waited out its time at an unchanged index.
	const wait = 300 * time.Millisecond
	quiet := false
	for i := 0; i < 5 && !quiet; i++ {
		start := time.Now()
		got, meta, err := p.api1.Peerings().Read(ctx, "cluster-02", &api.QueryOptions{WaitIndex: failing, WaitTime: wait})
		if err != nil || got.State != api.PeeringStateFailing || meta.LastIndex < failing {
			t.Fatalf("blocking read while the peer is down: %v, index %d (from %d), %+v", err, meta.LastIndex, failing, got)
		}
		quiet = meta.LastIndex == failing && time.Since(start) >= wait
		failing = meta.LastIndex
	}
	if !quiet {
		t.Fatal("blocking reads kept waking while nothing changed")
	}

	// The acceptor comes back on the same address: ACTIVE again.
	p.c2.Restart(0)
	p.c2.WaitForLeader()
	blockUntil(t, p.api1, "cluster-02", failing, stateIs(api.PeeringStateActive))
	// The list endpoint reports the same.
	list, _, err := p.api1.Peerings().List(ctx, &api.QueryOptions{WaitIndex: 1})
	if err != nil || len(list) != 1 || list[0].State != api.PeeringStateActive {
		t.Fatalf("list: %v %+v", err, list)
	}
}

// ?stale does not send a peering read to a follower, whose tracker is
// empty: the answer carries the leader's stream state.
func TestPeeringReadIgnoresStale(t *testing.T) {
	p := peerClusters(t, 3)
	registerInstance(t, p.api2, "fe-1", "frontend-1", "frontend", api.HealthPassing)
	exportTo(t, p.api2, "cluster-01", "frontend")
	waitState(t, p.api2, "cluster-01", api.PeeringStateActive, 10*time.Second)
	follower := consulClient(t, p.c2.Followers()[0].HTTPAddr())
	got, _, err := follower.Peerings().Read(p.ctx, "cluster-01", &api.QueryOptions{AllowStale: true})
	if err != nil || got == nil || got.State != api.PeeringStateActive {
		t.Fatalf("stale read on a follower: %v %+v", err, got)
	}
	list, _, err := follower.Peerings().List(p.ctx, &api.QueryOptions{AllowStale: true})
	if err != nil || len(list) != 1 || list[0].State != api.PeeringStateActive {
		t.Fatalf("stale list on a follower: %v %+v", err, list)
	}
}

func TestPeeringFollowerRedirectAndLeaderLoss(t *testing.T) {
	p := peerClusters(t, 3)
	registerInstance(t, p.api2, "fe-1", "frontend-1", "frontend", api.HealthPassing)
	exportTo(t, p.api2, "cluster-01", "frontend")
	imported(t, p.api1, "frontend", "cluster-02", map[string]string{"frontend-1": "passing"})
	waitState(t, p.api1, "cluster-02", api.PeeringStateActive, 10*time.Second)

	// Losing the acceptor's leader: the dialer redials the other servers
	// (a follower redirects it to the new leader) and catches up.
	for i, a := range p.c2.Agents {
		if a != nil && a.IsLeader() {
			p.c2.Kill(i)
		}
	}
	p.c2.WaitForLeader()
	var alive *agent.Agent
	for _, a := range p.c2.Agents {
		if a != nil {
			alive = a
		}
	}
	p.api2 = consulClient(t, alive.HTTPAddr())
	registerInstance(t, p.api2, "fe-2", "frontend-2", "frontend", api.HealthCritical)
	imported(t, p.api1, "frontend", "cluster-02", map[string]string{"frontend-1": "passing", "frontend-2": "critical"})
	waitState(t, p.api1, "cluster-02", api.PeeringStateActive, 10*time.Second)
	waitState(t, p.api2, "cluster-01", api.PeeringStateActive, 10*time.Second)
}

func TestPeeringHTTPErrors(t *testing.T) {
	c := agenttest.NewCluster(t, 1, fastPeering("dc1"))
	a := c.Agents[0]
	cases := []struct {
		method, path, body string
		code               int
		want               string
	}{
		{"POST", "/v1/peering/token", `{}`, 400, "PeerName is required"},
		{"POST", "/v1/peering/token", `{"PeerName":"Bad_Name"}`, 400, "not a valid peer name"},
		{"POST", "/v1/peering/token", `{"PeerName":"ok","Meta":{"consul-x":"1"}}`, 400, "reserved prefix"},
		{"POST", "/v1/peering/token", `{"PeerName":"ok","Bogus":1}`, 400, "unknown field"},
		{"POST", "/v1/peering/establish", `{"PeerName":"x"}`, 400, "PeeringToken is required"},
		{"POST", "/v1/peering/establish", `{"PeerName":"x","PeeringToken":"%%%"}`, 400, "not base64"},
		{"POST", "/v1/peering/establish", `{"PeerName":"x","PeeringToken":"aGVsbG8="}`, 400, "does not hold token JSON"},
		{"GET", "/v1/peering/", ``, 400, "Must specify a name to fetch."},
		{"GET", "/v1/peering/nope", ``, 404, `Peering not found for "nope"`},
		{"DELETE", "/v1/peering/nope", ``, 200, ""},
		{"GET", "/v1/peerings", ``, 200, "[]"},
	}
	for _, tc := range cases {
		code, body, _ := do(t, a, tc.method, tc.path, tc.body)
		if code != tc.code || !strings.Contains(body, tc.want) {
			t.Errorf("%s %s %s: %d %q, want %d containing %q", tc.method, tc.path, tc.body, code, body, tc.code, tc.want)
		}
	}
	// A token of this cluster cannot be used to peer with itself, and a
	// forged secret is refused by the peer with a clear error.
	client := consulClient(t, a.HTTPAddr())
	var tok string
	agenttest.Eventually(t, 10*time.Second, func() error {
		resp, _, err := client.Peerings().GenerateToken(context.Background(), api.PeeringGenerateTokenRequest{PeerName: "other"}, nil)
		if err == nil {
			tok = resp.PeeringToken
		}
		return err
	})
	code, body, _ := do(t, a, "POST", "/v1/peering/establish", fmt.Sprintf(`{"PeerName":"self","PeeringToken":%q}`, tok))
	if code != 400 || !strings.Contains(body, "within the same cluster") {
		t.Fatalf("self-peering: %d %s", code, body)
	}
	code, body, _ = do(t, a, "POST", "/v1/peering/establish", `{"PeerName":"other","PeeringToken":"x"}`)
	if code != 400 || !strings.Contains(body, "there is an existing peering expecting to be dialed") && !strings.Contains(body, "PeeringToken") {
		t.Fatalf("establish over an acceptor name: %d %s", code, body)
	}
	other := agenttest.NewCluster(t, 1, fastPeering("dc2"))
	forged := forgeSecret(t, tok)
	code, body, _ = do(t, other.Agents[0], "POST", "/v1/peering/establish", fmt.Sprintf(`{"PeerName":"p","PeeringToken":%q}`, forged))
	if code != 400 || !strings.Contains(body, "invalid peering establishment secret") {
		t.Fatalf("forged secret: %d %s", code, body)
	}
	list, _, err := client.Peerings().List(context.Background(), nil)
	if err != nil || len(list) != 1 || list[0].Name != "other" || list[0].State != api.PeeringStatePending {
		t.Fatalf("list: %v %+v", err, list)
	}
}

// forgeSecret replaces a token's establishment secret.
func forgeSecret(t *testing.T, tok string) string {
	t.Helper()
	raw, err := base64.StdEncoding.DecodeString(tok)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	m["EstablishmentSecret"] = "00000000-0000-4000-8000-000000000000"
	b, _ := json.Marshal(m)
	return base64.StdEncoding.EncodeToString(b)
}

func TestPeeringExpiredTokenRefused(t *testing.T) {
	const ttl = 300 * time.Millisecond
	acc := agenttest.NewCluster(t, 1, fastPeering("dc2"), func(_ int, c *agent.Config) { c.Peering.TokenTTL = ttl })
	dial := agenttest.NewCluster(t, 1, fastPeering("dc1"))
	client := consulClient(t, acc.Agents[0].HTTPAddr())
	var tok string
	var generated time.Time
	agenttest.Eventually(t, 10*time.Second, func() error {
		resp, _, err := client.Peerings().GenerateToken(context.Background(), api.PeeringGenerateTokenRequest{PeerName: "late"}, nil)
		if err == nil {
			tok, generated = resp.PeeringToken, time.Now()
		}
		return err
	})
	agenttest.Eventually(t, 5*time.Second, func() error {
		if time.Since(generated) <= ttl {
			return fmt.Errorf("token not expired yet")
		}
		return nil
	})
	code, body, _ := do(t, dial.Agents[0], "POST", "/v1/peering/establish", fmt.Sprintf(`{"PeerName":"p","PeeringToken":%q}`, tok))
	if code != 400 || !strings.Contains(body, "expired") {
		t.Fatalf("expired token: %d %s", code, body)
	}
}

// A CA certificate that does not match the stored CA key signs nothing, so
// every peering handshake would fail; the next leader replaces it with one
// derived from the stored key, and peering works again.
func TestPeeringCAMismatchRepairedByNextLeader(t *testing.T) {
	acc := agenttest.NewCluster(t, 1, fastPeering("dc2"))
	dial := agenttest.NewCluster(t, 1, fastPeering("dc1"))
	client := consulClient(t, acc.Agents[0].HTTPAddr())
	agenttest.Eventually(t, 10*time.Second, func() error {
		_, _, err := client.Peerings().GenerateToken(context.Background(), api.PeeringGenerateTokenRequest{PeerName: "warmup"}, nil)
		return err
	})
	if err := acc.Agents[0].MismatchPeeringCAForTest(); err != nil {
		t.Fatal(err)
	}
	acc.Kill(0)
	acc.Restart(0)
	acc.WaitForLeader()
	client = consulClient(t, acc.Agents[0].HTTPAddr())
	var tok string
	agenttest.Eventually(t, 10*time.Second, func() error {
		resp, _, err := client.Peerings().GenerateToken(context.Background(), api.PeeringGenerateTokenRequest{PeerName: "dialer"}, nil)
		if err == nil {
			tok = resp.PeeringToken
		}
		return err
	})
	code, body, _ := do(t, dial.Agents[0], "POST", "/v1/peering/establish", fmt.Sprintf(`{"PeerName":"acceptor","PeeringToken":%q}`, tok))
	if code != 200 {
		t.Fatalf("establish against the repaired CA: %d %s", code, body)
	}
	waitState(t, consulClient(t, dial.Agents[0].HTTPAddr()), "acceptor", api.PeeringStateActive, 10*time.Second)
}
