// Package rpc holds the protobuf definitions and generated gRPC code for
// server-to-server calls (forwarding an HTTP API request to the leader or to
// another datacenter, asking a server for its Raft status) and, later, the
// peering stream. Regenerate with `go generate ./rpc` (needs protoc and the
// protoc-gen-go / protoc-gen-go-grpc plugins; the generated code is committed
// so builds do not).
package rpc

//go:generate protoc --go_out=pb --go_opt=paths=source_relative --go-grpc_out=pb --go-grpc_opt=paths=source_relative switchyard.proto
//go:generate protoc --go_out=pb --go_opt=paths=source_relative --go-grpc_out=pb --go-grpc_opt=paths=source_relative peering.proto

// ProtocolVersionMin and ProtocolVersionMax bound the ForwardRequest
// versions a server accepts.
const (
	ProtocolVersionMin = 1
	ProtocolVersionMax = 1
)

// PeeringProtocolMin and PeeringProtocolMax bound the peering protocol
// versions (ExchangeSecretRequest.version, Open.version) a server accepts.
const (
	PeeringProtocolMin = 1
	PeeringProtocolMax = 1
)
