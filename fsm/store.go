package fsm

import (
	"errors"
	"fmt"
	"strings"

	"github.com/hashicorp/go-memdb"
)

// Errors a catalog write can be refused with at apply time. The messages
// are Consul's, because clients see them.
var (
	ErrMissingNode    = errors.New("Missing node registration")
	ErrMissingService = errors.New("Missing service registration")
)

// Store is the state store: an in-memory go-memdb database of the catalog
// and config entries, written only by the FSM and read by everything else.
//
// Reads are lock-free snapshots; every public read takes a memdb.WatchSet
// and adds to it the channels that close when its result may have changed.
// A Store is replaced wholesale when a Raft snapshot is restored; the old
// one's AbandonCh closes then, so readers blocked on it re-read from the
// FSM's new Store.
type Store struct {
	db        *memdb.MemDB
	abandonCh chan struct{}
	// batch is the write transaction that FSM.ApplyBatch keeps open
	// across the commands of one Raft batch, or nil. Only the FSM's
	// goroutine touches it.
	batch *writeTxn
}

// NewStore returns an empty store.
func NewStore() *Store {
	db, err := memdb.NewMemDB(schema())
	if err != nil {
		// The schema is a constant of this package; failing to build it is
		// a programming error, not a runtime condition.
		panic(fmt.Sprintf("fsm: invalid state store schema: %v", err))
	}
	return &Store{db: db, abandonCh: make(chan struct{})}
}

// AbandonCh is closed when this store has been replaced by a snapshot
// restore. Blocking readers add it to their watch set and, when it fires,
// fetch the current store from the FSM again.
func (s *Store) AbandonCh() <-chan struct{} { return s.abandonCh }

func (s *Store) abandon() { close(s.abandonCh) }

// ReadTxn opens a read transaction for the ...Txn read functions, which let
// a caller read several things from one consistent snapshot. The caller
// must Abort it when done; it holds no lock, only a snapshot.
func (s *Store) ReadTxn() *memdb.Txn { return s.db.Txn(false) }

// scope names a node or service, for per-scope index keys.
type scope struct{ peer, name string }

// writeTxn is a write transaction applying one Raft log entry, or the
// entries of one batch. It remembers which index keys each write touched,
// and at which Raft index, and updates them once, at the end.
type writeTxn struct {
	*memdb.Txn
	idx      uint64
	keys     map[string]uint64
	nodes    map[scope]uint64
	services map[scope]uint64
	// failed is set when a write of a batch returned an error: its partial
	// changes are in the transaction, so the batch must be thrown away.
	failed bool
}

func (s *Store) newWriteTxn() *writeTxn {
	return &writeTxn{
		Txn:      s.db.Txn(true),
		keys:     map[string]uint64{},
		nodes:    map[scope]uint64{},
		services: map[scope]uint64{},
	}
}

// write runs fn in a write transaction at Raft index idx and commits it
// only if fn succeeds, so a refused command leaves no trace. Inside a batch
// (beginBatch) fn runs in the batch's transaction and nothing is committed
// here; a failure marks the batch as failed, and FSM.ApplyBatch then
// discards it and applies its entries one at a time.
func (s *Store) write(idx uint64, fn func(tx *writeTxn) error) error {
	if tx := s.batch; tx != nil {
		tx.idx = idx
		err := fn(tx)
		if err != nil {
			tx.failed = true
		}
		return err
	}
	tx := s.newWriteTxn()
	tx.idx = idx
	defer tx.Abort()
	if err := fn(tx); err != nil {
		return err
	}
	if err := tx.updateIndexes(); err != nil {
		return err
	}
	tx.Commit()
	return nil
}

// beginBatch opens the transaction the writes of one Raft batch share.
func (s *Store) beginBatch() { s.batch = s.newWriteTxn() }

// batchFailed reports whether a write of the open batch failed.
func (s *Store) batchFailed() bool { return s.batch.failed }

// abortBatch throws the open batch away.
func (s *Store) abortBatch() {
	s.batch.Abort()
	s.batch = nil
}

// commitBatch commits the open batch, in which no write failed. Watchers
// wake once, at the commit.
func (s *Store) commitBatch() error {
	tx := s.batch
	s.batch = nil
	defer tx.Abort()
	if err := tx.updateIndexes(); err != nil {
		return err
	}
	tx.Commit()
	return nil
}

// The touch functions record that the current write changed what an index
// key covers. In a batch a later write's index replaces an earlier one's,
// so every key ends at the index of the last write that touched it, as if
// the writes had been committed one by one.
func (tx *writeTxn) touch(key string) { tx.keys[key] = tx.idx }

func (tx *writeTxn) touchNode(peer, node string) {
	tx.nodes[scope{strings.ToLower(peer), strings.ToLower(node)}] = tx.idx
}

func (tx *writeTxn) touchService(peer, service string) {
	tx.services[scope{strings.ToLower(peer), strings.ToLower(service)}] = tx.idx
}

// updateIndexes writes the touched keys. A node or service key whose node,
// or whose last instance, is gone is dropped instead (see keys.go). That is
// decided on the state after all of the transaction's writes, which for the
// key of the last write that touched it is the state that write left: the
// writes after it did not touch what the key covers. The order of map
// iteration does not matter: every key ends up at its index or gone.
func (tx *writeTxn) updateIndexes() error {
	for key, idx := range tx.keys {
		if err := tx.setIndex(key, idx); err != nil {
			return err
		}
	}
	for sc, idx := range tx.nodes {
		exists, err := tx.First(tableNodes, indexID, sc.peer, sc.name)
		if err != nil {
			return err
		}
		if err := tx.setOrDropIndex(nodeKey(sc.peer, sc.name), idx, exists != nil); err != nil {
			return err
		}
	}
	for sc, idx := range tx.services {
		exists, err := tx.First(tableServices, indexService, sc.peer, sc.name)
		if err != nil {
			return err
		}
		if err := tx.setOrDropIndex(serviceKey(sc.peer, sc.name), idx, exists != nil); err != nil {
			return err
		}
	}
	return nil
}

func (tx *writeTxn) setIndex(key string, idx uint64) error {
	if err := tx.Insert(tableIndex, &indexEntry{Key: key, Value: idx}); err != nil {
		return fmt.Errorf("failed updating index %q: %w", key, err)
	}
	return nil
}

func (tx *writeTxn) setOrDropIndex(key string, idx uint64, keep bool) error {
	if keep {
		return tx.setIndex(key, idx)
	}
	old, err := tx.First(tableIndex, indexID, key)
	if err != nil || old == nil {
		return err
	}
	return tx.Delete(tableIndex, old)
}
