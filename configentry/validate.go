package configentry

import (
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"
)

// Rules shared by several kinds (spec §6 rules 1, 11, 12 and 16). Each kind's
// Validate lives in validate_<kind>.go and checks its rules in spec order.

// Meta limits of rule 1, as Consul enforces them.
const (
	metaMaxPairs       = 64
	metaKeyMaxLength   = 128
	metaValueMaxLength = 512
)

// validateMeta checks rule 1; keys are visited in sorted order so that the
// reported order does not depend on map iteration.
func validateMeta(v *violations, meta map[string]string) {
	if len(meta) > metaMaxPairs {
		v.addf("Meta", "Meta exceeds maximum element count %d", metaMaxPairs)
	}
	for _, k := range slices.Sorted(maps.Keys(meta)) {
		if len(k) > metaKeyMaxLength {
			v.addf(pathKey("Meta", k), "Meta key %q exceeds maximum length %d", k, metaKeyMaxLength)
		}
		if len(meta[k]) > metaValueMaxLength {
			v.addf(pathKey("Meta", k), "Meta value for key %q exceeds maximum length %d", k, metaValueMaxLength)
		}
	}
}

// mutualTLSModeError checks rules 12 and 17. It returns a *FieldError rather
// than recording it because service-defaults reports this failure alone.
func mutualTLSModeError(mode string) *FieldError {
	switch mode {
	case "", "strict", "permissive":
		return nil
	}
	return &FieldError{
		Path: "MutualTLSMode",
		Rule: fmt.Sprintf("Invalid MutualTLSMode %q. Must be one of %q, %q, or %q.", mode, "", "strict", "permissive"),
	}
}

// failoverModeRule is Consul's text for a failover policy mode outside
// {"", sequential, order-by-locality} (rules 16 and 38).
const failoverModeRule = "Failover-policy mode must be one of '', 'sequential', or 'order-by-locality'"

func validFailoverMode(mode string) bool {
	return mode == "" || mode == "sequential" || mode == "order-by-locality"
}

// prioritizeByLocalityRule refuses the Enterprise-only PrioritizeByLocality
// (rules 17 and 33).
const prioritizeByLocalityRule = "Prioritize-by-locality requires Consul Enterprise"

// tenancySet reports whether a Namespace or Partition names anything but the
// default one. CE has exactly one namespace and one partition, both called
// "default", so wherever CE refuses a namespace or partition Switchyard still
// accepts that name (the seed peering-resolver-failover.yaml writes it).
func tenancySet(s string) bool { return s != "" && s != "default" }

// builtinExtensions are the names Consul 1.20 registers for EnvoyExtensions.
// Switchyard does not run any of them yet; it accepts them so that entries
// written for Consul round-trip, and every one of them needs Arguments.
var builtinExtensions = map[string]bool{
	"builtin/aws/lambda":          true,
	"builtin/ext-authz":           true,
	"builtin/lua":                 true,
	"builtin/otel-access-logging": true,
	"builtin/property-override":   true,
	"builtin/wasm":                true,
}

// validateExtensions checks rule 11, reporting at most one failure per
// extension as Consul does.
func validateExtensions(v *violations, exts []EnvoyExtension) {
	for i, ext := range exts {
		path := pathIndex("EnvoyExtensions", i)
		switch {
		case ext.Name == "":
			v.add(path, "Name is required")
		case !validVersionConstraint(ext.EnvoyVersion):
			v.addf(path+".EnvoyVersion", "Malformed constraint: %s", ext.EnvoyVersion)
		case !validVersionConstraint(ext.ConsulVersion):
			v.addf(path+".ConsulVersion", "Malformed constraint: %s", ext.ConsulVersion)
		case !builtinExtensions[ext.Name]:
			v.addf(path, "unknown envoy extension %q", ext.Name)
		case len(ext.Arguments) == 0:
			v.addf(path, "Arguments are required by extension %q", ext.Name)
		}
	}
}

// versionConstraint approximates hashicorp/go-version's constraint grammar:
// an optional operator followed by a version with optional pre-release and
// build metadata.
var versionConstraint = regexp.MustCompile(
	`^\s*(=|!=|>=|<=|>|<|~>)?\s*v?[0-9]+(\.[0-9]+)*(-?[0-9A-Za-z~-]+(\.[0-9A-Za-z~-]+)*)?(\+[0-9A-Za-z~-]+(\.[0-9A-Za-z~-]+)*)?\s*$`)

// validVersionConstraint accepts "" (no constraint) or a comma-separated list
// of constraints.
func validVersionConstraint(s string) bool {
	if s == "" {
		return true
	}
	for part := range strings.SplitSeq(s, ",") {
		if !versionConstraint.MatchString(part) {
			return false
		}
	}
	return true
}
