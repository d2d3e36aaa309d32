package configentry

import (
	"fmt"
	"sort"
)

// Kind names as they appear in the API.
const (
	ServiceDefaults  = "service-defaults"
	ProxyDefaults    = "proxy-defaults"
	ServiceRouter    = "service-router"
	ServiceSplitter  = "service-splitter"
	ServiceResolver  = "service-resolver"
	ExportedServices = "exported-services"
)

// ProxyDefaultsName is the only name a proxy-defaults entry may have.
const ProxyDefaultsName = "global"

// implementedKinds are the kinds with types in this package.
var implementedKinds = map[string]func() Entry{
	ServiceDefaults:  func() Entry { return &ServiceConfigEntry{Kind: ServiceDefaults} },
	ProxyDefaults:    func() Entry { return &ProxyConfigEntry{Kind: ProxyDefaults} },
	ServiceRouter:    func() Entry { return &ServiceRouterConfigEntry{Kind: ServiceRouter} },
	ServiceSplitter:  func() Entry { return &ServiceSplitterConfigEntry{Kind: ServiceSplitter} },
	ServiceResolver:  func() Entry { return &ServiceResolverConfigEntry{Kind: ServiceResolver} },
	ExportedServices: func() Entry { return &ExportedServicesConfigEntry{} },
}

// recognisedKinds are kind names Consul knows but Switchyard does not store.
// Reads of them answer "nothing there" instead of "invalid kind"; writes are
// refused with a message saying the kind is not supported.
var recognisedKinds = map[string]bool{
	"mesh": true, "ingress-gateway": true, "terminating-gateway": true,
	"service-intentions": true, "sameness-group": true, "api-gateway": true,
	"bound-api-gateway": true, "http-route": true, "tcp-route": true,
	"inline-certificate": true, "file-system-certificate": true, "jwt-provider": true,
}

// IsImplemented reports whether kind has a type in this package.
func IsImplemented(kind string) bool { _, ok := implementedKinds[kind]; return ok }

// IsKnownKind reports whether kind is a Consul kind name (implemented or not).
func IsKnownKind(kind string) bool { return IsImplemented(kind) || recognisedKinds[kind] }

// Kinds lists the implemented kinds in a stable order.
func Kinds() []string {
	out := make([]string, 0, len(implementedKinds))
	for k := range implementedKinds {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// New returns an empty entry of kind, or an error naming the kind.
func New(kind string) (Entry, error) {
	mk, ok := implementedKinds[kind]
	if !ok {
		if recognisedKinds[kind] {
			return nil, fmt.Errorf("%w: config entry kind %q is not supported by switchyard", ErrUnsupportedKind, kind)
		}
		return nil, fmt.Errorf("%w: %s", ErrInvalidKind, kind)
	}
	return mk(), nil
}
