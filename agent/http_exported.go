package agent

import (
	"net/http"

	"github.com/hashicorp/go-memdb"

	"github.com/switchyard/switchyard/peering"
)

// resolvedExportView is one element of GET /v1/exported-services, field
// for field consul/api's ResolvedExportedService in CE: no Partition or
// Namespace, and Consumers without Partitions.
type resolvedExportView struct {
	Service   string
	Consumers resolvedConsumersView
}

type resolvedConsumersView struct {
	Peers []string `json:",omitempty"`
}

// GET /v1/exported-services (http-api.md §10): the exported-services entry
// resolved by the same evaluation the peering streams use, so what this
// shows is what peers are sent. Sorted by service name; [] without an
// entry.
func (a *Agent) exportedServices(w http.ResponseWriter, r *http.Request, _ string, qo queryOptions) (queryFunc, error) {
	return func(ws memdb.WatchSet, s *stateStore) (uint64, any, error) {
		idx, list, err := peering.ResolvedExports(s, ws)
		if err != nil {
			return 0, nil, err
		}
		out := make([]resolvedExportView, 0, len(list))
		for _, e := range list {
			out = append(out, resolvedExportView{Service: e.Service, Consumers: resolvedConsumersView{Peers: e.Peers}})
		}
		return idx, out, nil
	}, nil
}
