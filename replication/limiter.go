package replication

import (
	"context"
	"sync"
	"time"
)

// limiter is a token bucket: rate tokens per second, at most burst saved.
// A rate <= 0 disables it. It takes its clock from the replicator's config
// so tests can drive time.
type limiter struct {
	rate  float64
	burst float64
	now   func() time.Time

	mu     sync.Mutex
	tokens float64
	last   time.Time
}

func newLimiter(rate float64, burst int, now func() time.Time) *limiter {
	b := float64(max(burst, 1))
	return &limiter{rate: rate, burst: b, now: now, tokens: b, last: now()}
}

// reserve takes one token and returns how long to wait before using it.
func (l *limiter) reserve() time.Duration {
	if l.rate <= 0 {
		return 0
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	l.tokens = min(l.burst, l.tokens+now.Sub(l.last).Seconds()*l.rate)
	l.last = now
	l.tokens--
	if l.tokens >= 0 {
		return 0
	}
	return time.Duration(-l.tokens / l.rate * float64(time.Second))
}

// wait blocks until a token is available or ctx ends.
func (l *limiter) wait(ctx context.Context) error {
	d := l.reserve()
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
