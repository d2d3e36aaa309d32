package peering

import (
	"context"
	"errors"
	"fmt"
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
	// TrustBundle is this cluster's trust domain and the PEM roots of its
	// peering CA, read inside ws so a change re-sends them; both empty
	// until the CA exists.
	TrustBundle(ws memdb.WatchSet) (trustDomain string, rootPEMs []string, err error)
}

// Clean-up pacing. Deleting what a peer exported to us takes one Raft
// entry per imported node; a peer with thousands of instances would
// otherwise queue thousands of entries at once, delaying every other write
// (and followers' fsyncs) behind them. Batches of deleteBatchSize entries
// with deleteBatchPause between them cap the clean-up at roughly
// deleteBatchSize/deleteBatchPause = 640 nodes per second, which clears a
// large peer in seconds while leaving Raft mostly idle for other writes.
const (
	// deleteBatchSize is how many imported nodes are deregistered (one
	// Raft entry each, applied one after the other) before pausing.
	deleteBatchSize = 64
	// deleteBatchPause is the pause between two batches.
	deleteBatchPause = 100 * time.Millisecond
)

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
	dialers  map[string]*dialerHandle
	cleaning map[string]bool
	wg       sync.WaitGroup

	// pause waits between two clean-up batches; tests replace it to
	// observe the batches without waiting.
	pause func(ctx context.Context) error
	// hooks are nil outside tests.
	hooks *testHooks
}

// testHooks let tests hold the code at points where races happen.
type testHooks struct {
	// beforeSession runs in a dial attempt after the stream is open and
	// before its session starts: the window in which a local delete
	// finds no session to stop. draining is the attempt's drain channel.
	beforeSession func(ctx context.Context, draining <-chan struct{})
}

type sessionHandle struct {
	cancel context.CancelCauseFunc
	done   chan struct{}
}

// dialerHandle is the manager's hold on one dial loop.
type dialerHandle struct {
	cancel context.CancelFunc
	// drain asks the loop to stop once its current attempt has ended,
	// rather than cutting the attempt short: a local delete needs an
	// attempt already under way to reach its session, which tells the
	// peer (see runSession). Closed at most once, by takeDialer's caller.
	drain chan struct{}
	// done is closed when the loop has returned.
	done chan struct{}
}

// NewManager returns a manager writing stream status into tracker.
func NewManager(cfg Config, backend Backend, tracker *Tracker, log hclog.Logger) *Manager {
	ctx, cancel := context.WithCancelCause(context.Background())
	return &Manager{cfg: cfg, backend: backend, tracker: tracker, log: log, ctx: ctx, cancel: cancel,
		sessions: map[string]*sessionHandle{}, dialers: map[string]*dialerHandle{}, cleaning: map[string]bool{},
		pause: func(ctx context.Context) error {
			t := time.NewTimer(deleteBatchPause)
			defer t.Stop()
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-t.C:
				return nil
			}
		}}
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
				h := &dialerHandle{cancel: cancel, drain: make(chan struct{}), done: make(chan struct{})}
				m.dialers[rec.ID] = h
				id := rec.ID
				m.goRun(func() {
					defer m.dialerExited(id, h)
					m.dialLoop(ctx, id, h.drain)
				})
			}
		case rec.IsLive():
			live[rec.ID] = true
		default:
			// cleanUp stops the dialer itself, after the session (or the
			// attempt under way) has told the peer; cancelling it here
			// would end the stream first.
			live[rec.ID] = true
			if !m.cleaning[rec.ID] {
				m.cleaning[rec.ID] = true
				rec := rec
				m.goRun(func() { m.cleanUp(rec) })
			}
		}
	}
	for id, h := range m.dialers {
		if !live[id] {
			h.cancel()
			delete(m.dialers, id)
		}
	}
}

// dialerExited forgets a dial loop that returned, unless it was replaced.
func (m *Manager) dialerExited(id string, h *dialerHandle) {
	h.cancel()
	close(h.done)
	m.mu.Lock()
	if m.dialers[id] == h {
		delete(m.dialers, id)
	}
	m.mu.Unlock()
}

