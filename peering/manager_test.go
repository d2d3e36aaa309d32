package peering

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/switchyard/switchyard/fsm"
)

// waitImportsAndBundles waits until each side of p imports the other's
// exported service and holds the other's trust bundle.
func waitImportsAndBundles(t *testing.T, p *peeredPair) {
	t.Helper()
	eventually(t, 10*time.Second, func() error {
		if err := connected(p.westMgr.tracker, p.westID); err != nil {
			return err
		}
		if n := p.west.importedNodes("east"); n != 1 {
			return fmt.Errorf("west imported %d nodes from east, want 1", n)
		}
		if n := p.east.importedNodes("west"); n != 1 {
			return fmt.Errorf("east imported %d nodes from west, want 1", n)
		}
		for _, c := range []struct {
			b    *fakeBackend
			id   string
			from *fakeBackend
		}{{p.west, p.westID, p.east}, {p.east, p.eastID, p.west}} {
			got := c.b.record(c.id).TrustBundle
			want := &fsm.PeeringTrustBundle{TrustDomain: c.from.trustDomain, RootPEMs: c.from.roots}
			if !got.Equal(want) {
				return fmt.Errorf("%s holds trust bundle %+v, want %s's", c.b.dc, got, c.from.dc)
			}
		}
		return nil
	})
}

// A peering deleted while its dialer is between opening a stream and
// starting the session on it: the session must still tell the peer, and
// the clean-up must let it (peering.md §6 rule 5). Without the re-read at
// session start nobody sends Terminated; without the clean-up waiting for
// the attempt, the attempt is cancelled before it can.
func TestLocalDeleteDuringDialTerminatesPeer(t *testing.T) {
	var armed atomic.Bool
	entered := make(chan struct{})
	var enterOnce sync.Once
	hooks := &testHooks{beforeSession: func(ctx context.Context, draining <-chan struct{}) {
		if !armed.Load() {
			return
		}
		enterOnce.Do(func() { close(entered) })
		// Hold the attempt until the clean-up has begun (it drains the
		// dial loop) or has cancelled the attempt outright.
		select {
		case <-ctx.Done():
		case <-draining:
		}
	}}
	p := newPeeredPair(t, hooks)
	p.east.register("", "e1", "web")
	p.east.export("web", "west")
	p.west.register("", "w1", "api")
	p.west.export("api", "east")
	waitImportsAndBundles(t, p)

	// Drop the stream on east's side; west redials into the hook.
	armed.Store(true)
	p.eastMgr.m.stopSession(p.eastID, errReplaced)
	select {
	case <-entered:
	case <-time.After(10 * time.Second):
		t.Fatal("west did not redial")
	}
	now := time.Now().UTC()
	p.west.must(fsm.EncodePeeringSetState(p.westID, fsm.PeeringDeleting, &now))

	eventually(t, 15*time.Second, func() error {
		rec := p.east.record(p.eastID)
		if rec == nil || rec.State != fsm.PeeringTerminated {
			return fmt.Errorf("east's record is %+v, want TERMINATED", rec)
		}
		if rec.TrustBundle != nil {
			return fmt.Errorf("east kept west's trust bundle after the termination")
		}
		if n := p.east.importedNodes("west"); n != 0 {
			return fmt.Errorf("east still holds %d nodes imported from west", n)
		}
		return nil
	})
	eventually(t, 15*time.Second, func() error {
		if rec := p.west.record(p.westID); rec != nil {
			return fmt.Errorf("west's record still there: %+v", rec)
		}
		if n := p.west.importedNodes("east"); n != 0 {
			return fmt.Errorf("west still holds %d nodes imported from east", n)
		}
		return nil
	})
}

// A delete while the session is live ends it with Terminated as before,
// and the trust bundles go with the records' live states.
func TestLocalDeleteOfLiveSessionTerminatesPeer(t *testing.T) {
	p := newPeeredPair(t, nil)
	p.east.register("", "e1", "web")
	p.east.export("web", "west")
	p.west.register("", "w1", "api")
	p.west.export("api", "east")
	waitImportsAndBundles(t, p)

	now := time.Now().UTC()
	p.east.must(fsm.EncodePeeringSetState(p.eastID, fsm.PeeringDeleting, &now))
	eventually(t, 15*time.Second, func() error {
		rec := p.west.record(p.westID)
		if rec == nil || rec.State != fsm.PeeringTerminated || rec.TrustBundle != nil {
			return fmt.Errorf("west's record is %+v, want TERMINATED without a trust bundle", rec)
		}
		if n := p.west.importedNodes("east"); n != 0 {
			return fmt.Errorf("west still holds %d nodes imported from east", n)
		}
		if rec := p.east.record(p.eastID); rec != nil {
			return fmt.Errorf("east's record still there: %+v", rec)
		}
		if n := p.east.importedNodes("west"); n != 0 {
			return fmt.Errorf("east still holds %d nodes imported from west", n)
		}
		return nil
	})
}

// The clean-up deregisters imported nodes in batches of deleteBatchSize,
// pausing between batches, and leaves local and other peers' data alone.
func TestDeleteImportedInBatches(t *testing.T) {
	b := newFakeBackend(t, "west")
	const n = 2*deleteBatchSize + 5
	for i := 0; i < n; i++ {
		b.register("east", fmt.Sprintf("n%03d", i), "web")
	}
	b.register("", "local", "web")
	b.register("north", "n000", "web")
	m := NewManager(testConfig(), b, NewTracker(), hclog.NewNullLogger())
	var batches []int
	before := b.appliedOf(fsm.CommandDeregister)
	m.pause = func(context.Context) error {
		// Every pause must see exactly one more full batch applied.
		batches = append(batches, b.appliedOf(fsm.CommandDeregister)-before-sum(batches))
		return nil
	}
	if err := m.deleteImported("east"); err != nil {
		t.Fatal(err)
	}
	batches = append(batches, b.appliedOf(fsm.CommandDeregister)-before-sum(batches))
	if fmt.Sprint(batches) != fmt.Sprint([]int{deleteBatchSize, deleteBatchSize, 5}) {
		t.Fatalf("deregistrations per batch %v, want [%d %d 5]", batches, deleteBatchSize, deleteBatchSize)
	}
	if got := b.importedNodes("east"); got != 0 {
		t.Fatalf("%d nodes from east left", got)
	}
	if b.importedNodes("") != 1 || b.importedNodes("north") != 1 {
		t.Fatal("the clean-up touched local or another peer's nodes")
	}
}

// A clean-up on a manager whose term ended stops with an error instead of
// writing, so the next leader redoes it.
func TestDeleteImportedStopsWithManager(t *testing.T) {
	b := newFakeBackend(t, "west")
	for i := 0; i < deleteBatchSize+1; i++ {
		b.register("east", fmt.Sprintf("n%03d", i), "web")
	}
	m := NewManager(testConfig(), b, NewTracker(), hclog.NewNullLogger())
	m.cancel(errLeadershipLost)
	if err := m.deleteImported("east"); err == nil {
		t.Fatal("clean-up went on after the manager stopped")
	}
}

func sum(xs []int) int {
	t := 0
	for _, x := range xs {
		t += x
	}
	return t
}
