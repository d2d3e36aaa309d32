package fsm

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/switchyard/switchyard/catalog"
)

// addPeeringFixture adds an acceptor record with secrets and a dialer
// record to the snapshot fixture, so the golden snapshot covers both
// peering record types.
func addPeeringFixture(t testing.TB, h *harness) {
	t.Helper()
	acc := &Peering{ID: "9e1c7b0a-1b2c-4d3e-8f90-a1b2c3d4e5f6", Name: "east", Meta: map[string]string{"env": "prod"}}
	dial := &Peering{ID: "0f0e0d0c-0b0a-4998-8776-655443322110", Name: "west", State: PeeringEstablishing,
		PeerID: "11111111-2222-4333-8444-555555555555", PeerCAPems: []string{"-----BEGIN CERTIFICATE-----\nMII=\n-----END CERTIFICATE-----\n"},
		PeerServerName: "server.dc2.peering.abc.consul", PeerServerAddresses: []string{"10.0.0.2:8503"},
		Remote: PeeringRemote{Datacenter: "dc2"}}
	for _, p := range []*Peering{acc, dial} {
		if res := h.apply(EncodePeeringWrite(p)); !res.Ok {
			t.Fatalf("writing peering %s: %v", p.Name, res.Err)
		}
	}
	if res := h.apply(EncodePeeringSecrets(&SecretsRequest{PeerID: acc.ID, Op: SecretsGenerate, Secret: "est-1", Expires: 2e18})); !res.Ok {
		t.Fatalf("secrets: %v", res.Err)
	}
	if res := h.apply(EncodePeeringSecrets(&SecretsRequest{PeerID: dial.ID, Op: SecretsSetActive, Secret: "stream-1"})); !res.Ok {
		t.Fatalf("secrets: %v", res.Err)
	}
}

func TestPeeringWriteRules(t *testing.T) {
	h := newHarness(t, Config{})
	write := func(p Peering) error { return h.apply(EncodePeeringWrite(&p)).Err }
	acc := Peering{ID: "a1", Name: "east"}
	if err := write(acc); err != nil {
		t.Fatal(err)
	}
	_, got, _ := h.store().PeeringByName(nil, "EAST")
	if got == nil || got.State != PeeringPending || got.CreateIndex != 1 {
		t.Fatalf("new record: %+v", got)
	}
	cases := []struct {
		name string
		p    Peering
		want string
	}{
		{"name taken by another ID", Peering{ID: "a2", Name: "east"}, "already exists"},
		{"switch to dialing", Peering{ID: "a1", Name: "east", PeerServerAddresses: []string{"1.2.3.4:5"}}, "Cannot switch peering dialing mode from acceptor to dialer"},
		{"deleting without DeletedAt", Peering{ID: "a1", Name: "east", State: PeeringDeleting}, "DeletedAt"},
		{"missing ID", Peering{Name: "x"}, "required"},
	}
	for _, tc := range cases {
		if err := write(tc.p); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want %q", tc.name, err, tc.want)
		}
	}
	// UNDEFINED keeps the stored state.
	h.apply(EncodePeeringSecrets(&SecretsRequest{PeerID: "a1", Op: SecretsGenerate, Secret: "s", Expires: 10}))
	if err := write(Peering{ID: "a1", Name: "east", State: PeeringUndefined, Meta: map[string]string{"k": "v"}}); err != nil {
		t.Fatal(err)
	}
	_, got, _ = h.store().PeeringByID(nil, "a1")
	if got.State != PeeringPending || got.Meta["k"] != "v" {
		t.Fatalf("undefined write: %+v", got)
	}
	// Marking for deletion drops the secrets and freezes the record.
	now := time.Unix(100, 0).UTC()
	if res := h.apply(EncodePeeringSetState("a1", PeeringDeleting, &now)); !res.Ok {
		t.Fatal(res.Err)
	}
	if sec, _ := h.store().PeeringSecretsFor("a1"); sec != nil {
		t.Fatalf("secrets survived deletion: %+v", sec)
	}
	if err := write(Peering{ID: "a1", Name: "east", State: PeeringPending}); err == nil || !strings.Contains(err.Error(), "marked for deletion") {
		t.Fatalf("write to deleting record: %v", err)
	}
	if res := h.apply(EncodePeeringSetState("a1", PeeringTerminated, nil)); !res.Ok {
		t.Fatalf("terminate of a deleting record must be a no-op: %v", res.Err)
	}
	_, got, _ = h.store().PeeringByID(nil, "a1")
	if got.State != PeeringDeleting || !got.DeletedAt.Equal(now) {
		t.Fatalf("deleting record changed: %+v", got)
	}
	if res := h.apply(EncodePeeringDelete("a1")); !res.Ok {
		t.Fatal(res.Err)
	}
	idx, all, _ := h.store().Peerings(nil)
	if len(all) != 0 || idx != h.idx {
		t.Fatalf("after delete: idx=%d (want %d) %v", idx, h.idx, all)
	}
}

