// Package agent wires a Switchyard server together: configuration, Raft
// (hashicorp/raft with raft-boltdb on disk), the memberlist LAN pool, the
// server port multiplexer (Raft and server-to-server gRPC share it), request
// forwarding to the leader, the leader loop (bootstrap, voter membership,
// gossip health in the catalog) and the HTTP API.
//
// Concurrency: an Agent owns every goroutine it starts; Shutdown stops them
// and waits. HTTP handlers never block the Raft apply loop: reads use the
// state store's snapshots and watch channels.
package agent
