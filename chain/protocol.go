package chain

import (
	"encoding/json"
	"reflect"
	"sort"
	"strconv"
	"strings"
)

// isHTTPLike reports whether protocol permits routers and splitters.
func isHTTPLike(protocol string) bool {
	switch protocol {
	case "http", "http2", "grpc":
		return true
	}
	return false
}

// recordServiceProtocol is rule 19 for one service: its service-defaults
// Protocol when the entry exists (even if empty: proxy-defaults is then not
// consulted), else proxy-defaults' Config.protocol.
func (c *compiler) recordServiceProtocol(service string) error {
	protocol := c.proxyProtocol
	if sd := c.entries.services[service]; sd != nil {
		protocol = sd.Protocol
	}
	if protocol == "" {
		protocol = "tcp"
	} else {
		protocol = strings.ToLower(protocol)
	}
	switch c.protocol {
	case "":
		c.protocol = protocol
	case protocol:
	default:
		return c.errorf("discovery chain %q uses inconsistent protocols; service %q has %q which is not %q",
			c.req.ServiceName, service, protocol, c.protocol)
	}
	return nil
}

// configProtocol reads the protocol key of a proxy-defaults Config the way
// Consul's weak decoding does: the exact key "protocol" first, else any key
// equal to it ignoring case (Consul takes whichever its map iteration meets
// first; the smallest key is taken here), converted to a string. A value
// that does not convert counts as unset.
func configProtocol(cfg map[string]any) string {
	v, ok := cfg["protocol"]
	if !ok {
		keys := make([]string, 0, len(cfg))
		for k := range cfg {
			if strings.EqualFold(k, "protocol") {
				keys = append(keys, k)
			}
		}
		if len(keys) == 0 {
			return ""
		}
		sort.Strings(keys)
		v = cfg[keys[0]]
	}
	return weakString(v)
}

// weakString converts a decoded JSON/HCL value to a string as
// mapstructure's weakly typed decoding does.
func weakString(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	case json.Number:
		return x.String()
	case bool:
		if x {
			return "1"
		}
		return "0"
	case []byte:
		return string(x)
	}
	rv := reflect.ValueOf(v)
	switch rv.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return strconv.FormatInt(rv.Int(), 10)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return strconv.FormatUint(rv.Uint(), 10)
	case reflect.Float32, reflect.Float64:
		return strconv.FormatFloat(rv.Float(), 'f', -1, 64)
	case reflect.String:
		return rv.String()
	}
	return ""
}
