package agent

import (
	"crypto/tls"
	"fmt"
	"net"
	"strconv"
	"sync"
	"time"

	"github.com/hashicorp/go-memdb"
	"github.com/hashicorp/raft"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"

	"github.com/switchyard/switchyard/fsm"
	"github.com/switchyard/switchyard/peering"
	"github.com/switchyard/switchyard/rpc/pb"
)

// Cluster peering wiring: the TLS peering listener every server runs, the
// cluster CA kept in Raft, and the peering manager the leader runs.

// System metadata keys of the peering CA (PEM). Set once by the first
// leader; see peering/ca.go for why the key lives in Raft.
const (
	metaPeeringCACert = "peering_ca_cert"
	metaPeeringCAKey  = "peering_ca_key"
)

// peeringParts is the agent's peering state.
type peeringParts struct {
	srv     *grpc.Server
	tracker *peering.Tracker
	// streamIndex gives changes of tracker a Raft index (see
	// peeringStreamIndex); it outlives leadership terms so the index it
	// reports never goes back.
	streamIndex peeringStreamIndex

	mu      sync.Mutex
	manager *peering.Manager
	certFor string // CA PEM the cached certificate was signed by
	cert    *tls.Certificate
}

func (p *peeringParts) currentManager() *peering.Manager {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.manager
}

func (p *peeringParts) setManager(m *peering.Manager) {
	p.mu.Lock()
	p.manager = m
	p.mu.Unlock()
}

// peeringBackend gives the peering package what it needs of the agent.
type peeringBackend struct{ a *Agent }

var _ peering.Backend = peeringBackend{}

func (b peeringBackend) Store() *fsm.Store { return b.a.state.store() }
func (b peeringBackend) IsLeader() bool    { return b.a.isLeader() }
func (b peeringBackend) Datacenter() string {
	return b.a.config.Datacenter
}

func (b peeringBackend) Apply(cmd []byte) (*fsm.ApplyResult, error) { return b.a.raftApply(cmd) }

// TrustBundle is this cluster's trust domain and peering CA root, which
// each side sends its peer (peering.md §4.1). Empty until the first
// leader has created the CA; ws then wakes the caller when it has.
func (b peeringBackend) TrustBundle(ws memdb.WatchSet) (string, []string, error) {
	store := b.a.state.store()
	_, caPEM, err := store.SystemMeta(ws, metaPeeringCACert)
	if err != nil || caPEM == "" {
		return "", nil, err
	}
	td, err := b.a.trustDomain(ws, store)
	if err != nil {
		return "", nil, err
	}
	return td, []string{caPEM}, nil
}

// LeaderAddress finds the leader's peering address through gossip: the
// member whose node ID is the Raft leader's, at its advertised grpc port.
func (b peeringBackend) LeaderAddress() string {
	_, id := b.a.raft.raft.LeaderWithID()
	if id == "" {
		return ""
	}
	for _, m := range b.a.lan.Members() {
		if raft.ServerID(m.Tags["id"]) == id && m.Tags["grpc"] != "" && m.Tags["grpc"] != "0" {
			return net.JoinHostPort(m.Addr, m.Tags["grpc"])
		}
	}
	return ""
}

// startPeering binds the peering listener (resolving port 0 before gossip
// advertises it) and serves the PeerStream service over TLS with the
// server certificate derived from the cluster CA. Until the first leader
// has created the CA, handshakes fail and dialers retry.
func (a *Agent) startPeering() error {
	c := a.config
	ln, err := net.Listen("tcp", net.JoinHostPort(c.BindAddr, strconv.Itoa(c.Ports.GRPC)))
	if err != nil {
		return fmt.Errorf("grpc (peering) port: %w", err)
	}
	c.Ports.GRPC = ln.Addr().(*net.TCPAddr).Port
	p := &peeringParts{tracker: peering.NewTracker()}
	a.peering = p
	tlsCfg := &tls.Config{MinVersion: tls.VersionTLS12, GetCertificate: func(*tls.ClientHelloInfo) (*tls.Certificate, error) {
		return a.peeringCertificate()
	}}
	p.srv = grpc.NewServer(grpc.Creds(credentials.NewTLS(tlsCfg)))
	pb.RegisterPeerStreamServer(p.srv, &peering.Server{Backend: peeringBackend{a}, Config: c.Peering, Manager: p.currentManager})
	a.goRun(func() { _ = p.srv.Serve(ln) })
	a.goRun(func() {
		<-a.shutdownCh
		p.srv.Stop()
	})
	return nil
}

