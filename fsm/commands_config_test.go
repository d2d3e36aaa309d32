package fsm

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/switchyard/switchyard/configentry"
)

func TestConfigUpsertKeepsCreateIndex(t *testing.T) {
	h := newHarness(t, Config{})
	h.mustUpsert(serviceDefaults("web", "http")) // index 1
	h.mustUpsert(serviceDefaults("api", "tcp"))  // index 2
	h.mustUpsert(serviceDefaults("web", "grpc")) // index 3
	_, e, err := h.store().ConfigEntry(nil, configentry.ServiceDefaults, "web")
	if err != nil || e == nil {
		t.Fatalf("entry: %v %v", e, err)
	}
	sd := e.(*configentry.ServiceConfigEntry)
	if sd.Protocol != "grpc" || sd.CreateIndex != 1 || sd.ModifyIndex != 3 {
		t.Fatalf("got %+v", sd)
	}
}

func TestConfigUpsertDecodesDurations(t *testing.T) {
	h := newHarness(t, Config{})
	h.mustUpsert(&configentry.ServiceResolverConfigEntry{
		Kind: configentry.ServiceResolver, Name: "web", ConnectTimeout: 15 * time.Second,
	})
	_, e, _ := h.store().ConfigEntry(nil, configentry.ServiceResolver, "web")
	if r := e.(*configentry.ServiceResolverConfigEntry); r.ConnectTimeout != 15*time.Second {
		t.Fatalf("ConnectTimeout = %v", r.ConnectTimeout)
	}
}

func TestConfigUpsertCAS(t *testing.T) {
	cases := []struct {
		name    string
		prepare bool // store web first (at index 1)
		cas     uint64
		wantOk  bool
	}{
		{"cas 0 on missing entry writes", false, 0, true},
		{"cas 0 on existing entry refuses", true, 0, false},
		{"cas N matching writes", true, 1, true},
		{"cas N stale refuses", true, 7, false},
		{"cas N on missing entry refuses", false, 1, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, Config{})
			if tc.prepare {
				h.mustUpsert(serviceDefaults("web", "http"))
			}
			before := dump(t, h.store())
			res := h.upsert(serviceDefaults("web", "grpc"), u64(tc.cas))
			if res.Ok != tc.wantOk || res.Err != nil {
				t.Fatalf("result %+v, want Ok=%v", res, tc.wantOk)
			}
			_, e, _ := h.store().ConfigEntry(nil, configentry.ServiceDefaults, "web")
			if tc.wantOk {
				if sd := e.(*configentry.ServiceConfigEntry); sd.Protocol != "grpc" || sd.ModifyIndex != res.Index {
					t.Fatalf("entry after CAS write: %+v", sd)
				}
			} else if dump(t, h.store()) != before {
				t.Fatal("a failed CAS changed state")
			}
		})
	}
}

func TestConfigDelete(t *testing.T) {
	cases := []struct {
		name     string
		prepare  bool // store web first (at index 1)
		cas      *uint64
		wantOk   bool
		wantGone bool
	}{
		{"plain delete", true, nil, true, true},
		{"delete of a missing entry is a success", false, nil, true, true},
		{"cas matching deletes", true, u64(1), true, true},
		{"cas stale keeps", true, u64(9), false, false},
		{"cas 0 never deletes", true, u64(0), false, false},
		{"cas on a missing entry fails", false, u64(1), false, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, Config{})
			if tc.prepare {
				h.mustUpsert(serviceDefaults("web", "http"))
			}
			res := h.deleteEntry(configentry.ServiceDefaults, "web", tc.cas)
			if res.Ok != tc.wantOk || res.Err != nil {
				t.Fatalf("result %+v, want Ok=%v", res, tc.wantOk)
			}
			_, e, _ := h.store().ConfigEntry(nil, configentry.ServiceDefaults, "web")
			if (e == nil) != tc.wantGone {
				t.Fatalf("entry present = %v", e != nil)
			}
		})
	}
}

func TestDeletingMissingEntryWritesNothing(t *testing.T) {
	h := newHarness(t, Config{})
	h.mustUpsert(serviceDefaults("api", "http"))
	before := dump(t, h.store())
	h.deleteEntry(configentry.ServiceDefaults, "web", nil)
	if dump(t, h.store()) != before {
		t.Fatal("idempotent delete bumped indexes")
	}
}

// recordingValidator refuses upserts of "bad" and deletes of "locked", and
// records what it was shown.
type recordingValidator struct {
	calls []string
	sizes []int
}

func (v *recordingValidator) validate(stored *ConfigView, upsert configentry.Entry, kind, name string) error {
	if upsert != nil {
		kind, name = upsert.GetKind(), upsert.GetName()
		v.calls = append(v.calls, "upsert "+kind+"/"+name)
	} else {
		v.calls = append(v.calls, "delete "+kind+"/"+name)
	}
	v.sizes = append(v.sizes, len(stored.List(configentry.ServiceDefaults)))
	if name == "bad" || (upsert == nil && name == "locked") {
		return errors.New("graph: " + name + " would break a chain")
	}
	return nil
}

func TestGraphValidator(t *testing.T) {
	v := &recordingValidator{}
	h := newHarness(t, Config{GraphValidator: v.validate})
	h.mustUpsert(serviceDefaults("web", "http"), serviceDefaults("locked", "http"))
	before := dump(t, h.store())

	res := h.upsert(serviceDefaults("bad", "http"), nil)
	if res.Ok || res.Err == nil || !strings.Contains(res.Err.Error(), "bad would break a chain") {
		t.Fatalf("rejected upsert: %+v", res)
	}
	res = h.deleteEntry(configentry.ServiceDefaults, "locked", nil)
	if res.Ok || res.Err == nil {
		t.Fatalf("rejected delete: %+v", res)
	}
	if dump(t, h.store()) != before {
		t.Fatal("a rejected write changed state")
	}

	// The validator is not consulted when CAS already failed, nor for a
	// delete of a missing entry.
	h.upsert(serviceDefaults("web", "tcp"), u64(0))
	h.deleteEntry(configentry.ServiceDefaults, "ghost", nil)

	want := []string{
		"upsert service-defaults/web", "upsert service-defaults/locked",
		"upsert service-defaults/bad", "delete service-defaults/locked",
	}
	if strings.Join(v.calls, ",") != strings.Join(want, ",") {
		t.Fatalf("validator calls %v, want %v", v.calls, want)
	}
	// It sees the stored entries as they were before each write.
	if got := v.sizes; got[0] != 0 || got[1] != 1 || got[2] != 2 || got[3] != 2 {
		t.Fatalf("set sizes %v", got)
	}
}

func TestEncodeConfigUpsertRefusesUndecodableEntry(t *testing.T) {
	// Without Kind the JSON form cannot be decoded; such a command must not
	// reach the log, where every server would fail on it.
	if _, err := EncodeConfigUpsert(&configentry.ServiceConfigEntry{Name: "web"}, nil); err == nil {
		t.Fatal("expected an error")
	}
}
