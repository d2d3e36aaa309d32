package agent

import (
	"context"
	"errors"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/hashicorp/go-memdb"

	"github.com/switchyard/switchyard/fsm"
	"github.com/switchyard/switchyard/peering"
)

// Peering endpoints (http-api.md §9). Anything wrong in what the client
// sent is a 400 naming the field and the rule (Switchyard's deviation from
// Consul's 500s, http-api.md §1.6); failures on our side or the peer's are
// 500s.

type peeringTokenRequest struct {
	PeerName                string
	Partition               string
	Meta                    map[string]string
	ServerExternalAddresses []string
}

type peeringEstablishRequest struct {
	PeerName     string
	PeeringToken string
	Partition    string
	Meta         map[string]string
}

// peeringView is the JSON of a peering, field for field Consul's
// api.Peering.
type peeringView struct {
	ID                  string
	Name                string
	Partition           string            `json:",omitempty"`
	DeletedAt           *time.Time        `json:",omitempty"`
	Meta                map[string]string `json:",omitempty"`
	State               string
	PeerID              string   `json:",omitempty"`
	PeerCAPems          []string `json:",omitempty"`
	PeerServerName      string   `json:",omitempty"`
	PeerServerAddresses []string `json:",omitempty"`
	StreamStatus        streamStatusView
	CreateIndex         uint64
	ModifyIndex         uint64
	Remote              fsm.PeeringRemote
}

type streamStatusView struct {
	ImportedServices []string
	ExportedServices []string
	LastHeartbeat    *time.Time
	LastReceive      *time.Time
	LastSend         *time.Time
}