// peeringCertificate returns this server's certificate for
// server.<dc>.peering.<trust-domain>, signing a new one when the CA changed.
func (a *Agent) peeringCertificate() (*tls.Certificate, error) {
	store := a.state.store()
	_, caPEM, err := store.SystemMeta(nil, metaPeeringCACert)
	if err != nil {
		return nil, err
	}
	_, keyPEM, err := store.SystemMeta(nil, metaPeeringCAKey)
	if err != nil {
		return nil, err
	}
	if caPEM == "" || keyPEM == "" {
		return nil, fmt.Errorf("the peering CA is not initialised yet")
	}
	p := a.peering
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cert != nil && p.certFor == caPEM {
		return p.cert, nil
	}
	name, err := a.peeringServerName()
	if err != nil {
		return nil, err
	}
	cert, err := peering.ServerCertificate(caPEM, keyPEM, name, time.Now())
	if err != nil {
		return nil, err
	}
	p.cert, p.certFor = cert, caPEM
	return cert, nil
}

// peeringServerName is the TLS name of this cluster's servers.
func (a *Agent) peeringServerName() (string, error) {
	td, err := a.trustDomain(nil, a.state.store())
	if err != nil {
		return "", err
	}
	return peering.ServerName(a.config.Datacenter, td), nil
}

// ensurePeeringCA creates the cluster CA once. The key is stored first
// (only if absent, so the first committed key wins across racing or
// successive leaders), and the certificate is then derived from the key
// that was stored, not from one this leader may have generated in vain:
// a leader that lost its term between the two writes would otherwise
// leave its successor's certificate next to its own key, a pair that
// signs nothing (every TLS handshake fails). A stored certificate that
// does not match the stored key — left by a version that had that race —
// is replaced by one that does.
func (a *Agent) ensurePeeringCA() error {
	store := a.state.store()
	_, cert, err := store.SystemMeta(nil, metaPeeringCACert)
	if err != nil {
		return err
	}
	_, key, err := store.SystemMeta(nil, metaPeeringCAKey)
	if err != nil {
		return err
	}
	if cert != "" && key != "" && peering.CAMatchesKey(cert, key) {
		return nil
	}
	td, err := a.trustDomain(nil, store)
	if err != nil {
		return err
	}
	if key == "" {
		newKey, err := peering.GenerateCAKey()
		if err != nil {
			return err
		}
		if err := a.setSystemMeta(metaPeeringCAKey, newKey, true); err != nil {
			return err
		}
		if _, key, err = store.SystemMeta(nil, metaPeeringCAKey); err != nil {
			return err
		}
	}
	certPEM, err := peering.SignCA(td, key, time.Now())
	if err != nil {
		return err
	}
	// Any certificate committed concurrently was derived from the same
	// stored key, so only a mismatched leftover needs overwriting.
	replace := cert != ""
	if replace {
		a.logger.Warn("the stored peering CA certificate does not match the CA key; replacing it (tokens issued with the old one no longer work)")
	}
	if err := a.setSystemMeta(metaPeeringCACert, certPEM, !replace); err != nil {
		return err
	}
	a.logger.Info("initialised the peering CA", "trust_domain", td)
	return nil
}

func (a *Agent) setSystemMeta(key, value string, onlyIfAbsent bool) error {
	cmd, err := fsm.EncodeSystemMetaSet(key, value, onlyIfAbsent)
	if err != nil {
		return err
	}
	_, err = a.raftApply(cmd)
	return err
}

// startPeeringLeader runs the peering manager for one leadership term; the
// returned function waits for it after stop has closed.
func (a *Agent) startPeeringLeader(stop chan struct{}) (wait func()) {
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			err := a.ensurePeeringCA()
			if err == nil {
				break
			}
			a.logger.Debug("peering CA not initialised yet, will retry", "error", err)
			select {
			case <-stop:
				return
			case <-time.After(200 * time.Millisecond):
			}
		}
		m := peering.NewManager(a.config.Peering, peeringBackend{a}, a.peering.tracker, a.logger.Named("peering"))
		a.peering.setManager(m)
		defer a.peering.setManager(nil)
		indexDone := make(chan struct{})
		go func() {
			defer close(indexDone)
			a.indexPeeringStreams(stop)
		}()
		defer func() { <-indexDone }()
		m.Run(stop)
	}()
	return func() { <-done }
}

