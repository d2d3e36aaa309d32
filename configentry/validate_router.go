package configentry

import "strings"

// Validate checks spec §6 rules 18–25 for service-router. Regexes and
// timeouts are deliberately left unchecked, as in Consul.
func (e *ServiceRouterConfigEntry) Validate() error {
	var v violations
	if e.Name == "" {
		v.add("Name", "Name is required")
	}
	validateMeta(&v, e.Meta)
	for i := range e.Routes {
		validateRoute(&v, pathIndex("Routes", i), &e.Routes[i])
	}
	return v.err()
}

func validateRoute(v *violations, path string, r *ServiceRoute) {
	matchesPath := false
	if r.Match != nil && r.Match.HTTP != nil {
		matchesPath = validateHTTPMatch(v, path+".Match.HTTP", r.Match.HTTP)
	}
	d := r.Destination
	if d == nil {
		return
	}
	if d.PrefixRewrite != "" && !matchesPath {
		v.add(path, "cannot make use of PrefixRewrite without configuring either PathExact or PathPrefix")
	}
	for _, c := range d.RetryOn {
		if !retryConditions[c] {
			v.addf(path+".Destination", "contains an invalid retry condition: %q", c)
		}
	}
}

// validateHTTPMatch checks rules 19–23 and reports whether the match is on
// PathExact or PathPrefix, which PrefixRewrite (rule 24) needs.
func validateHTTPMatch(v *violations, path string, m *ServiceRouteHTTPMatch) bool {
	if m.PathExact != "" && !strings.HasPrefix(m.PathExact, "/") {
		v.addf(path, "PathExact doesn't start with '/': %q", m.PathExact)
	}
	if m.PathPrefix != "" && !strings.HasPrefix(m.PathPrefix, "/") {
		v.addf(path, "PathPrefix doesn't start with '/': %q", m.PathPrefix)
	}
	if countSet(m.PathExact != "", m.PathPrefix != "", m.PathRegex != "") > 1 {
		v.add(path, "should only contain at most one of PathExact, PathPrefix, or PathRegex")
	}
	for j, h := range m.Header {
		hp := pathIndex(path+".Header", j)
		if h.Name == "" {
			v.add(hp, "missing required Name field")
		}
		if countSet(h.Present, h.Exact != "", h.Prefix != "", h.Suffix != "", h.Regex != "") != 1 {
			v.add(hp, "should only contain one of Present, Exact, Prefix, Suffix, or Regex")
		}
	}
	for j, q := range m.QueryParam {
		qp := pathIndex(path+".QueryParam", j)
		if q.Name == "" {
			v.add(qp, "missing required Name field")
		}
		if countSet(q.Present, q.Exact != "", q.Regex != "") != 1 {
			v.add(qp, "should only contain one of Present, Exact, or Regex")
		}
	}
	seen := make(map[string]bool, len(m.Methods))
	for _, method := range m.Methods {
		switch {
		case !httpMethods[method]:
			v.addf(path, "Methods contains an invalid method %q", method)
		case seen[method]:
			v.addf(path, "Methods contains %q more than once", method)
		}
		seen[method] = true
	}
	return m.PathExact != "" || m.PathPrefix != ""
}

// countSet counts the true values.
func countSet(set ...bool) int {
	n := 0
	for _, s := range set {
		if s {
			n++
		}
	}
	return n
}

// httpMethods are the standard verbs of rule 23; matching is case-sensitive
// because Normalize has already upper-cased them.
var httpMethods = map[string]bool{
	"GET": true, "HEAD": true, "POST": true, "PUT": true, "PATCH": true,
	"DELETE": true, "CONNECT": true, "OPTIONS": true, "TRACE": true,
}

// retryConditions are the Envoy retry-on values of rule 25.
var retryConditions = map[string]bool{
	"5xx": true, "gateway-error": true, "reset": true, "connect-failure": true,
	"envoy-ratelimited": true, "retriable-4xx": true, "refused-stream": true,
	"cancelled": true, "deadline-exceeded": true, "internal": true,
	"resource-exhausted": true, "unavailable": true,
}
