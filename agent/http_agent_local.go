package agent

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"reflect"
	"time"

	"github.com/switchyard/switchyard/catalog"
)

// Agent endpoints for this agent's own services and checks (local.go).
// Writes change the local state, then run a sync pass before answering, so
// that the catalog shows the change when the client hears back, as with
// Consul. They answer 200 with an empty body.

// agentServiceView is one service of /v1/agent/services and
// /v1/agent/service/:id, in the shape of the Go client's api.AgentService.
type agentServiceView struct {
	Kind              catalog.ServiceKind `json:",omitempty"`
	ID                string
	Service           string
	Tags              []string
	Meta              map[string]string
	Port              int
	Address           string
	SocketPath        string                            `json:",omitempty"`
	TaggedAddresses   map[string]catalog.ServiceAddress `json:",omitempty"`
	Weights           catalog.Weights
	EnableTagOverride bool
	ContentHash       string                      `json:",omitempty" bexpr:"-"`
	Proxy             *catalog.ConnectProxyConfig `json:",omitempty"`
	Connect           *catalog.ServiceConnect     `json:",omitempty"`
	Datacenter        string                      `json:",omitempty" bexpr:"-"`
	Locality          *catalog.Locality           `json:",omitempty" bexpr:"-"`
}

// serviceView builds the view of a local service. As in Consul, Tags and
// Meta are never null, Proxy is shown for proxies and gateways only and
// Connect only for Connect-native services.
func (a *Agent) serviceView(s *catalog.NodeService) agentServiceView {
	v := agentServiceView{
		Kind: s.Kind, ID: s.ID, Service: s.Service, Tags: s.Tags, Meta: s.Meta, Port: s.Port,
		Address: s.Address, SocketPath: s.SocketPath, TaggedAddresses: s.TaggedAddresses,
		Weights: catalog.DefaultWeights, EnableTagOverride: s.EnableTagOverride,
		Datacenter: a.config.Datacenter, Locality: s.Locality,
	}
	if s.Weights != nil {
		v.Weights = *s.Weights
	}
	if v.Tags == nil {
		v.Tags = []string{}
	}
	if v.Meta == nil {
		v.Meta = map[string]string{}
	}
	if s.Kind == catalog.ServiceKindConnectProxy || s.Kind.IsGateway() {
		proxy := s.Proxy
		v.Proxy = &proxy
	}
	if s.Connect.Native {
		v.Connect = &catalog.ServiceConnect{Native: true}
	}
	return v
}

// GET /v1/agent/services?filter=: the local services by ID; the filter is
// evaluated on each service.
func (a *Agent) agentServices(w http.ResponseWriter, r *http.Request, _ string) (any, error) {
	sel, err := filterOnly(r)
	if err != nil {
		return nil, err
	}
	out := map[string]agentServiceView{}
	for id, s := range a.local.serviceList() {
		v := a.serviceView(s)
		ok, err := sel.match(v)
		if err != nil {
			return nil, err
		}
		if ok {
			out[id] = v
		}
	}
	return out, nil
}

// GET /v1/agent/service/:id[?hash=&wait=]: one local service with its
// ContentHash (also in X-Consul-ContentHash). With ?hash equal to the
// current hash the request blocks until the service changes or ?wait runs
// out, which is how the Go client's WaitHash watches a service.
func (a *Agent) agentService(w http.ResponseWriter, r *http.Request, id string) (any, error) {
	qo, err := parseQueryOptions(r, a.config.Datacenter)
	if err != nil {
		return nil, err
	}
	hash := r.URL.Query().Get("hash")
	wait := qo.wait
	if wait == 0 {
		wait = defaultBlockingWait
	}
	timeout := time.NewTimer(min(wait, maxBlockingWait))
	defer timeout.Stop()
	for {
		s, changed, ok := a.local.service(id)
		if !ok {
			return nil, notFound("unknown service ID: %s", id)
		}
		v := a.serviceView(s)
		v.ContentHash = contentHash(v)
		w.Header().Set("X-Consul-ContentHash", v.ContentHash)
		if hash == "" || hash != v.ContentHash {
			return v, nil
		}
		select {
		case <-changed:
		case <-timeout.C:
			return v, nil
		case <-a.shutdownCh:
			return v, nil
		case <-r.Context().Done():
			return nil, r.Context().Err()
		}
	}
}

