// Package chain compiles service-router, service-splitter and
// service-resolver entries into discovery chains (spec/discovery-chain.md).
//
// Compile is a pure function of a Request and a Source of entries: no I/O, no
// clock, no randomness, so the same inputs always give the same chain. The
// server calls it on every read of /v1/discovery-chain/:service and, through
// ValidateWrite, before accepting any config-entry change that could break a
// chain. It is safe for concurrent use; it never mutates the entries it reads.
package chain
