// Package catalog owns the service catalog's data model: nodes, service
// instances, health checks and the requests that register and deregister
// them. The Go types encode to exactly the JSON shapes of Consul 1.20's
// catalog and health endpoints (spec/http-api.md §4–§5), so the HTTP layer
// can write them out unchanged and the official consul/api client decodes
// them.
//
// Two views of a service instance exist, as in Consul: NodeService is the
// instance as registered on a node; ServiceNode is the flat row the catalog
// endpoints return, which repeats the node's fields. The state store keeps
// ServiceNode rows with the node fields left empty and fills them on read
// (WithNode), so a node change never has to rewrite its services.
//
// Imported (peered) data lives beside local data: every object carries a
// PeerName that is empty for local objects. The same node name may exist
// locally and in several peers.
//
// It is a leaf package: it imports nothing of ours.
//
// Concurrency: values are plain data with no internal locking. Objects
// returned by the state store are shared with it and with other readers;
// callers must treat them as immutable and copy before changing anything.
// RegisterRequest.Normalize mutates its receiver and is meant for a request
// the caller owns.
package catalog
