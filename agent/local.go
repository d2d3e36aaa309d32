package agent

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sort"
	"sync"
	"time"

	"github.com/switchyard/switchyard/catalog"
)

// Agent-local state: the services and checks registered with this agent
// through /v1/agent/..., which anti-entropy keeps in the catalog under the
// agent's own node name. The local state is the source of truth for that
// node's instances and checks, except the consul service and the
// serfHealth check, which the leader manages from gossip.
//
// Every entry carries an in-sync flag and a version. A change marks its
// entries out of sync; a sync pass sends the out-of-sync entries to the
// catalog through the normal write path (PUT /v1/catalog/register or
// deregister, served in memory by apiHandler, so a follower forwards to the
// leader) and marks an entry in sync only if it did not change while its
// write was in flight. Removed entries stay as tombstones until their
// deregistration succeeds. A periodic full pass first compares the entries
// with this node's catalog rows (in this server's replica) to repair drift,
// such as rows someone changed through the catalog API. A follower's replica
// may lag; that costs at most a redundant write, since every write sets the
// row to the local entry's content and writing the same content is a no-op.
//
// TTL checks turn critical when not updated within their TTL; HTTP and TCP
// checks are run every Interval (local_checks.go). Other check types (gRPC,
// script, alias, ...) are stored with their definition and initial status,
// but running them is out of scope; so is DeregisterCriticalServiceAfter,
// and so are the thresholds (SuccessBeforePassing and the like). The
// registrations are kept in the data dir across restarts (local_persist.go).
//
// The zero value is ready to use (maps are made on first use), so the
// Agent can embed it without a constructor.

// Texts and limits of TTL checks, as in Consul.
const (
	ttlExpiredOutput = "TTL expired"
	// defaultOutputMaxSize caps a check's output when its definition sets
	// no OutputMaxSize.
	defaultOutputMaxSize = 4096
)

// localSyncPassTimeout bounds a background sync pass (a handler's pass is
// bounded by its request instead). It covers a forward's wait for a leader
// and a Raft apply, with room for a few writes.
const localSyncPassTimeout = time.Minute

var (
	errUnknownLocalService = errors.New("unknown local service")
	errUnknownLocalCheck   = errors.New("unknown local check")
	errNotTTLCheck         = errors.New("check has no TTL")
)

type localService struct {
	svc     *catalog.NodeService // replaced on change, never modified
	version uint64
	inSync  bool
	deleted bool
}

type localCheck struct {
	// check is replaced on change, never modified, so views handed out stay
	// valid. ServiceName and ServiceTags are filled from the service when
	// the check is read.
	check      *catalog.HealthCheck
	registered *catalog.HealthCheck // as registered, for local_persist.go
	ttl        time.Duration
	timer      *time.Timer
	timerGen   uint64 // lets a timer that fired after a reset recognise itself as stale
	stopRun    func() // stops the runner of an HTTP or TCP check
	lastOutput string // the last output set by an update, quoted when the TTL expires
	version    uint64
	inSync     bool
	deleted    bool
}

// localState is concurrency-safe; mu guards everything but syncMu.
type localState struct {
	mu       sync.Mutex
	seq      uint64
	services map[string]*localService
	checks   map[string]*localCheck
	changed  chan struct{} // closed and replaced on every change (hash-blocking reads)
	syncReq  chan struct{} // capacity 1: asks the sync loop for a pass
	stopped  bool

	// syncMu serialises sync passes, so writes of one pass never overtake
	// those of an earlier one.
	syncMu sync.Mutex
}

func (l *localState) initLocked() {
	if l.services == nil {
		l.services = map[string]*localService{}
		l.checks = map[string]*localCheck{}
		l.changed = make(chan struct{})
		l.syncReq = make(chan struct{}, 1)
	}
}

// touchLocked records a change: it wakes hash-blocking readers and returns
// the version the changed entries get.
func (l *localState) touchLocked() uint64 {
	l.seq++
	close(l.changed)
	l.changed = make(chan struct{})
	return l.seq
}

// syncRequests delivers a value when a change made outside a request (a
// TTL expiring) needs a sync pass.
func (l *localState) syncRequests() <-chan struct{} {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.initLocked()
	return l.syncReq
}

func (l *localState) requestSyncLocked() {
	select {
	case l.syncReq <- struct{}{}:
	default: // a pass is already pending
	}
}

// localCheckSpec is a check to add with its TTL (0 for other types).
type localCheckSpec struct {
	check *catalog.HealthCheck
	ttl   time.Duration
}

