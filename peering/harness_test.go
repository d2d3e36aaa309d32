package peering

import (
	"context"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/go-memdb"
	"github.com/hashicorp/raft"
	"google.golang.org/grpc"

	"github.com/switchyard/switchyard/catalog"
	"github.com/switchyard/switchyard/configentry"
	"github.com/switchyard/switchyard/fsm"
	"github.com/switchyard/switchyard/rpc/pb"
)

// fakeBackend is one cluster reduced to what the peering code sees: a real
// FSM applied to in order (as Raft would), always the leader.
type fakeBackend struct {
	t  testing.TB
	dc string

	mu  sync.Mutex
	fsm *fsm.FSM
	idx uint64
	// applied counts applied commands by type.
	applied map[fsm.CommandType]int

	trustDomain string
	roots       []string
}

func newFakeBackend(t testing.TB, dc string) *fakeBackend {
	ca, _, err := GenerateCA(dc+".example.consul", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	return &fakeBackend{t: t, dc: dc, fsm: fsm.New(fsm.Config{}), applied: map[fsm.CommandType]int{},
		trustDomain: dc + ".example.consul", roots: []string{ca}}
}

func (b *fakeBackend) Store() *fsm.Store     { return b.fsm.State() }
func (b *fakeBackend) IsLeader() bool        { return true }
func (b *fakeBackend) LeaderAddress() string { return "" }
func (b *fakeBackend) Datacenter() string    { return b.dc }

func (b *fakeBackend) TrustBundle(memdb.WatchSet) (string, []string, error) {
	return b.trustDomain, b.roots, nil
}

func (b *fakeBackend) Apply(cmd []byte) (*fsm.ApplyResult, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.idx++
	res, _ := b.fsm.Apply(&raft.Log{Index: b.idx, Type: raft.LogCommand, Data: cmd}).(*fsm.ApplyResult)
	if res == nil {
		return nil, fmt.Errorf("command at index %d returned no result", b.idx)
	}
	b.applied[fsm.CommandType(cmd[0])]++
	return res, res.Err
}

func (b *fakeBackend) appliedOf(t fsm.CommandType) int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.applied[t]
}

// must applies a command built by an fsm encoder and fails the test on
// any error.
func (b *fakeBackend) must(cmd []byte, err error) {
	b.t.Helper()
	if err != nil {
		b.t.Fatalf("encode: %v", err)
	}
	if _, err := b.Apply(cmd); err != nil {
		b.t.Fatalf("apply: %v", err)
	}
}

func (b *fakeBackend) register(peer, node, service string) {
	b.t.Helper()
	b.must(fsm.EncodeRegister(&catalog.RegisterRequest{
		Node: node, Address: "10.0.0.1", PeerName: peer,
		Service: &catalog.NodeService{ID: service + "-" + node, Service: service, Port: 8080, PeerName: peer},
	}))
}

func (b *fakeBackend) export(service string, peers ...string) {
	b.t.Helper()
	s := configentry.ExportedService{Name: service}
	for _, p := range peers {
		s.Consumers = append(s.Consumers, configentry.ServiceConsumer{Peer: p})
	}
	b.must(fsm.EncodeConfigUpsert(&configentry.ExportedServicesConfigEntry{Name: "default", Services: []configentry.ExportedService{s}}, nil))
}

func (b *fakeBackend) record(id string) *fsm.Peering {
	_, rec, err := b.Store().PeeringByID(nil, id)
	if err != nil {
		b.t.Fatal(err)
	}
	return rec
}

func (b *fakeBackend) importedNodes(peer string) int {
	_, nodes, err := b.Store().Nodes(nil, peer)
	if err != nil {
		b.t.Fatal(err)
	}
	return len(nodes)
}

// testConfig keeps streams quick to notice but tolerant of a loaded
// machine: the heartbeat timeout is far above what any step here takes.
func testConfig() Config {
	return Config{
		HeartbeatInterval: 50 * time.Millisecond,
		HeartbeatTimeout:  5 * time.Second,
		RedialMin:         20 * time.Millisecond,
		RedialMax:         200 * time.Millisecond,
		DialTimeout:       2 * time.Second,
		TokenTTL:          time.Hour,
	}
}

