package peering

import (
	"sync"
	"time"

	"github.com/switchyard/switchyard/fsm"
)

// Status is the live state of one peering's stream on this leader
// (peering.md §7). It is memory only: a new leader starts empty and fills
// it as streams reconnect.
type Status struct {
	Connected bool
	// DisconnectErr is why the last stream ended; "" after a graceful end.
	DisconnectErr  string
	DisconnectTime time.Time
	LastHeartbeat  time.Time
	LastReceive    time.Time
	LastSend       time.Time
	LastAck        time.Time
	LastNack       time.Time
	LastNackMsg    string
	// ImportedServices are the names of the peer's last list; the
	// ExportedServices those of the last list sent to it.
	ImportedServices []string
	ExportedServices []string
}

// Tracker holds the Status of every peering that had a stream on this
// leader, keyed by local record ID. Safe for concurrent use.
//
// Changed lets readers block on the part of a Status that a read shows
// besides times: the state it yields (ACTIVE, FAILING or the stored one)
// and the imported and exported service lists. Heartbeat, receive, send
// and ACK times are deliberately not watched: they move every heartbeat
// interval, and a blocking read woken by each of them would be a poll.
// A read that returns for another reason shows them fresh.
type Tracker struct {
	mu      sync.Mutex
	m       map[string]*Status
	changed chan struct{}
}

// NewTracker returns an empty tracker.
func NewTracker() *Tracker { return &Tracker{m: map[string]*Status{}, changed: make(chan struct{})} }

// Changed returns a channel that is closed at the next visible change of
// any peering's status (see Tracker). Fetch it before reading the
// statuses, so that a change between the two is not missed.
func (t *Tracker) Changed() <-chan struct{} {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.changed
}

// notifyLocked wakes every holder of the current Changed channel.
func (t *Tracker) notifyLocked() {
	close(t.changed)
	t.changed = make(chan struct{})
}

// visiblyDifferent reports whether a read would show a and b differently,
// ignoring the times.
func visiblyDifferent(a, b *Status) bool {
	return a.Connected != b.Connected || (a.DisconnectErr == "") != (b.DisconnectErr == "") ||
		!equalStrings(a.ImportedServices, b.ImportedServices) || !equalStrings(a.ExportedServices, b.ExportedServices)
}

// Get returns a copy of a peering's status and whether there is one.
func (t *Tracker) Get(id string) (Status, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	st, ok := t.m[id]
	if !ok {
		return Status{}, false
	}
	out := *st
	out.ImportedServices = append([]string(nil), st.ImportedServices...)
	out.ExportedServices = append([]string(nil), st.ExportedServices...)
	return out, true
}

func (t *Tracker) update(id string, f func(*Status)) {
	t.mu.Lock()
	defer t.mu.Unlock()
	st, ok := t.m[id]
	if !ok {
		st = &Status{}
		t.m[id] = st
	}
	before := *st
	f(st)
	if visiblyDifferent(&before, st) {
		t.notifyLocked()
	}
}

// Forget drops a peering's status (the record is gone).
func (t *Tracker) Forget(id string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if _, ok := t.m[id]; ok {
		delete(t.m, id)
		t.notifyLocked()
	}
}

// Reset forgets everything (leadership lost).
func (t *Tracker) Reset() {
	t.mu.Lock()
	defer t.mu.Unlock()
	if len(t.m) > 0 {
		t.m = map[string]*Status{}
		t.notifyLocked()
	}
}

func (t *Tracker) connected(id string, now time.Time) {
	t.update(id, func(s *Status) {
		s.Connected, s.DisconnectErr = true, ""
		// A fresh stream counts as a heartbeat, so a read right after
		// connecting does not show a stale one.
		s.LastHeartbeat, s.LastReceive = now, now
	})
}

func (t *Tracker) disconnected(id string, err error, now time.Time) {
	t.update(id, func(s *Status) {
		s.Connected, s.DisconnectTime = false, now
		s.DisconnectErr = ""
		if err != nil {
			s.DisconnectErr = err.Error()
		}
	})
}

// failed records a dial attempt that never produced a stream.
func (t *Tracker) failed(id string, err error, now time.Time) {
	t.update(id, func(s *Status) {
		if !s.Connected {
			s.DisconnectErr, s.DisconnectTime = err.Error(), now
		}
	})
}

// StateFor is the state a read shows: the stored one, overridden for live
// records by ACTIVE while connected and FAILING after a disconnect that
// carried an error (peering.md §6 rule 1).
func StateFor(stored string, st Status, ok bool) string {
	if !ok || stored == fsm.PeeringDeleting || stored == fsm.PeeringTerminated {
		return stored
	}
	if st.Connected {
		return fsm.PeeringActive
	}
	if st.DisconnectErr != "" {
		return fsm.PeeringFailing
	}
	return stored
}