// addService adds or replaces a service with its checks. A check that
// already existed keeps its status and output, as in Consul, so that
// re-registering a service does not reset its health. With replaceChecks,
// the service's other checks are removed.
func (l *localState) addService(svc *catalog.NodeService, checks []localCheckSpec, replaceChecks bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.initLocked()
	v := l.touchLocked()
	l.services[svc.ID] = &localService{svc: svc, version: v}
	keep := map[string]bool{}
	for _, spec := range checks {
		c := spec.check
		keep[c.CheckID] = true
		if old := l.checks[c.CheckID]; old != nil && !old.deleted {
			cp := *c
			cp.Status, cp.Output = old.check.Status, old.check.Output
			c = &cp
		}
		l.setCheckLocked(c, spec.check, spec.ttl, v)
	}
	if replaceChecks {
		for id, lc := range l.checks {
			if lc.check.ServiceID == svc.ID && !keep[id] && !lc.deleted {
				l.deleteCheckLocked(lc, v)
			}
		}
	}
}

// removeService removes a service and its checks; false if unknown.
func (l *localState) removeService(id string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.initLocked()
	s := l.services[id]
	if s == nil || s.deleted {
		return false
	}
	v := l.touchLocked()
	s.deleted, s.inSync, s.version = true, false, v
	for _, lc := range l.checks {
		if lc.check.ServiceID == id && !lc.deleted {
			l.deleteCheckLocked(lc, v)
		}
	}
	return true
}

// addCheck adds or replaces a check; a service check needs its service.
func (l *localState) addCheck(c *catalog.HealthCheck, ttl time.Duration) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.initLocked()
	if c.ServiceID != "" {
		if s := l.services[c.ServiceID]; s == nil || s.deleted {
			return errUnknownLocalService
		}
	}
	l.setCheckLocked(c, c, ttl, l.touchLocked())
	return nil
}

// removeCheck removes a check; false if unknown.
func (l *localState) removeCheck(id string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.initLocked()
	lc := l.checks[id]
	if lc == nil || lc.deleted {
		return false
	}
	l.deleteCheckLocked(lc, l.touchLocked())
	return true
}

// setCheckLocked stores check c; registered is c as registered (c may
// carry the status of the check it replaces), which is what is saved.
func (l *localState) setCheckLocked(c, registered *catalog.HealthCheck, ttl time.Duration, v uint64) {
	if old := l.checks[c.CheckID]; old != nil {
		l.stopTimerLocked(old)
	}
	lc := &localCheck{check: c, registered: registered, ttl: ttl, lastOutput: c.Output, version: v}
	l.checks[c.CheckID] = lc
	if ttl > 0 {
		l.armLocked(lc)
	} else {
		l.startRunnerLocked(lc)
	}
}

func (l *localState) deleteCheckLocked(lc *localCheck, v uint64) {
	l.stopTimerLocked(lc)
	lc.deleted, lc.inSync, lc.version = true, false, v
}

// armLocked (re)starts a TTL check's timer.
func (l *localState) armLocked(lc *localCheck) {
	l.stopTimerLocked(lc)
	if l.stopped {
		return
	}
	gen := lc.timerGen
	lc.timer = time.AfterFunc(lc.ttl, func() { l.expire(lc, gen) })
}

// stopTimerLocked stops a check's timer or runner. Bumping the generation
// also disarms a callback or a run that already finished and waits for the
// lock.
func (l *localState) stopTimerLocked(lc *localCheck) {
	lc.timerGen++
	if lc.timer != nil {
		lc.timer.Stop()
		lc.timer = nil
	}
	if lc.stopRun != nil {
		lc.stopRun()
		lc.stopRun = nil
	}
}

// expire turns a TTL check that was not updated in time critical.
func (l *localState) expire(lc *localCheck, gen uint64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.checks[lc.check.CheckID] != lc || lc.timerGen != gen || lc.deleted {
		return
	}
	lc.timer = nil
	output := ttlExpiredOutput
	if lc.lastOutput != "" {
		output = fmt.Sprintf("%s (last output before timeout follows): %s", ttlExpiredOutput, lc.lastOutput)
	}
	if l.setStatusLocked(lc, catalog.HealthCritical, output) {
		l.requestSyncLocked()
	}
}

