package fsm

import (
	"fmt"

	"github.com/hashicorp/go-memdb"

	"github.com/switchyard/switchyard/configentry"
)

// Config entry reads and writes. Reads follow the conventions of
// state_catalog.go; writes are only called from Apply.

// GraphValidator checks that the config entries would still compile into
// valid discovery chains after a write: stored shows the entries as they
// are before the write, is valid only during the call and must not be
// modified; upsert is the entry being written, or nil for a delete of
// deleteKind/deleteName. A non-nil error refuses the write. The agent wires
// package chain's ValidateWrite here; fsm cannot import chain.
type GraphValidator func(stored *ConfigView, upsert configentry.Entry, deleteKind, deleteName string) error

// ConfigEntry returns the entry of kind and name, or nil. The index is the
// entry's ModifyIndex while it exists and the kind's index otherwise (which
// the entry's deletion, if any, moved), so writes to other entries neither
// wake the reader nor move its index.
func (s *Store) ConfigEntry(ws memdb.WatchSet, kind, name string) (uint64, configentry.Entry, error) {
	tx := s.db.Txn(false)
	defer tx.Abort()
	return ConfigEntryTxn(tx, ws, kind, name)
}

// ConfigEntryTxn is ConfigEntry inside tx.
func ConfigEntryTxn(tx ReadTxn, ws memdb.WatchSet, kind, name string) (uint64, configentry.Entry, error) {
	ch, raw, err := tx.FirstWatch(tableConfigEntries, indexID, kind, name)
	if err != nil {
		return 0, nil, fmt.Errorf("config entry lookup failed: %w", err)
	}
	if raw != nil {
		// The row's own channel fires for this entry alone.
		ws.Add(ch)
		e := raw.(configentry.Entry)
		return atLeastOne(e.GetRaftIndex().ModifyIndex), e, nil
	}
	idx, err := watchScope(tx, ws, configKindKey(kind), ch)
	if err == nil {
		idx, err = orIndexOf(tx, idx, keyConfigEntries)
	}
	return atLeastOne(idx), nil, err
}

// ConfigEntries returns the entries of one kind ordered by name ([] when
// none, also for kinds Switchyard does not implement).
func (s *Store) ConfigEntries(ws memdb.WatchSet, kind string) (uint64, []configentry.Entry, error) {
	tx := s.db.Txn(false)
	defer tx.Abort()
	return ConfigEntriesTxn(tx, ws, kind)
}

// ConfigEntriesTxn is ConfigEntries inside tx.
func ConfigEntriesTxn(tx ReadTxn, ws memdb.WatchSet, kind string) (uint64, []configentry.Entry, error) {
	return watchedEntries(tx, ws, configKindKey(kind), kind)
}

// ConfigEntriesAll returns every entry ordered by kind, then name.
func (s *Store) ConfigEntriesAll(ws memdb.WatchSet) (uint64, []configentry.Entry, error) {
	tx := s.db.Txn(false)
	defer tx.Abort()
	return ConfigEntriesAllTxn(tx, ws)
}

// ConfigEntriesAllTxn is ConfigEntriesAll inside tx.
func ConfigEntriesAllTxn(tx ReadTxn, ws memdb.WatchSet) (uint64, []configentry.Entry, error) {
	return watchedEntries(tx, ws, keyConfigEntries)
}

// watchedEntries lists the entries under a prefix of (kind) or everything,
// watched through scopeKey (see watchScope). Before any entry of a kind was
// written, its index is the table's.
func watchedEntries(tx ReadTxn, ws memdb.WatchSet, scopeKey string, prefix ...any) (uint64, []configentry.Entry, error) {
	it, err := tx.Get(tableConfigEntries, indexID+"_prefix", prefix...)
	if err != nil {
		return 0, nil, fmt.Errorf("config entries lookup failed: %w", err)
	}
	idx, err := watchScope(tx, ws, scopeKey, it.WatchCh())
	if err == nil {
		idx, err = orIndexOf(tx, idx, keyConfigEntries)
	}
	if err != nil {
		return 0, nil, err
	}
	out := []configentry.Entry{}
	for raw := it.Next(); raw != nil; raw = it.Next() {
		out = append(out, raw.(configentry.Entry))
	}
	return atLeastOne(idx), out, nil
}

// casMatches applies http-api.md §2: no CAS always matches; CAS 0 matches
// only a missing entry; CAS N only an entry whose ModifyIndex is N.
func casMatches(cas *uint64, existing configentry.Entry) bool {
	switch {
	case cas == nil:
		return true
	case *cas == 0:
		return existing == nil
	default:
		return existing != nil && existing.GetRaftIndex().ModifyIndex == *cas
	}
}

// upsertConfigEntryTxn stores e unless the CAS check fails (false, nil) or
// the graph validator refuses it (false, err). CreateIndex survives from
// the entry being replaced; ModifyIndex is the command's index.
func upsertConfigEntryTxn(tx *writeTxn, e configentry.Entry, cas *uint64, validate GraphValidator) (bool, error) {
	existing, err := getConfigEntry(tx, e.GetKind(), e.GetName())
	if err != nil || !casMatches(cas, existing) {
		return false, err
	}
	if err := validateGraphTxn(tx, validate, e, "", ""); err != nil {
		return false, err
	}
	ri := e.GetRaftIndex()
	ri.CreateIndex, ri.ModifyIndex = tx.idx, tx.idx
	if existing != nil {
		ri.CreateIndex = existing.GetRaftIndex().CreateIndex
	}
	if err := tx.Insert(tableConfigEntries, e); err != nil {
		return false, err
	}
	touchConfigKind(tx, e.GetKind())
	return true, nil
}

// deleteConfigEntryTxn removes an entry. Without CAS, deleting a missing
// entry succeeds and writes nothing; with CAS it must exist and match.
func deleteConfigEntryTxn(tx *writeTxn, kind, name string, cas *uint64, validate GraphValidator) (bool, error) {
	existing, err := getConfigEntry(tx, kind, name)
	if err != nil || !casMatches(cas, existing) {
		return false, err
	}
	if cas != nil && existing == nil {
		// CAS 0 "matches" a missing entry for upserts; a delete with any
		// CAS needs an entry to act on.
		return false, nil
	}
	if existing == nil {
		return true, nil
	}
	if err := validateGraphTxn(tx, validate, nil, kind, name); err != nil {
		return false, err
	}
	if err := tx.Delete(tableConfigEntries, existing); err != nil {
		return false, err
	}
	touchConfigKind(tx, kind)
	return true, nil
}

func touchConfigKind(tx *writeTxn, kind string) {
	tx.touch(keyConfigEntries)
	tx.touch(configKindKey(kind))
}

func getConfigEntry(tx ReadTxn, kind, name string) (configentry.Entry, error) {
	raw, err := tx.First(tableConfigEntries, indexID, kind, name)
	if err != nil || raw == nil {
		return nil, err
	}
	return raw.(configentry.Entry), nil
}
