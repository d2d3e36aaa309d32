package replication

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/switchyard/switchyard/configentry"
)

// Logger is the logging the replicator does; hclog.Logger satisfies it.
type Logger interface {
	Info(msg string, args ...any)
	Warn(msg string, args ...any)
}

// Config wires a Replicator to the world. Fetch, Local and Apply are
// required; DefaultConfig fills the rest.
type Config struct {
	// Fetch asks the primary for its config entries (see Request and the
	// protocol in wire.go), blocking while the primary's index equals
	// req.Since (0: answer at once). It must carry its own deadline for the
	// blocking wait.
	Fetch func(ctx context.Context, req Request) (Remote, error)
	// Local returns the local entries and the remote index the last
	// completed round recorded (0 before the first).
	Local func() (uint64, []configentry.Entry, error)
	// Apply writes one batch through local Raft, atomically; for the Last
	// batch it also records remoteIndex.
	Apply func(ctx context.Context, b Batch, remoteIndex uint64) error

	// BatchSize caps the entries in one Raft command: bigger batches finish
	// a full resync in fewer log entries, smaller ones keep each entry (and
	// the time Raft spends on it) small. Default 128.
	BatchSize int
	// ApplyRate and ApplyBurst limit batches applied per second, so a full
	// resync of thousands of entries cannot flood the secondary's Raft log.
	// Defaults 50/s, burst 10: a steady stream of small rounds is never
	// slowed down, a resync of 10,000 entries takes about 2 s.
	ApplyRate  float64
	ApplyBurst int
	// FetchRate and FetchBurst limit list calls to the primary per second.
	// Each call blocks until something changed, so this only matters when
	// the primary changes constantly; it bounds the load one secondary puts
	// on the primary. Defaults 50/s, burst 10 (below 20 ms between rounds,
	// well inside the lag budget).
	FetchRate  float64
	FetchBurst int
	// RetryMin and RetryMax bound the exponential back-off after a failed
	// round (primary unreachable, no leader, local apply refused). Defaults
	// 250 ms and 10 s: quick to notice a primary's new leader, gentle on a
	// primary that is down for long.
	RetryMin time.Duration
	RetryMax time.Duration
	// FullResyncInterval forces a full list (every entry compared, only
	// differences written) this often. Deltas trust ModifyIndex; a primary restored from a snapshot
	// whose index did not fall below ours could change entries without
	// raising their indexes past what we hold, and only a full comparison
	// sees that. Counted from start-up. Default 5 minutes; negative
	// disables it.
	FullResyncInterval time.Duration

	Logger Logger
	// Now is the clock; default time.Now.
	Now func() time.Time
}

// DefaultConfig returns the defaults documented on Config.
func DefaultConfig() Config {
	return Config{
		BatchSize: 128, ApplyRate: 50, ApplyBurst: 10, FetchRate: 50, FetchBurst: 10,
		RetryMin: 250 * time.Millisecond, RetryMax: 10 * time.Second, Now: time.Now,
		FullResyncInterval: 5 * time.Minute,
	}
}

// Status is what operators see about replication.
type Status struct {
	Running bool
	// ReplicatedIndex is the primary's index the local copy matches.
	ReplicatedIndex uint64
	LastSuccess     time.Time
	LastError       string
	LastErrorTime   time.Time
	// Upserted and Deleted count entries written since Run started.
	Upserted uint64
	Deleted  uint64
}

// Replicator copies the primary's config entries into this datacenter.
type Replicator struct {
	cfg   Config
	fetch *limiter
	apply *limiter

	mu     sync.Mutex
	status Status
}

// New checks cfg and returns a Replicator; zero values take the defaults.
func New(cfg Config) (*Replicator, error) {
	if cfg.Fetch == nil || cfg.Local == nil || cfg.Apply == nil {
		return nil, errors.New("replication: Fetch, Local and Apply are required")
	}
	d := DefaultConfig()
	if cfg.BatchSize <= 0 {
		cfg.BatchSize = d.BatchSize
	}
	if cfg.ApplyRate == 0 {
		cfg.ApplyRate, cfg.ApplyBurst = d.ApplyRate, d.ApplyBurst
	}
	if cfg.FetchRate == 0 {
		cfg.FetchRate, cfg.FetchBurst = d.FetchRate, d.FetchBurst
	}
	if cfg.RetryMin <= 0 {
		cfg.RetryMin = d.RetryMin
	}
	if cfg.RetryMax < cfg.RetryMin {
		cfg.RetryMax = max(d.RetryMax, cfg.RetryMin)
	}
	if cfg.Now == nil {
		cfg.Now = d.Now
	}
	if cfg.FullResyncInterval == 0 {
		cfg.FullResyncInterval = d.FullResyncInterval
	}
	if cfg.Logger == nil {
		cfg.Logger = nopLogger{}
	}
	return &Replicator{
		cfg:   cfg,
		fetch: newLimiter(cfg.FetchRate, cfg.FetchBurst, cfg.Now),
		apply: newLimiter(cfg.ApplyRate, cfg.ApplyBurst, cfg.Now),
	}, nil
}

type nopLogger struct{}

func (nopLogger) Info(string, ...any) {}
func (nopLogger) Warn(string, ...any) {}

