package fsm

import (
	"crypto/subtle"
	"errors"
	"fmt"
	"time"
)

// Peering commands (types 48-51). Imported catalog data does not need
// commands of its own: the importer writes it with the catalog register and
// deregister commands, which accept PeerName (only the HTTP endpoints
// refuse it).
const (
	CommandPeeringWrite    CommandType = 48
	CommandPeeringSetState CommandType = 49
	CommandPeeringDelete   CommandType = 50
	CommandPeeringSecrets  CommandType = 51
)

// Version 1 of every peering command.
const (
	peeringWriteVersion    = 1
	peeringSetStateVersion = 1
	peeringDeleteVersion   = 1
	peeringSecretsVersion  = 1
)

// Errors of the secret exchange; the stream server turns them into
// PermissionDenied answers the dialer shows to the operator.
var (
	ErrPeeringSecretInvalid = errors.New("invalid peering establishment secret")
	ErrPeeringSecretUsed    = errors.New("peering establishment secret has already been used: generate a new token")
	ErrPeeringSecretExpired = errors.New("peering establishment secret has expired: generate a new token")
	ErrPeeringStreamSecret  = errors.New("invalid peering stream secret")
	ErrPeeringNotFound      = errors.New("peering not found")
)

type peeringSetStatePayload struct {
	ID        string
	State     string
	DeletedAt *time.Time `json:",omitempty"`
}

type peeringDeletePayload struct{ ID string }

// SecretsOp names one change to a peering's secrets.
type SecretsOp string

// Secret operations.
const (
	// SecretsGenerate stores a new establishment secret (replacing any
	// older one, so older tokens stop working) valid until Expires.
	SecretsGenerate SecretsOp = "generate"
	// SecretsExchange consumes the establishment secret Secret (checked
	// against Now) and stores NewSecret as the pending stream secret.
	SecretsExchange SecretsOp = "exchange"
	// SecretsPromote makes the pending stream secret Secret active.
	SecretsPromote SecretsOp = "promote"
	// SecretsSetActive stores the dialer's stream secret.
	SecretsSetActive SecretsOp = "set-active"
)

// SecretsRequest is the payload of CommandPeeringSecrets. Times are Unix
// nanoseconds chosen by the leader.
type SecretsRequest struct {
	PeerID    string
	Op        SecretsOp
	Secret    string
	NewSecret string `json:",omitempty"`
	Expires   int64  `json:",omitempty"`
	Now       int64  `json:",omitempty"`
}

// EncodePeeringWrite builds a command upserting a peering record.
func EncodePeeringWrite(p *Peering) ([]byte, error) {
	return encodeCommand(CommandPeeringWrite, peeringWriteVersion, p)
}

// EncodePeeringSetState builds a command marking a record DELETING (with
// deletedAt) or TERMINATED.
func EncodePeeringSetState(id, state string, deletedAt *time.Time) ([]byte, error) {
	return encodeCommand(CommandPeeringSetState, peeringSetStateVersion, peeringSetStatePayload{ID: id, State: state, DeletedAt: deletedAt})
}

// EncodePeeringDelete builds a command removing a record and its secrets.
func EncodePeeringDelete(id string) ([]byte, error) {
	return encodeCommand(CommandPeeringDelete, peeringDeleteVersion, peeringDeletePayload{ID: id})
}

// EncodePeeringSecrets builds a command changing a peering's secrets.
func EncodePeeringSecrets(req *SecretsRequest) ([]byte, error) {
	return encodeCommand(CommandPeeringSecrets, peeringSecretsVersion, req)
}

func (f *FSM) applyPeeringWrite(idx uint64, version uint8, payload []byte) *ApplyResult {
	var p Peering
	decodePayload(CommandPeeringWrite, version, payload, &p)
	return f.catalogWrite(idx, func(tx *writeTxn) error { return peeringWriteTxn(tx, &p) })
}

func (f *FSM) applyPeeringSetState(idx uint64, version uint8, payload []byte) *ApplyResult {
	var p peeringSetStatePayload
	decodePayload(CommandPeeringSetState, version, payload, &p)
	return f.catalogWrite(idx, func(tx *writeTxn) error { return peeringSetStateTxn(tx, p.ID, p.State, p.DeletedAt) })
}

func (f *FSM) applyPeeringDelete(idx uint64, version uint8, payload []byte) *ApplyResult {
	var p peeringDeletePayload
	decodePayload(CommandPeeringDelete, version, payload, &p)
	return f.catalogWrite(idx, func(tx *writeTxn) error { return peeringDeleteTxn(tx, p.ID) })
}

func (f *FSM) applyPeeringSecrets(idx uint64, version uint8, payload []byte) *ApplyResult {
	var req SecretsRequest
	decodePayload(CommandPeeringSecrets, version, payload, &req)
	return f.catalogWrite(idx, func(tx *writeTxn) error { return peeringSecretsTxn(tx, &req) })
}

// peeringSecretsTxn applies one secrets operation. The record must exist
// and be live: a deleted or terminated peering keeps no secrets.
func peeringSecretsTxn(tx *writeTxn, req *SecretsRequest) error {
	raw, err := tx.First(tablePeerings, indexID, req.PeerID)
	if err != nil {
		return err
	}
	if raw == nil || !raw.(*Peering).IsLive() {
		return fmt.Errorf("%w: %q", ErrPeeringNotFound, req.PeerID)
	}
	cur := PeeringSecrets{PeerID: req.PeerID}
	if raw, err := tx.First(tablePeeringSecrets, indexID, req.PeerID); err != nil {
		return err
	} else if raw != nil {
		cur = *raw.(*PeeringSecrets)
	}
	switch req.Op {
	case SecretsGenerate:
		cur.Establishment, cur.EstablishmentExpires = req.Secret, req.Expires
	case SecretsExchange:
		if err := checkEstablishment(&cur, req); err != nil {
			return err
		}
		cur.UsedEstablishment, cur.Establishment, cur.EstablishmentExpires = cur.Establishment, "", 0
		cur.PendingStream = req.NewSecret
	case SecretsPromote:
		switch {
		case req.Secret != "" && equalSecret(req.Secret, cur.ActiveStream):
			return nil
		case req.Secret != "" && equalSecret(req.Secret, cur.PendingStream):
			cur.ActiveStream, cur.PendingStream = cur.PendingStream, ""
		default:
			return ErrPeeringStreamSecret
		}
	case SecretsSetActive:
		cur.ActiveStream = req.Secret
	default:
		return fmt.Errorf("unknown peering secrets operation %q", req.Op)
	}
	if err := tx.Insert(tablePeeringSecrets, &cur); err != nil {
		return err
	}
	// Moving the peerings index wakes the leader's peering manager, which
	// starts a dialer once the dialer's stream secret is stored.
	tx.touch(tablePeerings)
	return nil
}

func checkEstablishment(cur *PeeringSecrets, req *SecretsRequest) error {
	switch {
	case req.Secret == "":
		return ErrPeeringSecretInvalid
	case cur.Establishment != "" && equalSecret(req.Secret, cur.Establishment):
		if req.Now > cur.EstablishmentExpires {
			return ErrPeeringSecretExpired
		}
		return nil
	case cur.UsedEstablishment != "" && equalSecret(req.Secret, cur.UsedEstablishment):
		return ErrPeeringSecretUsed
	default:
		return ErrPeeringSecretInvalid
	}
}

// equalSecret compares in constant time so response timing leaks nothing
// about how much of a guessed secret was right.
func equalSecret(a, b string) bool {
	return subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1
}
