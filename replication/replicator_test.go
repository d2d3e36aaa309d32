package replication

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/switchyard/switchyard/configentry"
)

func mustJSON(t testing.TB, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// fakePrimary is a primary datacenter's entry list with a blocking read,
// answering through the real wire format in its protocol version.
type fakePrimary struct {
	mu      sync.Mutex
	version int
	idx     uint64
	entries map[Key]configentry.Entry
	changed chan struct{}
	failing error
	fetches int
	// answers counts answers by shape: "full", "delta" (with the key
	// list) and "delta-nokeys".
	answers map[string]int
}

func newFakePrimary() *fakePrimary {
	return &fakePrimary{version: ProtocolVersionMax, entries: map[Key]configentry.Entry{}, changed: make(chan struct{}), answers: map[string]int{}}
}

func (p *fakePrimary) bump() {
	close(p.changed)
	p.changed = make(chan struct{})
}

// put stores e with the indexes the primary's state store would give it.
func (p *fakePrimary) put(e configentry.Entry) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.idx++
	ri := e.GetRaftIndex()
	ri.CreateIndex, ri.ModifyIndex = p.idx, p.idx
	if old, ok := p.entries[keyOf(e)]; ok {
		ri.CreateIndex = old.GetRaftIndex().CreateIndex
	}
	p.entries[keyOf(e)] = e
	p.bump()
}

func (p *fakePrimary) del(kind, name string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.idx++
	delete(p.entries, Key{kind, name})
	p.bump()
}

// setIndex forces the primary's index (a restored snapshot).
func (p *fakePrimary) setIndex(idx uint64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.idx = idx
	p.bump()
}

func (p *fakePrimary) setFailing(err error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.failing = err
	p.bump()
}

func (p *fakePrimary) fetch(ctx context.Context, req Request) (Remote, error) {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	for {
		p.mu.Lock()
		p.fetches++
		if p.failing != nil {
			err := p.failing
			p.mu.Unlock()
			return Remote{}, err
		}
		if p.idx != req.Since || req.Since == 0 || ctx.Err() != nil {
			defer p.mu.Unlock()
			return p.answer(req)
		}
		ch := p.changed
		p.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
		}
	}
}

// answer encodes and decodes what the agent's endpoint would send; p.mu is
// held.
func (p *fakePrimary) answer(req Request) (Remote, error) {
	var all []configentry.Entry
	for _, e := range p.entries {
		all = append(all, e)
	}
	l, err := EncodeList(p.version, p.idx, all, req)
	if err != nil {
		return Remote{}, err
	}
	body, err := json.Marshal(l)
	if err != nil {
		return Remote{}, err
	}
	r, err := DecodeList(body)
	switch {
	case !r.Delta:
		p.answers["full"]++
	case r.KeysUnchanged:
		p.answers["delta-nokeys"]++
	default:
		p.answers["delta"]++
	}
	return r, err
}

// answered returns the counts of answers by shape since the last call.
func (p *fakePrimary) answered() map[string]int {
	p.mu.Lock()
	defer p.mu.Unlock()
	a := p.answers
	p.answers = map[string]int{}
	return a
}

// fakeSecondary is a secondary's local store as the replicator sees it:
// each applied batch gets a new local index, as through Raft.
type fakeSecondary struct {
	mu       sync.Mutex
	raftIdx  uint64
	remote   uint64
	entries  map[Key]configentry.Entry
	modified map[Key]uint64
	applies  int
	failNext error
}

func newFakeSecondary() *fakeSecondary {
	return &fakeSecondary{entries: map[Key]configentry.Entry{}, modified: map[Key]uint64{}}
}

func (s *fakeSecondary) local() (uint64, []configentry.Entry, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []configentry.Entry
	for _, e := range s.entries {
		out = append(out, e)
	}
	return s.remote, out, nil
}

func (s *fakeSecondary) apply(_ context.Context, b Batch, remoteIndex uint64) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.failNext != nil {
		err := s.failNext
		s.failNext = nil
		return err
	}
	s.raftIdx++
	s.applies++
	for _, k := range b.Deletes {
		delete(s.entries, k)
		delete(s.modified, k)
	}
	for _, e := range b.Upserts {
		s.entries[keyOf(e)] = e
		s.modified[keyOf(e)] = s.raftIdx
	}
	if b.Last {
		s.remote = remoteIndex
	}
	return nil
}

