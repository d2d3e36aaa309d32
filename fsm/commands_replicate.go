package fsm

import (
	"encoding/json"
	"fmt"
	"strconv"

	"github.com/hashicorp/go-memdb"

	"github.com/switchyard/switchyard/configentry"
)

// ConfigReplicate applies one batch of config entries copied from the
// primary datacenter into a secondary.
//
// Version 1: Deletes (kind and name), then Upserts (Consul JSON form, as
// ConfigUpsert), then, when SetIndex is true, the remote index the batch
// completes, stored under MetaConfigReplicationIndex. All of it happens in
// one transaction, without CAS and without the graph validator: the primary
// validated every entry when it was written there, and a batch replayed
// entry by entry could pass through a state the validator refuses (a
// resolver deleted before the router that referenced it), which would
// wedge replication for good. Storing the index in the same transaction is
// what makes replication resumable: the index never claims more than the
// entries that are actually stored.
const configReplicateVersion = 1

// MetaConfigReplicationIndex is the system metadata key holding the index of
// the primary's config entries that the secondary last copied in full.
const MetaConfigReplicationIndex = "config_replication_index"

// ConfigKey names a config entry.
type ConfigKey struct {
	Kind string
	Name string
}

type configReplicatePayload struct {
	Deletes     []ConfigKey       `json:",omitempty"`
	Upserts     []json.RawMessage `json:",omitempty"`
	SetIndex    bool              `json:",omitempty"`
	RemoteIndex uint64            `json:",omitempty"`
}

// EncodeConfigReplicate builds a ConfigReplicate command. setIndex marks the
// last batch of a replication round, which records remoteIndex. Every upsert
// is decoded back before the command is returned. (EncodeConfigUpsert no
// longer does this per write; replication batches are rare and their entries
// come from another datacenter, so the check stays here.)
func EncodeConfigReplicate(deletes []ConfigKey, upserts []configentry.Entry, setIndex bool, remoteIndex uint64) ([]byte, error) {
	p := configReplicatePayload{Deletes: deletes, SetIndex: setIndex, RemoteIndex: remoteIndex}
	for _, e := range upserts {
		raw, err := json.Marshal(e)
		if err != nil {
			return nil, fmt.Errorf("fsm: encoding %s %q: %w", e.GetKind(), e.GetName(), err)
		}
		if _, err := configentry.DecodeJSON(raw); err != nil {
			return nil, fmt.Errorf("fsm: %s %q does not survive its JSON form: %w", e.GetKind(), e.GetName(), err)
		}
		p.Upserts = append(p.Upserts, raw)
	}
	return encodeCommand(CommandConfigReplicate, configReplicateVersion, p)
}

func (f *FSM) applyConfigReplicate(idx uint64, version uint8, payload []byte) *ApplyResult {
	var p configReplicatePayload
	decodePayload(CommandConfigReplicate, version, payload, &p)
	entries := make([]configentry.Entry, 0, len(p.Upserts))
	for i, raw := range p.Upserts {
		e, err := configentry.DecodeJSON(raw)
		if err != nil {
			// The writer decoded it before proposing; see decodePayload.
			panic(fmt.Sprintf("fsm: cannot decode upsert %d of %s command at index %d: %v", i, CommandConfigReplicate, idx, err))
		}
		entries = append(entries, e)
	}
	return f.configWrite(idx, func(tx *writeTxn) (bool, error) {
		for _, k := range p.Deletes {
			if _, err := deleteConfigEntryTxn(tx, k.Kind, k.Name, nil, nil); err != nil {
				return false, err
			}
		}
		for _, e := range entries {
			if _, err := upsertConfigEntryTxn(tx, e, nil, nil); err != nil {
				return false, err
			}
		}
		if p.SetIndex {
			if _, err := setMetaTxn(tx, MetaConfigReplicationIndex, strconv.FormatUint(p.RemoteIndex, 10), false); err != nil {
				return false, err
			}
		}
		return true, nil
	})
}

// ConfigReplicationIndex returns the primary's index that this secondary's
// config entries were last fully replicated at (0 before the first round).
func (s *Store) ConfigReplicationIndex(ws memdb.WatchSet) (uint64, error) {
	_, v, err := s.SystemMeta(ws, MetaConfigReplicationIndex)
	if err != nil || v == "" {
		return 0, err
	}
	n, err := strconv.ParseUint(v, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("fsm: stored replication index %q: %w", v, err)
	}
	return n, nil
}