func timePtr(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

// view renders a record with the live stream status of this leader.
func (a *Agent) peeringView(p *fsm.Peering) peeringView {
	st, ok := a.peering.tracker.Get(p.ID)
	v := peeringView{
		ID: p.ID, Name: p.Name, DeletedAt: p.DeletedAt, Meta: p.Meta,
		State:  peering.StateFor(p.State, st, ok),
		PeerID: p.PeerID, PeerCAPems: p.PeerCAPems, PeerServerName: p.PeerServerName,
		PeerServerAddresses: p.PeerServerAddresses,
		CreateIndex:         p.CreateIndex, ModifyIndex: p.ModifyIndex, Remote: p.Remote,
		StreamStatus: streamStatusView{
			ImportedServices: nonNil(st.ImportedServices), ExportedServices: nonNil(st.ExportedServices),
			LastHeartbeat: timePtr(st.LastHeartbeat), LastReceive: timePtr(st.LastReceive), LastSend: timePtr(st.LastSend),
		},
	}
	return v
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func checkPartition(p string) error {
	if p != "" && p != "default" {
		return badRequest("Partition %q: admin partitions are a Consul Enterprise feature; leave it empty", p)
	}
	return nil
}

// POST /v1/peering/token
func (a *Agent) peeringGenerateToken(w http.ResponseWriter, r *http.Request, _ string) (any, error) {
	var req peeringTokenRequest
	if err := a.decodeStrict(r, &req); err != nil {
		return nil, err
	}
	if req.PeerName == "" {
		return nil, badRequest("PeerName is required in the payload when generating a new peering token.")
	}
	if err := peering.ValidateName(req.PeerName); err != nil {
		return nil, badRequest("%v", err)
	}
	if err := peering.ValidateMeta(req.Meta); err != nil {
		return nil, badRequest("%v", err)
	}
	if err := checkPartition(req.Partition); err != nil {
		return nil, err
	}
	for _, addr := range req.ServerExternalAddresses {
		if _, port, err := net.SplitHostPort(addr); err != nil || !validPort(port) {
			return nil, badRequest("ServerExternalAddresses: %q must be host:port with a port in 1-65535", addr)
		}
	}
	store := a.state.store()
	_, caPEM, err := store.SystemMeta(nil, metaPeeringCACert)
	if err != nil {
		return nil, err
	}
	if caPEM == "" {
		return nil, errors.New("the peering CA is not initialised yet: retry once the cluster has a leader")
	}
	serverName, err := a.peeringServerName()
	if err != nil {
		return nil, err
	}
	rec, err := a.acceptorRecord(store, req.PeerName, req.Meta)
	if err != nil {
		return nil, err
	}
	secret, err := peering.NewUUID()
	if err != nil {
		return nil, err
	}
	cmd, err := fsm.EncodePeeringSecrets(&fsm.SecretsRequest{PeerID: rec.ID, Op: fsm.SecretsGenerate, Secret: secret,
		Expires: time.Now().Add(a.config.Peering.TokenTTL).UnixNano()})
	if err != nil {
		return nil, err
	}
	if _, err := a.raftApply(cmd); err != nil {
		return nil, err
	}
	addrs, err := peering.LocalServerAddresses(store, nil)
	if err != nil {
		return nil, err
	}
	if len(addrs) == 0 && len(req.ServerExternalAddresses) == 0 {
		return nil, errors.New("no server peering addresses are registered yet: retry shortly")
	}
	tok := &peering.Token{CA: []string{caPEM}, ServerAddresses: addrs, ManualServerAddresses: req.ServerExternalAddresses,
		ServerName: serverName, PeerID: rec.ID, EstablishmentSecret: secret, Remote: peering.Remote{Datacenter: a.config.Datacenter}}
	enc, err := tok.Encode()
	if err != nil {
		return nil, err
	}
	return map[string]string{"PeeringToken": enc}, nil
}

func validPort(p string) bool {
	n, err := strconv.Atoi(p)
	return err == nil && n >= 1 && n <= 65535
}

// acceptorRecord creates the acceptor's record for name, or reuses an
// existing acceptor record (same ID) with the new Meta.
func (a *Agent) acceptorRecord(store *stateStore, name string, meta map[string]string) (*fsm.Peering, error) {
	_, existing, err := store.PeeringByName(nil, name)
	if err != nil {
		return nil, err
	}
	var rec fsm.Peering
	switch {
	case existing == nil:
		id, err := peering.NewUUID()
		if err != nil {
			return nil, err
		}
		rec = fsm.Peering{ID: id, Name: name, State: fsm.PeeringPending}
	case existing.ShouldDial():
		return nil, badRequest("cannot create peering with name: %q; there is already an established peering", name)
	case !existing.IsLive():
		return nil, badRequest("cannot generate a token for peering %q: it is %s; delete it and wait until it is gone", name, existing.State)
	default:
		rec = *existing
		rec.State = fsm.PeeringUndefined
	}
	rec.Meta = meta
	if err := a.applyClientWrite(fsm.EncodePeeringWrite(&rec)); err != nil {
		return nil, err
	}
	return &rec, nil
}

// POST /v1/peering/establish
func (a *Agent) peeringEstablish(w http.ResponseWriter, r *http.Request, _ string) (any, error) {
	var req peeringEstablishRequest
	if err := a.decodeStrict(r, &req); err != nil {
		return nil, err
	}
	if req.PeerName == "" {
		return nil, badRequest("PeerName is required in the payload when establishing a peering.")
	}
	if req.PeeringToken == "" {
		return nil, badRequest("PeeringToken is required in the payload when establishing a peering.")
	}
	if err := peering.ValidateName(req.PeerName); err != nil {
		return nil, badRequest("%v", err)
	}
	if err := checkPartition(req.Partition); err != nil {
		return nil, err
	}
	tok, err := peering.DecodeToken(req.PeeringToken)
	if err != nil {
		return nil, badRequest("PeeringToken: %v", err)
	}
	if err := peering.ValidateMeta(req.Meta); err != nil {
		return nil, badRequest("%v", err)
	}
	if local, err := a.peeringServerName(); err == nil && strings.EqualFold(local, tok.ServerName) {
		return nil, badRequest("cannot create a peering within the same cluster %q: the token was generated by this cluster", local)
	}
	store := a.state.store()
	_, existing, err := store.PeeringByName(nil, req.PeerName)
	if err != nil {
		return nil, err
	}
	rec := fsm.Peering{Name: req.PeerName}
	switch {
	case existing == nil:
		if rec.ID, err = peering.NewUUID(); err != nil {
			return nil, err
		}
	case !existing.ShouldDial():
		return nil, badRequest("cannot create peering with name: %q; there is an existing peering expecting to be dialed", req.PeerName)
	case existing.State == fsm.PeeringDeleting:
		return nil, badRequest("cannot establish peering %q: it is being deleted; wait until it is gone", req.PeerName)
	default:
		rec.ID = existing.ID
	}
	ctx, cancel := context.WithTimeout(r.Context(), 4*a.config.Peering.DialTimeout)
	defer cancel()
	secret, err := peering.Exchange(ctx, tok, a.config.Peering.DialTimeout)
	if err != nil {
		if isTokenRefusal(err) {
			return nil, badRequest("PeeringToken refused by the peer: %v", err)
		}
		return nil, err
	}
	rec.State, rec.Meta = fsm.PeeringEstablishing, req.Meta
	rec.PeerID, rec.PeerCAPems, rec.PeerServerName = tok.PeerID, tok.CA, tok.ServerName
	rec.PeerServerAddresses, rec.ManualServerAddresses = tok.ServerAddresses, tok.ManualServerAddresses
	rec.Remote = fsm.PeeringRemote{Partition: tok.Remote.Partition, Datacenter: tok.Remote.Datacenter}
	if err := a.applyClientWrite(fsm.EncodePeeringWrite(&rec)); err != nil {
		return nil, err
	}
	cmd, err := fsm.EncodePeeringSecrets(&fsm.SecretsRequest{PeerID: rec.ID, Op: fsm.SecretsSetActive, Secret: secret})
	if err != nil {
		return nil, err
	}
	if _, err := a.raftApply(cmd); err != nil {
		return nil, err
	}
	return struct{}{}, nil
}

// isTokenRefusal: the peer answered and refused the token's secret (bad,
// used, expired, unknown peering) — the client's token is at fault.
func isTokenRefusal(err error) bool {
	var ee *peering.ExchangeError
	return errors.As(err, &ee) && ee.Refused
}

// GET /v1/peering/:name
func (a *Agent) peeringRead(w http.ResponseWriter, r *http.Request, name string, qo queryOptions) (queryFunc, error) {
	if name == "" {
		return nil, badRequest("Must specify a name to fetch.")
	}
	return func(ws memdb.WatchSet, s *stateStore) (uint64, any, error) {
		streamIdx := a.watchPeeringStreams(ws)
		idx, p, err := s.PeeringByName(ws, strings.ToLower(name))
		if err != nil {
			return 0, nil, err
		}
		if p == nil {
			return 0, nil, notFound("Peering not found for %q", name)
		}
		return max(idx, streamIdx), a.peeringView(p), nil
	}, nil
}

// GET /v1/peerings
func (a *Agent) peeringList(w http.ResponseWriter, r *http.Request, _ string, qo queryOptions) (queryFunc, error) {
	return func(ws memdb.WatchSet, s *stateStore) (uint64, any, error) {
		streamIdx := a.watchPeeringStreams(ws)
		idx, list, err := s.Peerings(ws)
		if err != nil {
			return 0, nil, err
		}
		out := make([]peeringView, 0, len(list))
		for _, p := range list {
			out = append(out, a.peeringView(p))
		}
		return max(idx, streamIdx), out, nil
	}, nil
}

// watchPeeringStreams adds the stream index's channel to ws and returns
// the index, to be max'ed with the peerings table's: reads then also wake
// on changes of the live stream state, under a larger Raft index (see
// peeringStreamIndex for why that index is sound). It is read before the
// tracker, so a change between the two shows up as a later wake-up rather
// than being missed.
func (a *Agent) watchPeeringStreams(ws memdb.WatchSet) uint64 {
	idx, ch := a.peering.streamIndex.get()
	ws.Add(ch)
	return idx
}

// leaderRead is read for the peering endpoints, which ignore ?stale and
// ?max_stale (http-api.md §1.4): the stream state they show lives only in
// the leader's memory, and a follower's tracker is empty.
func (a *Agent) leaderRead(fn func(w http.ResponseWriter, r *http.Request, param string, qo queryOptions) (queryFunc, error)) handlerFunc {
	inner := a.read(fn)
	return func(w http.ResponseWriter, r *http.Request, param string) (any, error) {
		q := r.URL.Query()
		if q.Has("stale") || q.Has("max_stale") {
			q.Del("stale")
			q.Del("max_stale")
			u := *r.URL
			u.RawQuery = q.Encode()
			r = r.Clone(r.Context())
			r.URL = &u
		}
		return inner(w, r, param)
	}
}

// DELETE /v1/peering/:name marks the peering DELETING; the leader's
// peering manager tells the peer, removes imported data and then the
// record. Deleting a missing or already deleting peering succeeds.
func (a *Agent) peeringDelete(w http.ResponseWriter, r *http.Request, name string) (any, error) {
	if name == "" {
		return nil, badRequest("Must specify a name to delete.")
	}
	_, p, err := a.state.store().PeeringByName(nil, strings.ToLower(name))
	if err != nil {
		return nil, err
	}
	if p == nil || p.State == fsm.PeeringDeleting {
		return nil, nil
	}
	now := time.Now().UTC()
	if err := a.applyClientWrite(fsm.EncodePeeringSetState(p.ID, fsm.PeeringDeleting, &now)); err != nil {
		return nil, err
	}
	return nil, nil
}
