package fsm

import (
	"bytes"
	"fmt"
	"io"
	"testing"

	"github.com/hashicorp/go-memdb"

	"github.com/switchyard/switchyard/catalog"
	"github.com/switchyard/switchyard/configentry"
)

// watchOn runs read against a fresh watch set and returns the set.
func watchOn(read func(ws memdb.WatchSet)) memdb.WatchSet {
	ws := memdb.NewWatchSet()
	read(ws)
	return ws
}

func TestServiceWatchesArePrecise(t *testing.T) {
	type reader struct {
		name string
		read func(s *Store, ws memdb.WatchSet)
	}
	readers := []reader{
		{"health of b", func(s *Store, ws memdb.WatchSet) { s.CheckServiceNodes(ws, "b", "") }},
		{"catalog of b", func(s *Store, ws memdb.WatchSet) { s.ServiceNodes(ws, "b", "") }},
		{"checks of b", func(s *Store, ws memdb.WatchSet) { s.ServiceChecks(ws, "b", "") }},
	}
	writes := []struct {
		name   string
		write  func(h *harness)
		wakesB bool
	}{
		{"new instance of a", func(h *harness) { h.mustRegister(instance("n1", "a2", "a")) }, false},
		{"tag change on a", func(h *harness) { h.mustRegister(instance("n1", "a1", "a", "new")) }, false},
		{"check on a", func(h *harness) { h.mustRegister(withCheck(nodeOnly("n1"), "ca", "a1", catalog.HealthCritical)) }, false},
		{"delete a", func(h *harness) { h.deregister(&catalog.DeregisterRequest{Node: "n1", ServiceID: "a1"}) }, false},
		{"imported b", func(h *harness) {
			r := instance("n2", "b1", "b")
			r.PeerName = "east"
			h.mustRegister(r)
		}, false},
		{"node check on a's node", func(h *harness) { h.mustRegister(withCheck(nodeOnly("n1"), "disk", "", catalog.HealthWarning)) }, false},
		{"config entry", func(h *harness) { h.mustUpsert(serviceDefaults("b", "http")) }, false},
		{"instance of b", func(h *harness) { h.mustRegister(instance("n2", "b2", "b")) }, true},
		{"check on b", func(h *harness) { h.mustRegister(withCheck(nodeOnly("n2"), "cb", "b1", catalog.HealthPassing)) }, true},
		{"b's node changes address", func(h *harness) {
			r := nodeOnly("n2")
			r.Address = "10.1.1.1"
			h.mustRegister(r)
		}, true},
		{"delete b", func(h *harness) { h.deregister(&catalog.DeregisterRequest{Node: "n2", ServiceID: "b1"}) }, true},
	}
	for _, w := range writes {
		for _, r := range readers {
			t.Run(w.name+"/"+r.name, func(t *testing.T) {
				h := newHarness(t, Config{})
				h.mustRegister(instance("n1", "a1", "a"), withCheck(instance("n2", "b1", "b"), "cb", "b1", catalog.HealthCritical))
				ws := watchOn(func(ws memdb.WatchSet) { r.read(h.store(), ws) })
				w.write(h)
				if got := fired(ws); got != w.wakesB {
					t.Fatalf("watch fired = %v, want %v", got, w.wakesB)
				}
			})
		}
	}
}

func TestNodeCheckWakesEveryServiceOnTheNode(t *testing.T) {
	h := newHarness(t, Config{})
	h.mustRegister(instance("n1", "a1", "a"), instance("n1", "b1", "b"), instance("n2", "c1", "c"))
	watch := func(svc string) memdb.WatchSet {
		return watchOn(func(ws memdb.WatchSet) { h.store().CheckServiceNodes(ws, svc, "") })
	}
	a, b, c := watch("a"), watch("b"), watch("c")
	h.mustRegister(withCheck(nodeOnly("n1"), "maint", "", catalog.HealthCritical))
	if !fired(a) || !fired(b) {
		t.Fatal("a node check must wake the health of every service on the node")
	}
	if fired(c) {
		t.Fatal("a node check woke a service on another node")
	}
}

func TestMissingServiceWatchFiresWhenItAppears(t *testing.T) {
	h := newHarness(t, Config{})
	ws := watchOn(func(ws memdb.WatchSet) { h.store().CheckServiceNodes(ws, "web", "") })
	h.mustRegister(instance("n1", "web1", "web"))
	if !fired(ws) {
		t.Fatal("registering the service did not wake its reader")
	}
}