func (s *fakeSecondary) snapshot() (map[Key]uint64, uint64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	m := map[Key]uint64{}
	for k, v := range s.modified {
		m[k] = v
	}
	return m, s.remote
}

type testLogger struct{ t *testing.T }

func (l testLogger) Info(msg string, args ...any) { l.t.Log(append([]any{msg}, args...)...) }
func (l testLogger) Warn(msg string, args ...any) { l.t.Log(append([]any{"WARN", msg}, args...)...) }

func startReplicator(t *testing.T, p *fakePrimary, s *fakeSecondary) (*Replicator, func()) {
	t.Helper()
	r, err := New(Config{Fetch: p.fetch, Local: s.local, Apply: s.apply, ApplyRate: -1, FetchRate: -1,
		RetryMin: 5 * time.Millisecond, RetryMax: 20 * time.Millisecond, Logger: testLogger{t}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		r.Run(ctx)
	}()
	stop := func() {
		cancel()
		<-done
	}
	t.Cleanup(stop)
	return r, stop
}

// converged waits until the secondary holds exactly the primary's entries
// (minus exported-services) at the primary's index.
func converged(t *testing.T, p *fakePrimary, s *fakeSecondary) {
	t.Helper()
	eventually(t, func() error {
		p.mu.Lock()
		want, idx := len(p.entries), p.idx
		for k := range p.entries {
			if skipped(k.Kind) {
				want--
			}
		}
		p.mu.Unlock()
		mod, remote := s.snapshot()
		if len(mod) != want || remote != idx {
			return fmt.Errorf("secondary has %d entries at %d, primary %d at %d", len(mod), remote, want, idx)
		}
		return nil
	})
}

func eventually(t *testing.T, f func() error) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	var err error
	for time.Now().Before(deadline) {
		if err = f(); err == nil {
			return
		}
		time.Sleep(5 * time.Millisecond) // poll interval
	}
	t.Fatal(err)
}

func TestReplicatorCopiesChangesAndNeverRewritesUnchanged(t *testing.T) {
	p, s := newFakePrimary(), newFakeSecondary()
	p.put(sd("web", "http", 0))
	p.put(sd("api", "tcp", 0))
	p.put(exported("default"))
	r, _ := startReplicator(t, p, s)
	converged(t, p, s)
	before, _ := s.snapshot()

	p.put(sd("web", "grpc", 0))
	p.del(configentry.ServiceDefaults, "api")
	converged(t, p, s)
	after, _ := s.snapshot()
	if _, ok := after[Key{configentry.ServiceDefaults, "api"}]; ok {
		t.Error("deleted entry still present")
	}
	if after[Key{configentry.ServiceDefaults, "web"}] == before[Key{configentry.ServiceDefaults, "web"}] {
		t.Error("changed entry was not rewritten")
	}
	if _, ok := after[Key{configentry.ExportedServices, "default"}]; ok {
		t.Error("exported-services was replicated")
	}
	st := r.Status()
	if !st.Running || st.ReplicatedIndex != 5 || st.LastSuccess.IsZero() || st.Deleted != 1 {
		t.Errorf("status %+v", st)
	}
}

func TestReplicatorResumesFromRecordedIndex(t *testing.T) {
	p, s := newFakePrimary(), newFakeSecondary()
	p.put(sd("web", "http", 0))
	_, stop := startReplicator(t, p, s)
	converged(t, p, s)
	stop()
	applies := s.applies

	// A new leader resumes: with nothing new on the primary it applies
	// nothing at all, not even the index.
	startReplicator(t, p, s)
	p.mu.Lock()
	fetchesBefore := p.fetches
	p.mu.Unlock()
	eventually(t, func() error {
		p.mu.Lock()
		defer p.mu.Unlock()
		if p.fetches <= fetchesBefore {
			return errors.New("no fetch yet")
		}
		return nil
	})
	p.put(sd("api", "tcp", 0))
	converged(t, p, s)
	if got := s.applies - applies; got != 1 {
		t.Errorf("resumed replicator applied %d batches, want 1 (the new entry)", got)
	}
	mod, _ := s.snapshot()
	if mod[Key{configentry.ServiceDefaults, "web"}] != 1 {
		t.Errorf("untouched entry rewritten after resume: %v", mod)
	}
}

