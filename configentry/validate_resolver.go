package configentry

import (
	"fmt"
	"maps"
	"regexp"
	"slices"

	"github.com/hashicorp/go-bexpr"
)

// Validate checks spec §6 rules 29–42 for service-resolver. Subsets and
// failovers are visited in sorted key order to keep the output stable.
func (e *ServiceResolverConfigEntry) Validate() error {
	var v violations
	if e.Name == "" {
		v.add("Name", "Name is required")
	}
	validateMeta(&v, e.Meta)
	e.validateSubsets(&v)
	if e.DefaultSubset != "" && !e.hasSubset(e.DefaultSubset) {
		v.addf("DefaultSubset", "DefaultSubset %q is not a valid subset", e.DefaultSubset)
	}
	if p := e.PrioritizeByLocality; p != nil && p.Mode != "" {
		v.add("PrioritizeByLocality", prioritizeByLocalityRule)
	}
	if e.Redirect != nil {
		e.validateRedirect(&v)
	}
	for _, k := range slices.Sorted(maps.Keys(e.Failover)) {
		e.validateFailover(&v, k, e.Failover[k])
	}
	if e.ConnectTimeout < 0 {
		v.addf("ConnectTimeout", "Bad ConnectTimeout '%s', must be >= 0", e.ConnectTimeout)
	}
	if e.RequestTimeout < 0 {
		v.addf("RequestTimeout", "Bad RequestTimeout '%s', must be >= 0", e.RequestTimeout)
	}
	if e.LoadBalancer != nil {
		validateLoadBalancer(&v, e.LoadBalancer)
	}
	return v.err()
}

func (e *ServiceResolverConfigEntry) hasSubset(name string) bool {
	_, ok := e.Subsets[name]
	return ok
}