// peeringStreamIndex lets blocking reads of peerings wake, with a larger
// X-Consul-Index, when only the leader's in-memory stream state changed
// (ACTIVE <-> FAILING, imported or exported service lists; see
// peering.Tracker for what counts).
//
// Why an index must move, and why it is a Raft one. The blocking helper
// returns only when the result's index differs from ?index, and clients
// feed the returned index back as their next ?index. consul/api's watch
// plans go further and drop a response whose index equals the previous one
// without calling the handler, so a change reported under an unchanged
// index is lost to them until some unrelated write. The index must
// therefore grow, and it must be a Raft log index: X-Consul-Index is
// compared with the peerings table's Raft index, and any other counter (a
// tracker generation, a clock) is either smaller, so the change is not
// seen, or ahead of Raft, so a later real write at that index would be
// taken for one already seen and missed.
//
// How. On each batch of tracker changes the leader appends a Raft barrier:
// an entry that carries no data and does not touch the FSM, but holds a
// log index. When the barrier returns, every entry up to its index is in
// the state store, so that index is a truthful "state as of" for the read,
// and every later write gets a larger one. Reads report max(peerings table
// index, latest barrier index); both only grow, so the result is
// monotonic, and a new leader starts with a barrier of its own (its
// tracker starts empty, which is itself a change) at an index above
// anything the old leader reported. Reads show the live tracker, so one
// answered between a change and its barrier shows the change under the
// older index; its client then wakes once more, at the barrier, with the
// same data: a redundant answer, never a missed change. The cost is one
// small log entry per burst of stream state changes, which happen on
// connects and disconnects and export changes, not on heartbeats.
type peeringStreamIndex struct {
	mu      sync.Mutex
	index   uint64
	changed chan struct{}
}

// get returns the current index and a channel closed when it grows.
func (p *peeringStreamIndex) get() (uint64, <-chan struct{}) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.changed == nil {
		p.changed = make(chan struct{})
	}
	return p.index, p.changed
}

func (p *peeringStreamIndex) advance(idx uint64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if idx <= p.index {
		return
	}
	p.index = idx
	if p.changed != nil {
		close(p.changed)
	}
	p.changed = make(chan struct{})
}

// peeringBarrierTimeout bounds one barrier of indexPeeringStreams.
const peeringBarrierTimeout = 5 * time.Second

// indexPeeringStreams runs for one leadership term: it appends a barrier
// at the start and after every batch of tracker changes, and publishes
// the barrier's index (see peeringStreamIndex).
func (a *Agent) indexPeeringStreams(stop <-chan struct{}) {
	tracker := a.peering.tracker
	for {
		// Fetch the channel before the barrier: changes from here on
		// close it and get a barrier of their own; earlier ones are
		// covered by this one. The first round covers the term's start,
		// which changes what reads show (the tracker starts empty).
		changed := tracker.Changed()
		var retry <-chan time.Time
		if idx, err := a.peeringBarrier(); err == nil {
			a.peering.streamIndex.advance(idx)
		} else {
			a.logger.Debug("peering stream index barrier failed, will retry", "error", err)
			retry = time.After(200 * time.Millisecond)
		}
		select {
		case <-stop:
			return
		case <-changed:
		case <-retry:
		}
	}
}

// peeringBarrier appends a barrier and returns its log index once it, and
// so every entry before it, has been applied.
func (a *Agent) peeringBarrier() (uint64, error) {
	f := a.raft.raft.Barrier(peeringBarrierTimeout)
	if err := f.Error(); err != nil {
		return 0, err
	}
	// hashicorp/raft's barrier future is a log future, which knows its
	// index. The applied index is no substitute: Raft may publish it a
	// moment after the barrier returns.
	ix, ok := f.(raft.IndexFuture)
	if !ok || ix.Index() == 0 {
		return 0, fmt.Errorf("raft barrier future %T has no log index", f)
	}
	return ix.Index(), nil
}