func TestPeeringSecretExchange(t *testing.T) {
	h := newHarness(t, Config{})
	h.apply(EncodePeeringWrite(&Peering{ID: "a1", Name: "east"}))
	secrets := func(req SecretsRequest) error {
		req.PeerID = "a1"
		return h.apply(EncodePeeringSecrets(&req)).Err
	}
	if err := secrets(SecretsRequest{Op: SecretsGenerate, Secret: "old", Expires: 50}); err != nil {
		t.Fatal(err)
	}
	// A newer token replaces the older one.
	if err := secrets(SecretsRequest{Op: SecretsGenerate, Secret: "est", Expires: 50}); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		secret string
		now    int64
		want   error
	}{
		{"old", 10, ErrPeeringSecretInvalid},
		{"forged", 10, ErrPeeringSecretInvalid},
		{"est", 51, ErrPeeringSecretExpired},
	} {
		if err := secrets(SecretsRequest{Op: SecretsExchange, Secret: tc.secret, NewSecret: "x", Now: tc.now}); !errors.Is(err, tc.want) {
			t.Errorf("exchange %q at %d: %v, want %v", tc.secret, tc.now, err, tc.want)
		}
	}
	if err := secrets(SecretsRequest{Op: SecretsExchange, Secret: "est", NewSecret: "pending", Now: 40}); err != nil {
		t.Fatal(err)
	}
	if err := secrets(SecretsRequest{Op: SecretsExchange, Secret: "est", NewSecret: "again", Now: 41}); !errors.Is(err, ErrPeeringSecretUsed) {
		t.Fatalf("second use: %v", err)
	}
	if err := secrets(SecretsRequest{Op: SecretsPromote, Secret: "wrong"}); !errors.Is(err, ErrPeeringStreamSecret) {
		t.Fatalf("promote wrong: %v", err)
	}
	if err := secrets(SecretsRequest{Op: SecretsPromote, Secret: "pending"}); err != nil {
		t.Fatal(err)
	}
	// Promoting the active secret again (a reconnect) is accepted.
	if err := secrets(SecretsRequest{Op: SecretsPromote, Secret: "pending"}); err != nil {
		t.Fatal(err)
	}
	sec, _ := h.store().PeeringSecretsFor("a1")
	if sec.ActiveStream != "pending" || sec.PendingStream != "" || sec.Establishment != "" {
		t.Fatalf("secrets after promote: %+v", sec)
	}
	if err := h.apply(EncodePeeringSecrets(&SecretsRequest{PeerID: "nope", Op: SecretsGenerate, Secret: "s"})).Err; !errors.Is(err, ErrPeeringNotFound) {
		t.Fatalf("secrets of a missing peering: %v", err)
	}
}

