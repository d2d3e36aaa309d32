package configentry

import (
	"encoding/json"
	"time"
)

// Consul emits some durations as Go duration strings ("15s") and others as
// integer nanoseconds. The types keep time.Duration; these methods produce the
// string form where Consul does. Decoding never goes through UnmarshalJSON:
// every input form is decoded by Decode (decode.go), which accepts both.

// durationString renders d as Consul does, or "" for zero (then omitted).
func durationString(d time.Duration) string {
	if d == 0 {
		return ""
	}
	return d.String()
}

// MarshalJSON emits ConnectTimeout/RequestTimeout as duration strings.
func (e *ServiceResolverConfigEntry) MarshalJSON() ([]byte, error) {
	type plain ServiceResolverConfigEntry
	return json.Marshal(&struct {
		*plain
		ConnectTimeout string `json:",omitempty"`
		RequestTimeout string `json:",omitempty"`
	}{(*plain)(e), durationString(e.ConnectTimeout), durationString(e.RequestTimeout)})
}

// MarshalJSON emits RequestTimeout/IdleTimeout as duration strings.
func (d *ServiceRouteDestination) MarshalJSON() ([]byte, error) {
	type plain ServiceRouteDestination
	return json.Marshal(&struct {
		*plain
		RequestTimeout string `json:",omitempty"`
		IdleTimeout    string `json:",omitempty"`
	}{(*plain)(d), durationString(d.RequestTimeout), durationString(d.IdleTimeout)})
}

// MarshalJSON adds the Kind that the Go client's list decoder requires.
func (e *ExportedServicesConfigEntry) MarshalJSON() ([]byte, error) {
	type plain ExportedServicesConfigEntry
	return json.Marshal(&struct {
		Kind string
		*plain
	}{ExportedServices, (*plain)(e)})
}
