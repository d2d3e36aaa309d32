package fsm

import (
	"log/slog"
	"strings"
	"testing"

	"github.com/hashicorp/raft"
)

// mustPanic runs fn and returns the panic message, failing if there is none.
func mustPanic(t *testing.T, fn func()) (msg string) {
	t.Helper()
	defer func() {
		r := recover()
		if r == nil {
			t.Fatal("expected a panic")
		}
		msg, _ = r.(string)
	}()
	fn()
	return ""
}

func TestApplyDispatch(t *testing.T) {
	reg, err := EncodeRegister(nodeOnly("n1"))
	if err != nil {
		t.Fatal(err)
	}
	withType := func(b byte) []byte { return append([]byte{b}, reg[1:]...) }
	withVersion := func(v byte) []byte { return append([]byte{reg[0], v}, reg[2:]...) }

	cases := []struct {
		name      string
		data      []byte
		wantPanic string // "" means skipped (nil result, no change)
	}{
		{"unknown type with ignore flag is skipped", withType(byte(IgnoreUnknownFlag) | 99), ""},
		{"newer version with ignore flag is skipped", append([]byte{reg[0] | byte(IgnoreUnknownFlag), 9}, reg[2:]...), ""},
		{"unknown type panics", withType(99), "unknown command type 99"},
		{"newer version panics", withVersion(2), "Register command version 2 is not supported"},
		{"version 0 panics", withVersion(0), "Register command version 0 is not supported"},
		{"short entry panics", []byte{1}, "too short"},
		{"bad payload panics", append([]byte{reg[0], reg[1]}, "{not json"...), "cannot decode Register command"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := New(Config{})
			before := dump(t, f.State())
			log := &raft.Log{Index: 5, Type: raft.LogCommand, Data: tc.data}
			if tc.wantPanic == "" {
				if res := f.Apply(log); res != nil {
					t.Fatalf("skipped command returned %+v", res)
				}
			} else if msg := mustPanic(t, func() { f.Apply(log) }); !strings.Contains(msg, tc.wantPanic) {
				t.Fatalf("panic %q, want %q", msg, tc.wantPanic)
			}
			if dump(t, f.State()) != before {
				t.Fatal("state changed")
			}
		})
	}
}

func TestApplyKnownCommandWithIgnoreFlag(t *testing.T) {
	// The flag only matters for commands the reader does not know.
	reg, _ := EncodeRegister(nodeOnly("n1"))
	reg[0] |= byte(IgnoreUnknownFlag)
	f := New(Config{})
	res, _ := f.Apply(&raft.Log{Index: 1, Type: raft.LogCommand, Data: reg}).(*ApplyResult)
	if res == nil || !res.Ok {
		t.Fatalf("result %+v", res)
	}
}

func TestApplyIgnoresNonCommandLogs(t *testing.T) {
	f := New(Config{})
	if res := f.Apply(&raft.Log{Index: 1, Type: raft.LogConfiguration, Data: []byte{1, 2, 3}}); res != nil {
		t.Fatalf("got %+v", res)
	}
}

func TestCommandTypeString(t *testing.T) {
	if s := (CommandConfigDelete | IgnoreUnknownFlag).String(); s != "ConfigDelete" {
		t.Errorf("got %q", s)
	}
	if s := CommandType(42).String(); s != "CommandType(42)" {
		t.Errorf("got %q", s)
	}
}

type recordingLogger struct{ msgs []string }

func (l *recordingLogger) Warn(msg string, args ...any) { l.msgs = append(l.msgs, msg) }

func TestSkippedCommandIsLogged(t *testing.T) {
	var _ Logger = slog.Default()
	log := &recordingLogger{}
	f := New(Config{Logger: log})
	f.Apply(&raft.Log{Index: 1, Type: raft.LogCommand, Data: []byte{byte(IgnoreUnknownFlag) | 99, 1}})
	if len(log.msgs) != 1 {
		t.Fatalf("logged %v", log.msgs)
	}
}
