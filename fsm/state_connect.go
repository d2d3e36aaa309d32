package fsm

import (
	"fmt"
	"sort"
	"strings"

	"github.com/hashicorp/go-memdb"

	"github.com/switchyard/switchyard/catalog"
)

// ConnectServiceNodes is the health view behind /v1/health/connect/:name:
// the instances that accept Connect traffic for service, which are the
// connect-proxy instances whose destination is service and the
// Connect-native instances of service itself. Each comes with its node and
// checks, as in CheckServiceNodes.
func (s *Store) ConnectServiceNodes(ws memdb.WatchSet, service, peer string) (uint64, []catalog.CheckServiceNode, error) {
	tx := s.db.Txn(false)
	defer tx.Abort()
	return ConnectServiceNodesTxn(tx, ws, service, peer)
}

// ConnectServiceNodesTxn is ConnectServiceNodes inside tx.
//
// Proxies are registered under names of their own, so finding them means
// scanning every instance of peer; that scan watches the services table,
// which any instance change anywhere moves. The watch is therefore coarser
// than a single service's: such a reader wakes (and re-reads) more often
// than strictly needed, but never misses a change. The health of the
// matching instances is then read per service name, whose keys cover their
// checks and nodes.
func ConnectServiceNodesTxn(tx ReadTxn, ws memdb.WatchSet, service, peer string) (uint64, []catalog.CheckServiceNode, error) {
	it, err := tx.Get(tableServices, indexID+"_prefix", peer)
	if err != nil {
		return 0, nil, fmt.Errorf("services lookup failed: %w", err)
	}
	idx, err := watchScope(tx, ws, tableKey(tableServices, peer), it.WatchCh())
	if err != nil {
		return 0, nil, err
	}
	names := map[string]struct{}{}
	for raw := it.Next(); raw != nil; raw = it.Next() {
		svc := raw.(*catalog.ServiceNode)
		if servesConnect(svc.ServiceKind, svc.ServiceProxy.DestinationServiceName, svc.ServiceConnect.Native, svc.ServiceName, service) {
			names[svc.ServiceName] = struct{}{}
		}
	}
	sorted := make([]string, 0, len(names))
	for n := range names {
		sorted = append(sorted, n)
	}
	sort.Strings(sorted)
	out := []catalog.CheckServiceNode{}
	for _, name := range sorted {
		i, nodes, err := CheckServiceNodesTxn(tx, ws, name, peer)
		if err != nil {
			return 0, nil, err
		}
		idx = max(idx, i)
		for _, n := range nodes {
			s := n.Service
			if servesConnect(s.Kind, s.Proxy.DestinationServiceName, s.Connect.Native, s.Service, service) {
				out = append(out, n)
			}
		}
	}
	return atLeastOne(idx), out, nil
}

// servesConnect reports whether an instance (described by its kind, proxy
// destination, native flag and name) accepts Connect traffic for service.
// Names compare case-insensitively, like every catalog name.
func servesConnect(kind catalog.ServiceKind, destination string, native bool, name, service string) bool {
	if kind == catalog.ServiceKindConnectProxy {
		return strings.EqualFold(destination, service)
	}
	return native && strings.EqualFold(name, service)
}
