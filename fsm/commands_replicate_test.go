package fsm

import (
	"bytes"
	"errors"
	"io"
	"testing"

	"github.com/switchyard/switchyard/configentry"
)

// refuseAll is a graph validator that refuses every write, standing in for
// an intermediate state a validator would reject.
func refuseAll(*ConfigView, configentry.Entry, string, string) error {
	return errors.New("refused by validator")
}

func TestConfigReplicateBypassesGraphValidatorAndIsAtomic(t *testing.T) {
	h := newHarness(t, Config{})
	h.mustUpsert(serviceDefaults("old", "http"), serviceDefaults("keep", "tcp")) // 1, 2
	h.fsm.cfg.GraphValidator = refuseAll

	res := h.apply(EncodeConfigReplicate(
		[]ConfigKey{{configentry.ServiceDefaults, "old"}, {configentry.ServiceDefaults, "never-existed"}},
		[]configentry.Entry{serviceDefaults("new", "grpc")}, true, 42))
	if !res.Ok || res.Err != nil {
		t.Fatalf("replicate: %+v", res)
	}
	_, all, _ := h.store().ConfigEntriesAll(nil)
	var names []string
	for _, e := range all {
		names = append(names, e.GetName())
	}
	if len(names) != 2 || names[0] != "keep" || names[1] != "new" {
		t.Fatalf("entries after replicate: %v", names)
	}
	_, keep, _ := h.store().ConfigEntry(nil, configentry.ServiceDefaults, "keep")
	if keep.GetRaftIndex().ModifyIndex != 2 {
		t.Errorf("untouched entry rewritten: ModifyIndex %d", keep.GetRaftIndex().ModifyIndex)
	}
	_, added, _ := h.store().ConfigEntry(nil, configentry.ServiceDefaults, "new")
	if ri := added.GetRaftIndex(); ri.CreateIndex != 3 || ri.ModifyIndex != 3 {
		t.Errorf("replicated entry carries %+v, want local index 3", *ri)
	}
	if idx, err := h.store().ConfigReplicationIndex(nil); err != nil || idx != 42 {
		t.Errorf("replication index %d, %v; want 42", idx, err)
	}
}

func TestConfigReplicateWithoutSetIndexKeepsIndex(t *testing.T) {
	h := newHarness(t, Config{})
	h.apply(EncodeConfigReplicate(nil, []configentry.Entry{serviceDefaults("a", "http")}, true, 7))
	h.apply(EncodeConfigReplicate(nil, []configentry.Entry{serviceDefaults("b", "http")}, false, 99))
	if idx, _ := h.store().ConfigReplicationIndex(nil); idx != 7 {
		t.Fatalf("an intermediate batch moved the index to %d", idx)
	}
}

func TestConfigReplicateIndexSurvivesSnapshot(t *testing.T) {
	h := newHarness(t, Config{})
	h.apply(EncodeConfigReplicate(nil, []configentry.Entry{serviceDefaults("a", "http")}, true, 1234))
	restored := New(Config{})
	if err := restored.Restore(io.NopCloser(bytes.NewReader(snapshotBytes(t, h.store())))); err != nil {
		t.Fatal(err)
	}
	if idx, err := restored.State().ConfigReplicationIndex(nil); err != nil || idx != 1234 {
		t.Fatalf("restored index %d, %v", idx, err)
	}
}
