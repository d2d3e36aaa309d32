// Package peering connects independent Switchyard clusters (cluster
// peering, peering.md): tokens and the per-cluster CA that secures them,
// the secret exchange, the bidirectional replication stream (both the
// accepting server and the dialing side), what the exported-services entry
// lets each peer see, and writing imported services into the local catalog
// through Raft.
//
// Layout. The pure core decides and the shell does I/O (conventions #1):
//
//	token.go, validate.go   token encoding and request validation
//	ca.go                   the cluster CA and the server certificate
//	export.go               what to send: exported set, payloads, deltas,
//	                        trust bundle
//	read.go                 the exported-services inputs read from the
//	                        state store, shared with the HTTP API
//	import.go               what to write when a payload arrives
//	tracker.go              live stream status (ACTIVE/FAILING, times)
//	                        and its change notification
//	stream.go               one stream session: subscriptions, nonces,
//	                        ACK/NACK, heartbeats, Terminated
//	server.go               the gRPC service on the acceptor
//	dialer.go               the dialer's redial loop
//	manager.go              the leader's loop: start/stop dialers, clean
//	                        up deleted and terminated peerings (paced)
//
// Concurrency. Everything that writes runs on the leader only: the Manager
// is started by the agent's leader session and stopped (with every stream
// it owns) when leadership ends. Each stream session owns three goroutines
// (receive, send, export watch) and returns only after they have stopped.
// The Tracker is safe for concurrent use; followers have an empty one, and
// read endpoints are answered by the leader, so that is never observed.
//
// Callers provide a Backend (the agent): the state store, a Raft apply on
// the leader, and where the local servers and the leader can be reached.
package peering
