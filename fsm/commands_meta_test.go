package fsm

import (
	"testing"

	"github.com/hashicorp/go-memdb"
)

func TestSystemMetaSetOnlyIfAbsentKeepsTheFirstValue(t *testing.T) {
	h := newHarness(t, Config{})
	if _, v, _ := h.store().SystemMeta(nil, MetaClusterID); v != "" {
		t.Fatalf("fresh store has a cluster ID: %q", v)
	}
	ws := memdb.NewWatchSet()
	h.store().SystemMeta(ws, MetaClusterID)
	if res := h.apply(EncodeSystemMetaSet(MetaClusterID, "first", true)); !res.Ok {
		t.Fatalf("first set: %+v", res)
	}
	if !fired(ws) {
		t.Error("setting the key did not fire its watch")
	}
	// A second leader racing to initialise loses: the value stays, Ok false.
	if res := h.apply(EncodeSystemMetaSet(MetaClusterID, "second", true)); res.Ok || res.Err != nil {
		t.Fatalf("second only-if-absent set: %+v", res)
	}
	idx, v, _ := h.store().SystemMeta(nil, MetaClusterID)
	if v != "first" || idx == 0 {
		t.Fatalf("got %q at %d, want first", v, idx)
	}
	// Re-setting the same value is Ok; an unconditional set replaces.
	if res := h.apply(EncodeSystemMetaSet(MetaClusterID, "first", true)); !res.Ok {
		t.Fatalf("same value: %+v", res)
	}
	if res := h.apply(EncodeSystemMetaSet(MetaClusterID, "third", false)); !res.Ok {
		t.Fatalf("unconditional set: %+v", res)
	}
	if _, v, _ := h.store().SystemMeta(nil, MetaClusterID); v != "third" {
		t.Fatalf("got %q, want third", v)
	}
}
