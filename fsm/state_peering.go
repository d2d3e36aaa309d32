package fsm

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/hashicorp/go-memdb"
)

// Peering records and their secrets. A record is this cluster's view of one
// peering under the name the local operator chose; its secrets (the one-time
// establishment secret and the stream secrets) live in a separate table so
// that reads of the record, which the HTTP API serves, never carry them.
//
// Both tables are written only through the peering commands
// (commands_peering.go); the rules those enforce are in peeringWriteTxn.

const (
	tablePeerings       = "peerings"
	tablePeeringSecrets = "peering-secrets"
	indexName           = "name"
)

// Peering states. ACTIVE and FAILING are never stored: the leader derives
// them at read time from its live stream (see peering.md §6).
const (
	PeeringUndefined    = "UNDEFINED"
	PeeringPending      = "PENDING"
	PeeringEstablishing = "ESTABLISHING"
	PeeringActive       = "ACTIVE"
	PeeringFailing      = "FAILING"
	PeeringDeleting     = "DELETING"
	PeeringTerminated   = "TERMINATED"
)

// PeeringRemote describes the cluster on the other side.
type PeeringRemote struct {
	Partition  string
	Datacenter string
	Locality   *PeeringLocality `json:",omitempty"`
}

// PeeringLocality is the remote cluster's region and zone.
type PeeringLocality struct {
	Region string
	Zone   string
}

// Peering is one stored peering record.
type Peering struct {
	ID        string
	Name      string
	DeletedAt *time.Time        `json:",omitempty"`
	Meta      map[string]string `json:",omitempty"`
	// State is one of the stored states (PENDING, ESTABLISHING, DELETING,
	// TERMINATED); "" or UNDEFINED in a write keeps the stored one.
	State string
	// PeerID is the acceptor's record ID; set only on the dialing side.
	PeerID                string   `json:",omitempty"`
	PeerCAPems            []string `json:",omitempty"`
	PeerServerName        string   `json:",omitempty"`
	PeerServerAddresses   []string `json:",omitempty"`
	ManualServerAddresses []string `json:",omitempty"`
	Remote                PeeringRemote
	// TrustBundle is the peer's trust bundle as it last sent it over the
	// stream (peering.md §4.1, §5), nil until then. A write that leaves it
	// nil keeps the stored one, so writes of other fields (establishment,
	// server addresses, Remote) never drop it; it goes only with the live
	// states (see peeringWriteTxn and peeringSetStateTxn). Added after the
	// first release of the record: older binaries ignore the field, and
	// records they wrote decode with it nil.
	TrustBundle *PeeringTrustBundle `json:",omitempty"`
	RaftIndex
}

// PeeringTrustBundle is what a peer says about its certificate authority:
// its trust domain and the PEM root certificates of its peering CA.
type PeeringTrustBundle struct {
	TrustDomain string
	RootPEMs    []string
}

// Equal reports whether two bundles carry the same domain and roots in the
// same order (nil equals nil only).
func (b *PeeringTrustBundle) Equal(o *PeeringTrustBundle) bool {
	if b == nil || o == nil {
		return b == o
	}
	if b.TrustDomain != o.TrustDomain || len(b.RootPEMs) != len(o.RootPEMs) {
		return false
	}
	for i := range b.RootPEMs {
		if b.RootPEMs[i] != o.RootPEMs[i] {
			return false
		}
	}
	return true
}

// ShouldDial reports whether this side dials the peer: only the dialer
// knows the other side's addresses.
func (p *Peering) ShouldDial() bool {
	return len(p.PeerServerAddresses) > 0 || len(p.ManualServerAddresses) > 0
}

// IsLive reports whether the peering may carry a stream.
func (p *Peering) IsLive() bool {
	return p.State != PeeringDeleting && p.State != PeeringTerminated && p.DeletedAt == nil
}

