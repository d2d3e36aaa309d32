package agent

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/hashicorp/go-memdb"

	"github.com/switchyard/switchyard/catalog"
	"github.com/switchyard/switchyard/fsm"
)

// Health endpoints. Every list answers [] rather than null, and every
// ?filter is evaluated on the element the endpoint returns (HealthCheck, or
// CheckServiceNode for the service views).

// GET /v1/health/node/:node?filter=&peer=: the node's checks, its own and
// its instances'.
func (a *Agent) healthNode(w http.ResponseWriter, r *http.Request, node string, qo queryOptions) (queryFunc, error) {
	sel, err := pathSelection(r, qo, node, "node name")
	if err != nil {
		return nil, err
	}
	return func(ws memdb.WatchSet, s *stateStore) (uint64, any, error) {
		idx, checks, err := s.NodeChecks(ws, node, sel.peer)
		if err != nil {
			return 0, nil, err
		}
		out, err := keep(checks, sel, nil)
		return idx, out, err
	}, nil
}

// GET /v1/health/checks/:service?node-meta=&filter=&peer=: the checks of
// every instance of the service. A node's meta change moves the service's
// index key too, so the service watch covers ?node-meta.
func (a *Agent) healthChecks(w http.ResponseWriter, r *http.Request, service string, qo queryOptions) (queryFunc, error) {
	sel, err := pathSelection(r, qo, service, "service name")
	if err != nil {
		return nil, err
	}
	return checksQuery(sel, false, func(tx fsm.ReadTxn, ws memdb.WatchSet) (uint64, []*catalog.HealthCheck, error) {
		return fsm.ServiceChecksTxn(tx, ws, service, sel.peer)
	}), nil
}

// GET /v1/health/state/:state?node-meta=&filter=&peer=: the checks in
// state, or all of them for "any". Consul's client refuses other states
// before sending; one that arrives anyway matches no check.
func (a *Agent) healthState(w http.ResponseWriter, r *http.Request, state string, qo queryOptions) (queryFunc, error) {
	sel, err := pathSelection(r, qo, state, "check state")
	if err != nil {
		return nil, err
	}
	// The checks table does not move when only a node's meta changes, so
	// with ?node-meta the nodes table is watched as well.
	return checksQuery(sel, true, func(tx fsm.ReadTxn, ws memdb.WatchSet) (uint64, []*catalog.HealthCheck, error) {
		return fsm.ChecksInStateTxn(tx, ws, state, sel.peer)
	}), nil
}

// checksQuery reads checks with read and keeps those sel selects, testing
// ?node-meta against the checks' nodes in the same transaction. With
// watchNodes the nodes table is watched too (when ?node-meta is given).
func checksQuery(sel selection, watchNodes bool, read func(tx fsm.ReadTxn, ws memdb.WatchSet) (uint64, []*catalog.HealthCheck, error)) queryFunc {
	return func(ws memdb.WatchSet, s *stateStore) (uint64, any, error) {
		tx := s.ReadTxn()
		defer tx.Abort()
		idx, checks, err := read(tx, ws)
		if err != nil {
			return 0, nil, err
		}
		var nodesWS memdb.WatchSet
		if watchNodes && sel.meta != nil {
			nodesWS = ws
		}
		pre, err := checkNodeMeta(tx, nodesWS, sel)
		if err != nil {
			return 0, nil, err
		}
		out, err := keep(checks, sel, pre)
		return idx, out, err
	}
}

// checkNodeMeta returns the ?node-meta test for checks (nil without one):
// whether the check's node carries every pair. ws, when not nil, watches
// the nodes table. It reads in the caller's transaction so that checks and
// nodes come from one snapshot.
func checkNodeMeta(tx fsm.ReadTxn, ws memdb.WatchSet, sel selection) (func(*catalog.HealthCheck) bool, error) {
	if sel.meta == nil {
		return nil, nil
	}
	_, nodes, err := fsm.NodesTxn(tx, ws, sel.peer)
	if err != nil {
		return nil, err
	}
	matching := map[string]bool{}
	for _, n := range nodes {
		if sel.metaMatches(n.Meta) {
			matching[strings.ToLower(n.Node)] = true
		}
	}
	return func(c *catalog.HealthCheck) bool { return matching[strings.ToLower(c.Node)] }, nil
}

