package configentry

import "sort"

// Set is an in-memory collection of entries keyed by kind and name. The CLI
// and tests compile and validate chains from a Set; the server does both
// from its state store through the same interfaces (chain.Source and
// chain.Entries).
type Set struct {
	entries map[string]map[string]Entry
}

// NewSet returns a set holding entries; a later entry with the same kind and
// name replaces an earlier one, as a later write would.
func NewSet(entries ...Entry) *Set {
	s := &Set{entries: map[string]map[string]Entry{}}
	for _, e := range entries {
		s.Put(e)
	}
	return s
}

// Put stores e, replacing any entry of the same kind and name.
func (s *Set) Put(e Entry) {
	byName := s.entries[e.GetKind()]
	if byName == nil {
		byName = map[string]Entry{}
		s.entries[e.GetKind()] = byName
	}
	byName[e.GetName()] = e
}

// Delete removes the entry of kind and name, if present.
func (s *Set) Delete(kind, name string) { delete(s.entries[kind], name) }

// Get returns the entry of kind and name, or nil.
func (s *Set) Get(kind, name string) Entry {
	return s.entries[kind][name]
}

// Clone returns a shallow copy: the maps are new, the entries are shared.
func (s *Set) Clone() *Set {
	out := NewSet()
	for _, e := range s.All() {
		out.Put(e)
	}
	return out
}

// List returns the entries of kind sorted by name.
func (s *Set) List(kind string) []Entry {
	byName := s.entries[kind]
	out := make([]Entry, 0, len(byName))
	for _, e := range byName {
		out = append(out, e)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].GetName() < out[j].GetName() })
	return out
}

// All returns every entry sorted by kind, then name.
func (s *Set) All() []Entry {
	var out []Entry
	for _, byName := range s.entries {
		for _, e := range byName {
			out = append(out, e)
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].GetKind() != out[j].GetKind() {
			return out[i].GetKind() < out[j].GetKind()
		}
		return out[i].GetName() < out[j].GetName()
	})
	return out
}

// Len counts the entries.
func (s *Set) Len() int {
	n := 0
	for _, byName := range s.entries {
		n += len(byName)
	}
	return n
}

// Typed lookups used by the chain compiler (they satisfy chain.Source).

// ServiceDefaults returns the service-defaults entry for name, or nil.
func (s *Set) ServiceDefaults(name string) *ServiceConfigEntry {
	e, _ := s.Get(ServiceDefaults, name).(*ServiceConfigEntry)
	return e
}

// ProxyDefaults returns the global proxy-defaults entry, or nil.
func (s *Set) ProxyDefaults() *ProxyConfigEntry {
	e, _ := s.Get(ProxyDefaults, ProxyDefaultsName).(*ProxyConfigEntry)
	return e
}

// Router returns the service-router entry for name, or nil.
func (s *Set) Router(name string) *ServiceRouterConfigEntry {
	e, _ := s.Get(ServiceRouter, name).(*ServiceRouterConfigEntry)
	return e
}

// Splitter returns the service-splitter entry for name, or nil.
func (s *Set) Splitter(name string) *ServiceSplitterConfigEntry {
	e, _ := s.Get(ServiceSplitter, name).(*ServiceSplitterConfigEntry)
	return e
}

// Resolver returns the service-resolver entry for name, or nil.
func (s *Set) Resolver(name string) *ServiceResolverConfigEntry {
	e, _ := s.Get(ServiceResolver, name).(*ServiceResolverConfigEntry)
	return e
}

// ExportedServices returns the exported-services entry named name, or nil.
func (s *Set) ExportedServices(name string) *ExportedServicesConfigEntry {
	e, _ := s.Get(ExportedServices, name).(*ExportedServicesConfigEntry)
	return e
}
