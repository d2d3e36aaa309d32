package peering

import (
	"bytes"
	"encoding/json"
	"fmt"
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
	URLTrustBundle         = "type.googleapis.com/hashicorp.consul.internal.peering.PeeringTrustBundle"

	resourceIDServiceList = "exported-service-list"
	resourceIDServerAddrs = "server-addrs"
	resourceIDTrustBundle = "roots"
)

// knownURL reports whether a subscription or response URL is one this
// protocol version speaks.
func knownURL(u string) bool {
	return u == URLExportedServiceList || u == URLExportedService || u == URLServerAddresses || u == URLTrustBundle
}

// ExportedServiceList is the payload of URLExportedServiceList.
type ExportedServiceList struct{ Services []string }

// ExportedService is the payload of URLExportedService: every current
// instance of one service. An empty list withdraws them all.
type ExportedService struct{ Nodes []catalog.CheckServiceNode }

// ServerAddresses is the payload of URLServerAddresses.
type ServerAddresses struct{ Addresses []string }

// TrustBundle is the payload of URLTrustBundle, with the field names of
// Consul's PeeringTrustBundle: the sender's trust domain and the PEM roots
// of its peering CA. PeerName is the sender's name for the receiver;
// the receiver files the bundle under its own record instead.
type TrustBundle struct {
	TrustDomain       string
	PeerName          string
	Partition         string `json:",omitempty"`
	RootPEMs          []string
	ExportedPartition string `json:",omitempty"`
}

// Validate checks a received bundle before it is stored: the domain is
// required and every root must be a PEM certificate.
func (b *TrustBundle) Validate() error {
	if b.TrustDomain == "" {
		return fmt.Errorf("PeeringTrustBundle.TrustDomain: required")
	}
	if len(b.RootPEMs) == 0 {
		return fmt.Errorf("PeeringTrustBundle.RootPEMs: at least one root certificate is required")
	}
	for i, r := range b.RootPEMs {
		if err := parseCertPEM(r); err != nil {
			return fmt.Errorf("PeeringTrustBundle.RootPEMs[%d] %v", i, err)
		}
	}
	return nil
}

// consulService is never exported (peering.md §4.4).
const consulService = "consul"

// ResolvedExport is one service the exported-services entry exports, with
// every peer allowed to import it.
type ResolvedExport struct {
	Service string
	// Peers are the consumer peer names, lower-cased (peering names are
	// lower-case and looked up case-insensitively), deduplicated and
	// sorted. Empty when the service is exported only to consumers CE
	// has no use for (partitions).
	Peers []string
}

// ResolveExports is the one evaluation of an exported-services entry
// (peering.md §4.4, http-api.md §10): the services it exports, sorted by
// name, each with its merged consumer peers. A "*" element expands to
// every name in typicalServices; the consul service and sidecar proxies
// are never exported. typicalServices is only consulted for a wildcard and
// should hold the local catalog's typical (non-proxy, non-gateway)
// service names.
func ResolveExports(entry *configentry.ExportedServicesConfigEntry, typicalServices []string) []ResolvedExport {
	if entry == nil {
		return []ResolvedExport{}
	}
	peers := map[string]map[string]bool{}
	add := func(name string, consumers []configentry.ServiceConsumer) {
		if name == consulService || strings.HasSuffix(name, "-sidecar-proxy") {
			return
		}
		set := peers[name]
		if set == nil {
			set = map[string]bool{}
			peers[name] = set
		}
		for _, c := range consumers {
			if c.Peer != "" {
				set[strings.ToLower(c.Peer)] = true
			}
		}
	}
	for _, svc := range entry.Services {
		if svc.Name != "*" {
			add(svc.Name, svc.Consumers)
			continue
		}
		for _, name := range typicalServices {
			add(name, svc.Consumers)
		}
	}
	out := make([]ResolvedExport, 0, len(peers))
	for name, set := range peers {
		r := ResolvedExport{Service: name, Peers: make([]string, 0, len(set))}
		for p := range set {
			r.Peers = append(r.Peers, p)
		}
		sort.Strings(r.Peers)
		out = append(out, r)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Service < out[j].Service })
	return out
}

// ExportedNames returns, sorted, the services the entry exports to peer (a
// local peering name, compared case-insensitively): ResolveExports
// narrowed to one consumer.
func ExportedNames(entry *configentry.ExportedServicesConfigEntry, peer string, typicalServices []string) []string {
	out := []string{}
	peer = strings.ToLower(peer)
	for _, r := range ResolveExports(entry, typicalServices) {
		i := sort.SearchStrings(r.Peers, peer)
		if i < len(r.Peers) && r.Peers[i] == peer {
			out = append(out, r.Service)
		}
	}
	return out
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
// exported names, the encoded payload of each, (acceptor only) its
// servers' addresses, and its encoded trust bundle (nil until the local
// CA exists).
type ExportState struct {
	Services    []string
	Payloads    map[string][]byte
	ServerAddrs []string
	TrustBundle []byte
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
// importer. The trust bundle goes last and only when it changed.
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
	if subscribed[URLTrustBundle] && len(cur.TrustBundle) > 0 && !bytes.Equal(prev.TrustBundle, cur.TrustBundle) {
		out = append(out, Resource{URL: URLTrustBundle, ID: resourceIDTrustBundle, Body: cur.TrustBundle})
	}
	return out
}

// Sent returns the state a peer holds after receiving plan on top of prev:
// cur for everything sent, prev for URLs the peer has not subscribed to,
// so a late subscription still gets everything.
func Sent(prev, cur ExportState, subscribed map[string]bool) ExportState {
	next := ExportState{Services: prev.Services, Payloads: map[string][]byte{}, ServerAddrs: prev.ServerAddrs, TrustBundle: prev.TrustBundle}
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
	if subscribed[URLTrustBundle] && len(cur.TrustBundle) > 0 {
		next.TrustBundle = cur.TrustBundle
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
