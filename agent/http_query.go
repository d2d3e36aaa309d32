package agent

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"strconv"
	"time"

	"github.com/hashicorp/go-memdb"
)

// Blocking query limits, as Consul's.
const (
	defaultBlockingWait = 5 * time.Minute
	maxBlockingWait     = 10 * time.Minute
)

// queryOptions are the parameters every read endpoint understands.
type queryOptions struct {
	minIndex   uint64
	wait       time.Duration
	stale      bool
	consistent bool
	maxStale   time.Duration
	dc         string
	filter     string
}

func parseQueryOptions(r *http.Request, localDC string) (queryOptions, error) {
	q := r.URL.Query()
	qo := queryOptions{dc: localDC, filter: q.Get("filter")}
	if v := q.Get("index"); v != "" {
		n, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			return qo, badRequest("Invalid index")
		}
		qo.minIndex = n
	}
	if v := q.Get("wait"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d < 0 {
			return qo, badRequest("Invalid wait time")
		}
		qo.wait = d
	}
	_, qo.stale = q["stale"]
	_, qo.consistent = q["consistent"]
	if v, ok := q["max_stale"]; ok {
		d, err := time.ParseDuration(v[0])
		if err != nil {
			return qo, badRequest("Invalid max_stale value %q", v[0])
		}
		qo.maxStale, qo.stale = d, true
	}
	if _, ok := q["leader"]; ok {
		qo.stale, qo.consistent = false, false
	}
	if qo.stale && qo.consistent {
		return qo, badRequest("Cannot specify ?stale with ?consistent, conflicting semantics.")
	}
	if _, cached := q["cached"]; cached && qo.consistent {
		return qo, badRequest("Cannot specify ?cached with ?consistent, conflicting semantics.")
	}
	if v := q.Get("datacenter"); v != "" {
		qo.dc = v
	} else if v := q.Get("dc"); v != "" {
		qo.dc = v
	}
	return qo, nil
}

// queryFunc reads from the state store inside ws and returns the result's
// index (the highest modify index that could affect it) and the result.
type queryFunc func(ws memdb.WatchSet, s *stateStore) (uint64, any, error)

// blockingQuery is the one blocking-query loop every read endpoint uses: it
// answers at once without ?index, else waits until the result's index moves
// past ?index or ?wait (plus jitter) expires, then answers with the current
// result. It sets X-Consul-Index (never 0), X-Consul-KnownLeader and
// X-Consul-LastContact.
func (a *Agent) blockingQuery(w http.ResponseWriter, r *http.Request, qo queryOptions, fn queryFunc) (any, error) {
	wait := qo.wait
	if wait == 0 {
		wait = defaultBlockingWait
	}
	if wait > maxBlockingWait {
		wait = maxBlockingWait
	}
	// Jitter spreads the wake-ups of many watchers of one key.
	wait += time.Duration(rand.Int64N(int64(wait/16) + 1))
	ctx, cancel := context.WithTimeout(r.Context(), wait)
	defer cancel()
	for {
		store := a.state.store()
		ws := memdb.NewWatchSet()
		ws.Add(store.AbandonCh())
		idx, out, err := fn(ws, store)
		if err != nil {
			return nil, err
		}
		if idx == 0 {
			idx = 1
		}
		// An index below the client's (the store was restored from a
		// snapshot) answers at once so the client can reset.
		if qo.minIndex == 0 || idx != qo.minIndex {
			a.setMeta(w, idx)
			return out, nil
		}
		if ws.WatchCtx(ctx) != nil {
			a.setMeta(w, idx)
			return out, nil
		}
	}
}

// setMeta writes the query meta headers.
func (a *Agent) setMeta(w http.ResponseWriter, idx uint64) {
	h := w.Header()
	h.Set("X-Consul-Index", strconv.FormatUint(idx, 10))
	leader, _ := a.raft.raft.LeaderWithID()
	h.Set("X-Consul-KnownLeader", strconv.FormatBool(leader != ""))
	var lastContact int64
	if !a.isLeader() {
		if lc := a.raft.raft.LastContact(); !lc.IsZero() {
			lastContact = time.Since(lc).Milliseconds()
		}
	}
	h.Set("X-Consul-LastContact", strconv.FormatInt(lastContact, 10))
}

