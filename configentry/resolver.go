package configentry

// ServiceResolverConfigEntry is a service-resolver entry: subsets, redirect,
// failover, timeouts and load balancing for one service.
// ConnectTimeout and RequestTimeout encode as duration strings (see json.go).
type ServiceResolverConfigEntry struct {
	Kind                 string
	Name                 string
	DefaultSubset        string                               `json:",omitempty" alias:"default_subset"`
	Subsets              map[string]ServiceResolverSubset     `json:",omitempty"`
	Redirect             *ServiceResolverRedirect             `json:",omitempty"`
	Failover             map[string]ServiceResolverFailover   `json:",omitempty"`
	ConnectTimeout       Duration                             `json:",omitempty" alias:"connect_timeout"`
	RequestTimeout       Duration                             `json:",omitempty" alias:"request_timeout"`
	PrioritizeByLocality *ServiceResolverPrioritizeByLocality `json:",omitempty" alias:"prioritize_by_locality"`
	LoadBalancer         *LoadBalancer                        `json:",omitempty" alias:"load_balancer"`
	Meta                 map[string]string                    `json:",omitempty"`
	Hash                 uint64                               `json:",omitempty"`
	RaftIndex
}

// ServiceResolverSubset selects instances by a bexpr filter.
type ServiceResolverSubset struct {
	Filter      string `json:",omitempty"`
	OnlyPassing bool   `json:",omitempty" alias:"only_passing"`
}

// ServiceResolverRedirect sends all resolution of a service elsewhere.
type ServiceResolverRedirect struct {
	Service       string `json:",omitempty"`
	ServiceSubset string `json:",omitempty" alias:"service_subset"`
	Namespace     string `json:",omitempty"`
	Partition     string `json:",omitempty"`
	Datacenter    string `json:",omitempty"`
	Peer          string `json:",omitempty"`
	SamenessGroup string `json:",omitempty"`
}

// IsZero reports whether no field of the redirect is set.
func (r *ServiceResolverRedirect) IsZero() bool {
	return r == nil || *r == ServiceResolverRedirect{}
}

// ServiceResolverFailover lists where to go when a subset has no healthy
// instances.
type ServiceResolverFailover struct {
	Service       string                          `json:",omitempty"`
	ServiceSubset string                          `json:",omitempty" alias:"service_subset"`
	Namespace     string                          `json:",omitempty"`
	Datacenters   []string                        `json:",omitempty"`
	Targets       []ServiceResolverFailoverTarget `json:",omitempty"`
	Policy        *ServiceResolverFailoverPolicy  `json:",omitempty"`
	SamenessGroup string                          `json:",omitempty"`
}

// ServiceResolverFailoverTarget is one failover destination.
type ServiceResolverFailoverTarget struct {
	Service       string `json:",omitempty"`
	ServiceSubset string `json:",omitempty" alias:"service_subset"`
	Partition     string `json:",omitempty"`
	Namespace     string `json:",omitempty"`
	Datacenter    string `json:",omitempty"`
	Peer          string `json:",omitempty"`
}

// ServiceResolverFailoverPolicy orders failover targets.
type ServiceResolverFailoverPolicy struct {
	Mode    string   `json:",omitempty"`
	Regions []string `json:",omitempty"`
}

// ServiceResolverPrioritizeByLocality is Enterprise-only; decoded to refuse it.
type ServiceResolverPrioritizeByLocality struct {
	Mode string `json:",omitempty"`
}

// LoadBalancer picks the load-balancing policy for a service's instances.
type LoadBalancer struct {
	Policy             string              `json:",omitempty"`
	RingHashConfig     *RingHashConfig     `json:",omitempty" alias:"ring_hash_config"`
	LeastRequestConfig *LeastRequestConfig `json:",omitempty" alias:"least_request_config"`
	HashPolicies       []HashPolicy        `json:",omitempty" alias:"hash_policies"`
}

// RingHashConfig sizes the ring of the ring_hash policy.
type RingHashConfig struct {
	MinimumRingSize uint64 `json:",omitempty" alias:"minimum_ring_size"`
	MaximumRingSize uint64 `json:",omitempty" alias:"maximum_ring_size"`
}

// LeastRequestConfig tunes the least_request policy.
type LeastRequestConfig struct {
	ChoiceCount uint32 `json:",omitempty" alias:"choice_count"`
}

// HashPolicy says what a hashing load balancer hashes on.
type HashPolicy struct {
	Field        string        `json:",omitempty"`
	FieldValue   string        `json:",omitempty" alias:"field_value"`
	CookieConfig *CookieConfig `json:",omitempty" alias:"cookie_config"`
	SourceIP     bool          `json:",omitempty" alias:"source_ip"`
	Terminal     bool          `json:",omitempty"`
}

// CookieConfig configures hashing on a cookie. TTL encodes as nanoseconds.
type CookieConfig struct {
	Session bool     `json:",omitempty"`
	TTL     Duration `json:",omitempty"`
	Path    string   `json:",omitempty"`
}

func (e *ServiceResolverConfigEntry) GetKind() string            { return ServiceResolver }
func (e *ServiceResolverConfigEntry) GetName() string            { return e.Name }
func (e *ServiceResolverConfigEntry) GetMeta() map[string]string { return e.Meta }

// IsDefault reports whether the resolver changes nothing about resolution
// (spec config-entries.md §3.5). Meta does not count.
func (e *ServiceResolverConfigEntry) IsDefault() bool {
	return e.DefaultSubset == "" && len(e.Subsets) == 0 && e.Redirect == nil &&
		len(e.Failover) == 0 && e.ConnectTimeout == 0 && e.RequestTimeout == 0 &&
		e.LoadBalancer == nil && e.PrioritizeByLocality == nil
}
