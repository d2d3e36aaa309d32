package agent

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/url"
	"sort"
	"strings"

	"github.com/hashicorp/go-bexpr"
	"github.com/hashicorp/go-memdb"

	"github.com/switchyard/switchyard/catalog"
	"github.com/switchyard/switchyard/fsm"
)

// PUT /v1/catalog/register: validate and normalise the request here, so a
// bad one costs no Raft entry; what only the stored state can refuse (a
// check naming an unknown instance, a node name held by another node ID) is
// refused by the FSM. Both are the client's fault and answer 400.
func (a *Agent) catalogRegister(w http.ResponseWriter, r *http.Request, _ string) (any, error) {
	var req catalog.RegisterRequest
	if err := a.decodeStrict(r, &req); err != nil {
		return nil, err
	}
	if err := req.Validate(); err != nil {
		return nil, badRequest("%v", err)
	}
	// Forwarding to another datacenter already happened in write(), so the
	// node belongs to this one whatever the body said.
	req.Datacenter = a.config.Datacenter
	req.Normalize()
	if err := a.applyClientWrite(fsm.EncodeRegister(&req)); err != nil {
		return nil, err
	}
	return true, nil
}

// PUT /v1/catalog/deregister: an instance (ServiceID), a check (CheckID) or
// the whole node. Removing something absent succeeds.
func (a *Agent) catalogDeregister(w http.ResponseWriter, r *http.Request, _ string) (any, error) {
	var req catalog.DeregisterRequest
	if err := a.decodeStrict(r, &req); err != nil {
		return nil, err
	}
	if req.PeerName != "" {
		return nil, badRequest("cannot deregister requests with PeerName in them")
	}
	if err := req.Validate(); err != nil {
		return nil, badRequest("%v", err)
	}
	req.Datacenter = a.config.Datacenter
	if err := a.applyClientWrite(fsm.EncodeDeregister(&req)); err != nil {
		return nil, err
	}
	return true, nil
}

// applyClientWrite applies a command built from a client's request. A
// write the FSM refuses comes back with a result and was caused by the
// request (400); an error without a result is ours (no leader, timeout).
func (a *Agent) applyClientWrite(cmd []byte, err error) error {
	if err != nil {
		return err
	}
	res, err := a.raftApply(cmd)
	if err != nil && res != nil {
		return badRequest("%v", err)
	}
	return err
}

// GET /v1/catalog/datacenters: every datacenter in the WAN pool, this one
// first, then by measured round-trip time (wan_router.go).
func (a *Agent) catalogDatacenters(w http.ResponseWriter, r *http.Request, _ string) (any, error) {
	return a.datacenters(), nil
}

// GET /v1/catalog/nodes?node-meta=&filter=&near=. near sorts by network
// distance in Consul; without coordinates the name order stays.
func (a *Agent) catalogNodes(w http.ResponseWriter, r *http.Request, _ string, qo queryOptions) (queryFunc, error) {
	sel, err := newSelection(r.URL.Query(), qo)
	if err != nil {
		return nil, err
	}
	return func(ws memdb.WatchSet, s *stateStore) (uint64, any, error) {
		idx, nodes, err := s.Nodes(ws, sel.peer)
		if err != nil {
			return 0, nil, err
		}
		out, err := keep(nodes, sel, func(n *catalog.Node) bool { return sel.metaMatches(n.Meta) })
		return idx, out, err
	}, nil
}

// GET /v1/catalog/services?node-meta=&filter=: service name → its
// instances' distinct tags. The filter is evaluated on each instance
// (ServiceNode), as in Consul, so only instances that pass lend their name
// and tags.
func (a *Agent) catalogServices(w http.ResponseWriter, r *http.Request, _ string, qo queryOptions) (queryFunc, error) {
	sel, err := newSelection(r.URL.Query(), qo)
	if err != nil {
		return nil, err
	}
	return func(ws memdb.WatchSet, s *stateStore) (uint64, any, error) {
		if sel.meta == nil && sel.eval == nil {
			return s.Services(ws, sel.peer)
		}
		return selectedServices(s, ws, sel)
	}, nil
}

