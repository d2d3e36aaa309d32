package agent

import (
	"errors"
	"fmt"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/raft"

	"github.com/switchyard/switchyard/chain"
	"github.com/switchyard/switchyard/configentry"
	"github.com/switchyard/switchyard/fsm"
)

// stateStore is the replicated state every read endpoint queries.
type stateStore = fsm.Store

// stateHandle owns the FSM; the store it serves is replaced wholesale on a
// snapshot restore, so readers fetch it anew for every query.
type stateHandle struct {
	fsm *fsm.FSM
}

func newStateHandle(logger hclog.Logger) *stateHandle {
	return &stateHandle{fsm: fsm.New(fsm.Config{
		Logger: logger,
		// Graph validation runs again inside Apply so that two writes that
		// are each valid alone cannot together break a chain.
		GraphValidator: validateGraphWrite,
	})}
}

// validateGraphWrite is chain.ValidateWrite as an fsm.GraphValidator: the
// FSM shows its view of the stored entries, which chain reads through its
// own Entries interface.
func validateGraphWrite(stored *fsm.ConfigView, upsert configentry.Entry, deleteKind, deleteName string) error {
	return chain.ValidateWrite(stored, upsert, deleteKind, deleteName)
}

func (h *stateHandle) store() *stateStore { return h.fsm.State() }

// applyTimeout bounds one Raft apply on the leader.
const applyTimeout = 30 * time.Second

// raftApply applies an encoded command on this server, which must be the
// leader, and returns the FSM's result. A write refused by the FSM returns
// the result and its error.
func (a *Agent) raftApply(cmd []byte) (*fsm.ApplyResult, error) {
	f := a.raft.raft.Apply(cmd, applyTimeout)
	if err := f.Error(); err != nil {
		if errors.Is(err, raft.ErrNotLeader) || errors.Is(err, raft.ErrLeadershipLost) {
			return nil, fmt.Errorf("%w: leadership changed during the write", errNoLeader)
		}
		return nil, err
	}
	res, ok := f.Response().(*fsm.ApplyResult)
	if !ok {
		return nil, fmt.Errorf("unexpected apply response %T", f.Response())
	}
	return res, res.Err
}