// updateTTL sets a TTL check's status and output and restarts its TTL.
func (l *localState) updateTTL(id, status, output string) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.initLocked()
	lc := l.checks[id]
	if lc == nil || lc.deleted {
		return errUnknownLocalCheck
	}
	if lc.ttl == 0 {
		return errNotTTLCheck
	}
	output = truncateOutput(output, int(lc.check.Definition.OutputMaxSize))
	lc.lastOutput = output
	l.armLocked(lc)
	l.setStatusLocked(lc, status, output)
	return nil
}

// setStatusLocked changes a check's status and output; unchanged values
// cost no catalog write. It reports whether anything changed.
func (l *localState) setStatusLocked(lc *localCheck, status, output string) bool {
	if lc.check.Status == status && lc.check.Output == output {
		return false
	}
	cp := *lc.check
	cp.Status, cp.Output = status, output
	lc.check = &cp
	lc.version, lc.inSync = l.touchLocked(), false
	return true
}

// truncateOutput caps output at limit bytes (the default when 0), saying
// how much was kept, as Consul does.
func truncateOutput(output string, limit int) string {
	if limit <= 0 {
		limit = defaultOutputMaxSize
	}
	if len(output) <= limit {
		return output
	}
	return fmt.Sprintf("%s ... (captured %d of %d bytes)", output[:limit], limit, len(output))
}

// stop stops every TTL timer and check runner; later registrations start
// none. The agent
// calls it when shutting down.
func (l *localState) stop() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.stopped = true
	for _, lc := range l.checks {
		l.stopTimerLocked(lc)
	}
}

// serviceList returns the live services by ID.
func (l *localState) serviceList() map[string]*catalog.NodeService {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := map[string]*catalog.NodeService{}
	for id, s := range l.services {
		if !s.deleted {
			out[id] = s.svc
		}
	}
	return out
}

// service returns a live service and a channel closed at the next change.
func (l *localState) service(id string) (*catalog.NodeService, <-chan struct{}, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.initLocked()
	s := l.services[id]
	if s == nil || s.deleted {
		return nil, l.changed, false
	}
	return s.svc, l.changed, true
}

// checkList returns the live checks by ID, as the catalog would hold them.
func (l *localState) checkList() map[string]*catalog.HealthCheck {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := map[string]*catalog.HealthCheck{}
	for id, lc := range l.checks {
		if !lc.deleted {
			out[id] = l.checkViewLocked(lc)
		}
	}
	return out
}

// checkViewLocked copies a check with its service's name and tags.
func (l *localState) checkViewLocked(lc *localCheck) *catalog.HealthCheck {
	c := *lc.check
	c.ServiceName, c.ServiceTags = "", []string{}
	if s := l.services[c.ServiceID]; c.ServiceID != "" && s != nil {
		c.ServiceName, c.ServiceTags = s.svc.Service, s.svc.Tags
	}
	return &c
}

// localOp is one catalog write that brings the catalog closer to the local
// state. The sender fills in the node fields.
type localOp struct {
	register   *catalog.RegisterRequest   // a service with its checks, or one check
	deregister *catalog.DeregisterRequest // a service (with its checks) or one check
	confirm    func()                     // run under mu once the write succeeded
}

// pendingOps lists the writes that bring the catalog in line: removals
// first, then services (each with all its checks, in one request), then
// checks whose service is already in sync, and node checks. IDs are sorted
// so that a pass is deterministic.
func (l *localState) pendingOps() []localOp {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.initLocked()
	var ops []localOp
	for _, id := range sortedKeys(l.services) {
		if s := l.services[id]; s.deleted {
			ops = append(ops, l.serviceDeregisterLocked(id, s))
		}
	}
	for _, id := range sortedKeys(l.checks) {
		lc := l.checks[id]
		// A removed service takes its checks with it.
		if s := l.services[lc.check.ServiceID]; lc.deleted && (s == nil || !s.deleted) {
			ops = append(ops, l.checkDeregisterLocked(id, lc))
		}
	}
	included := map[string]bool{}
	for _, id := range sortedKeys(l.services) {
		if s := l.services[id]; !s.deleted && !s.inSync {
			ops = append(ops, l.serviceRegisterLocked(s, included))
		}
	}
	for _, id := range sortedKeys(l.checks) {
		if lc := l.checks[id]; !lc.deleted && !lc.inSync && !included[id] {
			ops = append(ops, l.checkRegisterLocked(lc))
		}
	}
	return ops
}

