package peering

import (
	"bytes"
	"encoding/json"
	"sort"
	"strings"

	"github.com/switchyard/switchyard/catalog"
	"github.com/switchyard/switchyard/configentry"
)

// Resource URLs and IDs of the stream (peering.md §4.1). The names are
// Consul's so logs and traces read the same; payloads are JSON.
const (
	URLExportedServiceList = "type.googleapis.com/hashicorp.consul.internal.peerstream.ExportedServiceList"
	URLExportedService     = "type.googleapis.com/hashicorp.consul.internal.peerstream.ExportedService"
	URLServerAddresses     = "type.googleapis.com/hashicorp.consul.internal.peering.PeeringServerAddresses"

	resourceIDServiceList = "exported-service-list"
	resourceIDServerAddrs = "server-addrs"
)

// knownURL reports whether a subscription or response URL is one this
// protocol version speaks.
func knownURL(u string) bool {
	return u == URLExportedServiceList || u == URLExportedService || u == URLServerAddresses
}

// ExportedServiceList is the payload of URLExportedServiceList.
type ExportedServiceList struct{ Services []string }

// ExportedService is the payload of URLExportedService: every current
// instance of one service. An empty list withdraws them all.
type ExportedService struct{ Nodes []catalog.CheckServiceNode }

// ServerAddresses is the payload of URLServerAddresses.
type ServerAddresses struct{ Addresses []string }

// consulService is never exported (peering.md §4.4).
const consulService = "consul"