func TestReplicatorResyncsWhenPrimaryIndexGoesBackwards(t *testing.T) {
	p, s := newFakePrimary(), newFakeSecondary()
	p.put(sd("web", "http", 0))
	p.put(sd("api", "http", 0))
	startReplicator(t, p, s)
	converged(t, p, s)
	// The primary is restored to an older state: api is gone, index 1.
	p.mu.Lock()
	delete(p.entries, Key{configentry.ServiceDefaults, "api"})
	p.mu.Unlock()
	p.setIndex(1)
	converged(t, p, s)
	mod, remote := s.snapshot()
	if _, ok := mod[Key{configentry.ServiceDefaults, "api"}]; ok || remote != 1 {
		t.Fatalf("after resync: %v at %d", mod, remote)
	}
	if mod[Key{configentry.ServiceDefaults, "web"}] != 1 {
		t.Errorf("resync rewrote an unchanged entry: %v", mod)
	}
}

func TestReplicatorSendsOnlyChangesOnceInSync(t *testing.T) {
	p, s := newFakePrimary(), newFakeSecondary()
	p.put(sd("web", "http", 0))
	p.put(sd("api", "tcp", 0))
	startReplicator(t, p, s)
	converged(t, p, s)
	if a := p.answered(); a["full"] != 1 {
		t.Errorf("first round answers %v, want one full list", a)
	}
	before, _ := s.snapshot()

	// New and changed entries travel alone, without the key list.
	p.put(sd("new", "grpc", 0))
	p.put(sd("web", "grpc", 0))
	converged(t, p, s)
	if a := p.answered(); a["full"]+a["delta"] != 0 || a["delta-nokeys"] == 0 {
		t.Errorf("answers for upserts %v, want deltas without keys only", a)
	}
	// A delete changes the key set, so the key list is sent, once.
	p.del(configentry.ServiceDefaults, "new")
	converged(t, p, s)
	if a := p.answered(); a["full"] != 0 || a["delta"] != 1 {
		t.Errorf("answers for a delete %v, want one delta with keys", a)
	}
	after, _ := s.snapshot()
	if after[Key{configentry.ServiceDefaults, "api"}] != before[Key{configentry.ServiceDefaults, "api"}] {
		t.Errorf("unchanged entry rewritten: %v -> %v", before, after)
	}
	if _, ok := after[Key{configentry.ServiceDefaults, "new"}]; ok {
		t.Error("deleted entry still present")
	}
}

func TestReplicatorFallsBackToFullListsWithV1Primary(t *testing.T) {
	p, s := newFakePrimary(), newFakeSecondary()
	p.version = 1
	p.put(sd("web", "http", 0))
	p.put(sd("api", "tcp", 0))
	startReplicator(t, p, s)
	converged(t, p, s)
	before, _ := s.snapshot()
	p.del(configentry.ServiceDefaults, "api")
	p.put(sd("new", "tcp", 0))
	converged(t, p, s)
	after, _ := s.snapshot()
	if a := p.answered(); a["delta"]+a["delta-nokeys"] != 0 || a["full"] == 0 {
		t.Errorf("a v1 primary answered %v", a)
	}
	if _, ok := after[Key{configentry.ServiceDefaults, "api"}]; ok || after[Key{configentry.ServiceDefaults, "web"}] != before[Key{configentry.ServiceDefaults, "web"}] {
		t.Errorf("full-list replication from a v1 primary: %v -> %v", before, after)
	}
}

