package fsm

import (
	"encoding/json"
	"fmt"
)

// CommandType is the first byte of every Raft log entry the FSM applies.
// Values are stored in Raft logs and snapshots forever: only ever add new
// ones, never renumber or reuse.
type CommandType uint8

// Command types, one per state change. Each command family lives in its own
// file (commands_catalog.go, commands_config.go).
const (
	CommandRegister      CommandType = 1
	CommandDeregister    CommandType = 2
	CommandBatchRegister CommandType = 3
	CommandConfigUpsert  CommandType = 16
	CommandConfigDelete  CommandType = 17
	// CommandConfigReplicate (commands_replicate.go) sits apart from 16/17
	// so the next plain config commands keep consecutive numbers.
	CommandConfigReplicate CommandType = 24
	CommandSystemMetaSet   CommandType = 32

	// IgnoreUnknownFlag may be set on a command type by a newer writer whose
	// command older servers can safely skip. Without it, a command an older
	// server does not understand stops that server (see Apply).
	IgnoreUnknownFlag CommandType = 0x80
)

func (t CommandType) String() string {
	switch t &^ IgnoreUnknownFlag {
	case CommandRegister:
		return "Register"
	case CommandDeregister:
		return "Deregister"
	case CommandBatchRegister:
		return "BatchRegister"
	case CommandConfigUpsert:
		return "ConfigUpsert"
	case CommandConfigDelete:
		return "ConfigDelete"
	case CommandSystemMetaSet:
		return "SystemMetaSet"
	case CommandPeeringWrite:
		return "PeeringWrite"
	case CommandPeeringSetState:
		return "PeeringSetState"
	case CommandPeeringDelete:
		return "PeeringDelete"
	case CommandPeeringSecrets:
		return "PeeringSecrets"
	case CommandConfigReplicate:
		return "ConfigReplicate"
	}
	return fmt.Sprintf("CommandType(%d)", uint8(t))
}

// headerLen is the size of the [type][version] prefix of every command.
const headerLen = 2

// encodeCommand frames a command: [type byte][version byte][JSON payload].
func encodeCommand(t CommandType, version uint8, payload any) ([]byte, error) {
	body, err := json.Marshal(payload)
	if err != nil {
		return nil, fmt.Errorf("fsm: encoding %s command: %w", t, err)
	}
	buf := make([]byte, headerLen, headerLen+len(body))
	buf[0], buf[1] = byte(t), version
	return append(buf, body...), nil
}

// ApplyResult is what Apply returns for every command; Raft hands it to the
// caller of raft.Apply on the leader as ApplyFuture.Response().
type ApplyResult struct {
	// Index is the Raft index the command was applied at.
	Index uint64
	// Ok reports whether the write took effect. A command that changed
	// nothing because it was already true (deleting a missing object, an
	// identical re-registration) is Ok.
	Ok bool
	// Err says why a write was refused: a broken catalog invariant or the
	// graph validator's verdict. It is nil for a plain CAS mismatch.
	Err error
}

// decodePayload decodes a command's JSON payload. A payload that does not
// decode was written by a server that disagrees with this one about the
// command's format; applying anything would let the replicas diverge.
func decodePayload(t CommandType, version uint8, payload []byte, v any) {
	if err := json.Unmarshal(payload, v); err != nil {
		panic(fmt.Sprintf("fsm: cannot decode %s command version %d: %v", t, version, err))
	}
}

// unsupportedVersion is the panic for a known command with a version this
// binary cannot read.
func unsupportedVersion(t CommandType, version uint8) string {
	return fmt.Sprintf("fsm: %s command version %d is not supported by this version of switchyard", t, version)
}
