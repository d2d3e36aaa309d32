package configentry

// ServiceRouterConfigEntry is a service-router entry: ordered L7 routes.
type ServiceRouterConfigEntry struct {
	Kind   string
	Name   string
	Routes []ServiceRoute
	Meta   map[string]string `json:",omitempty"`
	Hash   uint64            `json:",omitempty"`
	RaftIndex
}

// ServiceRoute is one route; the first route whose Match matches wins.
type ServiceRoute struct {
	Match       *ServiceRouteMatch       `json:",omitempty"`
	Destination *ServiceRouteDestination `json:",omitempty"`
}

// ServiceRouteMatch holds the protocol-specific match criteria.
type ServiceRouteMatch struct {
	HTTP *ServiceRouteHTTPMatch `json:",omitempty"`
}

// ServiceRouteHTTPMatch matches HTTP requests.
type ServiceRouteHTTPMatch struct {
	PathExact       string                            `json:",omitempty" alias:"path_exact"`
	PathPrefix      string                            `json:",omitempty" alias:"path_prefix"`
	PathRegex       string                            `json:",omitempty" alias:"path_regex"`
	CaseInsensitive bool                              `json:",omitempty" alias:"case_insensitive"`
	Header          []ServiceRouteHTTPMatchHeader     `json:",omitempty"`
	QueryParam      []ServiceRouteHTTPMatchQueryParam `json:",omitempty" alias:"query_param"`
	Methods         []string                          `json:",omitempty"`
}

// ServiceRouteHTTPMatchHeader matches one request header.
type ServiceRouteHTTPMatchHeader struct {
	Name    string
	Present bool   `json:",omitempty"`
	Exact   string `json:",omitempty"`
	Prefix  string `json:",omitempty"`
	Suffix  string `json:",omitempty"`
	Regex   string `json:",omitempty"`
	Invert  bool   `json:",omitempty"`
}

// ServiceRouteHTTPMatchQueryParam matches one query parameter.
type ServiceRouteHTTPMatchQueryParam struct {
	Name    string
	Present bool   `json:",omitempty"`
	Exact   string `json:",omitempty"`
	Regex   string `json:",omitempty"`
}

// ServiceRouteDestination says where matched traffic goes and how.
// RequestTimeout and IdleTimeout encode as duration strings (see json.go).
type ServiceRouteDestination struct {
	Service               string               `json:",omitempty"`
	ServiceSubset         string               `json:",omitempty" alias:"service_subset"`
	Namespace             string               `json:",omitempty"`
	Partition             string               `json:",omitempty"`
	PrefixRewrite         string               `json:",omitempty" alias:"prefix_rewrite"`
	RequestTimeout        Duration             `json:",omitempty" alias:"request_timeout"`
	IdleTimeout           Duration             `json:",omitempty" alias:"idle_timeout"`
	NumRetries            uint32               `json:",omitempty" alias:"num_retries"`
	RetryOnConnectFailure bool                 `json:",omitempty" alias:"retry_on_connect_failure"`
	RetryOn               []string             `json:",omitempty" alias:"retry_on"`
	RetryOnStatusCodes    []uint32             `json:",omitempty" alias:"retry_on_status_codes"`
	RequestHeaders        *HTTPHeaderModifiers `json:",omitempty" alias:"request_headers"`
	ResponseHeaders       *HTTPHeaderModifiers `json:",omitempty" alias:"response_headers"`
}

func (e *ServiceRouterConfigEntry) GetKind() string            { return ServiceRouter }
func (e *ServiceRouterConfigEntry) GetName() string            { return e.Name }
func (e *ServiceRouterConfigEntry) GetMeta() map[string]string { return e.Meta }