// serviceHealthRead reads the health view of a service name.
type serviceHealthRead func(s *stateStore, ws memdb.WatchSet, service, peer string) (uint64, []catalog.CheckServiceNode, error)

// GET /v1/health/service/:name, /v1/health/connect/:name and
// /v1/health/ingress/:name, with ?passing, ?tag (repeatable, AND,
// case-insensitive), ?node-meta, ?filter and ?peer. near (sort by network
// distance) and merge-central-config are accepted and ignored: there are no
// coordinates, and instances are returned as registered.
func (a *Agent) healthService(w http.ResponseWriter, r *http.Request, service string, qo queryOptions) (queryFunc, error) {
	if service == "" {
		return nil, badRequest("Missing service name")
	}
	q := r.URL.Query()
	passing, err := parseBoolParam(q, "passing")
	if err != nil {
		return nil, err
	}
	if q.Get("peer") != "" && (q.Get("sg") != "" || q.Get("sameness-group") != "") {
		return nil, badRequest("peer-name and sameness-group are mutually exclusive")
	}
	sel, err := newSelection(q, qo)
	if err != nil {
		return nil, err
	}
	tags := q["tag"]
	read := serviceHealthRead((*stateStore).CheckServiceNodes)
	switch {
	case strings.HasPrefix(r.URL.Path, "/v1/health/connect/"):
		read = (*stateStore).ConnectServiceNodes
	case strings.HasPrefix(r.URL.Path, "/v1/health/ingress/"):
		read = ingressServiceNodes
	}
	return func(ws memdb.WatchSet, s *stateStore) (uint64, any, error) {
		idx, nodes, err := read(s, ws, service, sel.peer)
		if err != nil {
			return 0, nil, err
		}
		out, err := keep(nodes, sel, func(n catalog.CheckServiceNode) bool {
			return hasAllTags(n.Service.Tags, tags) && sel.metaMatches(n.Node.Meta)
		})
		if err != nil {
			return 0, nil, err
		}
		if passing {
			out = catalog.FilterPassing(out)
		}
		return idx, out, nil
	}, nil
}

// ingressServiceNodes is the ingress view: in Consul, the ingress gateways
// whose ingress-gateway config entry exposes the service. Switchyard does
// not store that kind of entry (writes of it are refused), so no gateway
// exposes anything and the answer is always []. Its index is the one of
// that kind, which is what could change the answer.
func ingressServiceNodes(s *stateStore, ws memdb.WatchSet, _, _ string) (uint64, []catalog.CheckServiceNode, error) {
	idx, _, err := s.ConfigEntries(ws, "ingress-gateway")
	return idx, []catalog.CheckServiceNode{}, err
}

// parseBoolParam reads a flag such as ?passing as Consul does: absent is
// false, a bare key or empty value is true, else it must be a Go bool
// literal ("1", "true", "F", ...).
func parseBoolParam(q url.Values, key string) (bool, error) {
	vals, ok := q[key]
	if !ok {
		return false, nil
	}
	if vals[0] == "" {
		return true, nil
	}
	b, err := strconv.ParseBool(vals[0])
	if err != nil {
		return false, badRequest("Invalid value for ?%s", key)
	}
	return b, nil
}

// hasAllTags reports whether have contains every tag of want, ignoring
// case, as the catalog compares tags.
func hasAllTags(have, want []string) bool {
	for _, w := range want {
		found := false
		for _, h := range have {
			if strings.EqualFold(h, w) {
				found = true
				break
			}
		}
		if !found {
			return false
		}
	}
	return true
}