// contentHash identifies a service view's content (without its hash).
func contentHash(v agentServiceView) string {
	b, _ := json.Marshal(v) // a view of plain data always encodes
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:8])
}

// GET /v1/agent/checks?filter=: the local checks by ID.
func (a *Agent) agentChecks(w http.ResponseWriter, r *http.Request, _ string) (any, error) {
	sel, err := filterOnly(r)
	if err != nil {
		return nil, err
	}
	out := map[string]*catalog.HealthCheck{}
	for id, c := range a.local.checkList() {
		ok, err := sel.match(c)
		if err != nil {
			return nil, err
		}
		if ok {
			out[id] = c
		}
	}
	return out, nil
}

// filterOnly is the selection of agent endpoints: ?filter alone.
func filterOnly(r *http.Request) (selection, error) {
	eval, err := parseFilter(r.URL.Query().Get("filter"))
	return selection{eval: eval}, err
}

// PUT /v1/agent/service/register[?replace-existing-checks]
func (a *Agent) agentServiceRegister(w http.ResponseWriter, r *http.Request, _ string) (any, error) {
	var body agentServiceBody
	if err := a.decodeStrict(r, &body); err != nil {
		return nil, err
	}
	replace, err := parseBoolParam(r.URL.Query(), "replace-existing-checks")
	if err != nil {
		return nil, err
	}
	svc, checks, err := body.build(a.config.NodeName)
	if err != nil {
		return nil, err
	}
	a.local.addService(svc, checks, replace)
	if err := a.saveLocal(); err != nil {
		return nil, fmt.Errorf("the change is in effect but could not be saved to the data dir, so a restart would lose it: %w", err)
	}
	a.syncLocalChanges(r.Context())
	return nil, nil
}

// PUT /v1/agent/service/deregister/:id
func (a *Agent) agentServiceDeregister(w http.ResponseWriter, r *http.Request, id string) (any, error) {
	if !a.local.removeService(id) {
		return nil, notFound("Unknown service ID %q. Ensure that the service ID is passed, not the service name.", id)
	}
	if err := a.saveLocal(); err != nil {
		return nil, fmt.Errorf("the change is in effect but could not be saved to the data dir, so a restart would lose it: %w", err)
	}
	a.syncLocalChanges(r.Context())
	return nil, nil
}

// PUT /v1/agent/check/register. Checks are validated in Consul's order:
// name, status, definition, then the service it belongs to.
func (a *Agent) agentCheckRegister(w http.ResponseWriter, r *http.Request, _ string) (any, error) {
	var body agentCheckBody
	if err := a.decodeStrict(r, &body); err != nil {
		return nil, err
	}
	if body.Name == "" {
		return nil, badRequest("Missing check name")
	}
	if body.Status != "" && !catalog.ValidStatus(body.Status) {
		return nil, badRequest("Bad check status")
	}
	if err := body.validate(); err != nil {
		return nil, badRequest("Invalid check: %v", err)
	}
	id := body.checkID()
	if id == "" {
		id = body.Name
	}
	unknownService := notFound("ServiceID %q does not exist", body.ServiceID)
	if body.ServiceID != "" {
		if _, _, ok := a.local.service(body.ServiceID); !ok {
			return nil, unknownService
		}
	}
	c, ttl := body.healthCheck(a.config.NodeName, id, body.Name, body.ServiceID)
	if err := a.local.addCheck(c, ttl); errors.Is(err, errUnknownLocalService) {
		return nil, unknownService // removed since the lookup above
	}
	if err := a.saveLocal(); err != nil {
		return nil, fmt.Errorf("the change is in effect but could not be saved to the data dir, so a restart would lose it: %w", err)
	}
	a.syncLocalChanges(r.Context())
	return nil, nil
}

