package configentry

import (
	"net"
	"strings"
)

// Validate checks spec §6 rules 2–12 (and rule 1) for service-defaults.
// As in Consul, a bad Name or MutualTLSMode is reported alone, and
// UpstreamConfig together with Destination ends checking.
func (e *ServiceConfigEntry) Validate() error {
	switch e.Name {
	case "":
		return &FieldError{Path: "Name", Rule: "Name is required"}
	case "*":
		return &FieldError{Path: "Name", Rule: "service-defaults name must be the name of a service, and not a wildcard"}
	}
	var v violations
	validateMeta(&v, e.Meta)
	if !validConnectionBalance(e.BalanceInboundConnections) {
		v.addf("BalanceInboundConnections", "invalid value for balance_inbound_connections: %s", e.BalanceInboundConnections)
	}
	switch e.Protocol {
	case "", "tcp", "http", "http2", "grpc":
	default:
		v.addf("Protocol", "invalid value for protocol: %s", e.Protocol)
	}
	if e.UpstreamConfig != nil && e.Destination != nil {
		v.add("UpstreamConfig", "UpstreamConfig and Destination are mutually exclusive for service defaults")
		return v.err()
	}
	if u := e.UpstreamConfig; u != nil {
		for i, o := range u.Overrides {
			validateUpstreamOverride(&v, pathIndex("UpstreamConfig.Overrides", i), o)
		}
		if u.Defaults != nil {
			validateUpstreamDefaults(&v, "UpstreamConfig.Defaults", u.Defaults)
		}
	}
	if e.Destination != nil {
		validateDestination(&v, e.Destination)
	}
	if e.RateLimits != nil {
		v.add("RateLimits", "invalid rate_limit config. Rate limiting is a consul enterprise feature")
	}
	validateExtensions(&v, e.EnvoyExtensions)
	if fe := mutualTLSModeError(e.MutualTLSMode); fe != nil {
		return fe
	}
	return v.err()
}

func validConnectionBalance(s string) bool { return s == "" || s == "exact_balance" }

// validateUpstreamOverride checks rules 6 and 8; a missing or wildcard
// identity makes the rest of the override meaningless, so it stops there.
func validateUpstreamOverride(v *violations, path string, u *UpstreamConfig) {
	switch {
	case u == nil || u.Name == "":
		v.add(path, "Name is required")
	case u.Name == "*":
		v.add(path, "Wildcard name is not supported")
	case u.Namespace == "*":
		v.add(path, "Wildcard namespace is not supported")
	default:
		validateUpstreamTuning(v, path, u)
	}
}

// validateUpstreamDefaults checks rules 7 and 8.
func validateUpstreamDefaults(v *violations, path string, u *UpstreamConfig) {
	switch {
	case u.Name != "":
		v.add(path, "Name must be empty")
	case tenancySet(u.Namespace):
		v.add(path, "Namespace must be empty")
	case tenancySet(u.Partition):
		v.add(path, "Partition must be empty")
	default:
		validateUpstreamTuning(v, path, u)
	}
}

// validateUpstreamTuning checks rule 8: one failure per passive health
// check and per limits block, as Consul reports them.
func validateUpstreamTuning(v *violations, path string, u *UpstreamConfig) {
	if c := u.PassiveHealthCheck; c != nil {
		switch {
		case c.Interval < 0:
			v.add(path+".PassiveHealthCheck", "passive health check interval cannot be negative")
		case c.EnforcingConsecutive5xx != nil && *c.EnforcingConsecutive5xx > 100:
			v.add(path+".PassiveHealthCheck", "passive health check enforcing_consecutive_5xx must be a percentage between 0 and 100")
		case c.MaxEjectionPercent != nil && *c.MaxEjectionPercent > 100:
			v.add(path+".PassiveHealthCheck", "passive health check max_ejection_percent must be a percentage between 0 and 100")
		case c.BaseEjectionTime != nil && *c.BaseEjectionTime < 0:
			v.add(path+".PassiveHealthCheck", "passive health check base_ejection_time cannot be negative")
		}
	}
	if l := u.Limits; l != nil {
		switch {
		case negative(l.MaxConnections):
			v.add(path+".Limits", "max connections cannot be negative")
		case negative(l.MaxPendingRequests):
			v.add(path+".Limits", "max pending requests cannot be negative")
		case negative(l.MaxConcurrentRequests):
			v.add(path+".Limits", "max concurrent requests cannot be negative")
		}
	}
	if !validConnectionBalance(u.BalanceOutboundConnections) {
		v.addf(path+".BalanceOutboundConnections", "invalid value for balance_outbound_connections: %s", u.BalanceOutboundConnections)
	}
}

func negative(p *int) bool { return p != nil && *p < 0 }

// validateDestination checks rule 9.
func validateDestination(v *violations, d *DestinationConfig) {
	if len(d.Addresses) == 0 {
		v.add("Destination", "Destination must contain at least one valid address")
	}
	seen := make(map[string]bool, len(d.Addresses))
	for i, a := range d.Addresses {
		path := pathIndex("Destination.Addresses", i)
		if seen[a] {
			v.addf(path, "Duplicate address '%s' is not allowed", a)
			continue
		}
		seen[a] = true
		if net.ParseIP(a) == nil && (!isDomainName(a) || strings.Contains(a, "*")) {
			v.addf(path, "Destination address '%s' is invalid Could not validate address %s as an IP or Hostname", a, a)
		}
	}
	if d.Port < 1 || d.Port > 65535 {
		v.addf("Destination.Port", "Invalid Port number %d", d.Port)
	}
}

// isDomainName follows the leniency of the DNS library Consul uses: any
// characters, but no empty or over-long label and at most 255 octets on the
// wire. Escape sequences are not interpreted.
func isDomainName(s string) bool {
	if s == "" {
		return false
	}
	if s == "." {
		return true
	}
	wire := 1 // the root label's length octet
	for label := range strings.SplitSeq(strings.TrimSuffix(s, "."), ".") {
		if label == "" || len(label) > 63 {
			return false
		}
		wire += 1 + len(label)
	}
	return wire <= 255
}
