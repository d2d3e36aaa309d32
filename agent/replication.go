package agent

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/hashicorp/go-memdb"

	"github.com/switchyard/switchyard/configentry"
	"github.com/switchyard/switchyard/fsm"
	"github.com/switchyard/switchyard/replication"
	"github.com/switchyard/switchyard/rpc/pb"
)

// replicationListPath is the internal endpoint a secondary's replicator
// lists the primary's config entries from. It is an ordinary read()
// endpoint, so the blocking query and the hop to the primary's leader are
// the same code every other read uses; it reaches the primary over the
// Forward RPC like any ?dc= request.
const replicationListPath = "/v1/internal/replication/config-entries"

// replicationWait is the blocking wait of one list call. Long enough that
// an idle primary costs one call a minute per secondary; short enough that
// a lost connection is noticed without relying on keep-alives.
const replicationWait = time.Minute

// GET /v1/internal/replication/config-entries?replication_version=N
// [&since=I&keys_hash=H] (blocking on ?index=): the config entries and
// their index in replication's versioned wire format; from version 2 a
// delta since I (see replication/wire.go).
func (a *Agent) replicationConfigList(w http.ResponseWriter, r *http.Request, _ string, qo queryOptions) (queryFunc, error) {
	q := r.URL.Query()
	version, err := replication.NegotiateVersion(q.Get(replication.VersionParam))
	if err != nil {
		return nil, badRequest("%v", err)
	}
	req, err := replication.ParseRequest(q)
	if err != nil {
		return nil, badRequest("%v", err)
	}
	return func(ws memdb.WatchSet, s *stateStore) (uint64, any, error) {
		// A leader that has not passed its barrier may still be replaying
		// the log after a restart: a list from it would look like entries
		// were deleted, and a secondary would delete and re-add them.
		if !a.leaderReady() {
			return 0, nil, fmt.Errorf("%w: the leader is still applying the Raft log", errNoLeader)
		}
		idx, entries, err := s.ConfigEntriesAll(ws)
		if err != nil {
			return 0, nil, err
		}
		l, err := replication.EncodeList(version, idx, entries, req)
		return idx, l, err
	}, nil
}

// runReplication runs the config replicator while this server leads a
// secondary datacenter; it returns when stop closes. The leader session
// owns it, so a server never replicates without leading.
func (a *Agent) runReplication(stop <-chan struct{}) {
	c := a.config
	if c.Datacenter == c.PrimaryDatacenter || a.fed == nil {
		return
	}
	cfg := replication.DefaultConfig()
	cfg.Fetch = a.fetchPrimaryConfig
	cfg.Local = a.localReplicationState
	cfg.Apply = a.applyReplicated
	cfg.Logger = a.logger.Named("replication")
	r, err := replication.New(cfg)
	if err != nil {
		panic(err) // the three functions above are always set
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		select {
		case <-stop:
			cancel()
		case <-ctx.Done():
		}
	}()
	a.fed.repl.Store(r)
	r.Run(ctx)
}

// fetchPrimaryConfig is the replicator's blocking request to the
// primary's leader for its config entries.
func (a *Agent) fetchPrimaryConfig(ctx context.Context, req replication.Request) (replication.Remote, error) {
	q := url.Values{}
	q.Set(replication.VersionParam, strconv.Itoa(replication.ProtocolVersionMax))
	req.Query(q)
	if req.Since > 0 {
		q.Set("index", strconv.FormatUint(req.Since, 10))
		q.Set("wait", replicationWait.String())
	}
	// The primary may hold the call for the wait plus its jitter (1/16);
	// beyond that and a margin for the answer, the primary is not there.
	ctx, cancel := context.WithTimeout(ctx, replicationWait+replicationWait/16+10*time.Second)
	defer cancel()
	resp, err := a.forwardRawToDC(ctx, a.config.PrimaryDatacenter, &pb.ForwardRequest{
		Method: http.MethodGet, Path: replicationListPath, RawQuery: q.Encode(), Headers: map[string]string{},
	})
	if err != nil {
		return replication.Remote{}, err
	}
	if resp.Status != http.StatusOK {
		return replication.Remote{}, fmt.Errorf("primary answered %d: %s", resp.Status, resp.Body)
	}
	return replication.DecodeList(resp.Body)
}

// localReplicationState is what the replicator diffs against: the local
// entries and the primary index they were last copied at.
func (a *Agent) localReplicationState() (uint64, []configentry.Entry, error) {
	s := a.state.store()
	idx, err := s.ConfigReplicationIndex(nil)
	if err != nil {
		return 0, nil, err
	}
	_, entries, err := s.ConfigEntriesAll(nil)
	return idx, entries, err
}

// applyReplicated writes one batch through local Raft as one atomic
// ConfigReplicate command.
func (a *Agent) applyReplicated(_ context.Context, b replication.Batch, remoteIndex uint64) error {
	dels := make([]fsm.ConfigKey, 0, len(b.Deletes))
	for _, k := range b.Deletes {
		dels = append(dels, fsm.ConfigKey{Kind: k.Kind, Name: k.Name})
	}
	cmd, err := fsm.EncodeConfigReplicate(dels, b.Upserts, b.Last, remoteIndex)
	if err != nil {
		return err
	}
	_, err = a.raftApply(cmd)
	return err
}

// replicationStatus is the "Replication" object of /v1/agent/self. Only the
// secondary's leader runs the replicator; other servers report the index
// their state holds (replicated through Raft) with Running false.
func (a *Agent) replicationStatus() map[string]any {
	c := a.config
	out := map[string]any{
		"Enabled":           c.Datacenter != c.PrimaryDatacenter,
		"PrimaryDatacenter": c.PrimaryDatacenter,
		"Running":           false,
		"ReplicatedIndex":   uint64(0),
		"LastSuccess":       "",
		"LastError":         "",
		"LastErrorTime":     "",
	}
	if idx, err := a.state.store().ConfigReplicationIndex(nil); err == nil {
		out["ReplicatedIndex"] = idx
	}
	if a.fed == nil || !a.isLeader() {
		return out
	}
	r := a.fed.repl.Load()
	if r == nil {
		return out
	}
	st := r.Status()
	out["Running"] = st.Running
	out["ReplicatedIndex"] = st.ReplicatedIndex
	out["LastSuccess"] = timeString(st.LastSuccess)
	out["LastError"] = st.LastError
	out["LastErrorTime"] = timeString(st.LastErrorTime)
	out["Upserted"] = st.Upserted
	out["Deleted"] = st.Deleted
	return out
}

func timeString(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339Nano)
}
