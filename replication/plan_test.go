package replication

import (
	"encoding/json"
	"fmt"
	"net/url"
	"reflect"
	"testing"

	"github.com/switchyard/switchyard/configentry"
)

func sd(name, protocol string, idx uint64) *configentry.ServiceConfigEntry {
	e := &configentry.ServiceConfigEntry{Kind: configentry.ServiceDefaults, Name: name, Protocol: protocol}
	e.CreateIndex, e.ModifyIndex = idx, idx
	return e
}

func exported(name string) *configentry.ExportedServicesConfigEntry {
	return &configentry.ExportedServicesConfigEntry{Name: name}
}

func names(es []configentry.Entry) []string {
	var out []string
	for _, e := range es {
		out = append(out, e.GetKind()+"/"+e.GetName())
	}
	return out
}

func TestDiffFullList(t *testing.T) {
	cases := []struct {
		name        string
		local       []configentry.Entry
		remote      []configentry.Entry
		wantUpserts []string
		wantDeletes []Key
	}{
		{name: "both empty"},
		{name: "new remote entries are upserted",
			remote:      []configentry.Entry{sd("web", "http", 5), sd("api", "tcp", 6)},
			wantUpserts: []string{"service-defaults/api", "service-defaults/web"}},
		{name: "equal entries with different raft indexes are left alone",
			local:  []configentry.Entry{sd("web", "http", 100)},
			remote: []configentry.Entry{sd("web", "http", 5)}},
		{name: "changed entries are upserted",
			local:       []configentry.Entry{sd("web", "http", 100), sd("api", "tcp", 101)},
			remote:      []configentry.Entry{sd("web", "grpc", 7), sd("api", "tcp", 6)},
			wantUpserts: []string{"service-defaults/web"}},
		{name: "entries gone from the primary are deleted",
			local:       []configentry.Entry{sd("web", "http", 100), sd("old", "tcp", 101)},
			remote:      []configentry.Entry{sd("web", "http", 5)},
			wantDeletes: []Key{{configentry.ServiceDefaults, "old"}}},
		{name: "same name of another kind is another entry",
			local: []configentry.Entry{sd("web", "http", 100)},
			remote: []configentry.Entry{&configentry.ServiceResolverConfigEntry{Kind: configentry.ServiceResolver, Name: "web"},
				sd("web", "http", 1)},
			wantUpserts: []string{"service-resolver/web"}},
		{name: "exported-services is never copied",
			remote: []configentry.Entry{exported("default"), sd("web", "http", 1)}, wantUpserts: []string{"service-defaults/web"}},
		{name: "a local exported-services is never deleted",
			local: []configentry.Entry{exported("default")}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := Diff(tc.local, Remote{Entries: tc.remote})
			if got := names(p.Upserts); !reflect.DeepEqual(got, tc.wantUpserts) {
				t.Errorf("upserts %v, want %v", got, tc.wantUpserts)
			}
			if !reflect.DeepEqual(p.Deletes, tc.wantDeletes) {
				t.Errorf("deletes %v, want %v", p.Deletes, tc.wantDeletes)
			}
			if p.Empty() != (len(tc.wantUpserts)+len(tc.wantDeletes) == 0) {
				t.Errorf("Empty() = %v", p.Empty())
			}
		})
	}
}