func (l *localState) serviceDeregisterLocked(id string, s *localService) localOp {
	v := s.version
	return localOp{
		deregister: &catalog.DeregisterRequest{ServiceID: id},
		confirm: func() {
			if cur := l.services[id]; cur == s && cur.version == v {
				delete(l.services, id)
			}
			// The catalog dropped the service's checks with it.
			for cid, lc := range l.checks {
				if lc.deleted && lc.check.ServiceID == id {
					delete(l.checks, cid)
				}
			}
		},
	}
}

func (l *localState) checkDeregisterLocked(id string, lc *localCheck) localOp {
	v := lc.version
	return localOp{
		deregister: &catalog.DeregisterRequest{CheckID: id},
		confirm: func() {
			if cur := l.checks[id]; cur == lc && cur.version == v {
				delete(l.checks, id)
			}
		},
	}
}

// serviceRegisterLocked registers a service with every live check of it,
// recording those checks in included.
func (l *localState) serviceRegisterLocked(s *localService, included map[string]bool) localOp {
	req := &catalog.RegisterRequest{Service: s.svc}
	versions := map[*localCheck]uint64{}
	for _, cid := range sortedKeys(l.checks) {
		lc := l.checks[cid]
		if !lc.deleted && lc.check.ServiceID == s.svc.ID {
			req.Checks = append(req.Checks, l.checkViewLocked(lc))
			versions[lc] = lc.version
			included[cid] = true
		}
	}
	v := s.version
	return localOp{register: req, confirm: func() {
		if s.version == v {
			s.inSync = true
		}
		for lc, cv := range versions {
			if lc.version == cv {
				lc.inSync = true
			}
		}
	}}
}

func (l *localState) checkRegisterLocked(lc *localCheck) localOp {
	v := lc.version
	return localOp{
		register: &catalog.RegisterRequest{Checks: []*catalog.HealthCheck{l.checkViewLocked(lc)}},
		confirm: func() {
			if lc.version == v {
				lc.inSync = true
			}
		},
	}
}

func (l *localState) confirm(op localOp) {
	l.mu.Lock()
	defer l.mu.Unlock()
	op.confirm()
}

// diffCatalog compares the local state with this node's catalog rows:
// entries that differ or are missing there are marked out of sync, rows
// without a local entry get a tombstone so they are deregistered, and
// tombstones of rows already gone are dropped. The consul service and the
// serfHealth check belong to the leader and are left alone.
func (l *localState) diffCatalog(remoteServices map[string]*catalog.NodeService, remoteChecks []*catalog.HealthCheck) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.initLocked()
	delete(remoteServices, consulServiceName)
	for id, rs := range remoteServices {
		switch s := l.services[id]; {
		case s == nil:
			l.seq++
			l.services[id] = &localService{svc: rs, deleted: true, version: l.seq}
		case !s.deleted:
			s.inSync = sameServiceRow(s.svc, rs)
		}
	}
	for id, s := range l.services {
		if _, ok := remoteServices[id]; !ok {
			if s.deleted {
				delete(l.services, id)
			} else {
				s.inSync = false
			}
		}
	}
	remote := map[string]*catalog.HealthCheck{}
	for _, c := range remoteChecks {
		if c.CheckID != serfHealthID {
			remote[c.CheckID] = c
		}
	}
	for id, rc := range remote {
		switch lc := l.checks[id]; {
		case lc == nil:
			l.seq++
			l.checks[id] = &localCheck{check: rc, deleted: true, version: l.seq}
		case !lc.deleted:
			lc.inSync = sameCheckRow(l.checkViewLocked(lc), rc)
		}
	}
	for id, lc := range l.checks {
		if _, ok := remote[id]; !ok {
			if lc.deleted {
				delete(l.checks, id)
			} else {
				lc.inSync = false
			}
		}
	}
}

// sameServiceRow and sameCheckRow report whether a local entry equals its
// catalog row. They compare JSON with the row's Raft indexes cleared: the
// catalog holds what it decoded from the JSON of our write, so equal JSON
// means equal content, and empty-versus-nil differences that JSON does not
// carry cannot keep an entry out of sync forever.
func sameServiceRow(local, row *catalog.NodeService) bool {
	r := *row
	r.RaftIndex = catalog.RaftIndex{}
	return sameJSON(local, &r)
}

func sameCheckRow(local, row *catalog.HealthCheck) bool {
	r := *row
	r.RaftIndex = catalog.RaftIndex{}
	return sameJSON(local, &r)
}

