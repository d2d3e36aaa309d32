package peering

import (
	"fmt"
	"regexp"
	"strings"
)

// Field validation of peering requests (peering.md §1-§2). Errors name the
// field and the rule, since the HTTP layer shows them to the client as 400s.

var nameRE = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$`)

// ValidateName checks a peer name: a lower-case DNS label of at most 63
// characters.
func ValidateName(name string) error {
	if !nameRE.MatchString(name) {
		return fmt.Errorf("%s is not a valid peer name: PeerName must be a lower-case DNS label (letters a-z, digits and '-', starting and ending with a letter or digit, at most 63 characters)", name)
	}
	return nil
}

var metaKeyRE = regexp.MustCompile(`^[A-Za-z0-9_-]+$`)

// Limits on peering Meta, as Consul's.
const (
	maxMetaPairs    = 64
	maxMetaKeyLen   = 128
	maxMetaValueLen = 512
)

// ValidateMeta checks the Meta of a token or establish request.
func ValidateMeta(meta map[string]string) error {
	if len(meta) > maxMetaPairs {
		return fmt.Errorf("Meta: at most %d key/value pairs are allowed, got %d", maxMetaPairs, len(meta))
	}
	for k, v := range meta {
		switch {
		case k == "":
			return fmt.Errorf("Meta: keys must not be empty")
		case len(k) > maxMetaKeyLen:
			return fmt.Errorf("Meta: key %q is longer than %d characters", k, maxMetaKeyLen)
		case !metaKeyRE.MatchString(k):
			return fmt.Errorf("Meta: key %q may contain only letters, digits, '-' and '_'", k)
		case strings.HasPrefix(k, "consul-"):
			return fmt.Errorf("Meta: key %q uses the reserved prefix \"consul-\"", k)
		case len(v) > maxMetaValueLen:
			return fmt.Errorf("Meta: the value of %q is longer than %d characters", k, maxMetaValueLen)
		}
	}
	return nil
}