func TestReplicatorRepairsDriftWithFullList(t *testing.T) {
	p, s := newFakePrimary(), newFakeSecondary()
	p.put(sd("web", "http", 0))
	p.put(sd("api", "tcp", 0))
	startReplicator(t, p, s)
	converged(t, p, s)
	p.answered()
	// The local copy loses an entry behind the replicator's back. The
	// next change the primary makes (or the one after, if the replicator
	// hashed its keys before the loss) carries the key list, which names
	// an entry the secondary lacks with no body: the replicator asks for
	// every entry.
	s.mu.Lock()
	delete(s.entries, Key{configentry.ServiceDefaults, "web"})
	delete(s.modified, Key{configentry.ServiceDefaults, "web"})
	s.mu.Unlock()
	p.put(sd("new", "tcp", 0))
	eventually(t, func() error {
		if _, remote := s.snapshot(); remote != 3 {
			return fmt.Errorf("secondary at %d, want 3", remote)
		}
		return nil
	})
	p.put(sd("new2", "tcp", 0))
	converged(t, p, s)
	if a := p.answered(); a["delta"] == 0 || a["full"] != 1 {
		t.Errorf("answers while repairing %v, want a delta with keys, then one full list", a)
	}
}

func TestReplicatorRecordsErrorsAndRecovers(t *testing.T) {
	p, s := newFakePrimary(), newFakeSecondary()
	p.setFailing(errors.New("primary unreachable"))
	r, _ := startReplicator(t, p, s)
	eventually(t, func() error {
		if st := r.Status(); st.LastError == "" {
			return errors.New("no error recorded")
		}
		return nil
	})
	s.mu.Lock()
	s.failNext = errors.New("raft: leadership lost")
	s.mu.Unlock()
	p.put(sd("web", "http", 0))
	p.setFailing(nil)
	converged(t, p, s)
	if st := r.Status(); st.LastSuccess.Before(st.LastErrorTime) {
		t.Errorf("status after recovery: %+v", st)
	}
}

func TestLimiter(t *testing.T) {
	now := time.Unix(0, 0)
	l := newLimiter(10, 2, func() time.Time { return now })
	if l.reserve() != 0 || l.reserve() != 0 {
		t.Fatal("burst not available")
	}
	if d := l.reserve(); d != 100*time.Millisecond {
		t.Fatalf("third token waits %v, want 100ms", d)
	}
	now = now.Add(time.Second)
	if d := l.reserve(); d != 0 {
		t.Fatalf("after refill waits %v", d)
	}
	if (&limiter{rate: 0}).reserve() != 0 {
		t.Fatal("rate 0 must not limit")
	}
}

// A change the primary made without raising the entry's ModifyIndex past
// what the secondary holds (as after restoring an older snapshot) is
// invisible to deltas; the periodic full resync repairs it.
func TestReplicatorPeriodicFullResyncCatchesSilentChanges(t *testing.T) {
	p, s := newFakePrimary(), newFakeSecondary()
	p.put(sd("web", "http", 0))
	var mu sync.Mutex
	clock := time.Unix(1_000_000, 0)
	now := func() time.Time { mu.Lock(); defer mu.Unlock(); return clock }
	r, err := New(Config{Fetch: p.fetch, Local: s.local, Apply: s.apply, ApplyRate: -1, FetchRate: -1,
		RetryMin: 5 * time.Millisecond, RetryMax: 20 * time.Millisecond, Logger: testLogger{t},
		Now: now, FullResyncInterval: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); r.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	converged(t, p, s)

	// Silently change web: same ModifyIndex, primary index unchanged.
	p.mu.Lock()
	old := p.entries[Key{configentry.ServiceDefaults, "web"}].(*configentry.ServiceConfigEntry)
	changed := *old
	changed.Protocol = "grpc"
	p.entries[Key{configentry.ServiceDefaults, "web"}] = &changed
	p.mu.Unlock()

	protocol := func() string {
		s.mu.Lock()
		defer s.mu.Unlock()
		e, _ := s.entries[Key{configentry.ServiceDefaults, "web"}].(*configentry.ServiceConfigEntry)
		if e == nil {
			return ""
		}
		return e.Protocol
	}
	// A delta round (another entry changes) does not see it...
	p.put(sd("other", "tcp", 0))
	converged(t, p, s)
	if got := protocol(); got != "http" {
		t.Fatalf("a delta carried the silent change (%q); the test no longer exercises the full resync", got)
	}
	// ...but once the interval has passed, the next round compares all.
	mu.Lock()
	clock = clock.Add(2 * time.Minute)
	mu.Unlock()
	p.put(sd("third", "tcp", 0))
	eventually(t, func() error {
		if got := protocol(); got != "grpc" {
			return fmt.Errorf("secondary still has web protocol %q", got)
		}
		return nil
	})
}
