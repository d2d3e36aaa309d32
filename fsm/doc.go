// Package fsm owns Switchyard's replicated state: the Raft FSM (typed,
// versioned commands and their encoding, Apply, Snapshot, Restore) and the
// go-memdb state store the FSM writes and every reader reads.
//
// # Commands
//
// A Raft log entry is [type byte][version byte][JSON payload]. There is one
// command type per state change (CommandRegister, CommandConfigUpsert, …),
// one file per command family, and an Encode… function per command. Type
// numbers and payload versions are forever: a log or snapshot written by an
// older binary must still apply. A command type carrying IgnoreUnknownFlag
// is skipped by a binary that does not know it; any other unknown type or
// version stops the server (a panic), because applying something else would
// let replicas diverge silently.
//
// Apply is deterministic: no clock, no randomness, no I/O. Anything
// time-dependent travels inside the command. It returns an *ApplyResult for
// every command: Ok false with a nil Err is a failed compare-and-set; a
// non-nil Err is a refused write (a broken catalog invariant such as a check
// on an unknown instance, or the GraphValidator's verdict). A refused or
// failed command leaves no trace: each command is one memdb transaction.
//
// # State store
//
// Store has one schema definition per table (schema.go): nodes, services,
// checks, config-entries and an index table mapping scopes (a table, one
// node, one service name, one config entry kind) to the Raft index of their
// last change (keys.go). Catalog keys start with the peer name, so imported
// data lives beside local data. Every read takes a memdb.WatchSet, returns
// (index, result, error) where index is the highest Raft index that could
// have changed the result (never 0), and has a …Txn variant for reading
// several things from one transaction (Store.ReadTxn). Reads watch the
// index row of their scope, so a write to one service or config entry wakes
// only its own readers.
//
// # Snapshots
//
// Snapshot takes an O(1) memdb snapshot; Persist streams it as versioned,
// length-prefixed records closed by a count and a CRC-32C (snapshot.go).
// Restore loads into a fresh Store, verifies the trailer, and only then
// swaps it in and closes the old store's AbandonCh; a torn or corrupt
// snapshot is refused and the current state kept.
//
// # Concurrency
//
// Raft calls Apply, Snapshot and Restore from one goroutine; memdb
// serialises the single writer. Reads never take a lock: each runs on an
// immutable memdb snapshot and may run concurrently with Apply and with
// Persist. State returns the current Store; it changes only on Restore.
//
// # What callers must do
//
//   - Validate and normalise requests before encoding them (the catalog
//     package's Validate, configentry's Normalize and Validate): Apply
//     enforces only what depends on stored state.
//   - Treat every object a read returns as immutable; it is shared with the
//     store and with other readers.
//   - In blocking queries, add Store.AbandonCh to the watch set and re-fetch
//     State when it fires.
//   - Give Config.GraphValidator a pure, deterministic function: it runs at
//     apply time on every server, and must not modify the Set it is shown.
package fsm
