package configentry

// ProxyConfigEntry is the proxy-defaults entry (always named "global").
type ProxyConfigEntry struct {
	Kind                 string
	Name                 string
	Config               map[string]any
	Mode                 string                 `json:",omitempty"`
	TransparentProxy     TransparentProxyConfig `alias:"transparent_proxy"`
	MutualTLSMode        string                 `json:",omitempty" alias:"mutual_tls_mode"`
	MeshGateway          MeshGatewayConfig      `alias:"mesh_gateway"`
	Expose               ExposeConfig
	AccessLogs           AccessLogsConfig                     `alias:"access_logs"`
	EnvoyExtensions      []EnvoyExtension                     `json:",omitempty" alias:"envoy_extensions"`
	FailoverPolicy       *ServiceResolverFailoverPolicy       `json:",omitempty" alias:"failover_policy"`
	PrioritizeByLocality *ServiceResolverPrioritizeByLocality `json:",omitempty" alias:"prioritize_by_locality"`
	Meta                 map[string]string                    `json:",omitempty"`
	Hash                 uint64                               `json:",omitempty"`
	// Protocol is derived from Config["protocol"] by Normalize and is never
	// encoded; a "Protocol" key in a request body is accepted and ignored.
	Protocol string `json:"-"`
	RaftIndex
}

// AccessLogsConfig configures Envoy access logs.
type AccessLogsConfig struct {
	Enabled             bool   `json:",omitempty"`
	DisableListenerLogs bool   `json:",omitempty" alias:"disable_listener_logs"`
	Type                string `json:",omitempty"`
	Path                string `json:",omitempty"`
	JSONFormat          string `json:",omitempty" alias:"json_format"`
	TextFormat          string `json:",omitempty" alias:"text_format"`
}

func (e *ProxyConfigEntry) GetKind() string            { return ProxyDefaults }
func (e *ProxyConfigEntry) GetName() string            { return e.Name }
func (e *ProxyConfigEntry) GetMeta() map[string]string { return e.Meta }