// Status returns a copy of the current status.
func (r *Replicator) Status() Status {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.status
}

// Run replicates until ctx is cancelled. It resumes from the index the
// last completed round recorded, so a new leader does not start over.
func (r *Replicator) Run(ctx context.Context) {
	r.mu.Lock()
	r.status.Running = true
	r.mu.Unlock()
	defer func() {
		r.mu.Lock()
		r.status.Running = false
		r.mu.Unlock()
	}()
	var idx uint64
	loaded, full := false, false
	// The interval runs from start-up: a resumed replicator continues with
	// deltas from its recorded index, as before.
	lastFull := r.cfg.Now()
	backoff := r.cfg.RetryMin
	for ctx.Err() == nil {
		var err error
		if !loaded {
			if idx, _, err = r.cfg.Local(); err == nil {
				loaded = true
				r.setIndex(idx)
				r.cfg.Logger.Info("config replication started", "resume_index", idx)
			}
		} else {
			now := r.cfg.Now()
			if r.cfg.FullResyncInterval > 0 && now.Sub(lastFull) >= r.cfg.FullResyncInterval {
				full = true
			}
			wasFull := full
			idx, full, err = r.round(ctx, idx, full)
			if err == nil && wasFull {
				lastFull = now
			}
		}
		if err == nil {
			backoff = r.cfg.RetryMin
			continue
		}
		if ctx.Err() != nil {
			return
		}
		r.fail(err)
		r.cfg.Logger.Warn("config replication round failed", "error", err, "retry_in", backoff)
		if !sleepCtx(ctx, backoff) {
			return
		}
		backoff = min(backoff*2, r.cfg.RetryMax)
	}
}

// round performs one blocking fetch, diff and apply: a delta from idx, or a
// full list when full is set (a delta did not fit the local copy). It
// returns the index the local copy now matches and whether the next round
// must ask for a full list.
func (r *Replicator) round(ctx context.Context, idx uint64, full bool) (uint64, bool, error) {
	if err := r.fetch.wait(ctx); err != nil {
		return idx, full, err
	}
	// The local copy is read before the call because the request names its
	// keys. It is still current when the answer arrives: on the
	// secondary's leader only this loop writes config entries, and the
	// leader session starts it after a Raft barrier.
	_, local, err := r.cfg.Local()
	if err != nil {
		return idx, full, fmt.Errorf("reading local config entries: %w", err)
	}
	req := Request{}
	if !full {
		req = Request{Since: idx, KeysHash: HashKeys(keysOf(local))}
	}
	remote, err := r.cfg.Fetch(ctx, req)
	if err != nil {
		return idx, full, fmt.Errorf("listing the primary's config entries: %w", err)
	}
	if req.Since != 0 && remote.Index == req.Since {
		// The blocking wait expired with nothing new.
		r.succeed(idx)
		return idx, false, nil
	}
	if remote.Index < idx {
		// A restored snapshot or a rebuilt primary: the index says nothing
		// about what we hold any more, so the primary answered a full list
		// (version 2 does when since is ahead of it; version 1 always
		// does). The diff over every entry is the full resync; it still
		// rewrites only what differs.
		r.cfg.Logger.Warn("primary's config index went backwards, resyncing everything", "was", idx, "now", remote.Index)
	}
	plan := Diff(local, remote)
	if plan.Resync {
		r.cfg.Logger.Warn("primary's changes do not fit the local copy, asking for every entry", "since", idx, "index", remote.Index)
		return idx, true, nil
	}
	for _, b := range plan.Batches(r.cfg.BatchSize) {
		if err := r.apply.wait(ctx); err != nil {
			return idx, full, err
		}
		if err := r.cfg.Apply(ctx, b, remote.Index); err != nil {
			return idx, full, fmt.Errorf("applying %d replicated changes: %w", b.Size(), err)
		}
		r.count(b)
	}
	if !plan.Empty() {
		r.cfg.Logger.Info("replicated config entries", "upserts", len(plan.Upserts), "deletes", len(plan.Deletes), "index", remote.Index, "delta", remote.Delta)
	}
	r.succeed(remote.Index)
	return remote.Index, false, nil
}

func keysOf(entries []configentry.Entry) []Key {
	out := make([]Key, 0, len(entries))
	for _, e := range entries {
		out = append(out, keyOf(e))
	}
	return out
}

func (r *Replicator) setIndex(idx uint64) {
	r.mu.Lock()
	r.status.ReplicatedIndex = idx
	r.mu.Unlock()
}

func (r *Replicator) succeed(idx uint64) {
	r.mu.Lock()
	r.status.ReplicatedIndex = idx
	r.status.LastSuccess = r.cfg.Now()
	r.mu.Unlock()
}

func (r *Replicator) fail(err error) {
	r.mu.Lock()
	r.status.LastError = err.Error()
	r.status.LastErrorTime = r.cfg.Now()
	r.mu.Unlock()
}

func (r *Replicator) count(b Batch) {
	r.mu.Lock()
	r.status.Upserted += uint64(len(b.Upserts))
	r.status.Deleted += uint64(len(b.Deletes))
	r.mu.Unlock()
}

// sleepCtx waits d or until ctx ends; false when ctx ended.
func sleepCtx(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
