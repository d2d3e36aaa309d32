package configentry

// ServiceConfigEntry is a service-defaults entry: protocol and proxy defaults
// for one service.
type ServiceConfigEntry struct {
	Kind                      string
	Name                      string
	Protocol                  string
	Mode                      string                 `json:",omitempty"`
	TransparentProxy          TransparentProxyConfig `alias:"transparent_proxy"`
	MutualTLSMode             string                 `json:",omitempty" alias:"mutual_tls_mode"`
	MeshGateway               MeshGatewayConfig      `alias:"mesh_gateway"`
	Expose                    ExposeConfig
	ExternalSNI               string                 `json:",omitempty" alias:"external_sni"`
	UpstreamConfig            *UpstreamConfiguration `json:",omitempty" alias:"upstream_config"`
	Destination               *DestinationConfig     `json:",omitempty"`
	MaxInboundConnections     int                    `json:",omitempty" alias:"max_inbound_connections"`
	LocalConnectTimeoutMs     int                    `json:",omitempty" alias:"local_connect_timeout_ms"`
	LocalRequestTimeoutMs     int                    `json:",omitempty" alias:"local_request_timeout_ms"`
	BalanceInboundConnections string                 `json:",omitempty" alias:"balance_inbound_connections"`
	// RateLimits is an Enterprise feature; it is decoded only so that its
	// presence can be refused with a clear message.
	RateLimits      map[string]any    `json:",omitempty" alias:"rate_limits"`
	EnvoyExtensions []EnvoyExtension  `json:",omitempty" alias:"envoy_extensions"`
	Meta            map[string]string `json:",omitempty"`
	Hash            uint64            `json:",omitempty"`
	RaftIndex
}

// UpstreamConfiguration holds per-upstream overrides and defaults.
type UpstreamConfiguration struct {
	Overrides []*UpstreamConfig `json:",omitempty"`
	Defaults  *UpstreamConfig   `json:",omitempty"`
}

// UpstreamConfig tunes how a service's proxy talks to one upstream.
type UpstreamConfig struct {
	Name                       string              `json:",omitempty"`
	Namespace                  string              `json:",omitempty"`
	Partition                  string              `json:",omitempty"`
	Peer                       string              `json:",omitempty"`
	EnvoyListenerJSON          string              `json:",omitempty" alias:"envoy_listener_json"`
	EnvoyClusterJSON           string              `json:",omitempty" alias:"envoy_cluster_json"`
	Protocol                   string              `json:",omitempty"`
	ConnectTimeoutMs           int                 `json:",omitempty" alias:"connect_timeout_ms"`
	Limits                     *UpstreamLimits     `json:",omitempty"`
	PassiveHealthCheck         *PassiveHealthCheck `json:",omitempty" alias:"passive_health_check"`
	MeshGateway                MeshGatewayConfig   `json:",omitempty" alias:"mesh_gateway"`
	BalanceOutboundConnections string              `json:",omitempty" alias:"balance_outbound_connections"`
}

// UpstreamLimits caps connections to an upstream.
type UpstreamLimits struct {
	MaxConnections        *int `json:",omitempty" alias:"max_connections"`
	MaxPendingRequests    *int `json:",omitempty" alias:"max_pending_requests"`
	MaxConcurrentRequests *int `json:",omitempty" alias:"max_concurrent_requests"`
}

// PassiveHealthCheck configures outlier detection. Durations are encoded as
// integer nanoseconds, as Consul does.
type PassiveHealthCheck struct {
	Interval                Duration  `json:",omitempty"`
	MaxFailures             uint32    `json:",omitempty" alias:"max_failures"`
	EnforcingConsecutive5xx *uint32   `json:",omitempty" alias:"enforcing_consecutive_5xx"`
	MaxEjectionPercent      *uint32   `json:",omitempty" alias:"max_ejection_percent"`
	BaseEjectionTime        *Duration `json:",omitempty" alias:"base_ejection_time"`
}

// DestinationConfig makes a service a terminating-gateway destination.
type DestinationConfig struct {
	Addresses []string `json:",omitempty"`
	Port      int      `json:",omitempty"`
}

func (e *ServiceConfigEntry) GetKind() string            { return ServiceDefaults }
func (e *ServiceConfigEntry) GetName() string            { return e.Name }
func (e *ServiceConfigEntry) GetMeta() map[string]string { return e.Meta }
