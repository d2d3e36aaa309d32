package agent

import (
	"bytes"
	"crypto/rand"
	"encoding/json"
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
	snaps, err := raft.NewFileSnapshotStoreWithLogger(dir, snapshotsRetained, logger.Named("snapshot"))
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
	// Before Raft sees them: a damaged snapshot gets one clear ERROR line,
	// and a data dir whose every snapshot is damaged is refused with the
	// remedy instead of Raft's bare "failed to load any existing snapshots".
	if err := checkSnapshots(dir, store, logger); err != nil {
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

// snapshotsRetained is how many snapshots the file snapshot store keeps;
// Raft tries them newest first at start.
const snapshotsRetained = 2

// ErrNoIntactSnapshot: snapshots exist in the data dir but none can be
// loaded, so Raft has nothing to rebuild this server's state from.
var ErrNoIntactSnapshot = errors.New("no intact Raft snapshot")

// damagedSnapshot is one snapshot the startup check refuses.
type damagedSnapshot struct {
	ID      string
	Path    string
	Problem string
}

// snapshotInspection is what the startup check found on disk.
type snapshotInspection struct {
	damaged []damagedSnapshot
	// intact are the snapshots Raft will try, newest first.
	intact []*raft.SnapshotMeta
	// newestDamaged is the highest index among damaged snapshots whose
	// metadata could be read (0 if none), to tell whether Raft falls back.
	newestDamaged uint64
}

// checkSnapshots inspects every snapshot under raftDir before Raft opens
// them. hashicorp/raft already refuses a snapshot whose CRC does not match
// and skips one whose meta.json it cannot read, but only says so in a WARN
// or a bare "CRC checksum failed"; and when nothing is left it fails with
// "failed to load any existing snapshots", or, worse, panics when the log
// no longer reaches back to the snapshot it fell back to. This check logs
// one ERROR line per damaged snapshot and refuses to start, with the
// remedy, whenever Raft could not start cleanly from what is left.
func checkSnapshots(raftDir string, logs raft.LogStore, logger hclog.Logger) error {
	found, err := inspectSnapshots(raftDir)
	if err != nil {
		return err
	}
	for _, d := range found.damaged {
		logger.Error("refusing damaged Raft snapshot; it will not be loaded",
			"snapshot_id", d.ID, "path", d.Path, "problem", d.Problem)
	}
	if len(found.damaged) == 0 {
		return nil
	}
	snapDir := filepath.Join(raftDir, "snapshots")
	if len(found.intact) == 0 {
		return fmt.Errorf("refusing to start: %w in %s (%d found, every one damaged; see the ERROR lines above), "+
			"and Raft cannot rebuild this server's state without one. %s",
			ErrNoIntactSnapshot, snapDir, len(found.damaged), snapshotRemedy(raftDir))
	}
	newest := found.intact[0]
	// Raft replays the log from just after the snapshot it restores; with
	// a gap it would panic on the first missing entry. A gap appears when
	// the refused snapshot was newer and the log was compacted behind it.
	first, err := logs.FirstIndex()
	if err != nil {
		return fmt.Errorf("read the first Raft log index: %w", err)
	}
	last, err := logs.LastIndex()
	if err != nil {
		return fmt.Errorf("read the last Raft log index: %w", err)
	}
	if last > 0 && first > newest.Index+1 {
		return fmt.Errorf("refusing to start: the newest intact Raft snapshot %s ends at index %d but the Raft log starts at index %d; "+
			"entries %d to %d existed only in the refused snapshot(s) (see the ERROR lines above). %s",
			newest.ID, newest.Index, first, newest.Index+1, first-1, snapshotRemedy(raftDir))
	}
	// The log can also have a hole in the middle: a follower that installed
	// a snapshot from its leader keeps its older entries and appends after
	// the installed index. Raft reads every entry after the snapshot it
	// restored, so check them all; this runs only when falling back.
	var entry raft.Log
	for i := max(newest.Index+1, first); i <= last; i++ {
		if err := logs.GetLog(i, &entry); err != nil {
			return fmt.Errorf("refusing to start: the newest intact Raft snapshot %s ends at index %d but Raft log entry %d is missing (%v); "+
				"it existed only in the refused snapshot(s) (see the ERROR lines above). %s",
				newest.ID, newest.Index, i, err, snapshotRemedy(raftDir))
		}
	}
	if found.newestDamaged > newest.Index {
		logger.Warn("starting from an older intact Raft snapshot; the entries after it are replayed from the log",
			"snapshot_id", newest.ID, "index", newest.Index)
	}
	return nil
}

// snapshotRemedy tells the operator how to get a server going again.
func snapshotRemedy(raftDir string) string {
	return fmt.Sprintf("To recover a server of a cluster: stop it, move %s aside (for example mv %s %s.damaged) and start it again; "+
		"it rejoins its cluster and receives a fresh snapshot from the leader. "+
		"A single-server cluster has no other copy of its state: restore it from a backup.", raftDir, raftDir, raftDir)
}

// inspectSnapshots opens every snapshot the file snapshot store lists, and
// looks at the snapshot directories it does not list because their
// metadata is unreadable.
func inspectSnapshots(raftDir string) (*snapshotInspection, error) {
	snapDir := filepath.Join(raftDir, "snapshots")
	// A store of our own with a silent logger: the raft store logs its own
	// lower-level errors while opening, which would bury the one line
	// per snapshot this check exists to print. It keeps the same retain
	// count so List returns exactly the snapshots Raft will try.
	store, err := raft.NewFileSnapshotStoreWithLogger(raftDir, snapshotsRetained, hclog.NewNullLogger())
	if err != nil {
		return nil, fmt.Errorf("open snapshot store: %w", err)
	}
	metas, err := store.List()
	if err != nil {
		return nil, fmt.Errorf("list Raft snapshots in %s: %w", snapDir, err)
	}
	found := &snapshotInspection{}
	listed := make(map[string]bool, len(metas))
	for _, m := range metas {
		listed[m.ID] = true
		path := filepath.Join(snapDir, m.ID)
		if problem := verifySnapshot(store, path, m); problem != "" {
			found.damaged = append(found.damaged, damagedSnapshot{ID: m.ID, Path: path, Problem: problem})
			found.newestDamaged = max(found.newestDamaged, m.Index)
			continue
		}
		found.intact = append(found.intact, m)
	}
	des, err := os.ReadDir(snapDir)
	if err != nil {
		return nil, fmt.Errorf("read the Raft snapshot directory: %w", err)
	}
	for _, de := range des {
		// Files are not snapshots, and a ".tmp" directory is a snapshot
		// whose write never finished (Raft ignores it and it was never
		// the latest); neither is damage worth refusing.
		if !de.IsDir() || strings.HasSuffix(de.Name(), ".tmp") || listed[de.Name()] {
			continue
		}
		path := filepath.Join(snapDir, de.Name())
		// A snapshot with readable metadata that List left out is beyond
		// the retain count: Raft never loads it and reaps it next time.
		if problem := metadataProblem(path); problem != "" {
			found.damaged = append(found.damaged, damagedSnapshot{ID: de.Name(), Path: path, Problem: problem})
		}
	}
	return found, nil
}

// verifySnapshot opens one listed snapshot and returns what is wrong with
// it, or "" when it is intact. Open itself reads state.bin to its end to
// compare the CRC-64 recorded in meta.json, so a successful Open is a full
// read; reading it a second time would only double the start-up I/O.
func verifySnapshot(store *raft.FileSnapshotStore, path string, m *raft.SnapshotMeta) string {
	_, rc, err := store.Open(m.ID)
	if err == nil {
		rc.Close()
		return ""
	}
	// Open's errors are not typed; the size recorded at write time tells
	// a truncated file from one whose bytes changed.
	st, serr := os.Stat(filepath.Join(path, "state.bin"))
	switch {
	case errors.Is(serr, os.ErrNotExist):
		return "state.bin is missing"
	case serr != nil:
		return fmt.Sprintf("state.bin is unreadable: %v", serr)
	case st.Size() < m.Size:
		return fmt.Sprintf("truncated: state.bin has %d bytes, meta.json records %d", st.Size(), m.Size)
	case st.Size() > m.Size:
		return fmt.Sprintf("state.bin has %d bytes, more than the %d meta.json records", st.Size(), m.Size)
	case strings.Contains(err.Error(), "CRC mismatch"):
		return "CRC mismatch: the bytes of state.bin differ from the checksum recorded when it was written"
	default:
		return fmt.Sprintf("state.bin is unreadable: %v", err)
	}
}

// metadataProblem says why the store did not list a snapshot directory,
// or "" when its meta.json is fine.
func metadataProblem(path string) string {
	b, err := os.ReadFile(filepath.Join(path, "meta.json"))
	switch {
	case errors.Is(err, os.ErrNotExist):
		return "unreadable metadata: meta.json is missing"
	case err != nil:
		return fmt.Sprintf("unreadable metadata: %v", err)
	case len(bytes.TrimSpace(b)) == 0:
		return "unreadable metadata: meta.json is empty"
	}
	// Decode the first JSON value, as the store does, so that what counts
	// as readable here is exactly what counts as readable to Raft.
	var meta raft.SnapshotMeta
	if err := json.NewDecoder(bytes.NewReader(b)).Decode(&meta); err != nil {
		return fmt.Sprintf("unreadable metadata: meta.json: %v", err)
	}
	if meta.Version < raft.SnapshotVersionMin || meta.Version > raft.SnapshotVersionMax {
		return fmt.Sprintf("unsupported snapshot version %d (this binary reads %d to %d)", meta.Version, raft.SnapshotVersionMin, raft.SnapshotVersionMax)
	}
	return ""
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
