package fsm

import (
	"errors"
	"fmt"
	"math/rand"
	"testing"

	"github.com/hashicorp/go-memdb"
	"github.com/hashicorp/raft"

	"github.com/switchyard/switchyard/catalog"
	"github.com/switchyard/switchyard/configentry"
)

// refuseGRPCBesideResolver is a graph validator whose verdict depends on
// the stored entries: a service-defaults entry may not say grpc while the
// service has a resolver. In a batch it must see the writes before it.
func refuseGRPCBesideResolver(stored *ConfigView, upsert configentry.Entry, _, _ string) error {
	sd, ok := upsert.(*configentry.ServiceConfigEntry)
	if ok && sd.Protocol == "grpc" && stored.Get(configentry.ServiceResolver, sd.Name) != nil {
		return errors.New("grpc beside a resolver")
	}
	return nil
}

// randomCommands makes n commands over a few nodes, services and entries,
// so that they overwrite, delete and refer to each other's results; some
// are refused (a check on a missing service, a deregistration of a missing
// node, a validator refusal, a batch register that fails half-way) and
// some CAS checks fail.
func randomCommands(t *testing.T, rng *rand.Rand, n int) [][]byte {
	var out [][]byte
	node := func() string { return fmt.Sprintf("n%d", rng.Intn(4)) }
	svc := func() string { return fmt.Sprintf("s%d", rng.Intn(3)) }
	for len(out) < n {
		var data []byte
		var err error
		switch rng.Intn(9) {
		case 0:
			data, err = EncodeRegister(withCheck(instance(node(), svc()+"-1", svc()), "c1", "", "passing"))
		case 1:
			req := nodeOnly(node())
			if rng.Intn(2) == 0 {
				req = withCheck(req, "chk", "missing-service", "critical") // refused
			}
			data, err = EncodeRegister(req)
		case 2:
			req := &catalog.DeregisterRequest{Node: node()}
			if rng.Intn(2) == 0 {
				req.ServiceID = svc() + "-1"
			}
			data, err = EncodeDeregister(req)
		case 3:
			// The second registration of a failing batch is refused after
			// the first was written into the transaction.
			reqs := []*catalog.RegisterRequest{instance(node(), "b-1", "b")}
			if rng.Intn(2) == 0 {
				reqs = append(reqs, withCheck(nodeOnly(node()), "x", "nope", "passing"))
			}
			data, err = EncodeBatchRegister(reqs)
		case 4, 5:
			proto := []string{"http", "grpc", "tcp"}[rng.Intn(3)]
			var cas *uint64
			if rng.Intn(3) == 0 {
				cas = u64(uint64(rng.Intn(len(out) + 1)))
			}
			data, err = EncodeConfigUpsert(serviceDefaults(svc(), proto), cas)
		case 6:
			data, err = EncodeConfigUpsert(&configentry.ServiceResolverConfigEntry{Kind: configentry.ServiceResolver, Name: svc()}, nil)
		case 7:
			kind := []string{configentry.ServiceDefaults, configentry.ServiceResolver}[rng.Intn(2)]
			data, err = EncodeConfigDelete(kind, svc(), nil)
		case 8:
			data, err = EncodeSystemMetaSet("k"+svc(), fmt.Sprint(len(out)), rng.Intn(2) == 0)
		}
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, data)
	}
	return out
}

// TestApplyBatchEqualsApplyingOneByOne: whatever the batch boundaries
// (Raft's differ between leader and followers), ApplyBatch leaves the same
// state, index keys and per-command results as Apply one entry at a time.
func TestApplyBatchEqualsApplyingOneByOne(t *testing.T) {
	for seed := int64(1); seed <= 40; seed++ {
		rng := rand.New(rand.NewSource(seed))
		cmds := randomCommands(t, rng, 200)
		logs := make([]*raft.Log, len(cmds))
		for i, c := range cmds {
			logs[i] = &raft.Log{Index: uint64(i + 1), Type: raft.LogCommand, Data: c}
		}
		cfg := Config{GraphValidator: refuseGRPCBesideResolver}
		single, batched := New(cfg), New(cfg)
		var want []any
		for _, l := range logs {
			want = append(want, single.Apply(l))
		}
		var got []any
		var refused, batchesWithRefusal int
		for i := 0; i < len(logs); {
			n := 1 + rng.Intn(20)
			if i+n > len(logs) {
				n = len(logs) - i
			}
			res := batched.ApplyBatch(logs[i : i+n])
			if len(res) != n {
				t.Fatalf("seed %d: %d results for %d entries", seed, len(res), n)
			}
			hadRefusal := false
			for _, r := range res {
				if ar := r.(*ApplyResult); ar.Err != nil {
					refused++
					hadRefusal = true
				}
			}
			if hadRefusal {
				batchesWithRefusal++
			}
			got = append(got, res...)
			i += n
		}
		for i := range want {
			w, g := want[i].(*ApplyResult), got[i].(*ApplyResult)
			if w.Index != g.Index || w.Ok != g.Ok || fmt.Sprint(w.Err) != fmt.Sprint(g.Err) {
				t.Fatalf("seed %d, entry %d: one by one %+v, batched %+v", seed, i+1, w, g)
			}
		}
		if a, b := dump(t, single.State()), dump(t, batched.State()); a != b {
			t.Fatalf("seed %d: states differ\none by one:\n%s\nbatched:\n%s", seed, a, b)
		}
		da, _ := single.State().Digest()
		db, _ := batched.State().Digest()
		if da != db {
			t.Fatalf("seed %d: digests differ: %+v vs %+v", seed, da, db)
		}
		if refused == 0 || batchesWithRefusal == 0 {
			t.Fatalf("seed %d: no refused command; the test would not cover thrown-away batches", seed)
		}
	}
}

// TestApplyBatchWakesWatchersOnceCommitted: readers see nothing of a batch
// until all of it is committed, and then all of it.
func TestApplyBatchWakesWatchersOnceCommitted(t *testing.T) {
	f := New(Config{})
	ws := memdb.NewWatchSet()
	if _, _, err := f.State().ConfigEntry(ws, configentry.ServiceDefaults, "web"); err != nil {
		t.Fatal(err)
	}
	var logs []*raft.Log
	for i, name := range []string{"api", "web"} {
		data, err := EncodeConfigUpsert(serviceDefaults(name, "http"), nil)
		if err != nil {
			t.Fatal(err)
		}
		logs = append(logs, &raft.Log{Index: uint64(i + 1), Type: raft.LogCommand, Data: data})
	}
	for _, r := range f.ApplyBatch(logs) {
		if !r.(*ApplyResult).Ok {
			t.Fatalf("refused: %+v", r)
		}
	}
	if !fired(ws) {
		t.Fatal("a watcher of web did not wake")
	}
	idx, e, err := f.State().ConfigEntry(nil, configentry.ServiceDefaults, "web")
	if err != nil || e == nil || idx != 2 {
		t.Fatalf("web after the batch: index %d, entry %v, err %v", idx, e, err)
	}
	idx, e, err = f.State().ConfigEntry(nil, configentry.ServiceDefaults, "api")
	if err != nil || e == nil || idx != 1 {
		t.Fatalf("api after the batch: index %d (want its own write's, 1), entry %v, err %v", idx, e, err)
	}
}