func TestConfigWatchesArePrecise(t *testing.T) {
	readers := map[string]func(s *Store, ws memdb.WatchSet){
		"entry": func(s *Store, ws memdb.WatchSet) { s.ConfigEntry(ws, configentry.ServiceDefaults, "web") },
		"kind":  func(s *Store, ws memdb.WatchSet) { s.ConfigEntries(ws, configentry.ServiceDefaults) },
	}
	writes := []struct {
		name      string
		write     func(h *harness)
		wakeEntry bool
		wakeKind  bool
	}{
		{"same kind, other name", func(h *harness) { h.mustUpsert(serviceDefaults("api", "grpc")) }, false, true},
		{"other kind, same name", func(h *harness) {
			h.mustUpsert(&configentry.ServiceResolverConfigEntry{Kind: configentry.ServiceResolver, Name: "web"})
		}, false, false},
		{"catalog write", func(h *harness) { h.mustRegister(instance("n1", "web1", "web")) }, false, false},
		{"failed CAS", func(h *harness) { h.upsert(serviceDefaults("web", "tcp"), u64(0)) }, false, false},
		{"the entry itself", func(h *harness) { h.mustUpsert(serviceDefaults("web", "tcp")) }, true, true},
		{"deleting the entry", func(h *harness) { h.deleteEntry(configentry.ServiceDefaults, "web", nil) }, true, true},
	}
	for _, w := range writes {
		for rname, read := range readers {
			t.Run(w.name+"/"+rname, func(t *testing.T) {
				h := newHarness(t, Config{})
				h.mustUpsert(serviceDefaults("web", "http"), serviceDefaults("api", "http"))
				ws := watchOn(func(ws memdb.WatchSet) { read(h.store(), ws) })
				w.write(h)
				want := w.wakeEntry
				if rname == "kind" {
					want = w.wakeKind
				}
				if got := fired(ws); got != want {
					t.Fatalf("watch fired = %v, want %v", got, want)
				}
			})
		}
	}
}

func TestRestoreAbandonsOldStore(t *testing.T) {
	h := newHarness(t, Config{})
	h.mustRegister(instance("n1", "web1", "web"))
	var snap bytes.Buffer
	if err := writeSnapshot(&snap, h.store().db); err != nil {
		t.Fatal(err)
	}
	old := h.store()
	ws := watchOn(func(ws memdb.WatchSet) { old.CheckServiceNodes(ws, "other", "") })
	ws.Add(old.AbandonCh())
	if err := h.fsm.Restore(io.NopCloser(&snap)); err != nil {
		t.Fatal(err)
	}
	select {
	case <-old.AbandonCh():
	default:
		t.Fatal("AbandonCh not closed by Restore")
	}
	if !fired(ws) {
		t.Fatal("a blocked reader of the old store was not woken")
	}
	if h.store() == old {
		t.Fatal("store not replaced")
	}
}

// Readers run on memdb snapshots while Apply and Persist go on; under -race
// this shows that no stored object is written after it is published.
func TestReadsRunConcurrentlyWithApply(t *testing.T) {
	h := newHarness(t, Config{})
	h.mustRegister(withCheck(instance("n1", "web1", "web"), "c", "web1", catalog.HealthPassing))
	snap, err := h.fsm.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	errs := make(chan error, 2)
	go func() {
		var last uint64
		for {
			select {
			case <-done:
				errs <- nil
				return
			default:
			}
			idx, csn, err := h.store().CheckServiceNodes(nil, "web", "")
			if err == nil && idx < last {
				err = fmt.Errorf("index went backwards: %d after %d", idx, last)
			}
			for _, n := range csn {
				_ = n.Service.Tags
				_ = n.Checks.AggregatedStatus()
			}
			if err != nil {
				errs <- err
				return
			}
			last = idx
		}
	}()
	go func() { errs <- snap.Persist(&sinkBuffer{}) }()
	for i := 0; i < 200; i++ {
		status := catalog.HealthPassing
		if i%2 == 0 {
			status = catalog.HealthCritical
		}
		h.mustRegister(withCheck(instance("n1", "web1", "web", fmt.Sprint(i)), "c", "web1", status))
	}
	close(done)
	for i := 0; i < 2; i++ {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
}
