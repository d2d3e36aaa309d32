package catalog

import (
	"errors"
	"fmt"
	"sort"
	"strings"
)

// Limits on service metadata, as in Consul.
const (
	metaMaxPairs       = 64
	metaKeyMaxLength   = 128
	metaValueMaxLength = 512
	// metaReservedPrefix is kept for keys Consul itself writes.
	metaReservedPrefix = "consul-"
	// metaWANFederationKey is the one reserved key a mesh gateway may set.
	metaWANFederationKey = "consul-wan-federation"
)

// validateServiceMeta applies Consul's metadata rules. Keys are checked in
// sorted order so that the reported pair does not depend on map order.
func validateServiceMeta(kind ServiceKind, meta map[string]string) error {
	if len(meta) > metaMaxPairs {
		// Consul says "Node" here for services too; the text is kept.
		return fmt.Errorf("Node metadata cannot contain more than %d key/value pairs", metaMaxPairs)
	}
	keys := make([]string, 0, len(meta))
	for k := range meta {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if err := validateMetaPair(kind, k, meta[k]); err != nil {
			return fmt.Errorf("Couldn't load metadata pair ('%s', '%s'): %s", k, meta[k], err)
		}
	}
	return nil
}

func validateMetaPair(kind ServiceKind, key, value string) error {
	if key == "" {
		return errors.New("Key cannot be blank")
	}
	for i := 0; i < len(key); i++ {
		c := key[i]
		if !(c == '_' || c == '-' || ('0' <= c && c <= '9') || ('a' <= c && c <= 'z') || ('A' <= c && c <= 'Z')) {
			return errors.New("Key contains invalid characters")
		}
	}
	if len(key) > metaKeyMaxLength {
		return fmt.Errorf("Key is too long (limit: %d characters)", metaKeyMaxLength)
	}
	if strings.HasPrefix(key, metaReservedPrefix) &&
		!(kind == ServiceKindMeshGateway && key == metaWANFederationKey) {
		return fmt.Errorf("Key prefix '%s' is reserved for internal use", metaReservedPrefix)
	}
	if len(value) > metaValueMaxLength {
		return fmt.Errorf("Value is too long (limit: %d characters)", metaValueMaxLength)
	}
	return nil
}

// Validate applies Consul's rules for proxies, gateways and Connect-native
// instances. Every broken rule is reported, joined in a fixed order.
func (s *NodeService) Validate() error {
	var errs []error
	add := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	if s.Kind == ServiceKindConnectProxy {
		if s.Port == 0 && s.SocketPath == "" {
			add("Port or SocketPath must be set for a %s", s.Kind)
		}
		switch s.Proxy.DestinationServiceName {
		case "":
			add("Proxy.DestinationServiceName must be non-empty for Connect proxy services")
		case "*":
			add("Proxy.DestinationServiceName must not be a wildcard for Connect proxy services")
		}
		if s.Connect.Native {
			add("A Proxy cannot also be Connect Native, only typical services")
		}
		for i := range s.Proxy.Upstreams {
			if err := s.Proxy.Upstreams[i].validate(); err != nil {
				errs = append(errs, err)
			}
		}
	}
	if s.Kind.IsGateway() {
		errs = append(errs, s.validateGateway()...)
	}
	if s.Connect.Native && s.Port == 0 && s.SocketPath == "" {
		add("Port or SocketPath must be set for a Connect native service.")
	}
	return errors.Join(errs...)
}

// validateGateway lists the proxy fields a gateway may not set.
func (s *NodeService) validateGateway() []error {
	var errs []error
	if s.Port == 0 && s.Kind != ServiceKindIngressGateway && s.Kind != ServiceKindAPIGateway {
		errs = append(errs, fmt.Errorf("Port must be non-zero for a %s", s.Kind))
	}
	p := s.Proxy
	for _, f := range []struct {
		name string
		set  bool
	}{
		{"DestinationServiceName", p.DestinationServiceName != ""},
		{"DestinationServiceID", p.DestinationServiceID != ""},
		{"LocalServiceAddress", p.LocalServiceAddress != ""},
		{"LocalServicePort", p.LocalServicePort != 0},
		{"LocalServiceSocketPath", p.LocalServiceSocketPath != ""},
		{"Upstreams", len(p.Upstreams) != 0},
	} {
		if f.set {
			errs = append(errs, fmt.Errorf("The Proxy.%s configuration is invalid for a %s", f.name, s.Kind))
		}
	}
	return errs
}

// validate applies Consul's per-upstream rules.
func (u *Upstream) validate() error {
	switch u.DestinationType {
	case "", "service", "prepared_query":
	default:
		return fmt.Errorf("unknown upstream destination type: %q", u.DestinationType)
	}
	switch {
	case u.DestinationName == "":
		return errors.New("upstream destination name cannot be empty")
	case u.DestinationName == "*" && !u.CentrallyConfigured:
		return errors.New("upstream destination name cannot be a wildcard")
	case u.DestinationPeer != "" && u.Datacenter != "":
		return errors.New("upstream cannot specify both destination peer and datacenter")
	case u.CentrallyConfigured:
		return nil
	case u.LocalBindPort == 0 && u.LocalBindSocketPath == "":
		return errors.New("upstream local bind port or local socket path must be defined and nonzero")
	case u.LocalBindPort != 0 && u.LocalBindSocketPath != "":
		return errors.New("only one of upstream local bind port or local socket path can be defined and nonzero")
	}
	return nil
}