// selectedServices is catalogServices with node-meta or a filter: it reads
// every node's instances from one transaction. The node and service table
// keys cover every change that could alter the answer, so only those two
// are watched rather than one channel per node.
func selectedServices(s *stateStore, ws memdb.WatchSet, sel selection) (uint64, any, error) {
	tx := s.ReadTxn()
	defer tx.Abort()
	idx, _, err := fsm.ServicesTxn(tx, ws, sel.peer)
	if err != nil {
		return 0, nil, err
	}
	nodesIdx, nodes, err := fsm.NodesTxn(tx, ws, sel.peer)
	if err != nil {
		return 0, nil, err
	}
	tags := map[string]map[string]struct{}{}
	for _, n := range nodes {
		if !sel.metaMatches(n.Meta) {
			continue
		}
		_, ns, err := fsm.NodeTxn(tx, nil, n.Node, sel.peer)
		if err != nil || ns == nil {
			return 0, nil, err
		}
		for _, svc := range ns.Services {
			ok, err := sel.match(catalog.NewServiceNode(n, svc))
			if err != nil {
				return 0, nil, err
			}
			if !ok {
				continue
			}
			if tags[svc.Service] == nil {
				tags[svc.Service] = map[string]struct{}{}
			}
			for _, t := range svc.Tags {
				tags[svc.Service][t] = struct{}{}
			}
		}
	}
	out := make(map[string][]string, len(tags))
	for name, set := range tags {
		list := make([]string, 0, len(set))
		for t := range set {
			list = append(list, t)
		}
		sort.Strings(list)
		out[name] = list
	}
	return max(idx, nodesIdx), out, nil
}

// GET /v1/catalog/service/:name?tag=&node-meta=&filter=&peer=. Each tag
// must be present (AND, case-insensitive). merge-central-config asks Consul
// to fold service-defaults into proxy registrations; Switchyard returns
// instances as registered and ignores it, as it does near.
func (a *Agent) catalogService(w http.ResponseWriter, r *http.Request, name string, qo queryOptions) (queryFunc, error) {
	if name == "" {
		return nil, badRequest("Missing service name")
	}
	q := r.URL.Query()
	sel, err := newSelection(q, qo)
	if err != nil {
		return nil, err
	}
	tags := q["tag"]
	return func(ws memdb.WatchSet, s *stateStore) (uint64, any, error) {
		idx, instances, err := s.ServiceNodes(ws, name, sel.peer, tags...)
		if err != nil {
			return 0, nil, err
		}
		out, err := keep(instances, sel, func(sn *catalog.ServiceNode) bool { return sel.metaMatches(sn.NodeMeta) })
		return idx, out, err
	}, nil
}

// GET /v1/catalog/node/:node?filter=: the node with its instances keyed by
// ID (the filter applies to the instances), or null when there is no such
// node. The null is a typed nil pointer: serveAPI writes an empty body for
// an untyped nil, and the Go client needs JSON to decode.
func (a *Agent) catalogNode(w http.ResponseWriter, r *http.Request, name string, qo queryOptions) (queryFunc, error) {
	sel, err := pathSelection(r, qo, name, "node name")
	if err != nil {
		return nil, err
	}
	return func(ws memdb.WatchSet, s *stateStore) (uint64, any, error) {
		idx, ns, err := s.Node(ws, name, sel.peer)
		if err != nil || ns == nil {
			return idx, (*catalog.NodeServices)(nil), err
		}
		out := &catalog.NodeServices{Node: ns.Node, Services: make(map[string]*catalog.NodeService, len(ns.Services))}
		for id, svc := range ns.Services {
			ok, err := sel.match(svc)
			if err != nil {
				return 0, nil, err
			}
			if ok {
				out.Services[id] = svc
			}
		}
		return idx, out, nil
	}, nil
}