func TestBatches(t *testing.T) {
	var p Plan
	for i := 0; i < 3; i++ {
		p.Deletes = append(p.Deletes, Key{configentry.ServiceDefaults, fmt.Sprintf("d%d", i)})
	}
	for i := 0; i < 4; i++ {
		p.Upserts = append(p.Upserts, sd(fmt.Sprintf("u%d", i), "http", 1))
	}
	bs := p.Batches(3)
	var sizes []int
	for i, b := range bs {
		sizes = append(sizes, b.Size())
		if b.Last != (i == len(bs)-1) {
			t.Errorf("batch %d Last=%v", i, b.Last)
		}
	}
	if !reflect.DeepEqual(sizes, []int{3, 3, 1}) {
		t.Fatalf("batch sizes %v, want [3 3 1]", sizes)
	}
	if len(bs[0].Deletes) != 3 || len(bs[0].Upserts) != 0 {
		t.Errorf("deletes must come first: %+v", bs[0])
	}

	empty := Plan{}.Batches(10)
	if len(empty) != 1 || !empty[0].Last || empty[0].Size() != 0 {
		t.Errorf("empty plan gives %+v, want one empty last batch", empty)
	}
	if got := len(p.Batches(0)); got != 7 {
		t.Errorf("size 0 treated as 1: %d batches, want 7", got)
	}
}

func TestDiffDelta(t *testing.T) {
	web, api, old := sd("web", "http", 100), sd("api", "tcp", 101), sd("old", "tcp", 102)
	local := []configentry.Entry{web, api, old}
	// keys lists the primary's keys; a body's key gets index 20 (after
	// Since), any other 5.
	keys := func(bodies []configentry.Entry, names ...string) []KeyIndex {
		out := []KeyIndex{{configentry.ExportedServices, "default", 20}} // never deleted nor needed
		for _, n := range names {
			idx := uint64(5)
			for _, b := range bodies {
				if b.GetName() == n {
					idx = 20
				}
			}
			out = append(out, KeyIndex{configentry.ServiceDefaults, n, idx})
		}
		return out
	}
	delta := func(bodies []configentry.Entry, names ...string) Remote {
		r := Remote{Index: 20, Delta: true, Since: 10, Entries: bodies}
		if names == nil {
			r.KeysUnchanged = true
		} else {
			r.Keys = keys(bodies, names...)
		}
		return r
	}
	cases := []struct {
		name        string
		remote      Remote
		wantUpserts []string
		wantDeletes []Key
		wantResync  bool
	}{
		{name: "added, key list unchanged",
			remote:      delta([]configentry.Entry{sd("new", "http", 20)}),
			wantUpserts: []string{"service-defaults/new"}},
		{name: "added, with the key list",
			remote:      delta([]configentry.Entry{sd("new", "http", 20)}, "web", "api", "old", "new"),
			wantUpserts: []string{"service-defaults/new"}},
		{name: "changed",
			remote:      delta([]configentry.Entry{sd("web", "grpc", 20)}),
			wantUpserts: []string{"service-defaults/web"}},
		{name: "a body equal to the local entry is not rewritten",
			remote: delta([]configentry.Entry{sd("web", "http", 20), sd("api", "grpc", 20)}),
			// web only moved index in the primary (or was applied already).
			wantUpserts: []string{"service-defaults/api"}},
		{name: "deleted: keys gone from the list",
			remote:      delta(nil, "web"),
			wantDeletes: []Key{{configentry.ServiceDefaults, "api"}, {configentry.ServiceDefaults, "old"}}},
		{name: "deleted and added together",
			remote:      delta([]configentry.Entry{sd("new", "http", 20)}, "web", "api", "new"),
			wantUpserts: []string{"service-defaults/new"},
			wantDeletes: []Key{{configentry.ServiceDefaults, "old"}}},
		{name: "unchanged: the wait expired",
			remote: delta(nil)},
		{name: "unchanged, with the key list",
			remote: delta(nil, "web", "api", "old")},
		{name: "everything deleted",
			remote:      Remote{Index: 20, Delta: true, Since: 10, Keys: []KeyIndex{}},
			wantDeletes: []Key{{configentry.ServiceDefaults, "api"}, {configentry.ServiceDefaults, "old"}, {configentry.ServiceDefaults, "web"}}},
		{name: "reset: a delta from an index ahead of the primary resyncs",
			remote:     Remote{Index: 5, Delta: true, Since: 10, KeysUnchanged: true},
			wantResync: true},
		{name: "a key missing locally without its body resyncs",
			remote:     delta(nil, "web", "api", "old", "lost"),
			wantResync: true},
		{name: "a key changed after since without its body resyncs",
			remote: Remote{Index: 20, Delta: true, Since: 10,
				Keys: []KeyIndex{{configentry.ServiceDefaults, "web", 15}, {configentry.ServiceDefaults, "api", 5}, {configentry.ServiceDefaults, "old", 5}}},
			wantResync: true},
		{name: "a body missing from the key list resyncs",
			remote:     delta([]configentry.Entry{sd("new", "http", 20)}, "web", "api", "old"),
			wantResync: true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := Diff(local, tc.remote)
			if p.Resync != tc.wantResync {
				t.Fatalf("Resync = %v, want %v", p.Resync, tc.wantResync)
			}
			if got := names(p.Upserts); !reflect.DeepEqual(got, tc.wantUpserts) {
				t.Errorf("upserts %v, want %v", got, tc.wantUpserts)
			}
			if !reflect.DeepEqual(p.Deletes, tc.wantDeletes) {
				t.Errorf("deletes %v, want %v", p.Deletes, tc.wantDeletes)
			}
		})
	}
	// A backwards index in a full list is the primary's whole state again.
	p := Diff(local, Remote{Index: 5, Entries: []configentry.Entry{sd("web", "http", 1)}})
	if p.Resync || len(p.Upserts) != 0 || len(p.Deletes) != 2 {
		t.Errorf("full list after a reset: %+v", p)
	}
}