// PeeringSecrets are the secrets of one peering, keyed by the local record
// ID. Establishment is the acceptor's one-time secret carried by the token;
// exchanging it consumes it (its value moves to UsedEstablishment so that a
// second use is reported as such) and mints PendingStream, which the first
// stream promotes to ActiveStream. The dialer stores only ActiveStream.
type PeeringSecrets struct {
	PeerID string
	// EstablishmentExpires is in Unix nanoseconds; the leader puts the
	// clock into the command so Apply stays deterministic.
	Establishment        string `json:",omitempty"`
	EstablishmentExpires int64  `json:",omitempty"`
	UsedEstablishment    string `json:",omitempty"`
	PendingStream        string `json:",omitempty"`
	ActiveStream         string `json:",omitempty"`
}

func peeringsTable() *memdb.TableSchema {
	return &memdb.TableSchema{
		Name: tablePeerings,
		Indexes: map[string]*memdb.IndexSchema{
			indexID: {Name: indexID, Unique: true, Indexer: &stringKeyIndexer{arity: 1, exact: true, fields: func(o any) []string {
				return []string{o.(*Peering).ID}
			}}},
			// Names are looked up lower-cased, as Consul does.
			indexName: {Name: indexName, Unique: true, Indexer: keyIndexer(1, func(o any) []string {
				return []string{o.(*Peering).Name}
			})},
		},
	}
}

func peeringSecretsTable() *memdb.TableSchema {
	return &memdb.TableSchema{
		Name: tablePeeringSecrets,
		Indexes: map[string]*memdb.IndexSchema{
			indexID: {Name: indexID, Unique: true, Indexer: &stringKeyIndexer{arity: 1, exact: true, fields: func(o any) []string {
				return []string{o.(*PeeringSecrets).PeerID}
			}}},
		},
	}
}