// read wraps a read endpoint: it parses the query options, sends the
// request to the leader unless ?stale, confirms leadership with a quorum
// for ?consistent, then runs the blocking query.
func (a *Agent) read(fn func(w http.ResponseWriter, r *http.Request, param string, qo queryOptions) (queryFunc, error)) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request, param string) (any, error) {
		qo, err := parseQueryOptions(r, a.config.Datacenter)
		if err != nil {
			return nil, err
		}
		if qo.dc != a.config.Datacenter {
			return nil, a.forwardToDC(w, r, qo.dc, nil)
		}
		q, err := fn(w, r, param, qo)
		if err != nil {
			return nil, err
		}
		if qo.stale && qo.maxStale > 0 && !a.isLeader() {
			if lc := a.raft.raft.LastContact(); lc.IsZero() || time.Since(lc) > qo.maxStale {
				qo.stale = false
			}
		}
		if !qo.stale {
			served, err := a.readOnReadyLeader(w, r)
			if err != nil {
				return nil, err
			}
			if served {
				return nil, errResponseWritten
			}
		}
		if qo.consistent {
			if err := a.raft.raft.VerifyLeader().Error(); err != nil {
				return nil, errNoLeader
			}
		}
		out, err := a.blockingQuery(w, r, qo, q)
		if nf, ok := out.(notFoundEntry); ok && err == nil {
			return nil, nf.err()
		}
		return out, err
	}
}

// readOnReadyLeader makes sure a read that the leader must answer is
// answered by a leader whose state store holds every committed entry. A
// follower forwards it (served is true: the answer is written). On the
// leader it waits, up to RPCHoldTimeout, for the leader session's barrier:
// a new leader may not yet have applied entries its predecessor committed
// and acknowledged, and reading before would return state older than a
// write the client has already seen succeed (found by the five-server
// nemesis: a ?consistent read, a second after a leader change, missed a
// CAS write acknowledged before it). If leadership moves meanwhile, the
// read is forwarded to the new leader.
func (a *Agent) readOnReadyLeader(w http.ResponseWriter, r *http.Request) (served bool, err error) {
	deadline := time.Now().Add(a.config.RPCHoldTimeout)
	for a.isLeader() {
		if a.leaderReady() {
			return false, nil
		}
		if time.Now().After(deadline) {
			return false, fmt.Errorf("%w: this server was elected but has not yet applied the entries committed before", errNoLeader)
		}
		select {
		case <-r.Context().Done():
			return false, r.Context().Err()
		case <-a.shutdownCh:
			return false, errNoLeader
		case <-time.After(5 * time.Millisecond):
		}
	}
	if err := a.forwardToLeader(w, r, nil, false); err != nil {
		return false, err
	}
	return true, nil
}

// write wraps a state-changing endpoint: the request is served by the
// leader of this datacenter (forwarded if needed).
func (a *Agent) write(fn handlerFunc) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request, param string) (any, error) {
		qo, err := parseQueryOptions(r, a.config.Datacenter)
		if err != nil {
			return nil, err
		}
		if qo.dc != a.config.Datacenter {
			body, err := readBody(r, a.config.HTTPMaxBodyBytes)
			if err != nil {
				return nil, badRequest("%v", err)
			}
			return nil, a.forwardToDC(w, r, qo.dc, body)
		}
		if a.isLeader() {
			return fn(w, r, param)
		}
		body, err := readBody(r, a.config.HTTPMaxBodyBytes)
		if err != nil {
			return nil, badRequest("%v", err)
		}
		if err := a.forwardToLeader(w, r, body, true); err != nil {
			return nil, err
		}
		return nil, errResponseWritten
	}
}
