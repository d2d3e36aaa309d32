// Package chain compiles service-router, service-splitter and
// service-resolver entries into discovery chains (spec/discovery-chain.md).
//
// Compile is a pure function of a Request and a Source of entries: no I/O, no
// clock, no randomness, so the same inputs always give the same chain. The
// server calls it on every read of /v1/discovery-chain/:service and, through
// ValidateWrite, before accepting any config-entry change that could break a
// chain. It is safe for concurrent use; it never mutates the entries it reads.
//
// The output must match Consul 1.20 CE field by field, so the compiler
// follows Consul's algorithm step by step, quirks included: gather.go reads
// exactly the entries Consul reads for a chain; compile.go and
// compile_resolver.go build the graph; graph.go checks and flattens it;
// protocol.go and hash.go derive Protocol and CustomizationHash;
// validate_write.go and peersafe.go are graph validation. Where Consul's
// result depends on Go map iteration order, a fixed order is used and the
// choice is noted where it is made. Failures are *GraphError values that
// carry Consul's message verbatim and wrap ErrCompile.
package chain
