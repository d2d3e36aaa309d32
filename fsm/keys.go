package fsm

import (
	"strings"

	"github.com/hashicorp/go-memdb"
)

// Index table keys. Blocking queries need, for every read, the highest Raft
// index that could have changed its result, including deletes (which leave
// no row behind to carry an index). The index table keeps that per scope:
//
//	nodes, services, checks          whole catalog tables (per peer)
//	node.<name>                      a node, its instances and its checks
//	service.<name>                   every instance of a service, their
//	                                 nodes and their checks (the health view)
//	config-entries                   the config entry table
//	config-entries.<kind>            one kind of config entry
//
// Imported data uses "peer:<peer>/" before the key. Catalog names are
// lower-cased because the catalog compares them case-insensitively.
//
// A node or service row is removed when its node, or the last instance of
// its service, is gone; readers then fall back to the table key, which the
// same write moved to the same index, so the index they report never goes
// backwards.

const (
	keyConfigEntries = tableConfigEntries
)

func peerPrefix(peer string) string {
	if peer == "" {
		return ""
	}
	return "peer:" + strings.ToLower(peer) + "/"
}

func tableKey(table, peer string) string { return peerPrefix(peer) + table }

func nodeKey(peer, node string) string {
	return peerPrefix(peer) + "node." + strings.ToLower(node)
}

func serviceKey(peer, service string) string {
	return peerPrefix(peer) + "service." + strings.ToLower(service)
}

func configKindKey(kind string) string { return keyConfigEntries + "." + kind }

// ReadTxn is the part of a memdb transaction the ...Txn read functions use;
// both read and write *memdb.Txn satisfy it.
type ReadTxn interface {
	First(table, index string, args ...any) (any, error)
	FirstWatch(table, index string, args ...any) (<-chan struct{}, any, error)
	Get(table, index string, args ...any) (memdb.ResultIterator, error)
}

var _ ReadTxn = (*memdb.Txn)(nil)

// indexOf returns the value stored under key, or 0.
func indexOf(tx ReadTxn, key string) (uint64, error) {
	raw, err := tx.First(tableIndex, indexID, key)
	if err != nil || raw == nil {
		return 0, err
	}
	return raw.(*indexEntry).Value, nil
}

// watchIndexOf is indexOf that also reports whether the row exists and adds
// the row's watch channel to ws (when the row exists).
func watchIndexOf(tx ReadTxn, ws memdb.WatchSet, key string) (uint64, bool, error) {
	ch, raw, err := tx.FirstWatch(tableIndex, indexID, key)
	if err != nil || raw == nil {
		return 0, false, err
	}
	ws.Add(ch)
	return raw.(*indexEntry).Value, true, nil
}

// watchScope watches a read through the index row of its scope (key): that
// row moves exactly when something in the scope changes. memdb's own
// prefix watches are coarser, because inserting a sibling key can split
// the radix node they sit on ("service-defaults" and "service-resolver"
// share "service-"). Only while the row does not exist yet is the lookup's
// own channel (fallback) watched; it returns 0 then.
func watchScope(tx ReadTxn, ws memdb.WatchSet, key string, fallback <-chan struct{}) (uint64, error) {
	idx, found, err := watchIndexOf(tx, ws, key)
	if err == nil && !found {
		ws.Add(fallback)
	}
	return idx, err
}

// orIndexOf returns idx, or the value of key when idx is 0.
func orIndexOf(tx ReadTxn, idx uint64, key string) (uint64, error) {
	if idx != 0 {
		return idx, nil
	}
	return indexOf(tx, key)
}

// atLeastOne turns a zero index into 1: an index of 0 makes blocking clients
// spin, and index 1 (Raft's bootstrap entry) is always safe to report.
func atLeastOne(idx uint64) uint64 {
	if idx == 0 {
		return 1
	}
	return idx
}