func TestHashKeys(t *testing.T) {
	a := []Key{{configentry.ServiceDefaults, "web"}, {configentry.ServiceResolver, "api"}}
	b := []Key{{configentry.ServiceResolver, "api"}, {configentry.ServiceDefaults, "web"}, {configentry.ExportedServices, "default"}}
	if HashKeys(a) != HashKeys(b) {
		t.Error("hash depends on order or on exported-services")
	}
	for _, other := range [][]Key{nil, a[:1], {{configentry.ServiceResolver, "web"}, {configentry.ServiceDefaults, "api"}}} {
		if HashKeys(other) == HashKeys(a) {
			t.Errorf("%v hashes like %v", other, a)
		}
	}
}

// encodeDecode runs a list through the wire as the agent does.
func encodeDecode(t *testing.T, version int, index uint64, entries []configentry.Entry, req Request) (map[string]any, Remote) {
	t.Helper()
	l, err := EncodeList(version, index, entries, req)
	if err != nil {
		t.Fatal(err)
	}
	body := mustJSON(t, l)
	var raw map[string]any
	if err := json.Unmarshal(body, &raw); err != nil {
		t.Fatal(err)
	}
	r, err := DecodeList(body)
	if err != nil {
		t.Fatal(err)
	}
	return raw, r
}

