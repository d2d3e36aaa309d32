// Package configentry owns every config entry kind Switchyard understands:
// the Go types (whose JSON encoding is Consul's HTTP API shape), decoding from
// Consul's JSON form, HCL and Kubernetes-style YAML, normalization, and the
// entry-local validation rules of spec/config-entries.md §5–§6.
//
// It is a leaf package: it imports nothing of ours. Graph validation (whether a
// set of entries still compiles into valid discovery chains) needs the chain
// compiler and therefore lives in package chain.
//
// Concurrency: entries are plain values. Callers that share an entry between
// goroutines must treat it as immutable; Clone gives a deep copy to mutate.
package configentry