// The FSM accepts imported catalog data (PeerName set) through the plain
// register command, which the HTTP endpoint refuses for clients.
func TestFSMAcceptsImportedRegistrations(t *testing.T) {
	h := newHarness(t, Config{})
	req := withCheck(instance("n1", "web1", "web"), "web1:overall-check", "web1", catalog.HealthCritical)
	req.PeerName = "east"
	if req.Validate() == nil {
		t.Fatal("client validation should refuse PeerName")
	}
	h.mustRegister(req)
	_, csn, err := h.store().CheckServiceNodes(nil, "web", "east")
	if err != nil || len(csn) != 1 || csn[0].Service.PeerName != "east" || csn[0].Checks[0].PeerName != "east" {
		t.Fatalf("imported health: %v %+v", err, csn)
	}
	if _, local, _ := h.store().CheckServiceNodes(nil, "web", ""); len(local) != 0 {
		t.Fatalf("imported data leaked into local view: %+v", local)
	}
}

// The peer's trust bundle survives writes that do not carry one, is
// replaced by one that does, goes with the live states, and survives a
// snapshot; a record written without the field decodes with it nil.
func TestPeeringTrustBundleRules(t *testing.T) {
	h := newHarness(t, Config{})
	write := func(p Peering) {
		t.Helper()
		if res := h.apply(EncodePeeringWrite(&p)); !res.Ok {
			t.Fatal(res.Err)
		}
	}
	bundle := func(id string) *PeeringTrustBundle {
		_, p, _ := h.store().PeeringByID(nil, id)
		return p.TrustBundle
	}
	b1 := &PeeringTrustBundle{TrustDomain: "a.consul", RootPEMs: []string{"root-1"}}
	b2 := &PeeringTrustBundle{TrustDomain: "a.consul", RootPEMs: []string{"root-2"}}
	write(Peering{ID: "a1", Name: "east", TrustBundle: b1})
	write(Peering{ID: "a1", Name: "east", Meta: map[string]string{"k": "v"}})
	if !bundle("a1").Equal(b1) {
		t.Fatalf("a write without a bundle dropped it: %+v", bundle("a1"))
	}
	write(Peering{ID: "a1", Name: "east", TrustBundle: b2})
	if !bundle("a1").Equal(b2) {
		t.Fatalf("bundle not replaced: %+v", bundle("a1"))
	}

	snap, err := readSnapshot(bytes.NewReader(snapshotBytes(t, h.store())))
	if err != nil {
		t.Fatal(err)
	}
	if _, p, _ := snap.PeeringByID(nil, "a1"); p == nil || !p.TrustBundle.Equal(b2) {
		t.Fatalf("bundle lost in a snapshot: %+v", p)
	}
	var old Peering
	if err := json.Unmarshal([]byte(`{"ID":"a1","Name":"east","State":"PENDING","Remote":{"Partition":"","Datacenter":""},"CreateIndex":1,"ModifyIndex":1}`), &old); err != nil || old.TrustBundle != nil {
		t.Fatalf("record of an older version: %+v %v", old, err)
	}

	if res := h.apply(EncodePeeringSetState("a1", PeeringTerminated, nil)); !res.Ok {
		t.Fatal(res.Err)
	}
	if bundle("a1") != nil {
		t.Fatal("a terminated peering kept the peer's trust bundle")
	}
	// A late bundle for a terminated record is dropped by the write itself.
	write(Peering{ID: "a1", Name: "east", State: PeeringUndefined, TrustBundle: b1})
	if bundle("a1") != nil {
		t.Fatal("a terminated peering took a trust bundle")
	}

	write(Peering{ID: "d1", Name: "west", PeerServerAddresses: []string{"10.0.0.2:8503"}, State: PeeringEstablishing, TrustBundle: b1})
	now := time.Unix(100, 0).UTC()
	if res := h.apply(EncodePeeringSetState("d1", PeeringDeleting, &now)); !res.Ok {
		t.Fatal(res.Err)
	}
	if bundle("d1") != nil {
		t.Fatal("a deleting peering kept the peer's trust bundle")
	}
}