// runningManager is a manager running on a backend until the test ends.
type runningManager struct {
	m       *Manager
	tracker *Tracker
}

func startManager(t *testing.T, b *fakeBackend, hooks *testHooks) *runningManager {
	t.Helper()
	tr := NewTracker()
	m := NewManager(testConfig(), b, tr, hclog.New(&hclog.LoggerOptions{Name: b.dc, Output: testLogWriter{t}, Level: hclog.Info}))
	m.hooks = hooks
	stop, done := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		m.Run(stop)
	}()
	t.Cleanup(func() {
		close(stop)
		<-done
	})
	return &runningManager{m: m, tracker: tr}
}

type testLogWriter struct{ t testing.TB }

func (w testLogWriter) Write(p []byte) (int, error) {
	w.t.Log(string(p))
	return len(p), nil
}

// peeredPair is two clusters peered through the real gRPC service over
// loopback (plain text: tokens without a CA, peering.md §9). "west" dials
// "east"; each names the other after its cluster.
type peeredPair struct {
	east, west       *fakeBackend
	eastMgr, westMgr *runningManager
	eastID, westID   string // the acceptor's record (named "west") and the dialer's (named "east")
	addr             string
}

func newPeeredPair(t *testing.T, westHooks *testHooks) *peeredPair {
	t.Helper()
	p := &peeredPair{east: newFakeBackend(t, "east"), west: newFakeBackend(t, "west"),
		eastID: "00000000-0000-4000-8000-0000000000e1", westID: "00000000-0000-4000-8000-0000000000d1"}
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p.addr = lis.Addr().String()
	srv := grpc.NewServer()
	var eastMgr atomic.Pointer[Manager]
	pb.RegisterPeerStreamServer(srv, &Server{Backend: p.east, Config: testConfig(), Manager: eastMgr.Load})
	go func() { _ = srv.Serve(lis) }()
	t.Cleanup(srv.Stop) // registered first: runs after the managers stopped
	p.eastMgr = startManager(t, p.east, nil)
	eastMgr.Store(p.eastMgr.m)

	// Token generation on east, establishment on west.
	p.east.must(fsm.EncodePeeringWrite(&fsm.Peering{ID: p.eastID, Name: "west", State: fsm.PeeringPending}))
	p.east.must(fsm.EncodePeeringSecrets(&fsm.SecretsRequest{PeerID: p.eastID, Op: fsm.SecretsGenerate, Secret: "est-secret",
		Expires: time.Now().Add(time.Hour).UnixNano()}))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	secret, err := Exchange(ctx, &Token{ServerAddresses: []string{p.addr}, PeerID: p.eastID, EstablishmentSecret: "est-secret"}, 2*time.Second)
	if err != nil {
		t.Fatalf("exchange: %v", err)
	}
	p.west.must(fsm.EncodePeeringWrite(&fsm.Peering{ID: p.westID, Name: "east", State: fsm.PeeringEstablishing,
		PeerID: p.eastID, PeerServerAddresses: []string{p.addr}, Remote: fsm.PeeringRemote{Datacenter: "east"}}))
	p.west.must(fsm.EncodePeeringSecrets(&fsm.SecretsRequest{PeerID: p.westID, Op: fsm.SecretsSetActive, Secret: secret}))
	p.westMgr = startManager(t, p.west, westHooks)
	return p
}

// eventually polls f until it returns nil or timeout passes.
func eventually(t *testing.T, timeout time.Duration, f func() error) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		err := f()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("condition not met within %s: %v", timeout, err)
		}
		time.Sleep(20 * time.Millisecond) // a poll interval, not a wait for an event
	}
}

func connected(tr *Tracker, id string) error {
	st, ok := tr.Get(id)
	if !ok || !st.Connected {
		return fmt.Errorf("stream of %s not connected: %+v", id, st)
	}
	return nil
}
