package catalog

import "errors"

// Validation for an agent's own service registrations
// (PUT /v1/agent/service/register). The agent checks weights and metadata
// itself, before anything reaches the catalog, and reports them with its own
// wording; the catalog's register path falls back to DefaultWeights instead.

// Validate applies Consul's ValidateWeights rules with its messages.
func (w *Weights) Validate() error {
	switch {
	case w.Passing < 1:
		return errors.New("Passing must be greater than 0")
	case w.Warning < 0:
		return errors.New("Warning must be greater or equal than 0")
	case w.Passing > 65535 || w.Warning > 65535:
		return errors.New("Weight must be smaller than 65536")
	}
	return nil
}

// ValidateMeta applies the service metadata rules to s.Meta (at most 64
// pairs; key characters, length and the reserved "consul-" prefix; value
// length).
func (s *NodeService) ValidateMeta() error {
	return validateServiceMeta(s.Kind, s.Meta)
}

// IsUnspecifiedAddress reports whether addr is 0.0.0.0 or :: (optionally
// bracketed), which the agent refuses as a service address.
func IsUnspecifiedAddress(addr string) bool { return isUnspecifiedIP(addr) }
