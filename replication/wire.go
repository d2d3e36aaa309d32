package replication

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strconv"

	"github.com/switchyard/switchyard/configentry"
)

// Wire protocol between a secondary's replicator and the primary.
//
// The secondary asks with the version it speaks (query parameter
// VersionParam); the primary answers a List in JSON whose Version is the
// one it chose, the lower of the two maxima. Index is always the primary's
// config entry index (the highest Raft index that modified any entry).
//
// Version 1: Entries are every entry in Consul's JSON form,
// exported-services included (the receiver skips what it must not copy, so
// the rule lives in one place). Other parameters are ignored.
//
// Version 2 adds a delta, because listing, encoding, sending, decoding and
// comparing every entry each round made the replication lag grow with the
// number of entries. The request carries SinceParam, the primary index the
// secondary last replicated fully, and KeysParam, HashKeys of the keys the
// secondary holds. The answer is:
//
//   - a full list (Delta false, Entries as in version 1) when since is 0,
//     or ahead of the primary's index (a primary restored from an older
//     snapshot or rebuilt: its indexes say nothing about what changed);
//   - otherwise a delta (Delta true, Since echoed): Entries are only the
//     entries whose ModifyIndex > since, and Keys lists every key of the
//     primary with its ModifyIndex, so the secondary finds deletions.
//     Keys are left out (KeysUnchanged true) when the requester's hash
//     equals HashKeys of the primary's entries with CreateIndex <= since:
//     then no key was deleted since, and the primary's key set is exactly
//     the requester's plus the keys of Entries (every key created after
//     since has a body in Entries). A steady stream of new or modified
//     entries thus costs neither side anything per unchanged entry on the
//     wire; the key set travels only when something was deleted, or when
//     the requester's copy drifted (which the key list then repairs).
//
// A version 2 replicator talking to a version 1 primary gets version 1
// full lists, which DecodeList turns into a non-delta Remote: it simply
// replicates as before.
const (
	ProtocolVersionMin = 1
	ProtocolVersionMax = 2

	// VersionParam is the query parameter carrying the requester's version.
	VersionParam = "replication_version"
	// SinceParam (version 2) is the primary index the requester holds.
	SinceParam = "since"
	// KeysParam (version 2) is HashKeys of the requester's keys.
	KeysParam = "keys_hash"
)

// ErrVersion reports a peer speaking a protocol version outside our range.
var ErrVersion = errors.New("replication: unsupported protocol version")

// List is the primary's answer.
type List struct {
	Version int
	Index   uint64
	// Delta, Since, Keys and KeysUnchanged are version 2; see the protocol
	// description above.
	Delta         bool       `json:",omitempty"`
	Since         uint64     `json:",omitempty"`
	Keys          []KeyIndex `json:",omitempty"`
	KeysUnchanged bool       `json:",omitempty"`
	Entries       []json.RawMessage
}

// KeyIndex is one key of a delta's key list, with the entry's ModifyIndex
// in the primary.
type KeyIndex struct {
	Kind        string
	Name        string
	ModifyIndex uint64
}

// Request is what a replicator asks the primary for.
type Request struct {
	// Since is the primary index the secondary last replicated fully; the
	// call blocks while the primary's index equals it. 0 asks for a full
	// list at once.
	Since uint64
	// KeysHash is HashKeys of the keys the secondary holds ("" for none
	// known, which never matches).
	KeysHash string
}

// Query adds r's parameters to q. Blocking itself is the endpoint's
// ordinary ?index=, which the caller sets to Since.
func (r Request) Query(q url.Values) {
	if r.Since > 0 {
		q.Set(SinceParam, strconv.FormatUint(r.Since, 10))
	}
	if r.KeysHash != "" {
		q.Set(KeysParam, r.KeysHash)
	}
}

// ParseRequest reads the version 2 parameters of a list request.
func ParseRequest(q url.Values) (Request, error) {
	var r Request
	if v := q.Get(SinceParam); v != "" {
		n, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			return r, fmt.Errorf("replication: invalid %s %q", SinceParam, v)
		}
		r.Since = n
	}
	r.KeysHash = q.Get(KeysParam)
	return r, nil
}

// NegotiateVersion checks the requester's version string and returns the
// version to answer with.
func NegotiateVersion(v string) (int, error) {
	n, err := strconv.Atoi(v)
	if err != nil || n < ProtocolVersionMin {
		return 0, fmt.Errorf("%w: %q (this server speaks %d-%d)", ErrVersion, v, ProtocolVersionMin, ProtocolVersionMax)
	}
	return min(n, ProtocolVersionMax), nil
}

// EncodeList builds the primary's answer in version, from every entry the
// primary holds at index; req matters from version 2 on.
func EncodeList(version int, index uint64, entries []configentry.Entry, req Request) (*List, error) {
	l := &List{Version: version, Index: index}
	bodies := entries
	if version >= 2 && req.Since > 0 && req.Since <= index {
		l.Delta, l.Since = true, req.Since
		bodies = nil
		var before []Key
		for _, e := range entries {
			ri := e.GetRaftIndex()
			if ri.ModifyIndex > req.Since {
				bodies = append(bodies, e)
			}
			if ri.CreateIndex <= req.Since {
				before = append(before, keyOf(e))
			}
		}
		l.KeysUnchanged = req.KeysHash != "" && req.KeysHash == HashKeys(before)
		if !l.KeysUnchanged {
			l.Keys = make([]KeyIndex, 0, len(entries))
			for _, e := range entries {
				l.Keys = append(l.Keys, KeyIndex{e.GetKind(), e.GetName(), e.GetRaftIndex().ModifyIndex})
			}
		}
	}
	l.Entries = make([]json.RawMessage, 0, len(bodies))
	for _, e := range bodies {
		raw, err := json.Marshal(e)
		if err != nil {
			return nil, fmt.Errorf("replication: encoding %s %q: %w", e.GetKind(), e.GetName(), err)
		}
		l.Entries = append(l.Entries, raw)
	}
	return l, nil
}

// Remote is a decoded answer of the primary.
type Remote struct {
	Index uint64
	// Delta false: Entries are every entry of the primary. Delta true:
	// Entries are those modified after Since, and the primary's keys are
	// Keys, or (KeysUnchanged) the requester's plus those of Entries.
	Delta         bool
	Since         uint64
	Keys          []KeyIndex
	KeysUnchanged bool
	Entries       []configentry.Entry
}

// DecodeList reads the primary's answer, in any version we speak.
func DecodeList(body []byte) (Remote, error) {
	var l List
	if err := json.Unmarshal(body, &l); err != nil {
		return Remote{}, fmt.Errorf("replication: decoding list: %w", err)
	}
	if l.Version < ProtocolVersionMin || l.Version > ProtocolVersionMax {
		return Remote{}, fmt.Errorf("%w: primary answered with version %d (this server speaks %d-%d)", ErrVersion, l.Version, ProtocolVersionMin, ProtocolVersionMax)
	}
	out := Remote{Index: l.Index, Entries: make([]configentry.Entry, 0, len(l.Entries))}
	if l.Version >= 2 {
		out.Delta, out.Since, out.Keys, out.KeysUnchanged = l.Delta, l.Since, l.Keys, l.KeysUnchanged
	}
	for i, raw := range l.Entries {
		e, err := configentry.DecodeJSON(raw)
		if err != nil {
			return Remote{}, fmt.Errorf("replication: entry %d of the primary's list: %w", i, err)
		}
		out.Entries = append(out.Entries, e)
	}
	return out, nil
}