// PUT /v1/agent/check/deregister/:id
func (a *Agent) agentCheckDeregister(w http.ResponseWriter, r *http.Request, id string) (any, error) {
	if !a.local.removeCheck(id) {
		return nil, unknownCheck(id)
	}
	if err := a.saveLocal(); err != nil {
		return nil, fmt.Errorf("the change is in effect but could not be saved to the data dir, so a restart would lose it: %w", err)
	}
	a.syncLocalChanges(r.Context())
	return nil, nil
}

func unknownCheck(id string) error {
	return notFound("Unknown check ID %q. Ensure that the check ID is passed, not the check name.", id)
}

// PUT /v1/agent/check/pass|warn|fail/:id?note= sets a TTL check to status
// with the note as its output.
func (a *Agent) agentCheckTTL(status string) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request, id string) (any, error) {
		return nil, a.updateLocalTTL(r, id, status, r.URL.Query().Get("note"))
	}
}

// checkUpdateBody is the body of PUT /v1/agent/check/update/:id.
type checkUpdateBody struct {
	Status string
	Output string
}

// PUT /v1/agent/check/update/:id: the body form of pass/warn/fail.
func (a *Agent) agentCheckUpdate(w http.ResponseWriter, r *http.Request, id string) (any, error) {
	var body checkUpdateBody
	if err := a.decodeStrict(r, &body); err != nil {
		return nil, err
	}
	if !catalog.ValidStatus(body.Status) {
		return nil, badRequest("Invalid check status: '%s'", body.Status)
	}
	return nil, a.updateLocalTTL(r, id, body.Status, body.Output)
}

// updateLocalTTL updates a TTL check. Updating a check of another type is
// a 500 in Consul, and kept so.
func (a *Agent) updateLocalTTL(r *http.Request, id, status, output string) error {
	switch err := a.local.updateTTL(id, status, output); {
	case errors.Is(err, errUnknownLocalCheck):
		return unknownCheck(id)
	case errors.Is(err, errNotTTLCheck):
		return &httpError{http.StatusInternalServerError, fmt.Sprintf("CheckID %q does not have associated TTL", id)}
	case err != nil:
		return err
	}
	a.syncLocalChanges(r.Context())
	return nil
}

// agentServiceBody is the body of PUT /v1/agent/service/register.
type agentServiceBody struct {
	Kind              catalog.ServiceKind
	ID                string
	Name              string
	Tags              []string
	Port              int
	Address           string
	SocketPath        string
	TaggedAddresses   map[string]catalog.ServiceAddress
	EnableTagOverride bool
	Meta              map[string]string
	Weights           *catalog.Weights
	Check             *agentCheckBody
	Checks            []*agentCheckBody
	Proxy             *catalog.ConnectProxyConfig
	Connect           *agentConnectBody
	Locality          *catalog.Locality
}

// agentConnectBody is the Connect part of an agent registration.
// SidecarService is decoded only to refuse it with a clear message.
type agentConnectBody struct {
	Native         bool
	SidecarService json.RawMessage
}

