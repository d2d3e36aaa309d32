package fsm

import (
	"fmt"
	"sort"
	"strings"

	"github.com/hashicorp/go-memdb"

	"github.com/switchyard/switchyard/catalog"
)

// Catalog reads. Each Store method opens a read transaction and calls the
// ...Txn function of the same name, which callers may also use with a
// transaction of their own (Store.ReadTxn) to read several things from one
// snapshot. peer selects imported data; "" is local data.
//
// Every read returns the highest Raft index that could have changed its
// result (never 0) and adds to ws only channels that fire for changes to
// what it read: a write to service A does not wake a reader of service B.
// Returned objects are shared with the store and must not be modified.

// Nodes returns every node of peer, ordered by name.
func (s *Store) Nodes(ws memdb.WatchSet, peer string) (uint64, []*catalog.Node, error) {
	tx := s.db.Txn(false)
	defer tx.Abort()
	return NodesTxn(tx, ws, peer)
}

// NodesTxn is Nodes inside tx.
func NodesTxn(tx ReadTxn, ws memdb.WatchSet, peer string) (uint64, []*catalog.Node, error) {
	it, err := tx.Get(tableNodes, indexID+"_prefix", peer)
	if err != nil {
		return 0, nil, fmt.Errorf("nodes lookup failed: %w", err)
	}
	idx, err := watchScope(tx, ws, tableKey(tableNodes, peer), it.WatchCh())
	if err != nil {
		return 0, nil, err
	}
	out := []*catalog.Node{}
	for raw := it.Next(); raw != nil; raw = it.Next() {
		out = append(out, raw.(*catalog.Node))
	}
	return atLeastOne(idx), out, nil
}

// Node returns a node with its instances keyed by service ID, or nil when
// the node does not exist.
func (s *Store) Node(ws memdb.WatchSet, name, peer string) (uint64, *catalog.NodeServices, error) {
	tx := s.db.Txn(false)
	defer tx.Abort()
	return NodeTxn(tx, ws, name, peer)
}

// NodeTxn is Node inside tx. The node's index key covers the node and its
// instances.
func NodeTxn(tx ReadTxn, ws memdb.WatchSet, name, peer string) (uint64, *catalog.NodeServices, error) {
	ch, raw, err := tx.FirstWatch(tableNodes, indexID, peer, name)
	if err != nil {
		return 0, nil, fmt.Errorf("node lookup failed: %w", err)
	}
	idx, err := watchScope(tx, ws, nodeKey(peer, name), ch)
	if err == nil {
		idx, err = orIndexOf(tx, idx, tableKey(tableNodes, peer))
	}
	if err != nil || raw == nil {
		return atLeastOne(idx), nil, err
	}
	node := raw.(*catalog.Node)
	it, err := tx.Get(tableServices, indexNode, peer, node.Node)
	if err != nil {
		return 0, nil, fmt.Errorf("services lookup failed: %w", err)
	}
	out := &catalog.NodeServices{Node: node, Services: map[string]*catalog.NodeService{}}
	for raw := it.Next(); raw != nil; raw = it.Next() {
		svc := raw.(*catalog.ServiceNode).ToNodeService()
		out.Services[svc.ID] = svc
	}
	return atLeastOne(idx), out, nil
}

// Services returns every service name of peer with the union of its
// instances' tags, each list sorted and never nil.
func (s *Store) Services(ws memdb.WatchSet, peer string) (uint64, map[string][]string, error) {
	tx := s.db.Txn(false)
	defer tx.Abort()
	return ServicesTxn(tx, ws, peer)
}

// ServicesTxn is Services inside tx.
func ServicesTxn(tx ReadTxn, ws memdb.WatchSet, peer string) (uint64, map[string][]string, error) {
	it, err := tx.Get(tableServices, indexID+"_prefix", peer)
	if err != nil {
		return 0, nil, fmt.Errorf("services lookup failed: %w", err)
	}
	idx, err := watchScope(tx, ws, tableKey(tableServices, peer), it.WatchCh())
	if err != nil {
		return 0, nil, err
	}
	seen := map[string]map[string]struct{}{}
	for raw := it.Next(); raw != nil; raw = it.Next() {
		svc := raw.(*catalog.ServiceNode)
		tags := seen[svc.ServiceName]
		if tags == nil {
			tags = map[string]struct{}{}
			seen[svc.ServiceName] = tags
		}
		for _, t := range svc.ServiceTags {
			tags[t] = struct{}{}
		}
	}
	out := make(map[string][]string, len(seen))
	for name, tags := range seen {
		list := make([]string, 0, len(tags))
		for t := range tags {
			list = append(list, t)
		}
		sort.Strings(list)
		out[name] = list
	}
	return atLeastOne(idx), out, nil
}