// GET /v1/catalog/node-services/:node?filter=: the node with its instances
// as a list ordered by ID. A missing node answers {"Node":null,
// "Services":null}, as Consul does.
func (a *Agent) catalogNodeServices(w http.ResponseWriter, r *http.Request, name string, qo queryOptions) (queryFunc, error) {
	sel, err := pathSelection(r, qo, name, "node name")
	if err != nil {
		return nil, err
	}
	return func(ws memdb.WatchSet, s *stateStore) (uint64, any, error) {
		idx, ns, err := s.Node(ws, name, sel.peer)
		if err != nil || ns == nil {
			return idx, &catalog.NodeServiceList{}, err
		}
		out := ns.List()
		out.Services, err = keep(out.Services, sel, nil)
		return idx, out, err
	}, nil
}

// selection holds the parameters that narrow a catalog or health read:
// ?peer (whose data), ?node-meta (repeatable "key:value"; every pair must
// match) and ?filter (a go-bexpr expression over the result element).
type selection struct {
	peer string
	meta map[string]string
	eval *bexpr.Evaluator
}

// pathSelection refuses an empty path parameter with Consul's message
// ("Missing <what>") and builds the selection from the query.
func pathSelection(r *http.Request, qo queryOptions, param, what string) (selection, error) {
	if param == "" {
		return selection{}, badRequest("Missing %s", what)
	}
	return newSelection(r.URL.Query(), qo)
}

func newSelection(q url.Values, qo queryOptions) (selection, error) {
	sel := selection{peer: q.Get("peer")}
	if vals := q["node-meta"]; len(vals) > 0 {
		sel.meta = make(map[string]string, len(vals))
		for _, v := range vals {
			// A pair without ':' asks for the key with an empty value.
			k, val, _ := strings.Cut(v, ":")
			sel.meta[k] = val
		}
	}
	var err error
	sel.eval, err = parseFilter(qo.filter)
	return sel, err
}

// parseFilter compiles ?filter; nil without one. A malformed expression is
// the client's mistake (400, where Consul answers 500).
func parseFilter(expr string) (*bexpr.Evaluator, error) {
	if expr == "" {
		return nil, nil
	}
	eval, err := bexpr.CreateEvaluator(expr)
	if err != nil {
		return nil, badRequest("Failed to create boolean expression evaluator: %v", err)
	}
	return eval, nil
}

// metaMatches reports whether meta holds every pair of ?node-meta.
func (sel selection) metaMatches(meta map[string]string) bool {
	for k, want := range sel.meta {
		if v, ok := meta[k]; !ok || v != want {
			return false
		}
	}
	return true
}

// match evaluates ?filter on one element; everything matches without one.
// An expression that cannot be evaluated against the element type (a
// selector naming no field) is the client's mistake.
func (sel selection) match(v any) (bool, error) {
	if sel.eval == nil {
		return true, nil
	}
	ok, err := sel.eval.Evaluate(v)
	if err != nil {
		return false, badRequest("Failed to evaluate filter: %v", err)
	}
	return ok, nil
}

// keep returns, as a new never-nil slice, the items that pass pre (when
// not nil) and the filter. Store results are shared with other readers, so
// they are never filtered in place.
func keep[T any](items []T, sel selection, pre func(T) bool) ([]T, error) {
	out := make([]T, 0, len(items))
	for _, it := range items {
		if pre != nil && !pre(it) {
			continue
		}
		ok, err := sel.match(it)
		if err != nil {
			return nil, err
		}
		if ok {
			out = append(out, it)
		}
	}
	return out, nil
}

// decodeStrict decodes a request body into out the way Consul's strict
// endpoints do: keys match case-insensitively and an unknown field is an
// error, so a misspelt field is reported instead of silently dropped.
func (a *Agent) decodeStrict(r *http.Request, out any) error {
	body, err := readBody(r, a.config.HTTPMaxBodyBytes)
	if err != nil {
		return badRequest("Request decode failed: %v", err)
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(out); err != nil {
		return badRequest("Request decode failed: %v", err)
	}
	return nil
}
