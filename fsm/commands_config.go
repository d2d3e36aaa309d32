package fsm

import (
	"encoding/json"
	"fmt"

	"github.com/switchyard/switchyard/configentry"
)

// Config entry commands.
//
// Version 1 of ConfigUpsert: the entry travels in its Consul JSON form and
// is decoded with configentry.DecodeJSON (the only decoder that knows every
// kind and reads durations such as "15s"). Apply checks CAS, then asks the
// graph validator, then stores the entry with CreateIndex kept from the
// entry it replaces and ModifyIndex set to the log index.
//
// Version 1 of ConfigDelete: kind and name, with the same CAS and graph
// validation; deleting a missing entry without CAS succeeds.
const (
	configUpsertVersion = 1
	configDeleteVersion = 1
)

type configUpsertPayload struct {
	Entry json.RawMessage
	// CAS, when present, makes the write conditional: 0 means "only if
	// absent", N means "only if its ModifyIndex is N".
	CAS *uint64 `json:",omitempty"`
}

type configDeletePayload struct {
	Kind string
	Name string
	// CAS, when present, deletes only an entry whose ModifyIndex is CAS.
	CAS *uint64 `json:",omitempty"`
}

// EncodeConfigUpsert builds a command writing e, conditionally when cas is
// not nil. The entry must carry its Kind (Normalize sets it). The entry is
// decoded back before the command is returned: a command that every server
// would fail to decode must never reach the log.
func EncodeConfigUpsert(e configentry.Entry, cas *uint64) ([]byte, error) {
	raw, err := json.Marshal(e)
	if err != nil {
		return nil, fmt.Errorf("fsm: encoding %s %q: %w", e.GetKind(), e.GetName(), err)
	}
	if _, err := configentry.DecodeJSON(raw); err != nil {
		return nil, fmt.Errorf("fsm: %s %q does not survive its JSON form: %w", e.GetKind(), e.GetName(), err)
	}
	return encodeCommand(CommandConfigUpsert, configUpsertVersion, configUpsertPayload{Entry: raw, CAS: cas})
}

// EncodeConfigDelete builds a command deleting kind/name, conditionally
// when cas is not nil.
func EncodeConfigDelete(kind, name string, cas *uint64) ([]byte, error) {
	return encodeCommand(CommandConfigDelete, configDeleteVersion, configDeletePayload{Kind: kind, Name: name, CAS: cas})
}

func (f *FSM) applyConfigUpsert(idx uint64, version uint8, payload []byte) *ApplyResult {
	var p configUpsertPayload
	decodePayload(CommandConfigUpsert, version, payload, &p)
	entry, err := configentry.DecodeJSON(p.Entry)
	if err != nil {
		// EncodeConfigUpsert checked this on the writer, so the servers
		// disagree about the entry format; see decodePayload.
		panic(fmt.Sprintf("fsm: cannot decode config entry in %s command at index %d: %v", CommandConfigUpsert, idx, err))
	}
	return f.configWrite(idx, func(tx *writeTxn) (bool, error) {
		return upsertConfigEntryTxn(tx, entry, p.CAS, f.cfg.GraphValidator)
	})
}

func (f *FSM) applyConfigDelete(idx uint64, version uint8, payload []byte) *ApplyResult {
	var p configDeletePayload
	decodePayload(CommandConfigDelete, version, payload, &p)
	return f.configWrite(idx, func(tx *writeTxn) (bool, error) {
		return deleteConfigEntryTxn(tx, p.Kind, p.Name, p.CAS, f.cfg.GraphValidator)
	})
}

func (f *FSM) configWrite(idx uint64, fn func(tx *writeTxn) (bool, error)) *ApplyResult {
	var ok bool
	err := f.State().write(idx, func(tx *writeTxn) (err error) {
		ok, err = fn(tx)
		return err
	})
	return &ApplyResult{Index: idx, Ok: ok && err == nil, Err: err}
}