// ExportedNames returns, sorted, the services the entry exports to peer (a
// local peering name). A "*" element expands to every name in
// catalogServices except the consul service and sidecar proxies;
// catalogServices is only consulted for a wildcard.
func ExportedNames(entry *configentry.ExportedServicesConfigEntry, peer string, catalogServices []string) []string {
	if entry == nil {
		return []string{}
	}
	set := map[string]bool{}
	for _, svc := range entry.Services {
		if !consumes(svc.Consumers, peer) {
			continue
		}
		if svc.Name != "*" {
			if svc.Name != consulService {
				set[svc.Name] = true
			}
			continue
		}
		for _, name := range catalogServices {
			if name != consulService && !strings.HasSuffix(name, "-sidecar-proxy") {
				set[name] = true
			}
		}
	}
	out := make([]string, 0, len(set))
	for n := range set {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

func consumes(consumers []configentry.ServiceConsumer, peer string) bool {
	for _, c := range consumers {
		if c.Peer != "" && strings.EqualFold(c.Peer, peer) {
			return true
		}
	}
	return false
}

// OverallCheckSuffix ends the ID of the one check each exported instance
// carries.
const OverallCheckSuffix = ":overall-check"

// BuildExportedService turns the local health view of a service into what
// a peer may see (peering.md §4.4): typical instances only, Raft indexes,
// Connect and Proxy blocks and virtual-IP addresses removed, and the node
// and instance checks folded into one check with the worst status. Output
// order is by node then service ID so equal states encode equally.
func BuildExportedService(nodes []catalog.CheckServiceNode) ExportedService {
	out := ExportedService{Nodes: []catalog.CheckServiceNode{}}
	for _, csn := range nodes {
		if csn.Service == nil || csn.Node == nil || csn.Service.Kind != catalog.ServiceKindTypical ||
			strings.HasSuffix(csn.Service.Service, "-sidecar-proxy") {
			continue
		}
		node := *csn.Node
		node.RaftIndex, node.PeerName = catalog.RaftIndex{}, ""
		svc := *csn.Service
		svc.RaftIndex, svc.PeerName = catalog.RaftIndex{}, ""
		svc.Proxy, svc.Connect = catalog.ConnectProxyConfig{}, catalog.ServiceConnect{}
		svc.TaggedAddresses = withoutVirtualIPs(svc.TaggedAddresses)
		out.Nodes = append(out.Nodes, catalog.CheckServiceNode{Node: &node, Service: &svc, Checks: overallCheck(&node, &svc, csn.Checks)})
	}
	sort.Slice(out.Nodes, func(i, j int) bool {
		a, b := out.Nodes[i], out.Nodes[j]
		if a.Node.Node != b.Node.Node {
			return a.Node.Node < b.Node.Node
		}
		return a.Service.ID < b.Service.ID
	})
	return out
}

func withoutVirtualIPs(in map[string]catalog.ServiceAddress) map[string]catalog.ServiceAddress {
	if len(in) == 0 {
		return nil
	}
	out := map[string]catalog.ServiceAddress{}
	for k, v := range in {
		if !strings.HasPrefix(k, "consul-virtual") {
			out[k] = v
		}
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

// overallCheck folds checks into the single synthetic check, or none when
// the instance has no checks at all.
func overallCheck(node *catalog.Node, svc *catalog.NodeService, checks catalog.HealthChecks) catalog.HealthChecks {
	if len(checks) == 0 {
		return catalog.HealthChecks{}
	}
	status := checks.AggregatedStatus()
	if status == catalog.HealthMaint || status == "" {
		// Maintenance is an aggregate, not a storable status; to a peer an
		// instance in maintenance is simply unusable.
		status = catalog.HealthCritical
	}
	return catalog.HealthChecks{{
		Node:        node.Node,
		CheckID:     svc.ID + OverallCheckSuffix,
		Name:        "overall-check",
		Status:      status,
		ServiceID:   svc.ID,
		ServiceName: svc.Service,
		ServiceTags: svc.Tags,
		Type:        "",
	}}
}

// ExportState is what one side has decided to send to the peer: the
// exported names, the encoded payload of each, and (acceptor only) its
// servers' addresses.
type ExportState struct {
	Services    []string
	Payloads    map[string][]byte
	ServerAddrs []string
}

// Resource is one Response to push.
type Resource struct {
	URL  string
	ID   string
	Body []byte
}

// PlanExport returns the Responses that bring a peer holding prev up to
// cur, restricted to the URLs the peer subscribed to. It sends only what
// changed (peering.md §4.4 deltas): a service whose payload differs, then
// the list when the set of names changed, then the server addresses. A
// withdrawn service needs no payload: the new list removes it on the
// importer.
func PlanExport(prev, cur ExportState, subscribed map[string]bool) []Resource {
	var out []Resource
	if subscribed[URLExportedService] {
		for _, name := range cur.Services {
			body := cur.Payloads[name]
			if old, ok := prev.Payloads[name]; ok && bytes.Equal(old, body) {
				continue
			}
			out = append(out, Resource{URL: URLExportedService, ID: name, Body: body})
		}
	}
	if subscribed[URLExportedServiceList] && (prev.Services == nil || !equalStrings(prev.Services, cur.Services)) {
		body, _ := json.Marshal(ExportedServiceList{Services: cur.Services})
		out = append(out, Resource{URL: URLExportedServiceList, ID: resourceIDServiceList, Body: body})
	}
	if subscribed[URLServerAddresses] && len(cur.ServerAddrs) > 0 && !equalStrings(prev.ServerAddrs, cur.ServerAddrs) {
		body, _ := json.Marshal(ServerAddresses{Addresses: cur.ServerAddrs})
		out = append(out, Resource{URL: URLServerAddresses, ID: resourceIDServerAddrs, Body: body})
	}
	return out
}

// Sent returns the state a peer holds after receiving plan on top of prev:
// cur for everything sent, prev for URLs the peer has not subscribed to,
// so a late subscription still gets everything.
func Sent(prev, cur ExportState, subscribed map[string]bool) ExportState {
	next := ExportState{Services: prev.Services, Payloads: map[string][]byte{}, ServerAddrs: prev.ServerAddrs}
	if subscribed[URLExportedService] {
		for _, name := range cur.Services {
			next.Payloads[name] = cur.Payloads[name]
		}
	}
	if subscribed[URLExportedServiceList] {
		next.Services = cur.Services
	}
	if subscribed[URLServerAddresses] && len(cur.ServerAddrs) > 0 {
		next.ServerAddrs = cur.ServerAddrs
	}
	return next
}

func equalStrings(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
