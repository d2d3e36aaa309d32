package scenariotests

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/switchyard/switchyard/scenario-tests/harness"
)

// Crash safety: SIGKILL while a server writes a snapshot, while it
// receives one from the leader, and under a heavy write load; and a torn
// snapshot file on disk. Snapshots are made small and frequent so the
// kills land inside them.

const crashConfig = `
raft_snapshot_threshold = 64
raft_snapshot_interval  = "200ms"
raft_trailing_logs      = 32
`

// heavyWriter writes service-defaults entries with a 4 KiB Meta, so that
// snapshots take long enough to be interrupted, and records the names
// acknowledged.
type heavyWriter struct {
	stop  chan struct{}
	wg    sync.WaitGroup
	mu    sync.Mutex
	acked map[string]bool
}

func startHeavyWriter(c *harness.Cluster, clients int) *heavyWriter {
	w := &heavyWriter{stop: make(chan struct{}), acked: map[string]bool{}}
	pad := strings.Repeat("x", 200)
	var meta []string
	for i := 0; i < 20; i++ {
		meta = append(meta, fmt.Sprintf(`"k%d":%q`, i, pad))
	}
	for i := 0; i < clients; i++ {
		w.wg.Add(1)
		go func(id int) {
			defer w.wg.Done()
			for seq := 0; ; seq++ {
				select {
				case <-w.stop:
					return
				default:
				}
				// Names repeat, but every body differs: an identical write
				// is answered without a Raft entry, and the test needs the
				// log to keep growing for as long as it writes.
				name := fmt.Sprintf("heavy-%d-%d", id, seq%400)
				body := fmt.Sprintf(`{"Kind":"service-defaults","Name":%q,"Protocol":"http","Meta":{%s,"seq":"%d"}}`, name, strings.Join(meta, ","), seq)
				servers := c.Servers
				s := servers[seq%len(servers)]
				code, out, how := call("PUT", "http://"+s.HTTPAddr()+"/v1/config", []byte(body))
				if how == answered && code == 200 && string(out) == "true" {
					w.mu.Lock()
					w.acked[name] = true
					w.mu.Unlock()
				} else if how == notSent {
					time.Sleep(20 * time.Millisecond) // that server is down
				}
			}
		}(i)
	}
	return w
}