func sameJSON(a, b any) bool {
	ja, errA := json.Marshal(a)
	jb, errB := json.Marshal(b)
	return errA == nil && errB == nil && bytes.Equal(ja, jb)
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// startLocalSync starts the anti-entropy loop: a sync pass when a TTL check
// changes on its own, and a full pass (which also repairs drift) every
// ReconcileInterval, the cadence at which the leader repairs the catalog
// from gossip; both trade write load against repair latency the same way.
// The loop stops the TTL timers when the agent shuts down.
func (a *Agent) startLocalSync() {
	requests := a.local.syncRequests()
	a.goRun(func() {
		defer a.local.stop()
		tick := time.NewTicker(a.config.ReconcileInterval)
		defer tick.Stop()
		for {
			full := false
			select {
			case <-a.shutdownCh:
				return
			case <-requests:
			case <-tick.C:
				full = true
			}
			ctx, cancel := context.WithTimeout(context.Background(), localSyncPassTimeout)
			if err := a.syncLocal(ctx, full); err != nil {
				a.logger.Warn("syncing agent services and checks to the catalog failed; will retry", "error", err)
			}
			cancel()
		}
	})
}

// syncLocalChanges is the pass a handler runs after changing the local
// state, so that a client reading the catalog right after its agent write
// sees it, as with Consul. A failure is only logged: the change is kept and
// the next pass retries.
func (a *Agent) syncLocalChanges(ctx context.Context) {
	if err := a.syncLocal(ctx, false); err != nil {
		a.logger.Warn("syncing agent change to the catalog failed; anti-entropy will retry", "error", err)
	}
}

// syncLocal runs one sync pass; full first diffs against the catalog. A
// write the catalog refuses (400) is reported and skipped, so that one bad
// entry cannot hold back the others. Any other failure ends the pass: the
// rest would most likely fail the same way (no leader), and each failure
// may take a forward's whole wait.
func (a *Agent) syncLocal(ctx context.Context, full bool) error {
	a.local.syncMu.Lock()
	defer a.local.syncMu.Unlock()
	if full {
		store := a.state.store()
		_, ns, err := store.Node(nil, a.config.NodeName, "")
		if err != nil {
			return err
		}
		_, checks, err := store.NodeChecks(nil, a.config.NodeName, "")
		if err != nil {
			return err
		}
		services := map[string]*catalog.NodeService{}
		if ns != nil {
			for id, s := range ns.Services {
				services[id] = s
			}
		}
		a.local.diffCatalog(services, checks)
	}
	var refused []error
	for _, op := range a.local.pendingOps() {
		err := a.sendLocalOp(ctx, op)
		var r *refusedWrite
		switch {
		case errors.As(err, &r):
			refused = append(refused, err)
		case err != nil:
			return errors.Join(append(refused, err)...)
		default:
			a.local.confirm(op)
		}
	}
	return errors.Join(refused...)
}

// refusedWrite is a sync write the catalog answered with 400.
type refusedWrite struct{ msg string }

func (e *refusedWrite) Error() string { return e.msg }

// sendLocalOp writes through /v1/catalog/... in memory, so the request
// takes the same path as a client's: validation, forwarding to the leader
// and Raft. SkipNodeUpdate leaves the node's fields to the leader's gossip
// reconcile; the address and ID are only used if the node does not exist
// yet.
func (a *Agent) sendLocalOp(ctx context.Context, op localOp) error {
	c := a.config
	path := "/v1/catalog/deregister"
	var body any
	if op.register != nil {
		req := *op.register
		req.Datacenter, req.ID, req.Node, req.Address, req.SkipNodeUpdate = c.Datacenter, c.NodeID, c.NodeName, c.AdvertiseAddr, true
		path, body = "/v1/catalog/register", &req
	} else {
		req := *op.deregister
		req.Datacenter, req.Node = c.Datacenter, c.NodeName
		body = &req
	}
	b, err := json.Marshal(body)
	if err != nil {
		return err
	}
	r, err := http.NewRequestWithContext(ctx, http.MethodPut, path, bytes.NewReader(b))
	if err != nil {
		return err
	}
	rec := httptest.NewRecorder()
	a.apiHandler().ServeHTTP(rec, r)
	msg := fmt.Sprintf("%s: %d %s", path, rec.Code, bytes.TrimSpace(rec.Body.Bytes()))
	switch rec.Code {
	case http.StatusOK:
		return nil
	case http.StatusBadRequest:
		return &refusedWrite{msg}
	}
	return errors.New(msg)
}
