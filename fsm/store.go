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

// writeTxn is a write transaction applying one Raft log entry. It remembers
// which index keys the write touched and updates them once, at the end.
type writeTxn struct {
	*memdb.Txn
	idx      uint64
	keys     map[string]struct{}
	nodes    map[scope]struct{}
	services map[scope]struct{}
}

// write runs fn in a write transaction at Raft index idx and commits it
// only if fn succeeds, so a refused command leaves no trace.
func (s *Store) write(idx uint64, fn func(tx *writeTxn) error) error {
	tx := &writeTxn{
		Txn:      s.db.Txn(true),
		idx:      idx,
		keys:     map[string]struct{}{},
		nodes:    map[scope]struct{}{},
		services: map[scope]struct{}{},
	}
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

func (tx *writeTxn) touch(key string) { tx.keys[key] = struct{}{} }

func (tx *writeTxn) touchNode(peer, node string) {
	tx.nodes[scope{strings.ToLower(peer), strings.ToLower(node)}] = struct{}{}
}

func (tx *writeTxn) touchService(peer, service string) {
	tx.services[scope{strings.ToLower(peer), strings.ToLower(service)}] = struct{}{}
}

// updateIndexes writes the touched keys. A node or service key whose node,
// or whose last instance, is gone is dropped instead (see keys.go). The
// order of map iteration does not matter: every key ends up at idx or gone.
func (tx *writeTxn) updateIndexes() error {
	for key := range tx.keys {
		if err := tx.setIndex(key); err != nil {
			return err
		}
	}
	for sc := range tx.nodes {
		exists, err := tx.First(tableNodes, indexID, sc.peer, sc.name)
		if err != nil {
			return err
		}
		if err := tx.setOrDropIndex(nodeKey(sc.peer, sc.name), exists != nil); err != nil {
			return err
		}
	}
	for sc := range tx.services {
		exists, err := tx.First(tableServices, indexService, sc.peer, sc.name)
		if err != nil {
			return err
		}
		if err := tx.setOrDropIndex(serviceKey(sc.peer, sc.name), exists != nil); err != nil {
			return err
		}
	}
	return nil
}

func (tx *writeTxn) setIndex(key string) error {
	if err := tx.Insert(tableIndex, &indexEntry{Key: key, Value: tx.idx}); err != nil {
		return fmt.Errorf("failed updating index %q: %w", key, err)
	}
	return nil
}

func (tx *writeTxn) setOrDropIndex(key string, keep bool) error {
	if keep {
		return tx.setIndex(key)
	}
	old, err := tx.First(tableIndex, indexID, key)
	if err != nil || old == nil {
		return err
	}
	return tx.Delete(tableIndex, old)
}
