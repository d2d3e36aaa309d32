package fsm

import (
	"fmt"
	"strings"

	"github.com/hashicorp/go-memdb"

	"github.com/switchyard/switchyard/catalog"
)

// Health reads: the checks tables and the health view of a service. The
// conventions of state_catalog.go apply.

// NodeChecks returns the checks of a node (its own and its instances').
func (s *Store) NodeChecks(ws memdb.WatchSet, node, peer string) (uint64, []*catalog.HealthCheck, error) {
	tx := s.db.Txn(false)
	defer tx.Abort()
	return NodeChecksTxn(tx, ws, node, peer)
}

// NodeChecksTxn is NodeChecks inside tx.
func NodeChecksTxn(tx ReadTxn, ws memdb.WatchSet, node, peer string) (uint64, []*catalog.HealthCheck, error) {
	return watchedChecks(tx, ws, nodeKey(peer, node), tableKey(tableNodes, peer), indexNode, peer, node)
}

// ServiceChecks returns the checks of every instance of a service.
func (s *Store) ServiceChecks(ws memdb.WatchSet, service, peer string) (uint64, []*catalog.HealthCheck, error) {
	tx := s.db.Txn(false)
	defer tx.Abort()
	return ServiceChecksTxn(tx, ws, service, peer)
}

// ServiceChecksTxn is ServiceChecks inside tx.
func ServiceChecksTxn(tx ReadTxn, ws memdb.WatchSet, service, peer string) (uint64, []*catalog.HealthCheck, error) {
	return watchedChecks(tx, ws, serviceKey(peer, service), tableKey(tableServices, peer), indexService, peer, service)
}

// ChecksInState returns the checks whose status is state, or every check
// for catalog.HealthAny. An unknown state simply matches nothing.
func (s *Store) ChecksInState(ws memdb.WatchSet, state, peer string) (uint64, []*catalog.HealthCheck, error) {
	tx := s.db.Txn(false)
	defer tx.Abort()
	return ChecksInStateTxn(tx, ws, state, peer)
}

// ChecksInStateTxn is ChecksInState inside tx.
func ChecksInStateTxn(tx ReadTxn, ws memdb.WatchSet, state, peer string) (uint64, []*catalog.HealthCheck, error) {
	index, args := indexStatus, []any{peer, state}
	if state == catalog.HealthAny {
		index, args = indexID+"_prefix", []any{peer}
	}
	checks := tableKey(tableChecks, peer)
	return watchedChecks(tx, ws, checks, checks, index, args...)
}

// watchedChecks runs a checks lookup watched through scopeKey (see
// watchScope); fallbackKey gives the index while scopeKey has no row.
func watchedChecks(tx ReadTxn, ws memdb.WatchSet, scopeKey, fallbackKey, lookup string, args ...any) (uint64, []*catalog.HealthCheck, error) {
	it, err := tx.Get(tableChecks, lookup, args...)
	if err != nil {
		return 0, nil, fmt.Errorf("checks lookup failed: %w", err)
	}
	idx, err := watchScope(tx, ws, scopeKey, it.WatchCh())
	if err == nil {
		idx, err = orIndexOf(tx, idx, fallbackKey)
	}
	if err != nil {
		return 0, nil, err
	}
	out := []*catalog.HealthCheck{}
	for raw := it.Next(); raw != nil; raw = it.Next() {
		out = append(out, raw.(*catalog.HealthCheck))
	}
	return atLeastOne(idx), out, nil
}

// CheckServiceNodes is the health view of a service: each instance with its
// node and the checks bearing on it, node checks first, each group in check
// ID order. It watches only the service's index key, so it wakes for this
// service alone (including node-level changes on its nodes).
func (s *Store) CheckServiceNodes(ws memdb.WatchSet, service, peer string) (uint64, []catalog.CheckServiceNode, error) {
	tx := s.db.Txn(false)
	defer tx.Abort()
	return CheckServiceNodesTxn(tx, ws, service, peer)
}

// CheckServiceNodesTxn is CheckServiceNodes inside tx.
func CheckServiceNodesTxn(tx ReadTxn, ws memdb.WatchSet, service, peer string) (uint64, []catalog.CheckServiceNode, error) {
	idx, instances, err := serviceInstances(tx, ws, service, peer)
	if err != nil {
		return 0, nil, err
	}
	out := make([]catalog.CheckServiceNode, 0, len(instances))
	nodes := nodeCache{tx: tx, peer: peer}
	nodeChecks := map[string][]*catalog.HealthCheck{}
	for _, svc := range instances {
		node, err := nodes.get(svc)
		if err != nil {
			return 0, nil, err
		}
		checks, ok := nodeChecks[svc.Node]
		if !ok {
			if checks, err = collectChecks(tx, indexNode, peer, svc.Node); err != nil {
				return 0, nil, err
			}
			nodeChecks[svc.Node] = checks
		}
		out = append(out, catalog.CheckServiceNode{
			Node:    node,
			Service: svc.ToNodeService(),
			Checks:  checksFor(checks, svc.ServiceID),
		})
	}
	return idx, out, nil
}

// checksFor picks from a node's checks the node checks, then those of the
// instance serviceID.
func checksFor(nodeChecks []*catalog.HealthCheck, serviceID string) catalog.HealthChecks {
	out := catalog.HealthChecks{}
	for _, c := range nodeChecks {
		if c.ServiceID == "" {
			out = append(out, c)
		}
	}
	for _, c := range nodeChecks {
		if c.ServiceID != "" && strings.EqualFold(c.ServiceID, serviceID) {
			out = append(out, c)
		}
	}
	return out
}
