package catalog

import (
	"errors"
	"fmt"
	"net"
	"strings"
)

// RegisterRequest is the body of PUT /v1/catalog/register and the payload
// of the Raft register command: a node, optionally one service instance on
// it, and checks on the node or the instance.
type RegisterRequest struct {
	Datacenter      string
	ID              string
	Node            string
	Address         string
	TaggedAddresses map[string]string
	NodeMeta        map[string]string
	Service         *NodeService
	// Check is the older single-check form; Normalize moves it into Checks.
	Check  *HealthCheck
	Checks []*HealthCheck
	// SkipNodeUpdate leaves an existing node's fields alone; a missing node
	// is still created.
	SkipNodeUpdate bool
	Locality       *Locality
	// PeerName marks imported data. Clients may not set it (Validate refuses
	// it); peering writes imported nodes with it through the same command.
	PeerName string `json:",omitempty"`
}

// DeregisterRequest is the body of PUT /v1/catalog/deregister. With
// ServiceID it removes that instance and its checks; else with CheckID that
// check; else the whole node with everything on it.
type DeregisterRequest struct {
	Datacenter string
	Node       string
	ServiceID  string
	CheckID    string
	// Address is obsolete and ignored; Consul still accepts it in the body.
	Address  string `json:",omitempty"`
	PeerName string `json:",omitempty"`
}

// Normalize applies Consul's defaults in place: the single Check joins
// Checks; an instance's ID defaults to its name and its peer to the
// request's; a check's node defaults to the request's node, its ID to its
// name, its status to critical and its type to the one its definition
// implies. Nil tag lists become empty so stored objects compare and encode
// the same however they were built. Normalize is idempotent.
func (r *RegisterRequest) Normalize() {
	if r.Check != nil {
		r.Checks = append([]*HealthCheck{r.Check}, r.Checks...)
		r.Check = nil
	}
	if s := r.Service; s != nil {
		if s.ID == "" {
			s.ID = s.Service
		}
		if s.Tags == nil {
			s.Tags = []string{}
		}
		if s.PeerName == "" {
			s.PeerName = r.PeerName
		}
	}
	for _, c := range r.Checks {
		if c.Node == "" {
			c.Node = r.Node
		}
		if c.CheckID == "" {
			c.CheckID = c.Name
		}
		if c.Status == "" {
			c.Status = HealthCritical
		}
		if c.Type == "" {
			c.Type = c.Definition.Type()
		}
		if c.ServiceTags == nil {
			c.ServiceTags = []string{}
		}
		if c.PeerName == "" {
			c.PeerName = r.PeerName
		}
	}
}

// ErrPeerNameNotAllowed refuses client registrations of imported data.
var ErrPeerNameNotAllowed = errors.New("cannot register requests with PeerName in them")

// Validate checks a client's register request in Consul's order; the first
// failure wins and its message is Consul's. It does not need Normalize to
// have run. Rules that depend on stored state (a check naming an instance
// registered earlier, node ID conflicts) are enforced when the command is
// applied.
func (r *RegisterRequest) Validate() error {
	if r.hasPeerName() {
		return ErrPeerNameNotAllowed
	}
	if r.Node == "" {
		return errors.New("Must provide node")
	}
	if r.ID != "" {
		if err := parseUUID(r.ID); err != nil {
			return fmt.Errorf("Bad node ID: %v", err)
		}
	}
	if r.Address == "" && !r.SkipNodeUpdate {
		return errors.New("Must provide address if SkipNodeUpdate is not set")
	}
	if r.Service != nil {
		if err := r.validateService(); err != nil {
			return err
		}
	}
	for _, c := range r.allChecks() {
		if err := r.validateCheck(c); err != nil {
			return err
		}
	}
	return nil
}

func (r *RegisterRequest) hasPeerName() bool {
	if r.PeerName != "" || (r.Service != nil && r.Service.PeerName != "") {
		return true
	}
	for _, c := range r.allChecks() {
		if c.PeerName != "" {
			return true
		}
	}
	return false
}

// allChecks lists Check and Checks, whether or not Normalize merged them.
func (r *RegisterRequest) allChecks() []*HealthCheck {
	if r.Check == nil {
		return r.Checks
	}
	return append([]*HealthCheck{r.Check}, r.Checks...)
}

func (r *RegisterRequest) validateService() error {
	s := r.Service
	if err := s.Validate(); err != nil {
		return err
	}
	if s.Service == "" {
		if s.ID != "" {
			return errors.New("Must provide service name (Service.Service) when service ID is provided")
		}
		return errors.New("Missing service name")
	}
	if isUnspecifiedIP(s.Address) {
		return errors.New("Invalid service address")
	}
	id := s.ID
	if id == "" {
		id = s.Service
	}
	if err := validateServiceMeta(s.Kind, s.Meta); err != nil {
		return fmt.Errorf("Invalid Service Meta for node %s and serviceID %s: %v", r.Node, id, err)
	}
	return nil
}

func (r *RegisterRequest) validateCheck(c *HealthCheck) error {
	id := c.CheckID
	if id == "" {
		id = c.Name
	}
	if id == "" {
		return errors.New("Missing check name")
	}
	// Checks of other nodes cannot ride along: the request is authorised
	// and applied as one node's registration.
	if c.Node != "" && !strings.EqualFold(c.Node, r.Node) {
		return fmt.Errorf("Node '%s' for check '%s' doesn't match register request node '%s'", c.Node, id, r.Node)
	}
	return nil
}

// Validate checks a client's deregister request.
func (r *DeregisterRequest) Validate() error {
	if r.Node == "" {
		return errors.New("Must provide node")
	}
	return nil
}

// isUnspecifiedIP reports whether addr is 0.0.0.0 or :: (optionally
// bracketed), which cannot be dialled and so is refused as a service
// address.
func isUnspecifiedIP(addr string) bool {
	ip := net.ParseIP(strings.TrimSuffix(strings.TrimPrefix(addr, "["), "]"))
	return ip != nil && ip.IsUnspecified()
}

// parseUUID accepts the 8-4-4-4-12 hex form Consul requires of node IDs.
func parseUUID(s string) error {
	if len(s) != 36 {
		return errors.New("uuid string is wrong length")
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return errors.New("uuid is improperly formatted")
			}
			continue
		}
		if !isHex(c) {
			return errors.New("uuid is improperly formatted")
		}
	}
	return nil
}

func isHex(c byte) bool {
	return ('0' <= c && c <= '9') || ('a' <= c && c <= 'f') || ('A' <= c && c <= 'F')
}
