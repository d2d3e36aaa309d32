package replication

import (
	"encoding/binary"
	"fmt"
	"hash/fnv"
	"sort"

	"github.com/switchyard/switchyard/configentry"
)

// Key names a config entry.
type Key struct {
	Kind string
	Name string
}

func keyOf(e configentry.Entry) Key { return Key{e.GetKind(), e.GetName()} }

// Plan is what a secondary must change to match the primary.
type Plan struct {
	// Deletes are local entries the primary no longer has, sorted.
	Deletes []Key
	// Upserts are remote entries that are missing locally or differ,
	// sorted by kind and name.
	Upserts []configentry.Entry
	// Resync reports a delta that cannot be applied: the primary lists a
	// key the secondary lacks without sending its body, or the answer
	// contradicts itself. The plan is then empty and the replicator asks
	// for a full list, which repairs whatever drifted.
	Resync bool
}

// Empty reports whether the secondary already matches.
func (p Plan) Empty() bool { return len(p.Deletes) == 0 && len(p.Upserts) == 0 }

// skipped reports kinds that stay in the datacenter they were written in.
// exported-services describes what this datacenter's partition exports to
// peers, and config-entries.md §4 makes it primary-only.
func skipped(kind string) bool { return kind == configentry.ExportedServices }

// Diff compares the primary's answer (remote) with the secondary's entries
// (local). Raft indexes and other envelope fields are ignored, so entries
// that only differ by where they were stored are equal, and an upsert
// equal to the local entry is never planned, in a delta as in a full list.
//
// A full list is the primary's whole state: what it lacks is deleted. A
// delta carries the bodies changed after remote.Since and the primary's key
// set (or says it is the local one plus the bodies' keys): what the key set
// lacks is deleted; a key without a body must already be held locally.
func Diff(local []configentry.Entry, remote Remote) Plan {
	if remote.Delta && remote.Index < remote.Since {
		// A primary behind the index it answers a delta from cannot know
		// what changed since; it should have sent a full list.
		return Plan{Resync: true}
	}
	have := make(map[Key]configentry.Entry, len(local))
	for _, e := range local {
		if !skipped(e.GetKind()) {
			have[keyOf(e)] = e
		}
	}
	var p Plan
	bodies := make(map[Key]bool, len(remote.Entries))
	for _, e := range remote.Entries {
		k := keyOf(e)
		if skipped(k.Kind) || bodies[k] {
			continue
		}
		bodies[k] = true
		if old, ok := have[k]; !ok || !configentry.Equal(old, e) {
			p.Upserts = append(p.Upserts, e)
		}
	}
	sort.SliceStable(p.Upserts, func(i, j int) bool { return lessKey(keyOf(p.Upserts[i]), keyOf(p.Upserts[j])) })
	switch {
	case !remote.Delta:
		p.Deletes = missing(have, bodies)
	case remote.KeysUnchanged:
		// No key was deleted after remote.Since.
	default:
		keys := deltaKeys(have, bodies, remote)
		if keys == nil {
			return Plan{Resync: true}
		}
		p.Deletes = missing(have, keys)
	}
	return p
}

// missing returns the keys of have that keys lacks, sorted.
func missing(have map[Key]configentry.Entry, keys map[Key]bool) []Key {
	var out []Key
	for k := range have {
		if !keys[k] {
			out = append(out, k)
		}
	}
	sort.Slice(out, func(i, j int) bool { return lessKey(out[i], out[j]) })
	return out
}

// deltaKeys returns the key set of a delta that lists its keys, or nil when
// the secondary cannot reach it from what it holds: a key with no body that
// is missing locally or changed after Since, or a body the key list lacks.
func deltaKeys(have map[Key]configentry.Entry, bodies map[Key]bool, remote Remote) map[Key]bool {
	keys := make(map[Key]bool, len(remote.Keys))
	for _, ki := range remote.Keys {
		k := Key{ki.Kind, ki.Name}
		if skipped(k.Kind) {
			continue
		}
		keys[k] = true
		if bodies[k] {
			continue
		}
		if _, ok := have[k]; !ok || ki.ModifyIndex > remote.Since {
			return nil
		}
	}
	for k := range bodies {
		if !keys[k] {
			return nil
		}
	}
	return keys
}

// HashKeys identifies a set of keys (exported-services skipped, as the
// secondary never holds them) for KeysParam. It is independent of order, so
// neither side sorts: each key's FNV-1a 128-bit hash, summed lane by lane.
// Two different sets collide with a chance of about 2^-128; a collision
// would hide deletions until the next full list.
func HashKeys(keys []Key) string {
	var hi, lo uint64
	h := fnv.New128a()
	var sum [16]byte
	for _, k := range keys {
		if skipped(k.Kind) {
			continue
		}
		h.Reset()
		h.Write([]byte(k.Kind))
		h.Write([]byte{0}) // no kind holds NUL, so the split is unambiguous
		h.Write([]byte(k.Name))
		b := h.Sum(sum[:0])
		hi += binary.BigEndian.Uint64(b[:8])
		lo += binary.BigEndian.Uint64(b[8:])
	}
	return fmt.Sprintf("%016x%016x", hi, lo)
}

func lessKey(a, b Key) bool {
	if a.Kind != b.Kind {
		return a.Kind < b.Kind
	}
	return a.Name < b.Name
}

// Batch is one Raft command's worth of a plan.
type Batch struct {
	Deletes []Key
	Upserts []configentry.Entry
	// Last marks the batch that completes the round: it records the remote
	// index, so an interrupted round is redone from the previous index.
	Last bool
}

// Size is the number of entries the batch touches.
func (b Batch) Size() int { return len(b.Deletes) + len(b.Upserts) }

// Batches cuts p into batches of at most size entries, deletes first (as
// Consul does, so a renamed entry never exists twice). An empty plan gives
// one empty last batch, which records the remote index. size < 1 means 1.
func (p Plan) Batches(size int) []Batch {
	size = max(size, 1)
	var out []Batch
	cur := Batch{}
	flush := func() {
		out = append(out, cur)
		cur = Batch{}
	}
	for _, k := range p.Deletes {
		if cur.Size() == size {
			flush()
		}
		cur.Deletes = append(cur.Deletes, k)
	}
	for _, e := range p.Upserts {
		if cur.Size() == size {
			flush()
		}
		cur.Upserts = append(cur.Upserts, e)
	}
	cur.Last = true
	out = append(out, cur)
	return out
}
