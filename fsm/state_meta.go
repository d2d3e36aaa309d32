package fsm

import (
	"fmt"

	"github.com/hashicorp/go-memdb"
)

// tableMeta holds cluster-wide settings that live in Raft: the cluster ID
// (from which the trust domain in chain SNIs is derived) and, later, the
// peering CA. One row per key.
const tableMeta = "meta"

// MetaClusterID is the key of the cluster's UUID, set once by the first
// leader and never changed.
const MetaClusterID = "cluster_id"

// MetaEntry is one system metadata row.
type MetaEntry struct {
	Key   string
	Value string
	RaftIndex
}

// RaftIndex records when a row was created and last changed.
type RaftIndex struct {
	CreateIndex uint64
	ModifyIndex uint64
}

func metaTable() *memdb.TableSchema {
	return &memdb.TableSchema{
		Name: tableMeta,
		Indexes: map[string]*memdb.IndexSchema{
			indexID: {Name: indexID, Unique: true, Indexer: &stringKeyIndexer{arity: 1, exact: true, fields: func(o any) []string {
				return []string{o.(*MetaEntry).Key}
			}}},
		},
	}
}

// SystemMeta returns the value stored under key, or "" when unset.
func (s *Store) SystemMeta(ws memdb.WatchSet, key string) (uint64, string, error) {
	tx := s.db.Txn(false)
	ch, raw, err := tx.FirstWatch(tableMeta, indexID, key)
	if err != nil {
		return 0, "", fmt.Errorf("fsm: reading meta %q: %w", key, err)
	}
	ws.Add(ch)
	if raw == nil {
		return 1, "", nil
	}
	e := raw.(*MetaEntry)
	return max(e.ModifyIndex, 1), e.Value, nil
}

// setMetaTxn stores key=value. With onlyIfAbsent an existing value wins, so
// two leaders racing to initialise the cluster ID agree on the first one
// committed.
func setMetaTxn(tx *writeTxn, key, value string, onlyIfAbsent bool) (bool, error) {
	raw, err := tx.First(tableMeta, indexID, key)
	if err != nil {
		return false, err
	}
	e := &MetaEntry{Key: key, Value: value, RaftIndex: RaftIndex{CreateIndex: tx.idx, ModifyIndex: tx.idx}}
	if raw != nil {
		old := raw.(*MetaEntry)
		if onlyIfAbsent || old.Value == value {
			return old.Value == value, nil
		}
		e.CreateIndex = old.CreateIndex
	}
	if err := tx.Insert(tableMeta, e); err != nil {
		return false, err
	}
	return true, nil
}
