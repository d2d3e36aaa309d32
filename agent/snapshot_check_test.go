package agent

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/raft"
)

// writeTestSnapshot stores a snapshot of 4 KiB at index through raft's own
// FileSnapshotStore, as a running server would, and returns its ID. The
// bytes are not an FSM snapshot: the check reads files, not state.
func writeTestSnapshot(t *testing.T, raftDir string, index uint64) string {
	t.Helper()
	// A generous retain count so that writing a test's snapshots never
	// reaps an earlier one; the check itself uses the agent's count.
	store, err := raft.NewFileSnapshotStoreWithLogger(raftDir, 10, hclog.NewNullLogger())
	if err != nil {
		t.Fatal(err)
	}
	sink, err := store.Create(raft.SnapshotVersionMax, index, 1, raft.Configuration{}, index, nil)
	if err != nil {
		t.Fatal(err)
	}
	data := bytes.Repeat([]byte("switchyard-snapshot-"), 205)[:4096]
	if _, err := sink.Write(data); err != nil {
		t.Fatal(err)
	}
	if err := sink.Close(); err != nil {
		t.Fatal(err)
	}
	return sink.ID()
}

func snapPath(raftDir, id string) string { return filepath.Join(raftDir, "snapshots", id) }

// The ways a snapshot gets damaged on disk.
func flipByte(t *testing.T, raftDir, id string) {
	t.Helper()
	p := filepath.Join(snapPath(raftDir, id), "state.bin")
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	b[len(b)/2] ^= 0xFF
	if err := os.WriteFile(p, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

func truncateState(t *testing.T, raftDir, id string) {
	t.Helper()
	if err := os.Truncate(filepath.Join(snapPath(raftDir, id), "state.bin"), 2048); err != nil {
		t.Fatal(err)
	}
}

func removeMeta(t *testing.T, raftDir, id string) {
	t.Helper()
	if err := os.Remove(filepath.Join(snapPath(raftDir, id), "meta.json")); err != nil {
		t.Fatal(err)
	}
}

func tearMeta(t *testing.T, raftDir, id string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(snapPath(raftDir, id), "meta.json"), []byte(`{"Version":1,"ID":"`), 0o600); err != nil {
		t.Fatal(err)
	}
}

func removeState(t *testing.T, raftDir, id string) {
	t.Helper()
	if err := os.Remove(filepath.Join(snapPath(raftDir, id), "state.bin")); err != nil {
		t.Fatal(err)
	}
}

// logStore holds log entries first..last (none when last is 0).
func logStore(t *testing.T, first, last uint64) raft.LogStore {
	t.Helper()
	s := raft.NewInmemStore()
	var logs []*raft.Log
	for i := first; i <= last && last > 0; i++ {
		logs = append(logs, &raft.Log{Index: i, Term: 1, Type: raft.LogCommand})
	}
	if err := s.StoreLogs(logs); err != nil {
		t.Fatal(err)
	}
	return s
}

// runCheck runs the startup check and returns its error and log lines.
func runCheck(t *testing.T, raftDir string, logs raft.LogStore) ([]string, error) {
	t.Helper()
	var buf bytes.Buffer
	logger := hclog.New(&hclog.LoggerOptions{Name: "raft", Level: hclog.Trace, Output: &buf})
	err := checkSnapshots(raftDir, logs, logger)
	out := strings.TrimSpace(buf.String())
	if out == "" {
		return nil, err
	}
	return strings.Split(out, "\n"), err
}

func linesWith(lines []string, s string) []string {
	var out []string
	for _, l := range lines {
		if strings.Contains(l, s) {
			out = append(out, l)
		}
	}
	return out
}

// assertRefusedLine checks the one ERROR line an operator reads: it names
// the snapshot, its path and the problem, and says it will not be loaded.
func assertRefusedLine(t *testing.T, lines []string, raftDir, id, problem string) {
	t.Helper()
	errs := linesWith(lines, "[ERROR]")
	var mine []string
	for _, l := range errs {
		if strings.Contains(l, "snapshot_id="+id) {
			mine = append(mine, l)
		}
	}
	if len(mine) != 1 {
		t.Fatalf("want exactly one ERROR line for snapshot %s, got %d; log:\n%s", id, len(mine), strings.Join(lines, "\n"))
	}
	l := mine[0]
	for _, want := range []string{"refusing damaged Raft snapshot; it will not be loaded", snapPath(raftDir, id), problem} {
		if !strings.Contains(l, want) {
			t.Errorf("ERROR line lacks %q:\n%s", want, l)
		}
	}
}

func TestSnapshotCheckRefusesDamagedOnlySnapshot(t *testing.T) {
	cases := []struct {
		name    string
		damage  func(t *testing.T, raftDir, id string)
		problem string
	}{
		{"flipped byte", flipByte, "CRC mismatch: the bytes of state.bin differ from the checksum recorded when it was written"},
		{"truncated state", truncateState, "truncated: state.bin has 2048 bytes, meta.json records 4096"},
		{"missing state", removeState, "state.bin is missing"},
		{"missing metadata", removeMeta, "unreadable metadata: meta.json is missing"},
		{"torn metadata", tearMeta, "unreadable metadata: meta.json: unexpected EOF"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			raftDir := t.TempDir()
			id := writeTestSnapshot(t, raftDir, 10)
			tc.damage(t, raftDir, id)

			lines, err := runCheck(t, raftDir, logStore(t, 0, 0))
			assertRefusedLine(t, lines, raftDir, id, tc.problem)
			if len(linesWith(lines, "[ERROR]")) != 1 {
				t.Errorf("want one ERROR line, got:\n%s", strings.Join(lines, "\n"))
			}
			if !errors.Is(err, ErrNoIntactSnapshot) {
				t.Fatalf("want ErrNoIntactSnapshot, got %v", err)
			}
			for _, want := range []string{
				"refusing to start: no intact Raft snapshot in " + filepath.Join(raftDir, "snapshots"),
				"1 found, every one damaged",
				"move " + raftDir + " aside",
				"receives a fresh snapshot from the leader",
			} {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("refusal lacks %q:\n%v", want, err)
				}
			}
		})
	}
}

