package configentry

import "encoding/json"

// hcpMetricsSocketDirMax keeps the socket path under the 104-byte limit of
// some platforms once a fixed 32-byte file name is appended.
const hcpMetricsSocketDirMax = 70

// Validate checks spec §6 rules 13–17 for proxy-defaults.
func (e *ProxyConfigEntry) Validate() error {
	var v violations
	if e.Name != ProxyDefaultsName {
		v.addf("Name", "invalid name (%q), only %q is supported", e.Name, ProxyDefaultsName)
	}
	validateAccessLogs(&v, e.AccessLogs)
	validateMeta(&v, e.Meta)
	if dir, _ := e.Config["envoy_hcp_metrics_bind_socket_dir"].(string); len(dir) > hcpMetricsSocketDirMax {
		v.addf(pathKey("Config", "envoy_hcp_metrics_bind_socket_dir"),
			"envoy_hcp_metrics_bind_socket_dir length %d exceeds max %d", len(dir), hcpMetricsSocketDirMax)
	}
	validateExtensions(&v, e.EnvoyExtensions)
	if p := e.FailoverPolicy; p != nil && !validFailoverMode(p.Mode) {
		v.add("FailoverPolicy.Mode", failoverModeRule)
	}
	if p := e.PrioritizeByLocality; p != nil && p.Mode != "" {
		v.add("PrioritizeByLocality", prioritizeByLocalityRule)
	}
	if fe := mutualTLSModeError(e.MutualTLSMode); fe != nil {
		v.errs = append(v.errs, fe)
	}
	return v.err()
}

// validateAccessLogs checks rule 14 in Consul's order.
func validateAccessLogs(v *violations, a AccessLogsConfig) {
	switch a.Type {
	case "", "stderr", "stdout":
	case "file":
		if a.Path == "" {
			v.add("AccessLogs.Path", "path must be specified when using file type access logs")
		}
	default:
		v.addf("AccessLogs.Type", "invalid access log type: %s", a.Type)
	}
	if a.JSONFormat != "" && a.TextFormat != "" {
		v.add("AccessLogs", "cannot specify both access log JSONFormat and TextFormat")
	}
	if a.Type != "file" && a.Path != "" {
		v.add("AccessLogs.Path", "path is only valid for file type access logs")
	}
	if a.JSONFormat != "" {
		var doc json.RawMessage
		if err := json.Unmarshal([]byte(a.JSONFormat), &doc); err != nil {
			v.addf("AccessLogs.JSONFormat", "invalid access log json for JSON format: %v", err)
		}
	}
}
