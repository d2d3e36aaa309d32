package catalog

// The Connect settings of a service instance. They are stored and returned
// as registered; Switchyard does not run proxies, but clients register and
// read them through the catalog, so the shapes must round-trip.

// MeshGatewayConfig picks how traffic uses mesh gateways.
type MeshGatewayConfig struct {
	Mode string `json:",omitempty"`
}

// TransparentProxyConfig holds transparent-proxy settings of a proxy.
type TransparentProxyConfig struct {
	OutboundListenerPort int  `json:",omitempty"`
	DialedDirectly       bool `json:",omitempty"`
}

// AccessLogsConfig configures a proxy's access logs.
type AccessLogsConfig struct {
	Enabled             bool   `json:",omitempty"`
	DisableListenerLogs bool   `json:",omitempty"`
	Type                string `json:",omitempty"`
	Path                string `json:",omitempty"`
	JSONFormat          string `json:",omitempty"`
	TextFormat          string `json:",omitempty"`
}

// ExposeConfig lists HTTP paths a proxy exposes without mTLS.
type ExposeConfig struct {
	Checks bool         `json:",omitempty"`
	Paths  []ExposePath `json:",omitempty"`
}

// ExposePath is one exposed path.
type ExposePath struct {
	ListenerPort    int    `json:",omitempty"`
	Path            string `json:",omitempty"`
	LocalPathPort   int    `json:",omitempty"`
	Protocol        string `json:",omitempty"`
	ParsedFromCheck bool   `json:",omitempty"`
}

// EnvoyExtension is a named Envoy extension with free-form arguments.
type EnvoyExtension struct {
	Name          string
	Required      bool
	Arguments     map[string]any `bexpr:"-"`
	ConsulVersion string
	EnvoyVersion  string
}

// Upstream is one service (or prepared query) a proxy talks to.
type Upstream struct {
	DestinationType      string
	DestinationNamespace string `json:",omitempty"`
	DestinationPartition string `json:",omitempty"`
	DestinationPeer      string `json:",omitempty"`
	DestinationName      string
	Datacenter           string
	LocalBindAddress     string            `json:",omitempty"`
	LocalBindPort        int               `json:",omitempty"`
	LocalBindSocketPath  string            `json:",omitempty"`
	LocalBindSocketMode  string            `json:",omitempty"`
	Config               map[string]any    `json:",omitempty" bexpr:"-"`
	MeshGateway          MeshGatewayConfig `json:",omitempty"`
	CentrallyConfigured  bool              `json:",omitempty" bexpr:"-"`
}

// ConnectProxyConfig is the proxy part of a connect-proxy or gateway
// registration.
type ConnectProxyConfig struct {
	EnvoyExtensions        []EnvoyExtension `json:",omitempty"`
	DestinationServiceName string           `json:",omitempty"`
	DestinationServiceID   string           `json:",omitempty"`
	LocalServiceAddress    string           `json:",omitempty"`
	LocalServicePort       int              `json:",omitempty"`
	LocalServiceSocketPath string           `json:",omitempty"`
	// Mode has no omitempty: Consul always writes it, even empty.
	Mode        string
	Config      map[string]any `json:",omitempty" bexpr:"-"`
	Upstreams   []Upstream     `json:",omitempty"`
	MeshGateway MeshGatewayConfig
	Expose      ExposeConfig
	// Consul leaves these two out while they are zero; MeshGateway and
	// Expose are always written ({}).
	TransparentProxy TransparentProxyConfig `json:",omitzero"`
	AccessLogs       AccessLogsConfig       `json:",omitzero"`
}

// PeeringServiceMeta is what an exporting cluster tells an importer about a
// service so the importer's proxies can reach it.
type PeeringServiceMeta struct {
	SNI      []string `json:",omitempty"`
	SpiffeID []string `json:",omitempty"`
	Protocol string   `json:",omitempty"`
}

// ServiceConnect holds an instance's Connect settings. The agent-only
// SidecarService shorthand is not part of the catalog.
type ServiceConnect struct {
	Native   bool                `json:",omitempty"`
	PeerMeta *PeeringServiceMeta `json:",omitempty" bexpr:"-"`
}