// takeDialer removes and returns a peering's dial loop, or nil.
func (m *Manager) takeDialer(id string) *dialerHandle {
	m.mu.Lock()
	defer m.mu.Unlock()
	h := m.dialers[id]
	delete(m.dialers, id)
	return h
}

// cleanUp handles a record that left the live states: tell the peer (a
// local delete), stop the stream, delete what was imported, and for a
// local delete finally remove the record (peering.md §6 rules 5-6). The
// peer's trust bundle went with the state change itself (fsm).
func (m *Manager) cleanUp(rec *fsm.Peering) {
	defer func() {
		m.mu.Lock()
		delete(m.cleaning, rec.ID)
		m.mu.Unlock()
	}()
	if rec.State == fsm.PeeringDeleting {
		m.stopForLocalDelete(rec.ID)
	} else {
		// The peer terminated: it needs no message, stop everything.
		m.stopSession(rec.ID, errTerminatedPeer)
		if d := m.takeDialer(rec.ID); d != nil {
			d.cancel()
			<-d.done
		}
	}
	if m.ctx.Err() != nil {
		return // leadership lost; the next leader cleans up
	}
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

// stopForLocalDelete ends a deleted peering's stream so that the peer
// hears Terminated whichever stage the stream is at. The dial loop is
// asked to finish its current attempt instead of being cancelled: an
// attempt still connecting reaches its session, which reads the record,
// finds it DELETING and sends Terminated (runSession). A live session is
// stopped with errDeletedLocally, which sends it too. The wait for the
// attempt is bounded by terminateGrace; past it the attempt is cancelled.
func (m *Manager) stopForLocalDelete(id string) {
	d := m.takeDialer(id)
	if d != nil {
		close(d.drain)
	}
	m.stopSession(id, errDeletedLocally)
	if d == nil {
		return
	}
	t := time.NewTimer(m.terminateGrace())
	defer t.Stop()
	select {
	case <-d.done:
		return
	case <-t.C:
		m.log.Warn("peering dial attempt did not end in time after a local delete; cancelling it", "peering_id", id)
	case <-m.ctx.Done():
	}
	d.cancel()
	<-d.done
}

// terminateGrace bounds the wait for a dial attempt under way when its
// peering is deleted: connecting takes up to DialTimeout, and sending
// Terminated and seeing the peer close up to DialTimeout more
// (runSession); one more DialTimeout is slack for a busy machine.
func (m *Manager) terminateGrace() time.Duration { return 3 * m.cfg.DialTimeout }

// deleteImported removes every node imported from peer, with its
// instances and checks: one Raft entry per node, deleteBatchSize entries
// at a time with a pause between batches (see the constants). It reads
// again until nothing is left, so a node imported while it ran goes too.
func (m *Manager) deleteImported(peer string) error {
	// A few passes catch nodes imported while a pass ran; a node that
	// survives them all is left to the caller's retry rather than looped
	// on here.
	const passes = 3
	inBatch := 0
	for pass := 0; ; pass++ {
		_, nodes, err := m.backend.Store().Nodes(nil, peer)
		if err != nil {
			return err
		}
		if len(nodes) == 0 {
			return nil
		}
		if pass == passes {
			return fmt.Errorf("%d nodes imported from %q remain after %d passes", len(nodes), peer, passes)
		}
		for _, n := range nodes {
			if inBatch == deleteBatchSize {
				if err := m.pause(m.ctx); err != nil {
					return err
				}
				inBatch = 0
			}
			if m.ctx.Err() != nil {
				return m.ctx.Err()
			}
			cmd, err := fsm.EncodeDeregister(&catalog.DeregisterRequest{Node: n.Node, PeerName: peer})
			if err == nil {
				_, err = m.backend.Apply(cmd)
			}
			if err != nil {
				return fmt.Errorf("deregistering node %q imported from %q: %w", n.Node, peer, err)
			}
			inBatch++
		}
	}
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