// build validates the registration in Consul's order and turns it into the
// service and its checks.
func (b *agentServiceBody) build(node string) (*catalog.NodeService, []localCheckSpec, error) {
	if b.Name == "" {
		return nil, nil, badRequest("Missing service name")
	}
	if catalog.IsUnspecifiedAddress(b.Address) {
		return nil, nil, badRequest("Invalid service address")
	}
	svc := &catalog.NodeService{
		Kind: b.Kind, ID: b.ID, Service: b.Name, Tags: b.Tags, Address: b.Address, Meta: b.Meta,
		Port: b.Port, SocketPath: b.SocketPath, Weights: &catalog.Weights{Passing: 1, Warning: 1},
		EnableTagOverride: b.EnableTagOverride, Locality: b.Locality,
	}
	if svc.ID == "" {
		svc.ID = b.Name
	}
	if svc.Tags == nil {
		svc.Tags = []string{}
	}
	if b.Proxy != nil {
		svc.Proxy = *b.Proxy
	}
	if c := b.Connect; c != nil {
		if len(c.SidecarService) > 0 && string(c.SidecarService) != "null" {
			return nil, nil, badRequest("Connect.SidecarService is not supported: register the sidecar proxy as a service of its own")
		}
		svc.Connect.Native = c.Native
	}
	if b.Weights != nil {
		if err := b.Weights.Validate(); err != nil {
			return nil, nil, badRequest("Invalid Weights: %v", err)
		}
		w := *b.Weights
		svc.Weights = &w
	}
	if err := svc.ValidateMeta(); err != nil {
		return nil, nil, badRequest("Invalid Service Meta: %v", err)
	}
	if err := svc.Validate(); err != nil {
		return nil, nil, badRequest("%v", err)
	}
	checks, err := b.checkSpecs(node, svc)
	if err != nil {
		return nil, nil, err
	}
	svc.TaggedAddresses = defaultTaggedAddresses(b.TaggedAddresses, svc.Address, svc.Port)
	return svc, checks, nil
}

// checkSpecs validates the service's checks (Check, then Checks) and names
// them: ID service:<id>, or service:<id>:<n> (1-based) when there are
// several, name "Service '<name>' check", status critical unless given.
func (b *agentServiceBody) checkSpecs(node string, svc *catalog.NodeService) ([]localCheckSpec, error) {
	var defs []*agentCheckBody
	if b.Check != nil && !reflect.ValueOf(*b.Check).IsZero() {
		defs = append(defs, b.Check)
	}
	for _, c := range b.Checks {
		if c == nil {
			c = &agentCheckBody{}
		}
		defs = append(defs, c)
	}
	for _, d := range defs {
		if err := d.validate(); err != nil {
			return nil, badRequest("Invalid check: %v", err)
		}
	}
	specs := make([]localCheckSpec, 0, len(defs))
	for i, d := range defs {
		if d.Status != "" && !catalog.ValidStatus(d.Status) {
			return nil, badRequest("Status for checks must 'passing', 'warning', 'critical'")
		}
		id := d.checkID()
		if id == "" {
			id = "service:" + svc.ID
			if len(defs) > 1 {
				id += fmt.Sprintf(":%d", i+1)
			}
		}
		name := d.Name
		if name == "" {
			name = fmt.Sprintf("Service '%s' check", svc.Service)
		}
		c, ttl := d.healthCheck(node, id, name, svc.ID)
		specs = append(specs, localCheckSpec{check: c, ttl: ttl})
	}
	return specs, nil
}

// defaultTaggedAddresses adds, as Consul's agent does, the lan and wan
// tagged addresses of the service's own IP address (v4 or v6) unless they
// were given.
func defaultTaggedAddresses(given map[string]catalog.ServiceAddress, addr string, port int) map[string]catalog.ServiceAddress {
	out := make(map[string]catalog.ServiceAddress, len(given)+2)
	for k, v := range given {
		out[k] = v
	}
	ip := net.ParseIP(addr)
	if ip == nil {
		return out
	}
	suffix := "_ipv6"
	if ip.To4() != nil {
		suffix = "_ipv4"
	}
	for _, k := range []string{"lan" + suffix, "wan" + suffix} {
		if _, ok := out[k]; !ok {
			out[k] = catalog.ServiceAddress{Address: addr, Port: port}
		}
	}
	return out
}

// agentCheckBody is the body of PUT /v1/agent/check/register and one check
// of a service registration. It lists what the Go client sends; the
// thresholds (SuccessBeforePassing and the like) are accepted and not used:
// only TTL, HTTP and TCP checks run here, and without them.
type agentCheckBody struct {
	ID                             string
	CheckID                        string
	Name                           string
	Notes                          string
	ServiceID                      string
	Status                         string
	ScriptArgs                     []string
	DockerContainerID              string
	Shell                          string
	Interval                       catalog.Duration
	Timeout                        catalog.Duration
	TTL                            catalog.Duration
	DeregisterCriticalServiceAfter catalog.Duration
	HTTP                           string
	Header                         map[string][]string
	Method                         string
	Body                           string
	DisableRedirects               bool
	TCP                            string
	TCPUseTLS                      bool
	UDP                            string
	OSService                      string
	TLSServerName                  string
	TLSSkipVerify                  bool
	GRPC                           string
	GRPCUseTLS                     bool
	H2PING                         string
	H2PingUseTLS                   *bool
	AliasNode                      string
	AliasService                   string
	SuccessBeforePassing           int
	FailuresBeforeWarning          int
	FailuresBeforeCritical         int
	OutputMaxSize                  int
}

