package agent_test

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/raft"

	"github.com/switchyard/switchyard/agent"
	"github.com/switchyard/switchyard/agent/agenttest"
	"github.com/switchyard/switchyard/fsm"
)

// syncBuffer collects an agent's log; the agent logs from many goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// bufferLogger logs to buf and, so a failure shows it, to the test log.
func bufferLogger(t *testing.T, name string, buf *syncBuffer) hclog.Logger {
	return hclog.New(&hclog.LoggerOptions{Name: name, Level: hclog.Info, Output: io.MultiWriter(buf, testLogWriter{t})})
}

type testLogWriter struct{ t *testing.T }

func (w testLogWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// flipStateByte damages one snapshot's state.bin the way a bad disk does.
func flipStateByte(t *testing.T, snapDir string) {
	t.Helper()
	p := filepath.Join(snapDir, "state.bin")
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	b[len(b)/2] ^= 0xFF
	if err := os.WriteFile(p, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

func httpPut(t *testing.T, a *agent.Agent, path, body string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPut, "http://"+a.HTTPAddr()+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(resp.Body)
		t.Fatalf("PUT %s: %d %s", path, resp.StatusCode, b)
	}
}

// A follower whose only snapshot is damaged refuses to start and says
// what to do; doing it (moving the raft directory aside) brings it back
// with a snapshot installed by the leader.
func TestSnapshotDamagedOnlyRefusesStartThenRejoinsWithRaftDirMovedAside(t *testing.T) {
	// Two trailing logs: once the leader snapshots, its log no longer
	// reaches back to index 1 and a server with an empty log can only
	// catch up by a snapshot install.
	short := func(_ int, c *agent.Config) { c.RaftTrailingLogs = 2 }
	c := agenttest.NewCluster(t, 3, short)
	leader := c.WaitForLeader()
	httpPut(t, leader, "/v1/catalog/register", `{"Node":"before-damage","Address":"10.0.0.1"}`)
	want := leader.Raft().LastIndex()

	i := 0
	for c.Agents[i] == leader {
		i++
	}
	follower := c.Agents[i]
	agenttest.Eventually(t, 10*time.Second, func() error {
		if got := follower.Raft().AppliedIndex(); got < want {
			return errors.New("follower has applied " + strconv.FormatUint(got, 10))
		}
		return nil
	})
	if err := follower.Raft().Snapshot().Error(); err != nil {
		t.Fatalf("follower snapshot: %v", err)
	}
	old := follower.Config()
	raftDir := filepath.Join(old.DataDir, "raft")
	c.Kill(i)

	snaps, err := filepath.Glob(filepath.Join(raftDir, "snapshots", "*"))
	if err != nil || len(snaps) == 0 {
		t.Fatalf("no snapshot to damage in %s: %v", raftDir, err)
	}
	for _, s := range snaps {
		flipStateByte(t, s)
	}
	// Meanwhile the leader snapshots and compacts its log.
	httpPut(t, leader, "/v1/catalog/register", `{"Node":"after-damage","Address":"10.0.0.2"}`)
	if err := leader.Raft().Snapshot().Error(); err != nil {
		t.Fatalf("leader snapshot: %v", err)
	}

	cfg := agenttest.TestConfig(t, old.NodeName)
	cfg.DataDir, cfg.Ports, cfg.BootstrapExpect = old.DataDir, old.Ports, old.BootstrapExpect
	cfg.RaftTrailingLogs = 2
	for j, a := range c.Agents {
		if a != nil && j != i {
			cfg.RetryJoin = append(cfg.RetryJoin, a.LANAddr())
		}
	}
	var logs syncBuffer
	a, err := agent.New(cfg, bufferLogger(t, old.NodeName, &logs))
	if err == nil {
		a.Shutdown()
		t.Fatal("a server whose every snapshot is damaged must refuse to start")
	}
	if !errors.Is(err, agent.ErrNoIntactSnapshot) {
		t.Errorf("want ErrNoIntactSnapshot, got %v", err)
	}
	for _, want := range []string{"refusing to start: no intact Raft snapshot", "move " + raftDir + " aside", "fresh snapshot from the leader"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("start error lacks %q:\n%v", want, err)
		}
	}
	for _, s := range snaps {
		want := "refusing damaged Raft snapshot; it will not be loaded: snapshot_id=" + filepath.Base(s) + " path=" + s + ` problem="CRC mismatch`
		found := false
		for _, l := range strings.Split(logs.String(), "\n") {
			found = found || strings.Contains(l, "[ERROR]") && strings.Contains(l, want)
		}
		if !found {
			t.Errorf("log lacks an ERROR line with %q", want)
		}
	}

	// The remedy the error gives.
	if err := os.Rename(raftDir, raftDir+".damaged"); err != nil {
		t.Fatal(err)
	}
	back := c.Restart(i)
	agenttest.Eventually(t, 30*time.Second, func() error {
		st := back.Raft().Stats()
		if st["last_snapshot_index"] == "0" {
			return errors.New("no snapshot installed yet")
		}
		if back.Raft().AppliedIndex() < leader.Raft().LastIndex()-1 {
			return errors.New("not caught up: applied " + st["applied_index"])
		}
		return nil
	})
}

// A server whose newest snapshot is damaged but whose older one is intact
// logs the refusal and starts from the older one.
func TestSnapshotDamagedNewestStartsFromOlderIntact(t *testing.T) {
	dataDir := t.TempDir()
	const nodeID = "5f0c2a4e-8d1b-4c3a-9e2f-0a1b2c3d4e5f"
	if err := os.WriteFile(filepath.Join(dataDir, "node-id"), []byte(nodeID+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	raftDir := filepath.Join(dataDir, "raft")
	store, err := raft.NewFileSnapshotStoreWithLogger(raftDir, 2, hclog.NewNullLogger())
	if err != nil {
		t.Fatal(err)
	}
	// Real (empty) FSM snapshots, so that Raft's restore of the older one
	// goes through the FSM as at any start.
	self := raft.Configuration{Servers: []raft.Server{{Suffrage: raft.Voter, ID: nodeID, Address: "127.0.0.1:1"}}}
	// Create encodes the legacy peer list through a transport.
	_, trans := raft.NewInmemTransport("")
	var ids []string
	for _, index := range []uint64{5, 10} {
		snap, err := fsm.New(fsm.Config{}).Snapshot()
		if err != nil {
			t.Fatal(err)
		}
		sink, err := store.Create(raft.SnapshotVersionMax, index, 1, self, 1, trans)
		if err != nil {
			t.Fatal(err)
		}
		if err := snap.Persist(sink); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, sink.ID())
	}
	flipStateByte(t, filepath.Join(raftDir, "snapshots", ids[1]))

	cfg := agenttest.TestConfig(t, "s1")
	cfg.DataDir, cfg.NodeID, cfg.BootstrapExpect = dataDir, nodeID, 1
	var logs syncBuffer
	a, err := agent.New(cfg, bufferLogger(t, "s1", &logs))
	if err != nil {
		t.Fatalf("an intact older snapshot must let the server start: %v", err)
	}
	defer a.Shutdown()
	out := logs.String()
	if !strings.Contains(out, "refusing damaged Raft snapshot; it will not be loaded: snapshot_id="+ids[1]) {
		t.Errorf("log lacks the refusal of %s", ids[1])
	}
	if !strings.Contains(out, "starting from an older intact Raft snapshot") {
		t.Errorf("log lacks the fallback to %s", ids[0])
	}
	if got := a.Raft().Stats()["last_snapshot_index"]; got != "5" {
		t.Errorf("restored snapshot index %s, want 5", got)
	}
}