// subsetName: subset names appear in SNI host names, so each must be a DNS
// label.
var subsetName = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]*[a-z0-9])?$`)

// validateSubsets checks rules 30 and 31.
func (e *ServiceResolverConfigEntry) validateSubsets(v *violations) {
	for _, name := range slices.Sorted(maps.Keys(e.Subsets)) {
		path := pathKey("Subsets", name)
		switch {
		case name == "":
			v.add(path, "Subset defined with empty name")
		case len(name) > 63:
			v.addf(path, "Subset %q is invalid: must be non-empty and 63 characters or fewer", name)
		case !subsetName.MatchString(name):
			v.addf(path, "Subset %q is invalid: must be 63 characters or fewer, begin or end with lower case alphanumeric characters, and contain lower case alphanumeric characters or '-' in between", name)
		}
		if f := e.Subsets[name].Filter; f != "" {
			if _, err := bexpr.CreateEvaluator(f); err != nil {
				v.addf(path+".Filter", "Filter for subset %q is not a valid expression: %v", name, err)
			}
		}
	}
}

// validateRedirect checks rules 34–37. An empty redirect has nothing left
// to combine, so rule 37 only runs on a non-empty one.
func (e *ServiceResolverConfigEntry) validateRedirect(v *violations) {
	r := e.Redirect
	if tenancySet(r.Partition) && r.Datacenter != "" {
		// Consul checks this before the Enterprise-only fields.
		v.add("Redirect", "Cross-datacenter and cross-partition redirect is not supported")
	}
	if tenancySet(r.Partition) {
		v.add("Redirect", "Setting Partition requires Consul Enterprise")
	}
	if tenancySet(r.Namespace) {
		v.add("Redirect", "Setting Namespace requires Consul Enterprise")
	}
	if r.SamenessGroup != "" {
		v.add("Redirect", "Setting SamenessGroup requires Consul Enterprise")
	}
	if len(e.Failover) > 0 {
		v.add("Redirect", "Redirect and Failover cannot both be set")
	}
	if r.Service == "" && r.ServiceSubset == "" && !tenancySet(r.Namespace) && !tenancySet(r.Partition) &&
		r.Datacenter == "" && r.Peer == "" && r.SamenessGroup == "" {
		v.add("Redirect", "Redirect is empty")
		return
	}
	if rule := e.redirectCombinationRule(r); rule != "" {
		v.add("Redirect", rule)
	}
}

// redirectCombinationRule returns the first broken combination of rule 37.
func (e *ServiceResolverConfigEntry) redirectCombinationRule(r *ServiceResolverRedirect) string {
	partition := tenancySet(r.Partition)
	switch {
	case r.SamenessGroup != "" && r.ServiceSubset != "":
		return "Redirect.SamenessGroup cannot be set with Redirect.ServiceSubset"
	case r.SamenessGroup != "" && partition:
		return "Redirect.Partition cannot be set with Redirect.SamenessGroup"
	case r.SamenessGroup != "" && r.Datacenter != "":
		return "Redirect.SamenessGroup cannot be set with Redirect.Datacenter"
	case r.Peer != "" && r.ServiceSubset != "":
		return "Redirect.Peer cannot be set with Redirect.ServiceSubset"
	case r.Peer != "" && partition:
		return "Redirect.Partition cannot be set with Redirect.Peer"
	case r.Peer != "" && r.Datacenter != "":
		return "Redirect.Peer cannot be set with Redirect.Datacenter"
	case r.Service == "":
		return serviceLessRedirectRule(r)
	case r.ServiceSubset != "" && r.Service == e.Name && !e.hasSubset(r.ServiceSubset):
		return fmt.Sprintf("Redirect.ServiceSubset %q is not a valid subset of %q", r.ServiceSubset, e.Name)
	}
	return ""
}

// serviceLessRedirectRule names the first field that only makes sense
// together with Redirect.Service.
func serviceLessRedirectRule(r *ServiceResolverRedirect) string {
	for _, f := range []struct {
		name string
		set  bool
	}{
		{"ServiceSubset", r.ServiceSubset != ""},
		{"Namespace", tenancySet(r.Namespace)},
		{"Partition", tenancySet(r.Partition)},
		{"Peer", r.Peer != ""},
	} {
		if f.set {
			return "Redirect." + f.name + " defined without Redirect.Service"
		}
	}
	return ""
}

// validateFailover checks rules 38–40 for the failover of subset k.
func (e *ServiceResolverConfigEntry) validateFailover(v *violations, k string, f ServiceResolverFailover) {
	path := pathKey("Failover", k)
	if tenancySet(f.Namespace) {
		v.add(path, "Setting Namespace requires Consul Enterprise")
	}
	if f.SamenessGroup != "" {
		v.add(path, "Setting SamenessGroup requires Consul Enterprise")
	}
	if k != "*" && !e.hasSubset(k) {
		v.add(path, "not a valid subset subset")
	}
	if f.Service == "" && f.ServiceSubset == "" && !tenancySet(f.Namespace) && len(f.Targets) == 0 &&
		f.SamenessGroup == "" && len(f.Datacenters) == 0 {
		v.add(path, "one of Service, ServiceSubset, Namespace, Targets, SamenessGroup, or Datacenters is required")
	}
	if f.Policy != nil && f.Policy.Mode != "" {
		v.add(path, "Setting failover policies requires Consul Enterprise")
		if !validFailoverMode(f.Policy.Mode) {
			v.add(path+".Policy.Mode", failoverModeRule)
		}
	}
	if f.ServiceSubset != "" && (f.Service == "" || f.Service == e.Name) && !e.hasSubset(f.ServiceSubset) {
		v.addf(path, "ServiceSubset %q is not a valid subset of %q", f.ServiceSubset, e.Name)
	}
	if f.SamenessGroup != "" {
		switch {
		case len(f.Datacenters) > 0:
			v.add(path, "SamenessGroup cannot be set with Datacenters")
		case f.ServiceSubset != "":
			v.add(path, "SamenessGroup cannot be set with ServiceSubset")
		case len(f.Targets) > 0:
			v.add(path, "SamenessGroup cannot be set with Targets")
		}
	}
	if len(f.Targets) > 0 {
		if len(f.Datacenters) > 0 {
			v.add(path, "Targets cannot be set with Datacenters")
		}
		if f.ServiceSubset != "" {
			v.add(path, "Targets cannot be set with ServiceSubset")
		}
		if f.Service != "" {
			v.add(path, "Targets cannot be set with Service")
		}
	}
	for i, t := range f.Targets {
		e.validateFailoverTarget(v, pathIndex(path+".Targets", i), t)
	}
	for i, dc := range f.Datacenters {
		if dc == "" {
			v.add(pathIndex(path+".Datacenters", i), "found empty datacenter")
		}
	}
}

// validateFailoverTarget checks rule 39; of the field combinations only the
// first broken one is reported, as in Consul.
func (e *ServiceResolverConfigEntry) validateFailoverTarget(v *violations, path string, t ServiceResolverFailoverTarget) {
	partition := tenancySet(t.Partition)
	if partition {
		v.add(path, "Setting Partition requires Consul Enterprise")
	}
	if tenancySet(t.Namespace) {
		v.add(path, "Setting Namespace requires Consul Enterprise")
	}
	switch {
	case t.Peer != "" && t.ServiceSubset != "":
		v.add(path, "Peer cannot be set with ServiceSubset")
	case t.Peer != "" && partition:
		v.add(path, "Partition cannot be set with Peer")
	case t.Peer != "" && t.Datacenter != "":
		v.add(path, "Peer cannot be set with Datacenter")
	case partition && t.Datacenter != "":
		v.add(path, "Partition cannot be set with Datacenter")
	case t.ServiceSubset != "" && (t.Service == "" || t.Service == e.Name) && !e.hasSubset(t.ServiceSubset):
		v.addf(path, "ServiceSubset %q is not a valid subset of %q", t.ServiceSubset, e.Name)
	}
}

var loadBalancerPolicies = map[string]bool{
	"": true, "random": true, "round_robin": true, "least_request": true, "ring_hash": true, "maglev": true,
}

// validateLoadBalancer checks rule 42.
func validateLoadBalancer(v *violations, lb *LoadBalancer) {
	if !loadBalancerPolicies[lb.Policy] {
		v.addf("LoadBalancer", "Bad LoadBalancer policy: %q is not supported", lb.Policy)
	}
	if lb.Policy != "ring_hash" && lb.RingHashConfig != nil {
		v.addf("LoadBalancer", "Bad LoadBalancer configuration. RingHashConfig specified for incompatible load balancing policy %q", lb.Policy)
	}
	if lb.Policy != "least_request" && lb.LeastRequestConfig != nil {
		v.addf("LoadBalancer", "Bad LoadBalancer configuration. LeastRequestConfig specified for incompatible load balancing policy %q", lb.Policy)
	}
	if lb.Policy != "ring_hash" && lb.Policy != "maglev" && len(lb.HashPolicies) > 0 {
		v.addf("LoadBalancer", "Bad LoadBalancer configuration: HashPolicies specified for non-hash-based Policy: %q", lb.Policy)
	}
	for i, hp := range lb.HashPolicies {
		if rule := hashPolicyRule(hp); rule != "" {
			v.add(pathIndex("LoadBalancer.HashPolicies", i), rule)
		}
	}
}

// hashPolicyRule returns the first broken rule of one hash policy.
func hashPolicyRule(hp HashPolicy) string {
	switch {
	case hp.Field != "" && hp.Field != "header" && hp.Field != "cookie" && hp.Field != "query_parameter":
		return fmt.Sprintf("%q is not a supported field", hp.Field)
	case hp.SourceIP && hp.Field != "":
		return fmt.Sprintf("A single hash policy cannot hash both a source address and a %q", hp.Field)
	case hp.SourceIP && hp.FieldValue != "":
		return "A FieldValue cannot be specified when hashing SourceIP"
	case hp.Field != "" && hp.FieldValue == "":
		return fmt.Sprintf("Field %q was specified without a FieldValue", hp.Field)
	case hp.FieldValue != "" && hp.Field == "":
		return "FieldValue requires a Field to apply to"
	case hp.CookieConfig != nil && hp.Field != "cookie":
		return fmt.Sprintf("cookie_config provided for %q", hp.Field)
	case hp.CookieConfig != nil && hp.CookieConfig.Session && hp.CookieConfig.TTL != 0:
		return "a session cookie cannot have an associated TTL"
	}
	return ""
}