// checkID is the ID given in the body: ID, or the CheckID the Go client's
// embedded AgentServiceCheck carries.
func (b *agentCheckBody) checkID() string {
	if b.ID != "" {
		return b.ID
	}
	return b.CheckID
}

// validate applies Consul's CheckType.Validate rules.
func (b *agentCheckBody) validate() error {
	interval := len(b.ScriptArgs) > 0 || b.HTTP != "" || b.TCP != "" || b.UDP != "" ||
		b.GRPC != "" || b.H2PING != "" || b.OSService != ""
	alias := b.AliasNode != "" || b.AliasService != ""
	switch {
	case b.Interval > 0 && b.TTL > 0:
		return errors.New("Interval and TTL cannot both be specified")
	case interval && b.Interval <= 0:
		return errors.New("Interval must be > 0 for Script, HTTP, H2PING, TCP, UDP or OSService checks")
	case interval && alias:
		return errors.New("Interval cannot be set for Alias checks")
	case alias && b.TTL > 0:
		return errors.New("TTL must be not be set for Alias checks")
	case !interval && !alias && b.TTL <= 0:
		return errors.New("TTL must be > 0 for TTL checks")
	case b.OutputMaxSize < 0:
		return errors.New("MaxOutputMaxSize must be positive")
	}
	return nil
}

// healthCheck builds the check as the catalog will hold it (service name
// and tags are added when read) and returns its TTL, 0 for other types.
func (b *agentCheckBody) healthCheck(node, id, name, serviceID string) (*catalog.HealthCheck, time.Duration) {
	h2TLS := b.H2PING != "" // Consul's default: TLS unless switched off
	if b.H2PingUseTLS != nil {
		h2TLS = *b.H2PingUseTLS
	}
	def := catalog.HealthCheckDefinition{
		HTTP: b.HTTP, TLSServerName: b.TLSServerName, TLSSkipVerify: b.TLSSkipVerify, Header: b.Header,
		Method: b.Method, Body: b.Body, DisableRedirects: b.DisableRedirects, TCP: b.TCP, TCPUseTLS: b.TCPUseTLS,
		UDP: b.UDP, H2PING: b.H2PING, H2PingUseTLS: h2TLS, OSService: b.OSService, Interval: b.Interval,
		OutputMaxSize: uint(b.OutputMaxSize), Timeout: b.Timeout,
		DeregisterCriticalServiceAfter: b.DeregisterCriticalServiceAfter, ScriptArgs: b.ScriptArgs,
		DockerContainerID: b.DockerContainerID, Shell: b.Shell, GRPC: b.GRPC, GRPCUseTLS: b.GRPCUseTLS,
		AliasNode: b.AliasNode, AliasService: b.AliasService, TTL: catalog.Nanoseconds(b.TTL),
	}
	status := b.Status
	if status == "" {
		status = catalog.HealthCritical
	}
	c := &catalog.HealthCheck{
		Node: node, CheckID: id, Name: name, Status: status, Notes: b.Notes, ServiceID: serviceID,
		ServiceTags: []string{}, Type: def.Type(), Definition: def,
	}
	// Consul leaves these empty, rather than "0s", when not set.
	if b.Interval > 0 {
		c.Interval = time.Duration(b.Interval).String()
	}
	if b.Timeout > 0 {
		c.Timeout = time.Duration(b.Timeout).String()
	}
	return c, time.Duration(b.TTL)
}
