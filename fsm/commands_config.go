package fsm

import (
	"encoding/json"
	"fmt"
	"strconv"

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
// not nil. e must be as DecodeJSON and Normalize leave it, as the HTTP API's
// writes are; its JSON form then decodes back to an Equal entry on every
// server. FuzzEncodeConfigUpsert checks that property over what DecodeJSON
// accepts, and this package's tests decode every command they build, so
// production no longer decodes each command again (that decode was a
// measurable share of the leader's CPU). What is checked per write is the
// one cheap way to break the property: a Kind field that does not name the
// entry's kind, as in an entry built in Go and never normalized.
func EncodeConfigUpsert(e configentry.Entry, cas *uint64) ([]byte, error) {
	if e == nil {
		return nil, fmt.Errorf("fsm: encoding a nil config entry")
	}
	if kind := configentry.JSONKind(e); kind != e.GetKind() {
		return nil, fmt.Errorf("fsm: %s %q does not survive its JSON form: its Kind field is %q", e.GetKind(), e.GetName(), kind)
	}
	raw, err := json.Marshal(e)
	if err != nil {
		return nil, fmt.Errorf("fsm: encoding %s %q: %w", e.GetKind(), e.GetName(), err)
	}
	cmd := appendConfigUpsert(raw, cas)
	if verifyConfigUpsert != nil {
		if err := verifyConfigUpsert(e, cmd); err != nil {
			return nil, fmt.Errorf("fsm: %s %q does not survive its JSON form: %w", e.GetKind(), e.GetName(), err)
		}
	}
	return cmd, nil
}

// verifyConfigUpsert, when set (this package's tests set it), checks every
// command EncodeConfigUpsert builds for entry e.
var verifyConfigUpsert func(e configentry.Entry, cmd []byte) error

// appendConfigUpsert frames the command for an entry's JSON form raw. The
// bytes are exactly those of encodeCommand(CommandConfigUpsert,
// configUpsertVersion, configUpsertPayload{Entry: raw, CAS: cas}): raw comes
// from json.Marshal, already compact and HTML-escaped, which is all that
// marshalling a json.RawMessage would do to it again, at the cost of
// another scan and copy of the entry.
func appendConfigUpsert(raw []byte, cas *uint64) []byte {
	const prefix, casKey = `{"Entry":`, `,"CAS":`
	buf := make([]byte, headerLen, headerLen+len(prefix)+len(raw)+len(casKey)+20+1)
	buf[0], buf[1] = byte(CommandConfigUpsert), configUpsertVersion
	buf = append(buf, prefix...)
	buf = append(buf, raw...)
	if cas != nil {
		buf = append(buf, casKey...)
		buf = strconv.AppendUint(buf, *cas, 10)
	}
	return append(buf, '}')
}

// EncodeConfigDelete builds a command deleting kind/name, conditionally
// when cas is not nil.
func EncodeConfigDelete(kind, name string, cas *uint64) ([]byte, error) {
	return encodeCommand(CommandConfigDelete, configDeleteVersion, configDeletePayload{Kind: kind, Name: name, CAS: cas})
}

func (f *FSM) applyConfigUpsert(idx uint64, version uint8, payload []byte) *ApplyResult {
	entry, cas := decodeConfigUpsert(idx, version, payload)
	return f.configWrite(idx, func(tx *writeTxn) (bool, error) {
		return upsertConfigEntryTxn(tx, entry, cas, f.cfg.GraphValidator)
	})
}

// decodeConfigUpsert reads a ConfigUpsert payload: the entry, decoded with
// DecodeJSON's rules, and the CAS. Every server decodes every upsert, so the
// payload, one JSON document holding the entry, is parsed once and the entry
// bound from that (decodeConfigUpsertOnePass); decoding the envelope with
// encoding/json first and the entry from its raw bytes after read the entry
// twice. Any payload that pass does not take, which is none that this or an
// earlier binary writes, goes the two-step way, whose result is the same
// and which panics as before on what it cannot decode.
func decodeConfigUpsert(idx uint64, version uint8, payload []byte) (configentry.Entry, *uint64) {
	if entry, cas, ok := decodeConfigUpsertOnePass(payload); ok {
		return entry, cas
	}
	var p configUpsertPayload
	decodePayload(CommandConfigUpsert, version, payload, &p)
	entry, err := configentry.DecodeJSON(p.Entry)
	if err != nil {
		// EncodeConfigUpsert's input decodes back, so the servers disagree
		// about the entry format; see decodePayload.
		panic(fmt.Sprintf("fsm: cannot decode config entry in %s command at index %d: %v", CommandConfigUpsert, idx, err))
	}
	return entry, p.CAS
}

// decodeConfigUpsertOnePass decodes a payload of exactly the shape that
// EncodeConfigUpsert writes, {"Entry":{...}} or {"Entry":{...},"CAS":N},
// and reports false for anything else. On the payloads it accepts it gives
// what the two-step decode gives: encoding/json would bind the same two
// keys (it also takes other spellings and repeats, which are left to it),
// parse N with strconv.ParseUint, and hand the entry's bytes to DecodeJSON,
// which is ParseJSON and DecodeMap; and a payload ParseJSON accepts nests
// one level deeper than the entry within it, so the entry alone passes the
// nesting bound too.
func decodeConfigUpsertOnePass(payload []byte) (configentry.Entry, *uint64, bool) {
	v, err := configentry.ParseJSON(payload)
	if err != nil {
		return nil, nil, false
	}
	top, _ := v.(map[string]any)
	raw, ok := top["Entry"].(map[string]any)
	if !ok {
		return nil, nil, false
	}
	var cas *uint64
	switch len(top) {
	case 1:
	case 2:
		c, present := top["CAS"]
		if !present {
			return nil, nil, false
		}
		if c != nil { // null leaves the pointer nil, as with encoding/json
			n, ok := c.(json.Number)
			if !ok {
				return nil, nil, false
			}
			u, err := strconv.ParseUint(string(n), 10, 64)
			if err != nil {
				return nil, nil, false
			}
			cas = &u
		}
	default:
		return nil, nil, false
	}
	entry, err := configentry.DecodeMap(raw)
	if err != nil {
		return nil, nil, false
	}
	return entry, cas, true
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
