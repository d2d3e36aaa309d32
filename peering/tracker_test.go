package peering

import (
	"errors"
	"testing"
	"time"
)

func isClosed(ch <-chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}

// Changed closes on what a read shows besides times (the derived state
// and the service lists) and on nothing else, so blocking reads wake on
// ACTIVE/FAILING flips and list changes but not on every heartbeat.
func TestTrackerChangedFiresOnVisibleChangesOnly(t *testing.T) {
	tr := NewTracker()
	now := time.Now()
	steps := []struct {
		name string
		do   func()
		want bool
	}{
		{"connect", func() { tr.connected("p", now) }, true},
		{"heartbeat", func() { tr.update("p", func(s *Status) { s.LastHeartbeat = now.Add(time.Second) }) }, false},
		{"ack and send times", func() { tr.update("p", func(s *Status) { s.LastAck, s.LastSend = now, now }) }, false},
		{"imported list", func() { tr.update("p", func(s *Status) { s.ImportedServices = []string{"web"} }) }, true},
		{"same imported list", func() { tr.update("p", func(s *Status) { s.ImportedServices = []string{"web"} }) }, false},
		{"exported list", func() { tr.update("p", func(s *Status) { s.ExportedServices = []string{"api"} }) }, true},
		{"disconnect with error: FAILING", func() { tr.disconnected("p", errors.New("boom"), now) }, true},
		{"failed redial: still FAILING", func() { tr.failed("p", errors.New("refused"), now) }, false},
		{"reconnect: ACTIVE", func() { tr.connected("p", now) }, true},
		{"graceful disconnect", func() { tr.disconnected("p", nil, now) }, true},
		{"forget", func() { tr.Forget("p") }, true},
		{"forget again", func() { tr.Forget("p") }, false},
		{"reset of an empty tracker", func() { tr.Reset() }, false},
		{"another peering connects", func() { tr.connected("q", now) }, true},
		{"reset", func() { tr.Reset() }, true},
	}
	for _, st := range steps {
		ch := tr.Changed()
		st.do()
		if got := isClosed(ch); got != st.want {
			t.Fatalf("%s: notified=%v, want %v", st.name, got, st.want)
		}
		if isClosed(tr.Changed()) {
			t.Fatalf("%s: the fresh channel is already closed", st.name)
		}
	}
}
