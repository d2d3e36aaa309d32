package configentry

import (
	"errors"
	"time"
)

// Sentinel errors; wrapped with %w so callers can classify failures.
var (
	// ErrInvalidKind: the kind is not a config entry kind at all.
	ErrInvalidKind = errors.New("invalid config entry kind")
	// ErrUnsupportedKind: a Consul kind Switchyard does not implement.
	ErrUnsupportedKind = errors.New("unsupported config entry kind")
	// ErrDecode: the input could not be decoded into an entry.
	ErrDecode = errors.New("decoding failed")
	// ErrInvalid: the entry decoded but breaks a validation rule.
	ErrInvalid = errors.New("invalid config entry")
)

// Entry is implemented by every config entry kind.
type Entry interface {
	GetKind() string
	GetName() string
	GetMeta() map[string]string
	GetRaftIndex() *RaftIndex
	// Normalize applies the write-time rewrites of spec §5 in place.
	Normalize() error
	// Validate checks the entry-local rules of spec §6.
	Validate() error
}

// RaftIndex records the Raft indexes of an entry's creation and last change.
type RaftIndex struct {
	CreateIndex uint64
	ModifyIndex uint64
}

// GetRaftIndex lets every entry type expose its indexes through embedding.
func (r *RaftIndex) GetRaftIndex() *RaftIndex { return r }

// Duration is a time.Duration that entry types use where Consul's JSON form
// emits a Go duration string ("15s"). Decoding accepts strings or integer
// nanoseconds either way; see decode.go.
type Duration = time.Duration

// MeshGatewayConfig picks how traffic to a target uses mesh gateways.
type MeshGatewayConfig struct {
	Mode string `json:",omitempty"` // "", none, local, remote
}

// TransparentProxyConfig mirrors Consul's transparent proxy settings.
type TransparentProxyConfig struct {
	OutboundListenerPort int  `json:",omitempty" alias:"outbound_listener_port"`
	DialedDirectly       bool `json:",omitempty" alias:"dialed_directly"`
}

// ExposeConfig lists paths exposed through the proxy without mTLS.
type ExposeConfig struct {
	Checks bool         `json:",omitempty"`
	Paths  []ExposePath `json:",omitempty"`
}

// ExposePath is one exposed HTTP path.
type ExposePath struct {
	ListenerPort    int    `json:",omitempty" alias:"listener_port"`
	Path            string `json:",omitempty"`
	LocalPathPort   int    `json:",omitempty" alias:"local_path_port"`
	Protocol        string `json:",omitempty"`
	ParsedFromCheck bool   `json:",omitempty"`
}

// EnvoyExtension is a named Envoy extension with free-form arguments.
type EnvoyExtension struct {
	Name          string
	Required      bool
	Arguments     map[string]any `bexpr:"-"`
	ConsulVersion string
	EnvoyVersion  string
}

// HTTPHeaderModifiers adds, sets or removes HTTP headers.
type HTTPHeaderModifiers struct {
	Add    map[string]string `json:",omitempty"`
	Set    map[string]string `json:",omitempty"`
	Remove []string          `json:",omitempty"`
}

// IsZero reports whether the modifiers change nothing.
func (m *HTTPHeaderModifiers) IsZero() bool {
	return m == nil || (len(m.Add) == 0 && len(m.Set) == 0 && len(m.Remove) == 0)
}
