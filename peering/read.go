package peering

import (
	"strings"

	"github.com/hashicorp/go-memdb"

	"github.com/switchyard/switchyard/catalog"
	"github.com/switchyard/switchyard/configentry"
	"github.com/switchyard/switchyard/fsm"
)

// Reads of the local state that both the stream (what to send a peer) and
// the HTTP API (GET /v1/exported-services) need, so the two can never
// disagree on what is exported.

// exportsEntryName is the one exported-services entry of CE's single
// partition.
const exportsEntryName = "default"

// readExports reads the exported-services entry and, when it has a
// wildcard, the typical services of the local catalog, adding what it read
// to ws. The index is the highest of the entry's and (for a wildcard) the
// local services', as http-api.md §10 asks.
func readExports(store *fsm.Store, ws memdb.WatchSet) (uint64, *configentry.ExportedServicesConfigEntry, []string, error) {
	idx, raw, err := store.ConfigEntry(ws, configentry.ExportedServices, exportsEntryName)
	if err != nil {
		return 0, nil, nil, err
	}
	entry, _ := raw.(*configentry.ExportedServicesConfigEntry)
	if entry == nil || !hasWildcard(entry) {
		return idx, entry, nil, nil
	}
	svcIdx, names, err := typicalServiceNames(store, ws)
	if err != nil {
		return 0, nil, nil, err
	}
	return max(idx, svcIdx), entry, names, nil
}

// ResolvedExports is ResolveExports over the local state: what GET
// /v1/exported-services shows, and its index.
func ResolvedExports(store *fsm.Store, ws memdb.WatchSet) (uint64, []ResolvedExport, error) {
	idx, entry, names, err := readExports(store, ws)
	if err != nil {
		return 0, nil, err
	}
	return idx, ResolveExports(entry, names), nil
}

func hasWildcard(e *configentry.ExportedServicesConfigEntry) bool {
	for _, s := range e.Services {
		if s.Name == "*" {
			return true
		}
	}
	return false
}

// typicalServiceNames lists the local services a wildcard export covers:
// those with at least one typical instance (not a proxy or gateway), minus
// the consul service. Only the service list is watched: registering an
// instance of another kind under a name rewrites the services table too,
// whereas watching every instance would wake readers on each health check.
func typicalServiceNames(store *fsm.Store, ws memdb.WatchSet) (uint64, []string, error) {
	tx := store.ReadTxn()
	defer tx.Abort()
	idx, svcs, err := fsm.ServicesTxn(tx, ws, "")
	if err != nil {
		return 0, nil, err
	}
	var out []string
	for name := range svcs {
		if name == consulService || strings.HasSuffix(name, "-sidecar-proxy") {
			continue
		}
		_, instances, err := fsm.ServiceNodesTxn(tx, nil, name, "")
		if err != nil {
			return 0, nil, err
		}
		for _, sn := range instances {
			if sn.ServiceKind == catalog.ServiceKindTypical {
				out = append(out, name)
				break
			}
		}
	}
	return idx, out, nil
}