// Peerings lists every peering record ordered by name.
func (s *Store) Peerings(ws memdb.WatchSet) (uint64, []*Peering, error) {
	tx := s.db.Txn(false)
	defer tx.Abort()
	it, err := tx.Get(tablePeerings, indexID)
	if err != nil {
		return 0, nil, fmt.Errorf("peerings lookup failed: %w", err)
	}
	idx, err := watchScope(tx, ws, tablePeerings, it.WatchCh())
	if err != nil {
		return 0, nil, err
	}
	out := []*Peering{}
	for raw := it.Next(); raw != nil; raw = it.Next() {
		out = append(out, raw.(*Peering))
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return atLeastOne(idx), out, nil
}

// PeeringByName returns the record named name (case-insensitive), or nil.
func (s *Store) PeeringByName(ws memdb.WatchSet, name string) (uint64, *Peering, error) {
	return s.peeringLookup(ws, indexName, name)
}

// PeeringByID returns the record with the given local ID, or nil.
func (s *Store) PeeringByID(ws memdb.WatchSet, id string) (uint64, *Peering, error) {
	return s.peeringLookup(ws, indexID, id)
}

func (s *Store) peeringLookup(ws memdb.WatchSet, index, key string) (uint64, *Peering, error) {
	tx := s.db.Txn(false)
	defer tx.Abort()
	ch, raw, err := tx.FirstWatch(tablePeerings, index, key)
	if err != nil {
		return 0, nil, fmt.Errorf("peering lookup failed: %w", err)
	}
	ws.Add(ch)
	idx, err := indexOf(tx, tablePeerings)
	if err != nil || raw == nil {
		return atLeastOne(idx), nil, err
	}
	return atLeastOne(idx), raw.(*Peering), nil
}

// PeeringSecretsFor returns the secrets of a peering, or nil. They are
// never watched: only the stream handshake reads them.
func (s *Store) PeeringSecretsFor(peerID string) (*PeeringSecrets, error) {
	tx := s.db.Txn(false)
	defer tx.Abort()
	raw, err := tx.First(tablePeeringSecrets, indexID, peerID)
	if err != nil || raw == nil {
		return nil, err
	}
	return raw.(*PeeringSecrets), nil
}

// peeringWriteTxn upserts a record under the rules of peering.md §6: names
// are unique; a record never switches between dialing and accepting; a
// DELETING record takes no more writes except a no-op re-delete or a
// TERMINATED (both ignored); DeletedAt and DELETING go together; UNDEFINED
// keeps the stored state, and a nil TrustBundle keeps the stored bundle.
// Secrets and the trust bundle go when the record leaves the live states.
func peeringWriteTxn(tx *writeTxn, p *Peering) error {
	if p.ID == "" || p.Name == "" {
		return fmt.Errorf("peering ID and Name are required")
	}
	raw, err := tx.First(tablePeerings, indexName, p.Name)
	if err != nil {
		return err
	}
	if raw != nil && raw.(*Peering).ID != p.ID {
		return fmt.Errorf("a peering already exists with the name %q", p.Name)
	}
	raw, err = tx.First(tablePeerings, indexID, p.ID)
	if err != nil {
		return err
	}
	if p.State == "" || p.State == PeeringUndefined {
		p.State = PeeringPending
		if raw != nil {
			p.State = raw.(*Peering).State
		}
	}
	if raw != nil {
		old := raw.(*Peering)
		if old.State == PeeringDeleting {
			if p.State == PeeringDeleting || p.State == PeeringTerminated {
				return nil
			}
			return fmt.Errorf("cannot write to peering that is marked for deletion")
		}
		if old.State == PeeringTerminated && p.State == PeeringTerminated {
			return nil
		}
		if old.ShouldDial() != p.ShouldDial() {
			return fmt.Errorf("Cannot switch peering dialing mode from %s to %s", dialMode(old), dialMode(p))
		}
		if !strings.EqualFold(old.Name, p.Name) {
			return fmt.Errorf("cannot rename peering %q to %q", old.Name, p.Name)
		}
		if p.TrustBundle == nil {
			p.TrustBundle = old.TrustBundle
		}
		p.CreateIndex = old.CreateIndex
	} else {
		p.CreateIndex = tx.idx
	}
	if (p.State == PeeringDeleting) != (p.DeletedAt != nil) {
		return fmt.Errorf("a peering is DELETING exactly when DeletedAt is set (state %s)", p.State)
	}
	if !p.IsLive() {
		// A deleted or terminated peering trusts nothing of the peer's.
		p.TrustBundle = nil
	}
	p.ModifyIndex = tx.idx
	if err := tx.Insert(tablePeerings, p); err != nil {
		return err
	}
	tx.touch(tablePeerings)
	if !p.IsLive() {
		return deletePeeringSecretsTxn(tx, p.ID)
	}
	return nil
}

func dialMode(p *Peering) string {
	if p.ShouldDial() {
		return "dialer"
	}
	return "acceptor"
}

// peeringSetStateTxn moves a record to DELETING (with deletedAt) or
// TERMINATED without touching its other fields, so it cannot undo a
// concurrent update of addresses or secrets. Leaving the live states drops
// the peer's secrets and trust bundle (peering.md §6 rules 4-6) in the same
// entry. A missing record is a no-op.
func peeringSetStateTxn(tx *writeTxn, id, state string, deletedAt *time.Time) error {
	raw, err := tx.First(tablePeerings, indexID, id)
	if err != nil || raw == nil {
		return err
	}
	p := *raw.(*Peering)
	switch state {
	case PeeringDeleting:
		if p.State == PeeringDeleting {
			return nil
		}
		if deletedAt == nil {
			return fmt.Errorf("marking a peering for deletion needs DeletedAt")
		}
		p.DeletedAt = deletedAt
	case PeeringTerminated:
		if p.State == PeeringTerminated || p.State == PeeringDeleting {
			return nil
		}
	default:
		return fmt.Errorf("peering state %q cannot be set on its own", state)
	}
	p.State = state
	p.TrustBundle = nil
	p.ModifyIndex = tx.idx
	if err := tx.Insert(tablePeerings, &p); err != nil {
		return err
	}
	tx.touch(tablePeerings)
	return deletePeeringSecretsTxn(tx, id)
}

// peeringDeleteTxn removes a record for good, with its secrets.
func peeringDeleteTxn(tx *writeTxn, id string) error {
	raw, err := tx.First(tablePeerings, indexID, id)
	if err != nil || raw == nil {
		return err
	}
	if err := tx.Delete(tablePeerings, raw); err != nil {
		return err
	}
	tx.touch(tablePeerings)
	return deletePeeringSecretsTxn(tx, id)
}

func deletePeeringSecretsTxn(tx *writeTxn, id string) error {
	raw, err := tx.First(tablePeeringSecrets, indexID, id)
	if err != nil || raw == nil {
		return err
	}
	return tx.Delete(tablePeeringSecrets, raw)
}
