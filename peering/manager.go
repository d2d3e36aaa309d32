package peering

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/go-memdb"

	"github.com/switchyard/switchyard/catalog"
	"github.com/switchyard/switchyard/fsm"
)

// Config tunes the stream. Defaults live in DefaultConfig only.
type Config struct {
	// HeartbeatInterval is how often each side sends a heartbeat. Shorter
	// than Consul's 15 s so a dead peer shows as FAILING within seconds;
	// the cost is a few bytes per second per peering.
	HeartbeatInterval time.Duration
	// HeartbeatTimeout closes a stream that received no heartbeat for this
	// long ("heartbeat timeout"); the peering then reads FAILING. Three
	// intervals tolerate two lost or delayed heartbeats.
	HeartbeatTimeout time.Duration
	// RedialMin and RedialMax bound the dialer's exponential backoff
	// between attempts; each attempt moves to the next known address.
	RedialMin time.Duration
	RedialMax time.Duration
	// DialTimeout bounds connecting, the TLS handshake, the secret
	// exchange and the wait for the peer's first stream message.
	DialTimeout time.Duration
	// TokenTTL is how long an establishment secret (a token) stays
	// usable. One hour: long enough to carry a token to the other
	// cluster's operator, short enough that a leaked token soon expires.
	TokenTTL time.Duration
}

// DefaultConfig returns the production defaults.
func DefaultConfig() Config {
	return Config{
		HeartbeatInterval: time.Second,
		HeartbeatTimeout:  3 * time.Second,
		RedialMin:         100 * time.Millisecond,
		RedialMax:         5 * time.Second,
		DialTimeout:       3 * time.Second,
		TokenTTL:          time.Hour,
	}
}

// Backend is what the peering code needs from the server it runs in.
type Backend interface {
	// Store is the current state store (fetch anew for every read).
	Store() *fsm.Store
	// Apply applies a command through Raft on the leader.
	Apply(cmd []byte) (*fsm.ApplyResult, error)
	// IsLeader reports whether this server leads its cluster.
	IsLeader() bool
	// LeaderAddress is the peering (gRPC TLS) address of the leader, or "".
	LeaderAddress() string
	// Datacenter is the local datacenter name.
	Datacenter() string
}

// Cancellation causes of a session.
var (
	errDeletedLocally  = errors.New("peering deleted locally")
	errReplaced        = errors.New("replaced by a newer stream")
	errLeadershipLost  = errors.New("leadership lost")
	errTerminatedPeer  = errors.New("peer terminated the peering")
	errHeartbeatTimout = errors.New("heartbeat timeout")
)

// graceful reports whether a session end is not a failure.
func graceful(err error) bool {
	return err == nil || errors.Is(err, errDeletedLocally) || errors.Is(err, errReplaced) ||
		errors.Is(err, errLeadershipLost) || errors.Is(err, errTerminatedPeer)
}

// Manager runs peering on the leader: one dial loop per dialing record,
// the sessions of accepted streams, and the clean-up of deleted and
// terminated peerings. Create one per leadership term with NewManager,
// then Run it; Run returns (with everything stopped) when stop closes.
type Manager struct {
	cfg     Config
	backend Backend
	tracker *Tracker
	log     hclog.Logger

	ctx    context.Context
	cancel context.CancelCauseFunc

	mu       sync.Mutex
	sessions map[string]*sessionHandle
	dialers  map[string]context.CancelFunc
	cleaning map[string]bool
	wg       sync.WaitGroup
}

type sessionHandle struct {
	cancel context.CancelCauseFunc
	done   chan struct{}
}

// NewManager returns a manager writing stream status into tracker.
func NewManager(cfg Config, backend Backend, tracker *Tracker, log hclog.Logger) *Manager {
	ctx, cancel := context.WithCancelCause(context.Background())
	return &Manager{cfg: cfg, backend: backend, tracker: tracker, log: log, ctx: ctx, cancel: cancel,
		sessions: map[string]*sessionHandle{}, dialers: map[string]context.CancelFunc{}, cleaning: map[string]bool{}}
}

// Run reconciles peerings until stop closes, then stops every dialer and
// session and waits for them.
func (m *Manager) Run(stop <-chan struct{}) {
	defer m.shutdown()
	go func() {
		select {
		case <-stop:
			m.cancel(errLeadershipLost)
		case <-m.ctx.Done():
		}
	}()
	for m.ctx.Err() == nil {
		store := m.backend.Store()
		ws := memdb.NewWatchSet()
		ws.Add(store.AbandonCh())
		_, recs, err := store.Peerings(ws)
		if err != nil {
			m.log.Warn("reading peerings failed", "error", err)
		} else {
			m.reconcile(recs)
		}
		// The periodic wake-up retries a clean-up that failed.
		ctx, cancel := context.WithTimeout(m.ctx, 5*time.Second)
		_ = ws.WatchCtx(ctx)
		cancel()
	}
}

