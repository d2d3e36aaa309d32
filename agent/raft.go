package agent

import (
	"crypto/rand"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/raft"
	raftboltdb "github.com/hashicorp/raft-boltdb/v2"
)

// raftParts are the pieces of a running Raft node the agent owns and must
// close at shutdown.
type raftParts struct {
	raft      *raft.Raft
	store     *raftboltdb.BoltStore
	transport *raft.NetworkTransport
	hadState  bool
	// leaderCh receives true/false on gaining/losing leadership. Raft's own
	// LeaderCh may drop signals; a buffered NotifyCh does not lose them.
	leaderCh chan bool
}

// setupRaft opens the on-disk stores in <data-dir>/raft and starts Raft.
func setupRaft(c *Config, fsm raft.FSM, layer raft.StreamLayer, logger hclog.Logger) (*raftParts, error) {
	dir := filepath.Join(c.DataDir, "raft")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	store, err := raftboltdb.New(raftboltdb.Options{Path: filepath.Join(dir, "raft.db")})
	if err != nil {
		return nil, fmt.Errorf("open raft store: %w", err)
	}
	snaps, err := raft.NewFileSnapshotStoreWithLogger(dir, 2, logger.Named("snapshot"))
	if err != nil {
		store.Close()
		return nil, fmt.Errorf("open snapshot store: %w", err)
	}
	// A log cache keeps recent entries in memory so replication to a
	// follower that is slightly behind does not hit BoltDB.
	logs, err := raft.NewLogCache(512, store)
	if err != nil {
		store.Close()
		return nil, err
	}
	hasState, err := raft.HasExistingState(logs, store, snaps)
	if err != nil {
		store.Close()
		return nil, err
	}
	trans := raft.NewNetworkTransportWithConfig(&raft.NetworkTransportConfig{
		Stream:  layer,
		MaxPool: 3,
		Timeout: 10 * time.Second,
		Logger:  logger.Named("transport"),
	})
	rc := raft.DefaultConfig()
	rc.LocalID = raft.ServerID(c.NodeID)
	rc.Logger = logger
	rc.HeartbeatTimeout = c.RaftHeartbeatTimeout
	rc.ElectionTimeout = c.RaftElectionTimeout
	rc.LeaderLeaseTimeout = c.RaftLeaderLease
	rc.CommitTimeout = c.RaftCommitTimeout
	rc.SnapshotThreshold = c.RaftSnapshotThreshold
	rc.SnapshotInterval = c.RaftSnapshotInterval
	rc.TrailingLogs = c.RaftTrailingLogs
	notify := make(chan bool, 16)
	rc.NotifyCh = notify
	r, err := raft.NewRaft(rc, fsm, logs, store, snaps, trans)
	if err != nil {
		trans.Close()
		store.Close()
		return nil, fmt.Errorf("start raft: %w", err)
	}
	return &raftParts{raft: r, store: store, transport: trans, hadState: hasState, leaderCh: notify}, nil
}

// Close stops Raft and releases its files.
func (p *raftParts) Close() error {
	err := p.raft.Shutdown().Error()
	if cerr := p.transport.Close(); err == nil {
		err = cerr
	}
	if cerr := p.store.Close(); err == nil {
		err = cerr
	}
	return err
}

// loadOrCreateNodeID keeps the node's UUID in <data-dir>/node-id so a
// restarted server rejoins Raft with the same identity.
func loadOrCreateNodeID(dataDir, configured string) (string, error) {
	path := filepath.Join(dataDir, "node-id")
	b, err := os.ReadFile(path)
	switch {
	case err == nil:
		stored := strings.TrimSpace(string(b))
		if configured != "" && configured != stored {
			return "", fmt.Errorf("node ID %q differs from %q stored in %s", configured, stored, path)
		}
		return stored, nil
	case !errors.Is(err, os.ErrNotExist):
		return "", err
	}
	id := configured
	if id == "" {
		if id, err = newUUID(); err != nil {
			return "", err
		}
	}
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return "", err
	}
	return id, os.WriteFile(path, []byte(id+"\n"), 0o600)
}

// newUUID returns a random version-4 UUID.
func newUUID() (string, error) {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", err
	}
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16]), nil
}
