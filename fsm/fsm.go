package fsm

import (
	"fmt"
	"io"
	"sync/atomic"

	"github.com/hashicorp/raft"
)

// Config configures an FSM. The zero value is valid: no graph validation
// and no logging.
type Config struct {
	// GraphValidator, when set, vets every config entry write at apply time
	// (after the CAS check). nil accepts every write, which suits tests and
	// tools that have no chain compiler at hand.
	GraphValidator GraphValidator
	// Logger receives a note for each skipped command. nil discards.
	Logger Logger
}

// Logger is the one logging call the FSM makes. Both hclog.Logger (which
// Raft uses) and *slog.Logger satisfy it, so fsm depends on neither.
type Logger interface {
	Warn(msg string, args ...any)
}

type discardLogger struct{}

func (discardLogger) Warn(string, ...any) {}

// FSM is the Raft state machine: it applies committed commands to the
// state store and snapshots and restores it.
type FSM struct {
	cfg   Config
	state atomic.Pointer[Store]
}

var (
	_ raft.FSM         = (*FSM)(nil)
	_ raft.BatchingFSM = (*FSM)(nil)
)

// New returns an FSM over an empty store.
func New(cfg Config) *FSM {
	if cfg.Logger == nil {
		cfg.Logger = discardLogger{}
	}
	f := &FSM{cfg: cfg}
	f.state.Store(NewStore())
	return f
}

// State returns the current state store. Hold on to it only for one read
// (or one blocking query, watching its AbandonCh): a restore replaces it.
func (f *FSM) State() *Store { return f.state.Load() }

// commandHandler applies one command type; maxVersion is the newest
// payload version it reads.
type commandHandler struct {
	maxVersion uint8
	apply      func(f *FSM, idx uint64, version uint8, payload []byte) *ApplyResult
}

// handlers is the dispatch table of every command this binary knows.
var handlers = map[CommandType]commandHandler{
	CommandRegister:        {registerVersion, (*FSM).applyRegister},
	CommandDeregister:      {deregisterVersion, (*FSM).applyDeregister},
	CommandBatchRegister:   {batchRegisterVersion, (*FSM).applyBatchRegister},
	CommandConfigUpsert:    {configUpsertVersion, (*FSM).applyConfigUpsert},
	CommandConfigDelete:    {configDeleteVersion, (*FSM).applyConfigDelete},
	CommandSystemMetaSet:   {systemMetaSetVersion, (*FSM).applySystemMetaSet},
	CommandConfigReplicate: {configReplicateVersion, (*FSM).applyConfigReplicate},
	CommandPeeringWrite:    {peeringWriteVersion, (*FSM).applyPeeringWrite},
	CommandPeeringSetState: {peeringSetStateVersion, (*FSM).applyPeeringSetState},
	CommandPeeringDelete:   {peeringDeleteVersion, (*FSM).applyPeeringDelete},
	CommandPeeringSecrets:  {peeringSecretsVersion, (*FSM).applyPeeringSecrets},
}

// Apply implements raft.FSM. It returns an *ApplyResult for every command,
// or nil for a log entry that is not a command or a command skipped under
// IgnoreUnknownFlag.
//
// A command without that flag whose type or version this binary does not
// know, or whose payload does not decode, panics: applying anything else
// would let this server's state silently differ from its peers'. The fix is
// to upgrade the server, as with Consul.
func (f *FSM) Apply(l *raft.Log) any {
	if l.Type != raft.LogCommand {
		return nil
	}
	if len(l.Data) < headerLen {
		panic(fmt.Sprintf("fsm: log entry %d is too short to be a command (%d bytes)", l.Index, len(l.Data)))
	}
	raw, version := CommandType(l.Data[0]), l.Data[1]
	t := raw &^ IgnoreUnknownFlag
	h, known := handlers[t]
	if !known || version == 0 || version > h.maxVersion {
		if raw&IgnoreUnknownFlag != 0 {
			f.cfg.Logger.Warn("skipping command this version does not understand",
				"type", uint8(t), "version", version, "index", l.Index)
			return nil
		}
		if known {
			panic(unsupportedVersion(t, version))
		}
		panic(fmt.Sprintf("fsm: unknown command type %d at index %d", uint8(t), l.Index))
	}
	return h.apply(f, l.Index, version, l.Data[headerLen:])
}

// ApplyBatch implements raft.BatchingFSM: Raft hands over the entries it
// committed together, and they are applied in one state store transaction,
// so the tree paths and index keys they share are copied and written once
// per batch instead of once per entry, and watchers wake once. The result
// is the state, index keys and per-entry results that applying them one by
// one gives (see Store.write and writeTxn.updateIndexes). A refused entry
// may have left partial changes in the shared transaction; then the batch
// is thrown away and its entries are applied one at a time, which is
// correct for any entry and costs a second decode only when one failed.
func (f *FSM) ApplyBatch(logs []*raft.Log) []any {
	out := make([]any, len(logs))
	store := f.State()
	store.beginBatch()
	for i, l := range logs {
		out[i] = f.Apply(l)
		if store.batchFailed() {
			store.abortBatch()
			for j, l := range logs {
				out[j] = f.Apply(l)
			}
			return out
		}
	}
	if err := store.commitBatch(); err != nil {
		// updateIndexes only inserts into and deletes from the index
		// table, which memdb refuses only for a schema mismatch.
		panic(fmt.Sprintf("fsm: committing a batch ending at index %d: %v", logs[len(logs)-1].Index, err))
	}
	return out
}

// Snapshot implements raft.FSM. It only takes a memdb snapshot, which is
// O(1); the records are written later by Persist while Apply continues.
func (f *FSM) Snapshot() (raft.FSMSnapshot, error) {
	return &fsmSnapshot{db: f.State().db.Snapshot()}, nil
}

// Restore implements raft.FSM. The snapshot is loaded into a fresh store,
// verified to the last byte, and only then swapped in; the old store's
// AbandonCh is closed so blocked readers move to the new one. A torn or
// corrupt snapshot is refused and the current state stays as it was.
func (f *FSM) Restore(rc io.ReadCloser) error {
	defer rc.Close()
	store, err := readSnapshot(rc)
	if err != nil {
		return err
	}
	f.state.Swap(store).abandon()
	return nil
}
