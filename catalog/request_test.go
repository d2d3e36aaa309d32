package catalog

import (
	"strings"
	"testing"
)

func validRequest() *RegisterRequest {
	return &RegisterRequest{
		Node:    "n1",
		Address: "10.0.0.1",
		Service: &NodeService{Service: "web", Port: 80},
		Checks:  []*HealthCheck{{Name: "alive"}},
	}
}

func TestRegisterRequestValidate(t *testing.T) {
	cases := []struct {
		name   string
		mutate func(r *RegisterRequest)
		want   string // substring; "" means valid
	}{
		{"valid", func(r *RegisterRequest) {}, ""},
		{"peer name on request", func(r *RegisterRequest) { r.PeerName = "p" }, "cannot register requests with PeerName in them"},
		{"peer name on service", func(r *RegisterRequest) { r.Service.PeerName = "p" }, "cannot register requests with PeerName in them"},
		{"peer name on check", func(r *RegisterRequest) { r.Check = &HealthCheck{Name: "x", PeerName: "p"} }, "cannot register requests with PeerName in them"},
		{"no node", func(r *RegisterRequest) { r.Node = "" }, "Must provide node"},
		{"bad node id", func(r *RegisterRequest) { r.ID = "nope" }, "Bad node ID: uuid string is wrong length"},
		{"bad node id format", func(r *RegisterRequest) { r.ID = "0123456789abcdef0123456789abcdef0123" }, "Bad node ID: uuid is improperly formatted"},
		{"good node id", func(r *RegisterRequest) { r.ID = "adf4238a-882b-9ddc-4a9d-5b6758e4159e" }, ""},
		{"no address", func(r *RegisterRequest) { r.Address = "" }, "Must provide address if SkipNodeUpdate is not set"},
		{"no address but skip", func(r *RegisterRequest) { r.Address = ""; r.SkipNodeUpdate = true }, ""},
		{"service id without name", func(r *RegisterRequest) { r.Service = &NodeService{ID: "x"} }, "Must provide service name (Service.Service) when service ID is provided"},
		{"service without name or id", func(r *RegisterRequest) { r.Service = &NodeService{} }, "Missing service name"},
		{"any address", func(r *RegisterRequest) { r.Service.Address = "0.0.0.0" }, "Invalid service address"},
		{"any v6 address", func(r *RegisterRequest) { r.Service.Address = "[::]" }, "Invalid service address"},
		{"reserved meta", func(r *RegisterRequest) { r.Service.Meta = map[string]string{"consul-x": "1"} },
			"Invalid Service Meta for node n1 and serviceID web: Couldn't load metadata pair ('consul-x', '1'): Key prefix 'consul-' is reserved for internal use"},
		{"bad meta key", func(r *RegisterRequest) { r.Service.Meta = map[string]string{"a b": "1"} }, "Key contains invalid characters"},
		{"proxy without destination", func(r *RegisterRequest) {
			r.Service.Kind = ServiceKindConnectProxy
		}, "Proxy.DestinationServiceName must be non-empty for Connect proxy services"},
		{"gateway with upstreams", func(r *RegisterRequest) {
			r.Service.Kind = ServiceKindMeshGateway
			r.Service.Proxy.Upstreams = []Upstream{{DestinationName: "a", LocalBindPort: 1}}
		}, "The Proxy.Upstreams configuration is invalid for a mesh-gateway"},
		{"native without port", func(r *RegisterRequest) { r.Service.Port = 0; r.Service.Connect.Native = true },
			"Port or SocketPath must be set for a Connect native service."},
		{"check without name", func(r *RegisterRequest) { r.Checks = []*HealthCheck{{}} }, "Missing check name"},
		{"check of other node", func(r *RegisterRequest) { r.Checks = []*HealthCheck{{Node: "n2", CheckID: "c"}} },
			"Node 'n2' for check 'c' doesn't match register request node 'n1'"},
		{"check node differs only in case", func(r *RegisterRequest) { r.Checks = []*HealthCheck{{Node: "N1", CheckID: "c"}} }, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := validRequest()
			tc.mutate(r)
			err := r.Validate()
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("unexpected error %v", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Fatalf("error = %v, want %q", err, tc.want)
			}
		})
	}
}

func TestRegisterRequestNormalize(t *testing.T) {
	r := &RegisterRequest{
		Node:    "n1",
		Service: &NodeService{Service: "web"},
		Check:   &HealthCheck{Name: "first", Definition: HealthCheckDefinition{TTL: 5}},
		Checks:  []*HealthCheck{{CheckID: "second", Status: HealthPassing, ServiceID: "web"}},
	}
	r.Normalize()
	r.Normalize() // idempotent
	if r.Check != nil || len(r.Checks) != 2 {
		t.Fatalf("Check not merged: %+v", r)
	}
	first, second := r.Checks[0], r.Checks[1]
	if first.CheckID != "first" || first.Node != "n1" || first.Status != HealthCritical || first.Type != "ttl" {
		t.Errorf("first check defaults: %+v", first)
	}
	if second.Status != HealthPassing || second.ServiceTags == nil {
		t.Errorf("second check: %+v", second)
	}
	if r.Service.ID != "web" || r.Service.Tags == nil {
		t.Errorf("service defaults: %+v", r.Service)
	}
}

func TestDeregisterRequestValidate(t *testing.T) {
	if err := (&DeregisterRequest{}).Validate(); err == nil || err.Error() != "Must provide node" {
		t.Fatalf("got %v", err)
	}
	if err := (&DeregisterRequest{Node: "n"}).Validate(); err != nil {
		t.Fatal(err)
	}
}

func TestMetaLimits(t *testing.T) {
	big := map[string]string{}
	for i := 0; i < 65; i++ {
		big[strings.Repeat("k", i+1)] = "v"
	}
	if err := validateServiceMeta("", big); err == nil || !strings.Contains(err.Error(), "more than 64") {
		t.Errorf("too many pairs: %v", err)
	}
	if err := validateServiceMeta("", map[string]string{strings.Repeat("k", 129): "v"}); err == nil || !strings.Contains(err.Error(), "Key is too long") {
		t.Errorf("long key: %v", err)
	}
	if err := validateServiceMeta("", map[string]string{"k": strings.Repeat("v", 513)}); err == nil || !strings.Contains(err.Error(), "Value is too long") {
		t.Errorf("long value: %v", err)
	}
	if err := validateServiceMeta(ServiceKindMeshGateway, map[string]string{metaWANFederationKey: "1"}); err != nil {
		t.Errorf("mesh gateway may set %s: %v", metaWANFederationKey, err)
	}
}

func TestUpstreamValidate(t *testing.T) {
	cases := map[string]Upstream{
		"unknown upstream destination type":    {DestinationType: "x", DestinationName: "a", LocalBindPort: 1},
		"cannot be empty":                      {LocalBindPort: 1},
		"cannot be a wildcard":                 {DestinationName: "*", LocalBindPort: 1},
		"both destination peer and datacenter": {DestinationName: "a", DestinationPeer: "p", Datacenter: "d", LocalBindPort: 1},
		"must be defined and nonzero":          {DestinationName: "a"},
		"only one of upstream":                 {DestinationName: "a", LocalBindPort: 1, LocalBindSocketPath: "/s"},
	}
	for want, u := range cases {
		if err := u.validate(); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%+v: error %v, want %q", u, err, want)
		}
	}
	ok := Upstream{DestinationName: "*", CentrallyConfigured: true}
	if err := ok.validate(); err != nil {
		t.Errorf("centrally configured wildcard: %v", err)
	}
}