func (m *Manager) shutdown() {
	m.cancel(errLeadershipLost)
	m.wg.Wait()
	m.tracker.Reset()
}

func (m *Manager) goRun(f func()) {
	m.wg.Add(1)
	go func() {
		defer m.wg.Done()
		f()
	}()
}

// reconcile starts and stops dial loops and clean-ups to match recs.
func (m *Manager) reconcile(recs []*fsm.Peering) {
	store := m.backend.Store()
	m.mu.Lock()
	defer m.mu.Unlock()
	live := map[string]bool{}
	for _, rec := range recs {
		switch {
		case rec.IsLive() && rec.ShouldDial():
			sec, err := store.PeeringSecretsFor(rec.ID)
			if err != nil || sec == nil || sec.ActiveStream == "" {
				continue // establishment still writing its secret
			}
			live[rec.ID] = true
			if _, ok := m.dialers[rec.ID]; !ok {
				ctx, cancel := context.WithCancel(m.ctx)
				m.dialers[rec.ID] = cancel
				id := rec.ID
				m.goRun(func() { m.dialLoop(ctx, id) })
			}
		case rec.IsLive():
			live[rec.ID] = true
		default:
			// cleanUp stops the dialer itself, after the session has told
			// the peer; cancelling it here would end the stream first.
			live[rec.ID] = true
			if !m.cleaning[rec.ID] {
				m.cleaning[rec.ID] = true
				rec := rec
				m.goRun(func() { m.cleanUp(rec) })
			}
		}
	}
	for id, cancel := range m.dialers {
		if !live[id] {
			cancel()
			delete(m.dialers, id)
		}
	}
}

// cleanUp handles a record that left the live states: tell the peer (a
// local delete), stop the stream, delete what was imported, and for a
// local delete finally remove the record (peering.md §6 rules 5-6).
func (m *Manager) cleanUp(rec *fsm.Peering) {
	defer func() {
		m.mu.Lock()
		delete(m.cleaning, rec.ID)
		m.mu.Unlock()
	}()
	cause := errTerminatedPeer
	if rec.State == fsm.PeeringDeleting {
		cause = errDeletedLocally
	}
	m.stopSession(rec.ID, cause)
	m.mu.Lock()
	if cancel, ok := m.dialers[rec.ID]; ok {
		cancel()
		delete(m.dialers, rec.ID)
	}
	m.mu.Unlock()
	if err := m.deleteImported(rec.Name); err != nil {
		m.log.Warn("deleting imported data failed, will retry", "peering", rec.Name, "error", err)
		return
	}
	if rec.State != fsm.PeeringDeleting {
		return
	}
	cmd, err := fsm.EncodePeeringDelete(rec.ID)
	if err == nil {
		_, err = m.backend.Apply(cmd)
	}
	if err != nil {
		m.log.Warn("removing deleted peering failed, will retry", "peering", rec.Name, "error", err)
		return
	}
	m.tracker.Forget(rec.ID)
	m.log.Info("peering deleted", "peering", rec.Name)
}

// deleteImported removes every node imported from peer, with its
// instances and checks, one node per Raft entry so a large peer does not
// produce one huge entry.
func (m *Manager) deleteImported(peer string) error {
	_, nodes, err := m.backend.Store().Nodes(nil, peer)
	if err != nil {
		return err
	}
	for _, n := range nodes {
		if m.ctx.Err() != nil {
			return m.ctx.Err()
		}
		cmd, err := fsm.EncodeDeregister(&catalog.DeregisterRequest{Node: n.Node, PeerName: peer})
		if err == nil {
			_, err = m.backend.Apply(cmd)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// startSession registers a new session for a peering, replacing (and
// waiting out) an older one, and returns its context.
func (m *Manager) startSession(parent context.Context, id string) (context.Context, *sessionHandle) {
	m.stopSession(id, errReplaced)
	ctx, cancel := context.WithCancelCause(parent)
	stop := context.AfterFunc(m.ctx, func() { cancel(context.Cause(m.ctx)) })
	h := &sessionHandle{cancel: func(c error) { stop(); cancel(c) }, done: make(chan struct{})}
	m.mu.Lock()
	m.sessions[id] = h
	m.mu.Unlock()
	return ctx, h
}

func (m *Manager) endSession(id string, h *sessionHandle) {
	m.mu.Lock()
	if m.sessions[id] == h {
		delete(m.sessions, id)
	}
	m.mu.Unlock()
	h.cancel(context.Canceled)
	close(h.done)
}

// stopSession cancels a peering's session with cause and waits for it.
func (m *Manager) stopSession(id string, cause error) {
	m.mu.Lock()
	h := m.sessions[id]
	m.mu.Unlock()
	if h == nil {
		return
	}
	h.cancel(cause)
	<-h.done
}
