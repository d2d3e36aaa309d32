package fsm

import (
	"bytes"
	"fmt"
	"io"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/raft"

	"github.com/switchyard/switchyard/catalog"
	"github.com/switchyard/switchyard/configentry"
)

// benchRegistration is a realistic catalog write: a node, one instance with
// tags and meta, and a service check.
func benchRegistration(node, instance int) *catalog.RegisterRequest {
	name := fmt.Sprintf("node-%d", node)
	id := fmt.Sprintf("svc-%d-%d", node, instance)
	svc := fmt.Sprintf("service-%d", instance%200)
	return &catalog.RegisterRequest{
		Node:     name,
		Address:  fmt.Sprintf("10.%d.%d.%d", node>>16&255, node>>8&255, node&255),
		NodeMeta: map[string]string{"rack": fmt.Sprintf("r%d", node%40)},
		Service: &catalog.NodeService{ID: id, Service: svc, Port: 8000 + instance,
			Tags: []string{"v1", "primary"}, Meta: map[string]string{"version": "1"}},
		Checks: []*catalog.HealthCheck{{CheckID: "check:" + id, Name: "http", ServiceID: id, Status: catalog.HealthPassing,
			Definition: catalog.HealthCheckDefinition{HTTP: "http://127.0.0.1/health", Interval: catalog.Duration(10 * time.Second)}}},
	}
}

// BenchmarkApplyRegister measures one register command through Apply:
// decode, normalise, index maintenance and commit. Every operation adds a
// new instance (10 per node), so no write is a no-op.
func BenchmarkApplyRegister(b *testing.B) {
	cmds := make([][]byte, b.N)
	for i := range cmds {
		data, err := EncodeRegister(benchRegistration(i/10, i%10))
		if err != nil {
			b.Fatal(err)
		}
		cmds[i] = data
	}
	f := New(Config{})
	b.ReportAllocs()
	b.ResetTimer()
	for i, data := range cmds {
		res := f.Apply(&raft.Log{Index: uint64(i + 1), Type: raft.LogCommand, Data: data}).(*ApplyResult)
		if !res.Ok {
			b.Fatal(res.Err)
		}
	}
}

const benchInstances = 100_000

var (
	bigStoreOnce sync.Once
	bigStore     *Store
	bigSnapshot  []byte
)

// loadBigStore builds, once per test binary, a store of 100k instances
// (10k nodes with 10 instances and one check each) and its snapshot.
func loadBigStore(b *testing.B) (*Store, []byte) {
	bigStoreOnce.Do(func() {
		h := newHarness(b, Config{})
		const batch = 1000
		for start := 0; start < benchInstances; start += batch {
			reqs := make([]*catalog.RegisterRequest, 0, batch)
			for i := start; i < start+batch; i++ {
				reqs = append(reqs, benchRegistration(i/10, i%10))
			}
			if res := h.apply(EncodeBatchRegister(reqs)); !res.Ok {
				b.Fatal(res.Err)
			}
		}
		bigStore = h.store()
		bigSnapshot = snapshotBytes(b, bigStore)
	})
	return bigStore, bigSnapshot
}

func BenchmarkSnapshot100k(b *testing.B) {
	store, snap := loadBigStore(b)
	b.SetBytes(int64(len(snap)))
	b.ReportAllocs()
	for b.Loop() {
		if err := writeSnapshot(io.Discard, store.db); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkRestore100k(b *testing.B) {
	_, snap := loadBigStore(b)
	b.SetBytes(int64(len(snap)))
	b.ReportAllocs()
	for b.Loop() {
		f := New(Config{})
		if err := f.Restore(io.NopCloser(bytes.NewReader(snap))); err != nil {
			b.Fatal(err)
		}
	}
}

// chainKindReads stands in for chain.ValidateWrite, which fsm does not
// import, by making the reads it makes for a service-defaults write: the
// lists of routers, splitters and resolvers, and lookups by name along the
// written service's chain.
func chainKindReads(stored *ConfigView, upsert configentry.Entry, _, _ string) error {
	for _, kind := range []string{configentry.ServiceRouter, configentry.ServiceSplitter, configentry.ServiceResolver} {
		stored.List(kind)
		stored.Get(kind, upsert.GetName())
	}
	stored.Get(configentry.ServiceDefaults, upsert.GetName())
	stored.Get(configentry.ProxyDefaults, configentry.ProxyDefaultsName)
	return nil
}

// BenchmarkApplyConfigUpsert applies service-defaults upserts, with graph
// validation, to a store of 20 resolvers and otherwise service-defaults.
// Each write replaces a stored entry, so the store keeps its size. The
// cost must not depend on that size: compare the sub-benchmarks.
func BenchmarkApplyConfigUpsert(b *testing.B) {
	for _, total := range []int{500, 5000} {
		b.Run(fmt.Sprintf("entries=%d", total), func(b *testing.B) {
			h := newHarness(b, Config{GraphValidator: chainKindReads})
			for i := range 20 {
				h.mustUpsert(&configentry.ServiceResolverConfigEntry{Kind: configentry.ServiceResolver,
					Name: fmt.Sprintf("svc%d", i), ConnectTimeout: 5 * time.Second})
			}
			cmds := make([][]byte, total-20)
			for i := range cmds {
				e := serviceDefaults(fmt.Sprintf("svc%d", i), "http")
				h.mustUpsert(e)
				data, err := EncodeConfigUpsert(e, nil)
				if err != nil {
					b.Fatal(err)
				}
				cmds[i] = data
			}
			b.ReportAllocs()
			b.ResetTimer()
			for i := range b.N {
				h.idx++
				res := h.fsm.Apply(&raft.Log{Index: h.idx, Type: raft.LogCommand, Data: cmds[i%len(cmds)]}).(*ApplyResult)
				if !res.Ok {
					b.Fatal(res.Err)
				}
			}
		})
	}
}