func (w *heavyWriter) finish() []string {
	close(w.stop)
	w.wg.Wait()
	var out []string
	for n := range w.acked {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

func snapshotDir(s *harness.Server) string { return filepath.Join(s.DataDir, "raft", "snapshots") }

// partialSnapshots returns the snapshot directories still being written
// (a kill leaves them behind, and Raft ignores them at start).
func partialSnapshots(s *harness.Server) map[string]bool {
	ents, _ := os.ReadDir(snapshotDir(s))
	out := map[string]bool{}
	for _, e := range ents {
		if strings.HasSuffix(e.Name(), ".tmp") {
			out[e.Name()] = true
		}
	}
	return out
}

// newPartial reports whether s has a partial snapshot not in before.
func newPartial(s *harness.Server, before map[string]bool) bool {
	for name := range partialSnapshots(s) {
		if !before[name] {
			return true
		}
	}
	return false
}

// killWhen polls s (every millisecond, up to timeout) and sends SIGKILL as
// soon as cond holds; it reports whether it did.
func killWhen(t *testing.T, s *harness.Server, timeout time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		if cond() {
			s.Kill(t)
			return true
		}
		time.Sleep(time.Millisecond) // poll fast: snapshots take milliseconds
	}
	return false
}

// logTail reads what a server's log gained since the last look.
type logTail struct {
	path string
	off  int64
	seen string // the unread remainder of a line split across reads
}

func tailFromNow(s *harness.Server) *logTail {
	st, _ := os.Stat(s.LogPath)
	t := &logTail{path: s.LogPath}
	if st != nil {
		t.off = st.Size()
	}
	return t
}

// saw reports whether sub appeared in the log since the tail began.
func (l *logTail) saw(sub string) bool {
	f, err := os.Open(l.path)
	if err != nil {
		return false
	}
	defer f.Close()
	buf := make([]byte, 64<<10)
	for {
		n, _ := f.ReadAt(buf, l.off)
		if n == 0 {
			return false
		}
		l.off += int64(n)
		l.seen += string(buf[:n])
		if strings.Contains(l.seen, sub) {
			return true
		}
		if len(l.seen) > len(sub) {
			l.seen = l.seen[len(l.seen)-len(sub):]
		}
	}
}

func TestCrashSafetySnapshotsAndInstall(t *testing.T) {
	c := harness.NewCluster(t, 3, harness.ClusterOptions{ConfigHCL: crashConfig})
	w := startHeavyWriter(c, 4)
	victim := c.Followers()[0]

	// SIGKILL while the victim writes its own snapshot.
	var kills, midSnapshot int
	for attempt := 0; attempt < 12 && midSnapshot < 2; attempt++ {
		tail, partial := tailFromNow(victim), partialSnapshots(victim)
		if killWhen(t, victim, 20*time.Second, func() bool {
			return newPartial(victim, partial) || tail.saw("starting snapshot up to")
		}) {
			kills++
			if newPartial(victim, partial) {
				midSnapshot++
			}
		}
		victim.Start(t)
	}
	t.Logf("killed %s %d times as a snapshot began; %d kills left a half-written snapshot behind", victim.Name, kills, midSnapshot)
	if kills == 0 {
		t.Fatalf("%s never started a snapshot", victim.Name)
	}

	// SIGKILL while the victim installs a snapshot from the leader: it was
	// down while the log moved on past what the leader keeps.
	var installKills int
	for attempt := 0; attempt < 4; attempt++ {
		victim.Kill(t)
		l := c.WaitForLeader(30 * time.Second)
		compacted := 0
		leaderTail := tailFromNow(l)
		harness.Eventually(t, 60*time.Second, func() error {
			if leaderTail.saw("compacting logs") {
				compacted++
			}
			if compacted < 2 {
				return fmt.Errorf("leader has not compacted its log twice yet")
			}
			return nil
		})
		tail, partial := tailFromNow(victim), partialSnapshots(victim)
		victim.Start(t)
		if killWhen(t, victim, 20*time.Second, func() bool {
			return newPartial(victim, partial) || tail.saw("copied to local snapshot")
		}) {
			installKills++
			victim.Start(t)
		}
	}
	t.Logf("killed %s %d times while it installed a snapshot from the leader", victim.Name, installKills)
	if installKills == 0 {
		t.Fatalf("%s never installed a snapshot", victim.Name)
	}

	// SIGKILL of the leader under the same load.
	c.WaitForLeader(30 * time.Second).Kill(t)
	c.WaitForLeader(30 * time.Second)
	for _, s := range c.Servers {
		if !s.Running() {
			s.Start(t)
		}
	}

	acked := w.finish()
	d := c.WaitConverged(60 * time.Second)
	t.Logf("%d distinct entries acknowledged; all servers converged at index %d", len(acked), d.Index)
	for _, s := range c.Servers {
		got, err := listDefaults(s, "stale")
		if err != nil {
			t.Fatal(err)
		}
		if m := missing(acked, got); len(m) > 0 {
			t.Fatalf("%s lost %d acknowledged entries, e.g. %v", s.Name, len(m), first(m))
		}
	}
	tornSnapshot(t, c, victim)
}

// tornSnapshot truncates a stopped server's newest snapshot. The server
// must name the damaged snapshot in a clear log line and either start from
// an older intact one, or refuse to start with the remedy, which, followed,
// brings it back.
func tornSnapshot(t *testing.T, c *harness.Cluster, s *harness.Server) {
	s.Kill(t)
	ents, err := os.ReadDir(snapshotDir(s))
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, e := range ents {
		if e.IsDir() && !strings.HasSuffix(e.Name(), ".tmp") {
			ids = append(ids, e.Name())
		}
	}
	if len(ids) == 0 {
		t.Fatalf("%s has no snapshot to tear", s.Name)
	}
	// IDs are term-index-millis, not zero-padded: order by the numbers.
	num := func(id string) [3]int {
		var n [3]int
		fmt.Sscanf(id, "%d-%d-%d", &n[0], &n[1], &n[2])
		return n
	}
	sort.Slice(ids, func(i, j int) bool {
		a, b := num(ids[i]), num(ids[j])
		for k := range a {
			if a[k] != b[k] {
				return a[k] < b[k]
			}
		}
		return false
	})
	newest := ids[len(ids)-1]
	state := filepath.Join(snapshotDir(s), newest, "state.bin")
	st, err := os.Stat(state)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(state, st.Size()/2); err != nil {
		t.Fatal(err)
	}
	tail := tailFromNow(s)
	startErr := s.TryStart(t)
	if !tail.saw("refusing damaged Raft snapshot") || !s.LogContains(newest) {
		t.Fatalf("%s did not name the torn snapshot %s in its log:\n%s", s.Name, newest, s.LogTail(20))
	}
	if startErr != nil {
		if !s.LogContains("refusing to start") || !s.LogContains("move") {
			t.Fatalf("%s failed to start without the remedy: %v", s.Name, startErr)
		}
		t.Logf("%s refused to start on its torn snapshot; following the logged remedy", s.Name)
		raftDir := filepath.Join(s.DataDir, "raft")
		if err := os.Rename(raftDir, raftDir+".damaged"); err != nil {
			t.Fatal(err)
		}
		s.Start(t)
	} else {
		t.Logf("%s refused its torn snapshot and started from an older intact one", s.Name)
	}
	c.WaitConverged(60 * time.Second)
}