// ServiceNodes returns the instances of service joined with their nodes,
// keeping those that have every one of tags (compared case-insensitively).
func (s *Store) ServiceNodes(ws memdb.WatchSet, service, peer string, tags ...string) (uint64, []*catalog.ServiceNode, error) {
	tx := s.db.Txn(false)
	defer tx.Abort()
	return ServiceNodesTxn(tx, ws, service, peer, tags...)
}

// ServiceNodesTxn is ServiceNodes inside tx.
func ServiceNodesTxn(tx ReadTxn, ws memdb.WatchSet, service, peer string, tags ...string) (uint64, []*catalog.ServiceNode, error) {
	idx, instances, err := serviceInstances(tx, ws, service, peer)
	if err != nil {
		return 0, nil, err
	}
	out := []*catalog.ServiceNode{}
	nodes := nodeCache{tx: tx, peer: peer}
	for _, svc := range instances {
		if !hasTags(svc.ServiceTags, tags) {
			continue
		}
		node, err := nodes.get(svc)
		if err != nil {
			return 0, nil, err
		}
		out = append(out, svc.WithNode(node))
	}
	return idx, out, nil
}

// serviceInstances reads the stored instances of a service. Its scope is
// the service's index key, which every change to the service's instances,
// their nodes or their checks moves.
func serviceInstances(tx ReadTxn, ws memdb.WatchSet, service, peer string) (uint64, []*catalog.ServiceNode, error) {
	it, err := tx.Get(tableServices, indexService, peer, service)
	if err != nil {
		return 0, nil, fmt.Errorf("service lookup failed: %w", err)
	}
	idx, err := watchScope(tx, ws, serviceKey(peer, service), it.WatchCh())
	if err == nil {
		idx, err = orIndexOf(tx, idx, tableKey(tableServices, peer))
	}
	if err != nil {
		return 0, nil, err
	}
	var out []*catalog.ServiceNode
	for raw := it.Next(); raw != nil; raw = it.Next() {
		out = append(out, raw.(*catalog.ServiceNode))
	}
	return atLeastOne(idx), out, nil
}

func hasTags(have, want []string) bool {
outer:
	for _, w := range want {
		for _, h := range have {
			if strings.EqualFold(h, w) {
				continue outer
			}
		}
		return false
	}
	return true
}

// nodeCache looks each node up once per read; instances of a service are
// often spread over few nodes.
type nodeCache struct {
	tx    ReadTxn
	peer  string
	nodes map[string]*catalog.Node
}

func (c *nodeCache) get(svc *catalog.ServiceNode) (*catalog.Node, error) {
	if n, ok := c.nodes[svc.Node]; ok {
		return n, nil
	}
	n, err := getNode(c.tx, c.peer, svc.Node)
	if err != nil {
		return nil, err
	}
	if n == nil {
		return nil, fmt.Errorf("fsm: instance %q of service %q is on missing node %q", svc.ServiceID, svc.ServiceName, svc.Node)
	}
	if c.nodes == nil {
		c.nodes = map[string]*catalog.Node{}
	}
	c.nodes[svc.Node] = n
	return n, nil
}

func getNode(tx ReadTxn, peer, name string) (*catalog.Node, error) {
	raw, err := tx.First(tableNodes, indexID, peer, name)
	if err != nil || raw == nil {
		return nil, err
	}
	return raw.(*catalog.Node), nil
}

// collectChecks lists the checks an index lookup finds, so that callers may
// then modify the table.
func collectChecks(tx ReadTxn, index string, args ...any) ([]*catalog.HealthCheck, error) {
	it, err := tx.Get(tableChecks, index, args...)
	if err != nil {
		return nil, err
	}
	out := []*catalog.HealthCheck{}
	for raw := it.Next(); raw != nil; raw = it.Next() {
		out = append(out, raw.(*catalog.HealthCheck))
	}
	return out, nil
}
