package fsm

import (
	"errors"
	"strings"
	"testing"

	"github.com/hashicorp/go-memdb"

	"github.com/switchyard/switchyard/configentry"
)

func names(es []configentry.Entry) string {
	var out []string
	for _, e := range es {
		out = append(out, e.GetName())
	}
	return strings.Join(out, ",")
}

func TestConfigViewReadsStoredEntries(t *testing.T) {
	h := newHarness(t, Config{})
	h.mustUpsert(
		serviceDefaults("web", "http"), serviceDefaults("api", "http"),
		&configentry.ServiceResolverConfigEntry{Kind: configentry.ServiceResolver, Name: "web"},
		&configentry.ServiceResolverConfigEntry{Kind: configentry.ServiceResolver, Name: "api"},
		&configentry.ServiceRouterConfigEntry{Kind: configentry.ServiceRouter, Name: "web"},
	)
	up := serviceDefaults("db", "tcp")
	called := false
	err := h.store().ValidateConfigWrite(func(v *ConfigView, upsert configentry.Entry, kind, name string) error {
		called = true
		if upsert != up || kind != "" || name != "" {
			t.Errorf("validator got %v %q %q", upsert, kind, name)
		}
		if got := names(v.List(configentry.ServiceResolver)); got != "api,web" {
			t.Errorf("resolvers %q, want api,web", got)
		}
		if got := names(v.List(configentry.ServiceRouter)); got != "web" {
			t.Errorf("routers %q, want web", got)
		}
		// A kind is matched whole, never as a prefix of another kind.
		if got := v.List("service"); len(got) != 0 {
			t.Errorf(`List("service") = %q, want nothing`, names(got))
		}
		if e := v.Get(configentry.ServiceDefaults, "api"); e == nil || e.GetName() != "api" {
			t.Errorf("Get service-defaults/api = %v", e)
		}
		if e := v.Get(configentry.ServiceDefaults, "db"); e != nil {
			t.Errorf("the entry being written is already visible: %v", e)
		}
		return errors.New("no")
	}, up, "", "")
	if !called || err == nil || err.Error() != "no" {
		t.Fatalf("called %v, err %v: the validator's verdict must be returned", called, err)
	}
	if err := h.store().ValidateConfigWrite(nil, up, "", ""); err != nil {
		t.Fatalf("nil validator: %v", err)
	}
}

// failingTxn is a transaction whose every read fails.
type failingTxn struct{}

var errRead = errors.New("read failed")

func (failingTxn) First(string, string, ...any) (any, error) { return nil, errRead }
func (failingTxn) FirstWatch(string, string, ...any) (<-chan struct{}, any, error) {
	return nil, nil, errRead
}
func (failingTxn) Get(string, string, ...any) (memdb.ResultIterator, error) { return nil, errRead }

func TestGraphValidationRefusesWriteWhenReadsFail(t *testing.T) {
	// A validator sees a failed read as a missing entry and may accept
	// the write; the failure must refuse it anyway.
	accept := func(v *ConfigView, _ configentry.Entry, _, _ string) error {
		v.List(configentry.ServiceRouter)
		v.Get(configentry.ServiceDefaults, "web")
		return nil
	}
	err := validateGraphTxn(failingTxn{}, accept, serviceDefaults("web", "http"), "", "")
	if !errors.Is(err, errRead) {
		t.Fatalf("got %v, want the read error", err)
	}
}
