package catalog

import (
	"encoding/json"
	"reflect"
	"strings"
)

// Check statuses. A check's Status is passing, warning or critical;
// maintenance only appears as an aggregate (see AggregatedStatus) and any
// is the wildcard of GET /v1/health/state/:state.
const (
	HealthPassing  = "passing"
	HealthWarning  = "warning"
	HealthCritical = "critical"
	HealthMaint    = "maintenance"
	HealthAny      = "any"
)

// Well-known check IDs and texts.
const (
	// NodeMaintCheckID is the check an agent registers to put a whole node
	// into maintenance.
	NodeMaintCheckID = "_node_maintenance"
	// ServiceMaintPrefix starts the ID of a check that puts one service
	// instance into maintenance.
	ServiceMaintPrefix = "_service_maintenance:"

	// SerfCheckID and friends describe the check the leader keeps on every
	// LAN gossip member, reflecting its gossip health.
	SerfCheckID           = "serfHealth"
	SerfCheckName         = "Serf Health Status"
	SerfCheckAliveOutput  = "Agent alive and reachable"
	SerfCheckFailedOutput = "Agent not live or unreachable"
)

// ValidStatus reports whether s may be stored as a check's status.
func ValidStatus(s string) bool {
	return s == HealthPassing || s == HealthWarning || s == HealthCritical
}

// HealthCheck is one check on a node, or on a service instance when
// ServiceID is set.
type HealthCheck struct {
	Node        string
	CheckID     string
	Name        string
	Status      string
	Notes       string
	Output      string
	ServiceID   string
	ServiceName string
	ServiceTags []string
	Type        string
	Interval    string
	Timeout     string
	ExposedPort int
	PeerName    string                `json:",omitempty"`
	Definition  HealthCheckDefinition `bexpr:"-"`

	RaftIndex `bexpr:"-"`
}

// MarshalJSON writes ServiceTags as [] rather than null, as Consul's health
// endpoints do.
func (c HealthCheck) MarshalJSON() ([]byte, error) {
	type plain HealthCheck
	if c.ServiceTags == nil {
		c.ServiceTags = []string{}
	}
	return json.Marshal(plain(c))
}

// IsSame reports whether two checks are equal, ignoring Raft indexes.
func (c *HealthCheck) IsSame(o *HealthCheck) bool {
	a, b := *c, *o
	a.RaftIndex, b.RaftIndex = RaftIndex{}, RaftIndex{}
	return reflect.DeepEqual(a, b)
}

// IsMaintenance reports whether c is a node or service maintenance check.
func (c *HealthCheck) IsMaintenance() bool {
	return c.CheckID == NodeMaintCheckID || strings.HasPrefix(c.CheckID, ServiceMaintPrefix)
}

// HealthChecks is a list of checks.
type HealthChecks []*HealthCheck

// AggregatedStatus folds checks into one status the way Consul's client
// does: maintenance if any check is a maintenance check, otherwise the worst
// of critical, warning and passing; passing for no checks; "" when a check
// has a status outside the three known ones.
func (c HealthChecks) AggregatedStatus() string {
	var warning, critical, maint bool
	for _, chk := range c {
		if chk.IsMaintenance() {
			maint = true
			continue
		}
		switch chk.Status {
		case HealthPassing:
		case HealthWarning:
			warning = true
		case HealthCritical:
			critical = true
		default:
			return ""
		}
	}
	switch {
	case maint:
		return HealthMaint
	case critical:
		return HealthCritical
	case warning:
		return HealthWarning
	default:
		return HealthPassing
	}
}

// HealthCheckDefinition is how a check is run. Interval, Timeout and
// DeregisterCriticalServiceAfter encode as Go duration strings ("10s") and
// are left out when zero; TTL encodes as integer nanoseconds, as in Consul.
// Unknown keys are ignored on input, as in Consul: the consul/api client
// sends fields this type lacks.
type HealthCheckDefinition struct {
	HTTP                           string              `json:",omitempty"`
	TLSServerName                  string              `json:",omitempty"`
	TLSSkipVerify                  bool                `json:",omitempty"`
	Header                         map[string][]string `json:",omitempty"`
	Method                         string              `json:",omitempty"`
	Body                           string              `json:",omitempty"`
	DisableRedirects               bool                `json:",omitempty"`
	TCP                            string              `json:",omitempty"`
	TCPUseTLS                      bool                `json:",omitempty"`
	UDP                            string              `json:",omitempty"`
	H2PING                         string              `json:",omitempty"`
	H2PingUseTLS                   bool                `json:",omitempty"`
	OSService                      string              `json:",omitempty"`
	Interval                       Duration            `json:",omitempty"`
	OutputMaxSize                  uint                `json:",omitempty"`
	Timeout                        Duration            `json:",omitempty"`
	DeregisterCriticalServiceAfter Duration            `json:",omitempty"`
	ScriptArgs                     []string            `json:",omitempty"`
	DockerContainerID              string              `json:",omitempty"`
	Shell                          string              `json:",omitempty"`
	GRPC                           string              `json:",omitempty"`
	GRPCUseTLS                     bool                `json:",omitempty"`
	AliasNode                      string              `json:",omitempty"`
	AliasService                   string              `json:",omitempty"`
	TTL                            Nanoseconds         `json:",omitempty"`
}

// Type derives the check type from its definition, with Consul's precedence,
// for checks registered in the catalog without one; "" when nothing matches.
func (d *HealthCheckDefinition) Type() string {
	periodic := d.Interval > 0
	switch {
	case d.GRPC != "" && periodic:
		return "grpc"
	case d.HTTP != "" && periodic:
		return "http"
	case d.TTL > 0:
		return "ttl"
	case d.TCP != "" && periodic:
		return "tcp"
	case d.UDP != "" && periodic:
		return "udp"
	case d.AliasNode != "" || d.AliasService != "":
		return "alias"
	case len(d.ScriptArgs) > 0 && d.DockerContainerID != "":
		return "docker"
	case len(d.ScriptArgs) > 0:
		return "script"
	case d.H2PING != "" && periodic:
		return "h2ping"
	case d.OSService != "" && periodic:
		return "os_service"
	}
	return ""
}

// CheckServiceNode is one element of GET /v1/health/service/:name: an
// instance, its node and every check that bears on it (the node's own
// checks first, then the instance's).
type CheckServiceNode struct {
	Node    *Node
	Service *NodeService
	Checks  HealthChecks
}

// MarshalJSON writes Checks as [] rather than null.
func (c CheckServiceNode) MarshalJSON() ([]byte, error) {
	type plain CheckServiceNode
	if c.Checks == nil {
		c.Checks = HealthChecks{}
	}
	return json.Marshal(plain(c))
}

// FilterPassing keeps the instances whose every check is passing, which is
// what ?passing asks for: a warning counts as failing. It returns a new
// slice and leaves nodes untouched.
func FilterPassing(nodes []CheckServiceNode) []CheckServiceNode {
	out := make([]CheckServiceNode, 0, len(nodes))
outer:
	for _, n := range nodes {
		for _, c := range n.Checks {
			if c.Status != HealthPassing {
				continue outer
			}
		}
		out = append(out, n)
	}
	return out
}
