package configentry

import "cmp"

// Validate checks spec §6 rules 26–28 for service-splitter.
func (e *ServiceSplitterConfigEntry) Validate() error {
	var v violations
	if e.Name == "" {
		v.add("Name", "Name is required")
	}
	if len(e.Splits) == 0 {
		v.add("Splits", "no splits configured")
	}
	validateMeta(&v, e.Meta)
	if len(e.Splits) == 0 {
		return v.err()
	}
	e.validateUniqueSplits(&v)
	var sum float64
	for _, s := range e.Splits {
		sum += splitWeightHundredths(s.Weight)
	}
	if sum != 100*100 {
		// float32 arithmetic reproduces Consul's text, e.g. "not 99.989998".
		v.addf("Splits", "the sum of all split weights must be 100, not %f", float32(sum)/100)
	}
	return v.err()
}

// validateUniqueSplits checks rule 27. Consul compares whole splits minus
// Weight, and its header modifiers are pointers compared by identity, so a
// split carrying any modifier never equals another one. The default
// namespace and partition are the same destination as the unnamed ones.
func (e *ServiceSplitterConfigEntry) validateUniqueSplits(v *violations) {
	type destination struct{ service, subset, namespace, partition string }
	seen := make(map[destination]bool, len(e.Splits))
	for i, s := range e.Splits {
		if s.RequestHeaders != nil || s.ResponseHeaders != nil {
			continue
		}
		d := destination{
			service:   cmp.Or(s.Service, e.Name),
			subset:    s.ServiceSubset,
			namespace: defaultTenancyAsEmpty(s.Namespace),
			partition: defaultTenancyAsEmpty(s.Partition),
		}
		if seen[d] {
			v.addf(pathIndex("Splits", i),
				"split destination occurs more than once: service=%q, subset=%q, namespace=%q, partition=%q",
				d.service, d.subset, d.namespace, d.partition)
		}
		seen[d] = true
	}
}

func defaultTenancyAsEmpty(s string) string {
	if !tenancySet(s) {
		return ""
	}
	return s
}
