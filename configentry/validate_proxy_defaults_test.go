package configentry

import (
	"strings"
	"testing"
)

func TestValidateProxyDefaults(t *testing.T) {
	dir := strings.Repeat("d", 71)
	runValidateCases(t, ProxyDefaults, []validateCase{
		{"global", `{"Name":"global","Config":{"protocol":"http","envoy_hcp_metrics_bind_socket_dir":"/run/hcp"},
			"AccessLogs":{"Enabled":true,"Type":"file","Path":"/var/log/envoy","JSONFormat":"{\"start\":\"%START_TIME%\"}"},
			"FailoverPolicy":{"Mode":"order-by-locality"},"PrioritizeByLocality":{},"MutualTLSMode":"strict"}`, nil},
		// Rule 14.
		{"access log type", `{"Name":"global","AccessLogs":{"Type":"stdin"}}`,
			[]string{"AccessLogs.Type: invalid access log type: stdin"}},
		{"file without path", `{"Name":"global","AccessLogs":{"Type":"file"}}`,
			[]string{"AccessLogs.Path: path must be specified when using file type access logs"}},
		{"path without file", `{"Name":"global","AccessLogs":{"Type":"stdout","Path":"/tmp/x"}}`,
			[]string{"AccessLogs.Path: path is only valid for file type access logs"}},
		{"both formats, bad JSON", `{"Name":"global","AccessLogs":{"JSONFormat":"{\"a\":","TextFormat":"%START_TIME%"}}`, []string{
			"AccessLogs: cannot specify both access log JSONFormat and TextFormat",
			"AccessLogs.JSONFormat: invalid access log json for JSON format: unexpected end of JSON input",
		}},
		// Rule 15.
		{"long socket dir and extension", `{"Name":"global","Meta":{"k":"v"},"Config":{"envoy_hcp_metrics_bind_socket_dir":"` + dir + `"},
			"EnvoyExtensions":[{"Name":"builtin/lua"}]}`, []string{
			`Config["envoy_hcp_metrics_bind_socket_dir"]: envoy_hcp_metrics_bind_socket_dir length 71 exceeds max 70`,
			`EnvoyExtensions[0]: Arguments are required by extension "builtin/lua"`,
		}},
		// Rules 16 and 17.
		{"failover policy", `{"Name":"global","FailoverPolicy":{"Mode":"random"}}`,
			[]string{"FailoverPolicy.Mode: Failover-policy mode must be one of '', 'sequential', or 'order-by-locality'"}},
		{"enterprise and mtls", `{"Name":"global","PrioritizeByLocality":{"Mode":"failover"},"MutualTLSMode":"off"}`, []string{
			"PrioritizeByLocality: Prioritize-by-locality requires Consul Enterprise",
			`MutualTLSMode: Invalid MutualTLSMode "off". Must be one of "", "strict", or "permissive".`,
		}},
	})
}

// TestValidateProxyDefaultsName covers rule 13 without Normalize, which
// would refuse the name first (see TestNormalizeProxyDefaults).
func TestValidateProxyDefaultsName(t *testing.T) {
	for name, want := range map[string]string{
		"global": "",
		"":       `Name: invalid name (""), only "global" is supported`,
		"other":  `Name: invalid name ("other"), only "global" is supported`,
	} {
		e := &ProxyConfigEntry{Name: name}
		got := ""
		if err := e.Validate(); err != nil {
			got = err.Error()
		}
		if got != want {
			t.Errorf("Validate(Name %q) = %q, want %q", name, got, want)
		}
	}
}
