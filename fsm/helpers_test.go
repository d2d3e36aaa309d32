package fsm

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/hashicorp/go-memdb"
	"github.com/hashicorp/raft"

	"github.com/switchyard/switchyard/catalog"
	"github.com/switchyard/switchyard/configentry"
)

// harness drives an FSM the way Raft does: encoded commands at increasing
// log indexes.
type harness struct {
	t   testing.TB
	fsm *FSM
	idx uint64
}

func newHarness(t testing.TB, cfg Config) *harness {
	return &harness{t: t, fsm: New(cfg)}
}

func (h *harness) store() *Store { return h.fsm.State() }

// apply applies an encoded command at the next index.
func (h *harness) apply(data []byte, err error) *ApplyResult {
	h.t.Helper()
	if err != nil {
		h.t.Fatalf("encode: %v", err)
	}
	h.idx++
	res, _ := h.fsm.Apply(&raft.Log{Index: h.idx, Type: raft.LogCommand, Data: data}).(*ApplyResult)
	if res == nil {
		h.t.Fatalf("command at index %d returned no result", h.idx)
	}
	if res.Index != h.idx {
		h.t.Fatalf("result index %d, want %d", res.Index, h.idx)
	}
	return res
}

func (h *harness) register(req *catalog.RegisterRequest) *ApplyResult {
	h.t.Helper()
	return h.apply(EncodeRegister(req))
}

func (h *harness) mustRegister(reqs ...*catalog.RegisterRequest) {
	h.t.Helper()
	for _, req := range reqs {
		if res := h.register(req); !res.Ok {
			h.t.Fatalf("register %s: %v", req.Node, res.Err)
		}
	}
}

func (h *harness) deregister(req *catalog.DeregisterRequest) *ApplyResult {
	h.t.Helper()
	return h.apply(EncodeDeregister(req))
}

func (h *harness) upsert(e configentry.Entry, cas *uint64) *ApplyResult {
	h.t.Helper()
	return h.apply(EncodeConfigUpsert(e, cas))
}

func (h *harness) mustUpsert(entries ...configentry.Entry) {
	h.t.Helper()
	for _, e := range entries {
		if res := h.upsert(e, nil); !res.Ok {
			h.t.Fatalf("upsert %s/%s: %v", e.GetKind(), e.GetName(), res.Err)
		}
	}
}

func (h *harness) deleteEntry(kind, name string, cas *uint64) *ApplyResult {
	h.t.Helper()
	return h.apply(EncodeConfigDelete(kind, name, cas))
}

func u64(v uint64) *uint64 { return &v }

// instance builds a registration of node (at a fixed address) with one
// service instance.
func instance(node, serviceID, service string, tags ...string) *catalog.RegisterRequest {
	return &catalog.RegisterRequest{
		Node:    node,
		Address: "10.0.0." + node[len(node)-1:],
		Service: &catalog.NodeService{ID: serviceID, Service: service, Tags: tags, Port: 8080},
	}
}

// withCheck adds a check on the request's service (or on the node when
// serviceID is empty).
func withCheck(req *catalog.RegisterRequest, checkID, serviceID, status string) *catalog.RegisterRequest {
	req.Checks = append(req.Checks, &catalog.HealthCheck{CheckID: checkID, Name: checkID, ServiceID: serviceID, Status: status})
	return req
}

func nodeOnly(node string) *catalog.RegisterRequest {
	return &catalog.RegisterRequest{Node: node, Address: "10.0.0." + node[len(node)-1:]}
}

func serviceDefaults(name, protocol string) *configentry.ServiceConfigEntry {
	return &configentry.ServiceConfigEntry{Kind: configentry.ServiceDefaults, Name: name, Protocol: protocol}
}

// fired reports whether any channel of ws has closed. memdb closes watch
// channels inside Commit, so after Apply returns there is nothing to wait
// for.
func fired(ws memdb.WatchSet) bool {
	for ch := range ws {
		select {
		case <-ch:
			return true
		default:
		}
	}
	return false
}

// dump renders every row of every table, in table order, one JSON line per
// row. Two stores with equal dumps hold the same state.
func dump(t testing.TB, s *Store) string {
	t.Helper()
	tx := s.db.Txn(false)
	defer tx.Abort()
	var b strings.Builder
	for _, tr := range tableRecords {
		it, err := tx.Get(tr.table, indexID)
		if err != nil {
			t.Fatal(err)
		}
		for raw := it.Next(); raw != nil; raw = it.Next() {
			line, err := json.Marshal(raw)
			if err != nil {
				t.Fatal(err)
			}
			b.WriteString(tr.table + " " + string(line) + "\n")
		}
	}
	return b.String()
}
