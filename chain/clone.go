package chain

import (
	"maps"
	"slices"

	"github.com/switchyard/switchyard/configentry"
)

// The compiled chain must not share memory with the entries it was compiled
// from: entries are shared, read-only state (the store's, or a Set's), while
// callers may keep or adjust a chain. These helpers copy what a chain embeds.

func cloneRoute(r *configentry.ServiceRoute) *configentry.ServiceRoute {
	out := &configentry.ServiceRoute{}
	if r.Match != nil {
		m := *r.Match
		if m.HTTP != nil {
			h := *m.HTTP
			h.Header = slices.Clone(h.Header)
			h.QueryParam = slices.Clone(h.QueryParam)
			h.Methods = slices.Clone(h.Methods)
			m.HTTP = &h
		}
		out.Match = &m
	}
	if r.Destination != nil {
		d := *r.Destination
		d.RetryOn = slices.Clone(d.RetryOn)
		d.RetryOnStatusCodes = slices.Clone(d.RetryOnStatusCodes)
		d.RequestHeaders = cloneHeaders(d.RequestHeaders)
		d.ResponseHeaders = cloneHeaders(d.ResponseHeaders)
		out.Destination = &d
	}
	return out
}

func cloneSplit(s *configentry.ServiceSplit) *configentry.ServiceSplit {
	out := *s
	out.RequestHeaders = cloneHeaders(s.RequestHeaders)
	out.ResponseHeaders = cloneHeaders(s.ResponseHeaders)
	return &out
}

// cloneHeaders keeps nil and empty apart: Consul emits an empty modifier
// object as {} but omits a nil one.
func cloneHeaders(h *configentry.HTTPHeaderModifiers) *configentry.HTTPHeaderModifiers {
	if h == nil {
		return nil
	}
	return &configentry.HTTPHeaderModifiers{
		Add:    maps.Clone(h.Add),
		Set:    maps.Clone(h.Set),
		Remove: slices.Clone(h.Remove),
	}
}

func cloneLoadBalancer(lb *configentry.LoadBalancer) *configentry.LoadBalancer {
	if lb == nil {
		return nil
	}
	out := *lb
	if lb.RingHashConfig != nil {
		rh := *lb.RingHashConfig
		out.RingHashConfig = &rh
	}
	if lb.LeastRequestConfig != nil {
		lr := *lb.LeastRequestConfig
		out.LeastRequestConfig = &lr
	}
	out.HashPolicies = slices.Clone(lb.HashPolicies)
	for i, hp := range out.HashPolicies {
		if hp.CookieConfig != nil {
			cc := *hp.CookieConfig
			out.HashPolicies[i].CookieConfig = &cc
		}
	}
	return &out
}

func clonePolicy(p *configentry.ServiceResolverFailoverPolicy) *configentry.ServiceResolverFailoverPolicy {
	if p == nil {
		return nil
	}
	return &configentry.ServiceResolverFailoverPolicy{Mode: p.Mode, Regions: slices.Clone(p.Regions)}
}

func cloneExtensions(exts []configentry.EnvoyExtension) []configentry.EnvoyExtension {
	if exts == nil {
		return nil
	}
	out := make([]configentry.EnvoyExtension, len(exts))
	for i, e := range exts {
		out[i] = e
		if e.Arguments != nil {
			out[i].Arguments = cloneValue(e.Arguments).(map[string]any)
		}
	}
	return out
}

// cloneValue deep-copies the maps and slices of a decoded free-form value.
func cloneValue(v any) any {
	switch x := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = cloneValue(e)
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = cloneValue(e)
		}
		return out
	}
	return v
}
