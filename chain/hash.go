package chain

import (
	"encoding/binary"
	"hash/fnv"
	"strconv"
	"time"
)

// overrideHash computes the CustomizationHash of the overrides that changed
// a chain (zero values for the others). Consul hashes a struct
//
//	{OverrideMeshGateway {Mode}, OverrideProtocol, OverrideConnectTimeout}
//
// with mitchellh/hashstructure (v1) and keeps the first 8 hex digits. That
// scheme is reproduced here so the value matches Consul's, not merely stays
// stable: FNV-1 64 of each leaf (strings as bytes, integers as 8
// little-endian bytes), a struct starts from the hash of its type name (""
// for Consul's anonymous struct) and XORs in, per field, the FNV-1 of the
// little-endian pair (hash of the field name, hash of the value).
func overrideHash(meshGatewayMode, protocol string, connectTimeout time.Duration) string {
	meshGateway := hashString("MeshGatewayConfig") ^ hashField("Mode", hashString(meshGatewayMode))
	h := hashString("")
	h ^= hashField("OverrideMeshGateway", meshGateway)
	h ^= hashField("OverrideProtocol", hashString(protocol))
	h ^= hashField("OverrideConnectTimeout", hashInt64(int64(connectTimeout)))
	s := strconv.FormatUint(h, 16)
	if len(s) > 8 {
		s = s[:8]
	}
	return s
}

func hashString(s string) uint64 {
	h := fnv.New64()
	h.Write([]byte(s))
	return h.Sum64()
}

func hashInt64(v int64) uint64 {
	var b [8]byte
	binary.LittleEndian.PutUint64(b[:], uint64(v))
	h := fnv.New64()
	h.Write(b[:])
	return h.Sum64()
}

// hashField combines a field's name and value hashes in order.
func hashField(name string, value uint64) uint64 {
	var b [16]byte
	binary.LittleEndian.PutUint64(b[:8], hashString(name))
	binary.LittleEndian.PutUint64(b[8:], value)
	h := fnv.New64()
	h.Write(b[:])
	return h.Sum64()
}