func TestSnapshotCheckFallsBackToOlderIntactSnapshot(t *testing.T) {
	raftDir := t.TempDir()
	older := writeTestSnapshot(t, raftDir, 5)
	newer := writeTestSnapshot(t, raftDir, 10)
	flipByte(t, raftDir, newer)

	// The log reaches back past the older snapshot, as it does with the
	// default trailing logs: Raft restores the older one and replays.
	lines, err := runCheck(t, raftDir, logStore(t, 3, 12))
	if err != nil {
		t.Fatalf("an intact older snapshot must let the server start: %v", err)
	}
	assertRefusedLine(t, lines, raftDir, newer, "CRC mismatch")
	if len(linesWith(lines, "[ERROR]")) != 1 {
		t.Errorf("only the damaged snapshot may be reported:\n%s", strings.Join(lines, "\n"))
	}
	warn := linesWith(lines, "starting from an older intact Raft snapshot")
	if len(warn) != 1 || !strings.Contains(warn[0], "snapshot_id="+older) || !strings.Contains(warn[0], "[WARN]") {
		t.Errorf("want one WARN naming %s as the snapshot Raft starts from, got:\n%s", older, strings.Join(lines, "\n"))
	}
}

func TestSnapshotCheckOlderDamagedNewestIntact(t *testing.T) {
	raftDir := t.TempDir()
	older := writeTestSnapshot(t, raftDir, 5)
	writeTestSnapshot(t, raftDir, 10)
	truncateState(t, raftDir, older)

	lines, err := runCheck(t, raftDir, logStore(t, 8, 12))
	if err != nil {
		t.Fatalf("the newest snapshot is intact: %v", err)
	}
	assertRefusedLine(t, lines, raftDir, older, "truncated")
	if len(linesWith(lines, "older intact")) != 0 {
		t.Errorf("Raft does not fall back when the newest is intact:\n%s", strings.Join(lines, "\n"))
	}
}

// A fallback is refused when the log was compacted past the older
// snapshot: Raft would otherwise panic on the first missing entry.
func TestSnapshotCheckRefusesFallbackAcrossLogGap(t *testing.T) {
	raftDir := t.TempDir()
	older := writeTestSnapshot(t, raftDir, 5)
	newer := writeTestSnapshot(t, raftDir, 100)
	flipByte(t, raftDir, newer)

	lines, err := runCheck(t, raftDir, logStore(t, 90, 110))
	assertRefusedLine(t, lines, raftDir, newer, "CRC mismatch")
	if err == nil {
		t.Fatal("a fallback across a log gap must be refused")
	}
	for _, want := range []string{
		"newest intact Raft snapshot " + older + " ends at index 5 but the Raft log starts at index 90",
		"entries 6 to 89 existed only in the refused snapshot(s)",
		"move " + raftDir + " aside",
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("refusal lacks %q:\n%v", want, err)
		}
	}
}

// A follower that installed a snapshot from its leader keeps its older log
// entries and appends after the installed index, leaving a hole that Raft
// would panic on when replaying after an older snapshot.
func TestSnapshotCheckRefusesFallbackAcrossHoleInTheLog(t *testing.T) {
	raftDir := t.TempDir()
	older := writeTestSnapshot(t, raftDir, 5)
	newer := writeTestSnapshot(t, raftDir, 100)
	truncateState(t, raftDir, newer)
	logs := logStore(t, 1, 20)
	if err := logs.StoreLogs([]*raft.Log{{Index: 101, Term: 1}, {Index: 102, Term: 1}}); err != nil {
		t.Fatal(err)
	}
	_, err := runCheck(t, raftDir, logs)
	if err == nil || !strings.Contains(err.Error(), "newest intact Raft snapshot "+older+" ends at index 5 but Raft log entry 21 is missing") {
		t.Fatalf("a fallback across a hole in the log must be refused naming the entry, got %v", err)
	}
}

func TestSnapshotCheckQuietWhenNothingIsWrong(t *testing.T) {
	t.Run("no snapshots", func(t *testing.T) {
		lines, err := runCheck(t, t.TempDir(), logStore(t, 1, 3))
		if err != nil || len(lines) != 0 {
			t.Fatalf("err %v, log:\n%s", err, strings.Join(lines, "\n"))
		}
	})
	t.Run("intact snapshots and an unfinished one", func(t *testing.T) {
		raftDir := t.TempDir()
		writeTestSnapshot(t, raftDir, 5)
		writeTestSnapshot(t, raftDir, 10)
		// A crash during a snapshot write leaves a ".tmp" directory; Raft
		// ignores it and so does the check.
		if err := os.MkdirAll(filepath.Join(raftDir, "snapshots", "1-20-1234.tmp"), 0o700); err != nil {
			t.Fatal(err)
		}
		lines, err := runCheck(t, raftDir, logStore(t, 1, 12))
		if err != nil || len(lines) != 0 {
			t.Fatalf("err %v, log:\n%s", err, strings.Join(lines, "\n"))
		}
	})
}