func TestEncodeListDelta(t *testing.T) {
	web, api := sd("web", "http", 3), sd("api", "tcp", 8)
	web.CreateIndex, api.CreateIndex = 2, 4 // modified after creation
	fresh := sd("fresh", "tcp", 9)
	primary := []configentry.Entry{web, api, fresh, exported("default")}
	held := HashKeys([]Key{keyOf(web), keyOf(api)}) // a secondary at index 5

	_, r := encodeDecode(t, 2, 9, primary, Request{Since: 5, KeysHash: held})
	if !r.Delta || r.Since != 5 || !r.KeysUnchanged || r.Keys != nil || r.Index != 9 {
		t.Fatalf("delta with an unchanged key set: %+v", r)
	}
	if got := names(r.Entries); !reflect.DeepEqual(got, []string{"service-defaults/api", "service-defaults/fresh"}) {
		t.Errorf("delta bodies %v, want the entries modified after 5", got)
	}

	// The secondary also holds "gone", which the primary deleted.
	drifted := HashKeys([]Key{keyOf(web), keyOf(api), {configentry.ServiceDefaults, "gone"}})
	_, r = encodeDecode(t, 2, 9, primary, Request{Since: 5, KeysHash: drifted})
	if !r.Delta || r.KeysUnchanged || len(r.Keys) != 4 || len(r.Entries) != 2 {
		t.Fatalf("delta after a delete: %+v", r)
	}
	if r.Keys[0] != (KeyIndex{configentry.ServiceDefaults, "web", 3}) {
		t.Errorf("key %+v, want web with its ModifyIndex", r.Keys[0])
	}
	if p := Diff([]configentry.Entry{web, api, sd("gone", "tcp", 1)}, r); !reflect.DeepEqual(p.Deletes, []Key{{configentry.ServiceDefaults, "gone"}}) {
		t.Errorf("plan after a delete: %+v", p)
	}

	for name, req := range map[string]Request{
		"first round":          {},
		"since ahead (reset)":  {Since: 10, KeysHash: held},
		"no hash, still delta": {Since: 5},
	} {
		_, r := encodeDecode(t, 2, 9, primary, req)
		full := req.Since == 0 || req.Since > 9
		if r.Delta == full || (full && len(r.Entries) != 4) || (!full && (r.KeysUnchanged || len(r.Keys) != 4)) {
			t.Errorf("%s: %+v", name, r)
		}
	}
}

func TestWireVersions(t *testing.T) {
	entries := []configentry.Entry{sd("web", "http", 3), exported("default")}

	// A version 1 requester gets a version 1 full list whatever else it
	// sends, with no field it does not know.
	v, err := NegotiateVersion("1")
	if err != nil || v != 1 {
		t.Fatalf("v1 requester: %d %v", v, err)
	}
	raw, r := encodeDecode(t, v, 42, entries, Request{Since: 40, KeysHash: "x"})
	if len(raw) != 3 || raw["Version"] != 1.0 || r.Delta || r.Index != 42 || len(r.Entries) != 2 ||
		!configentry.Equal(r.Entries[0], sd("web", "http", 0)) {
		t.Fatalf("v1 answer %v, decoded %+v", raw, r)
	}

	// A v2 replicator talking to a v1 primary: the answer is a full list
	// (a v1 primary ignores since and keys_hash, and knows no delta), and
	// a Delta field smuggled into a v1 answer is not believed.
	body := []byte(`{"Version":1,"Index":7,"Delta":true,"Since":5,"KeysUnchanged":true,"Entries":[{"Kind":"service-defaults","Name":"web"}]}`)
	r, err = DecodeList(body)
	if err != nil || r.Delta || r.KeysUnchanged || len(r.Entries) != 1 {
		t.Fatalf("v1 answer decoded as %+v, %v", r, err)
	}
	if p := Diff([]configentry.Entry{sd("old", "tcp", 1)}, r); len(p.Deletes) != 1 || len(p.Upserts) != 1 {
		t.Errorf("a v1 full list must delete what it lacks: %+v", p)
	}

	if v, err := NegotiateVersion("7"); err != nil || v != ProtocolVersionMax {
		t.Errorf("newer requester: %d %v, want our max", v, err)
	}
	for _, bad := range []string{"", "0", "x"} {
		if _, err := NegotiateVersion(bad); err == nil {
			t.Errorf("version %q accepted", bad)
		}
	}
	l, err := EncodeList(ProtocolVersionMax, 1, nil, Request{})
	if err != nil {
		t.Fatal(err)
	}
	l.Version = ProtocolVersionMax + 1
	if _, err := DecodeList(mustJSON(t, l)); err == nil {
		t.Error("a list in a newer version was accepted")
	}

	q := url.Values{}
	Request{Since: 12, KeysHash: "abc"}.Query(q)
	if req, err := ParseRequest(q); err != nil || req != (Request{Since: 12, KeysHash: "abc"}) {
		t.Errorf("request round trip: %+v %v", req, err)
	}
	if _, err := ParseRequest(url.Values{SinceParam: {"-1"}}); err == nil {
		t.Error("a bad since was accepted")
	}
}
