package fsm

import (
	"fmt"

	"github.com/switchyard/switchyard/configentry"
)

// ValidateConfigWrite runs validate on a change against the entries stored
// now, read in one transaction. The agent calls it before Raft, so that a
// write the FSM would refuse costs no log entry.
func (s *Store) ValidateConfigWrite(validate GraphValidator, upsert configentry.Entry, deleteKind, deleteName string) error {
	tx := s.db.Txn(false)
	defer tx.Abort()
	return validateGraphTxn(tx, validate, upsert, deleteKind, deleteName)
}

// validateGraphTxn shows validate the entries in tx; nil validate accepts.
// A failed read makes the verdict meaningless, so it refuses the write.
func validateGraphTxn(tx ReadTxn, validate GraphValidator, upsert configentry.Entry, deleteKind, deleteName string) error {
	if validate == nil {
		return nil
	}
	view := &ConfigView{tx: tx}
	err := validate(view, upsert, deleteKind, deleteName)
	if view.err != nil {
		return fmt.Errorf("graph validation could not read config entries: %w", view.err)
	}
	return err
}

// ConfigView is the graph validator's window on the stored entries: reads
// go straight to a transaction, so validating a write costs what the
// validator reads (a few lookups and the short lists of chain kinds), not a
// copy of the whole table, which in the apply loop would make every write
// slower as entries accumulate.
type ConfigView struct {
	tx ReadTxn
	// err is the first failed read. The validator's interface has no room
	// for errors (a read that fails reads as "no entry"), so
	// validateGraphTxn reports it after the validator returns.
	err error
}

// Get returns the entry of kind and name, or nil.
func (v *ConfigView) Get(kind, name string) configentry.Entry {
	e, err := getConfigEntry(v.tx, kind, name)
	v.fail(err)
	return e
}

// List returns the entries of kind ordered by name.
func (v *ConfigView) List(kind string) []configentry.Entry {
	it, err := v.tx.Get(tableConfigEntries, indexID+"_prefix", kind)
	if err != nil {
		v.fail(err)
		return nil
	}
	var out []configentry.Entry
	for raw := it.Next(); raw != nil; raw = it.Next() {
		out = append(out, raw.(configentry.Entry))
	}
	return out
}

func (v *ConfigView) fail(err error) {
	if v.err == nil {
		v.err = err
	}
}
