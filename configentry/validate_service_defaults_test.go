package configentry

import (
	"strings"
	"testing"
)

func TestValidateServiceDefaults(t *testing.T) {
	runValidateCases(t, ServiceDefaults, []validateCase{
		{"minimal", `{"Name":"web","Protocol":"HTTP"}`, nil},
		// Rule 2, reported alone.
		{"no name", `{"Protocol":"bogus"}`, []string{"Name: Name is required"}},
		{"wildcard name", `{"Name":"*","Protocol":"bogus"}`,
			[]string{"Name: service-defaults name must be the name of a service, and not a wildcard"}},
		// Rules 3 and 4 accumulate.
		{"balance and protocol", `{"Name":"web","BalanceInboundConnections":"exact_balance","Protocol":"grpc"}`, nil},
		{"bad balance and protocol", `{"Name":"web","BalanceInboundConnections":"round","Protocol":"redis"}`, []string{
			"BalanceInboundConnections: invalid value for balance_inbound_connections: round",
			"Protocol: invalid value for protocol: redis",
		}},
		// Rule 5 ends checking: the bad override is not reported.
		{"upstreams and destination", `{"Name":"web","Protocol":"udp",
			"UpstreamConfig":{"Overrides":[{}]},"Destination":{"Addresses":["a.example"],"Port":443}}`, []string{
			"Protocol: invalid value for protocol: udp",
			"UpstreamConfig: UpstreamConfig and Destination are mutually exclusive for service defaults",
		}},
		// Rules 6–8.
		{"good upstreams", `{"Name":"web","UpstreamConfig":{
			"Overrides":[{"Name":"db","Namespace":"default","Protocol":"GRPC","ConnectTimeoutMs":-5,
				"Limits":{"MaxConnections":0},"PassiveHealthCheck":{"Interval":1000000000,"MaxEjectionPercent":100}}],
			"Defaults":{"Namespace":"default","Partition":"default","BalanceOutboundConnections":"exact_balance"}}}`, nil},
		{"bad overrides", `{"Name":"web","UpstreamConfig":{"Overrides":[
			{"Protocol":"http"},{"Name":"*"},{"Name":"db","Namespace":"*"},
			{"Name":"db","PassiveHealthCheck":{"Interval":-1},"Limits":{"MaxPendingRequests":-1},"BalanceOutboundConnections":"x"},
			{"Name":"db","PassiveHealthCheck":{"EnforcingConsecutive5xx":101},"Limits":{"MaxConcurrentRequests":-1}},
			{"Name":"db","PassiveHealthCheck":{"MaxEjectionPercent":101},"Limits":{"MaxConnections":-1}},
			{"Name":"db","PassiveHealthCheck":{"BaseEjectionTime":-1}}]}}`, []string{
			"UpstreamConfig.Overrides[0]: Name is required",
			"UpstreamConfig.Overrides[1]: Wildcard name is not supported",
			"UpstreamConfig.Overrides[2]: Wildcard namespace is not supported",
			"UpstreamConfig.Overrides[3].PassiveHealthCheck: passive health check interval cannot be negative",
			"UpstreamConfig.Overrides[3].Limits: max pending requests cannot be negative",
			"UpstreamConfig.Overrides[3].BalanceOutboundConnections: invalid value for balance_outbound_connections: x",
			"UpstreamConfig.Overrides[4].PassiveHealthCheck: passive health check enforcing_consecutive_5xx must be a percentage between 0 and 100",
			"UpstreamConfig.Overrides[4].Limits: max concurrent requests cannot be negative",
			"UpstreamConfig.Overrides[5].PassiveHealthCheck: passive health check max_ejection_percent must be a percentage between 0 and 100",
			"UpstreamConfig.Overrides[5].Limits: max connections cannot be negative",
			"UpstreamConfig.Overrides[6].PassiveHealthCheck: passive health check base_ejection_time cannot be negative",
		}},
		{"defaults with name", `{"Name":"web","UpstreamConfig":{"Defaults":{"Name":"db","Limits":{"MaxConnections":-1}}}}`,
			[]string{"UpstreamConfig.Defaults: Name must be empty"}},
		{"defaults with namespace", `{"Name":"web","UpstreamConfig":{"Defaults":{"Namespace":"ns1"}}}`,
			[]string{"UpstreamConfig.Defaults: Namespace must be empty"}},
		{"defaults with partition", `{"Name":"web","UpstreamConfig":{"Defaults":{"Partition":"ap1"}}}`,
			[]string{"UpstreamConfig.Defaults: Partition must be empty"}},
		{"defaults tuning", `{"Name":"web","UpstreamConfig":{"Defaults":{"BalanceOutboundConnections":"fair"}}}`,
			[]string{"UpstreamConfig.Defaults.BalanceOutboundConnections: invalid value for balance_outbound_connections: fair"}},
		// Rule 9.
		{"good destination", `{"Name":"web","Destination":{"Addresses":["10.0.0.1","::1","api.example.com."],"Port":443}}`, nil},
		{"bad destination", `{"Name":"web","Destination":{"Addresses":["a.example","a.example","*.example","a..b"],"Port":70000}}`, []string{
			"Destination.Addresses[1]: Duplicate address 'a.example' is not allowed",
			"Destination.Addresses[2]: Destination address '*.example' is invalid Could not validate address *.example as an IP or Hostname",
			"Destination.Addresses[3]: Destination address 'a..b' is invalid Could not validate address a..b as an IP or Hostname",
			"Destination.Port: Invalid Port number 70000",
		}},
		{"empty destination", `{"Name":"web","Destination":{}}`, []string{
			"Destination: Destination must contain at least one valid address",
			"Destination.Port: Invalid Port number 0",
		}},
		// Rule 10.
		{"rate limits", `{"Name":"web","RateLimits":{"InstanceLevel":{"RequestsPerSecond":5}}}`,
			[]string{"RateLimits: invalid rate_limit config. Rate limiting is a consul enterprise feature"}},
		// Rule 11 is covered in TestValidateEnvoyExtensions.
		{"unknown extension", `{"Name":"web","EnvoyExtensions":[{"Name":"x"}]}`,
			[]string{`EnvoyExtensions[0]: unknown envoy extension "x"`}},
		// Rule 12, reported alone.
		{"mutual tls", `{"Name":"web","MutualTLSMode":"permissive"}`, nil},
		{"bad mutual tls", `{"Name":"web","MutualTLSMode":"loose","Protocol":"bogus"}`,
			[]string{`MutualTLSMode: Invalid MutualTLSMode "loose". Must be one of "", "strict", or "permissive".`}},
	})
}

func TestValidateDomainName(t *testing.T) {
	label63 := strings.Repeat("a", 63)
	for name, want := range map[string]bool{
		"": false, ".": true, "a": true, "a.b.": true, ".a": false, "a..b": false,
		label63: true, label63 + "a": false, "under_score.example": true,
		strings.Repeat(label63+".", 3) + strings.Repeat("b", 61): true,
		strings.Repeat(label63+".", 3) + strings.Repeat("b", 62): false,
	} {
		if got := isDomainName(name); got != want {
			t.Errorf("isDomainName(%q) = %v, want %v", name, got, want)
		}
	}
}
