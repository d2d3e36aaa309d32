package configentry

import (
	"encoding/json"
	"fmt"
	"time"
)

// Consul emits some durations as Go duration strings ("15s") and others as
// integer nanoseconds. The types keep time.Duration; these methods produce the
// string form where Consul does, in Consul's field order (the string fields
// first). Requests are decoded by Decode (decode.go), which accepts both
// forms; UnmarshalJSON exists so that the API's JSON (e.g. a chain's route
// definitions read back by a client) also decodes with encoding/json.

// durationString renders d as Consul does, or "" for zero (then omitted).
func durationString(d time.Duration) string {
	if d == 0 {
		return ""
	}
	return d.String()
}

// parseJSONDuration accepts "15s", integer nanoseconds, or null/absent.
func parseJSONDuration(raw json.RawMessage) (time.Duration, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return 0, nil
	}
	var s string
	if err := json.Unmarshal(raw, &s); err == nil {
		if s == "" {
			return 0, nil
		}
		return time.ParseDuration(s)
	}
	var n int64
	if err := json.Unmarshal(raw, &n); err != nil {
		return 0, fmt.Errorf("expected a duration string or integer nanoseconds, got %s", raw)
	}
	return time.Duration(n), nil
}

// MarshalJSON emits ConnectTimeout/RequestTimeout as duration strings.
func (e *ServiceResolverConfigEntry) MarshalJSON() ([]byte, error) {
	type plain ServiceResolverConfigEntry
	return json.Marshal(&struct {
		ConnectTimeout string `json:",omitempty"`
		RequestTimeout string `json:",omitempty"`
		*plain
	}{durationString(e.ConnectTimeout), durationString(e.RequestTimeout), (*plain)(e)})
}

// UnmarshalJSON accepts either duration form.
func (e *ServiceResolverConfigEntry) UnmarshalJSON(b []byte) error {
	type plain ServiceResolverConfigEntry
	aux := &struct {
		ConnectTimeout json.RawMessage
		RequestTimeout json.RawMessage
		*plain
	}{plain: (*plain)(e)}
	if err := json.Unmarshal(b, aux); err != nil {
		return err
	}
	var err error
	if e.ConnectTimeout, err = parseJSONDuration(aux.ConnectTimeout); err != nil {
		return fmt.Errorf("ConnectTimeout: %w", err)
	}
	if e.RequestTimeout, err = parseJSONDuration(aux.RequestTimeout); err != nil {
		return fmt.Errorf("RequestTimeout: %w", err)
	}
	return nil
}

// MarshalJSON emits RequestTimeout/IdleTimeout as duration strings.
func (d *ServiceRouteDestination) MarshalJSON() ([]byte, error) {
	type plain ServiceRouteDestination
	return json.Marshal(&struct {
		RequestTimeout string `json:",omitempty"`
		IdleTimeout    string `json:",omitempty"`
		*plain
	}{durationString(d.RequestTimeout), durationString(d.IdleTimeout), (*plain)(d)})
}

// UnmarshalJSON accepts either duration form.
func (d *ServiceRouteDestination) UnmarshalJSON(b []byte) error {
	type plain ServiceRouteDestination
	aux := &struct {
		RequestTimeout json.RawMessage
		IdleTimeout    json.RawMessage
		*plain
	}{plain: (*plain)(d)}
	if err := json.Unmarshal(b, aux); err != nil {
		return err
	}
	var err error
	if d.RequestTimeout, err = parseJSONDuration(aux.RequestTimeout); err != nil {
		return fmt.Errorf("RequestTimeout: %w", err)
	}
	if d.IdleTimeout, err = parseJSONDuration(aux.IdleTimeout); err != nil {
		return fmt.Errorf("IdleTimeout: %w", err)
	}
	return nil
}

// MarshalJSON adds the Kind that the Go client's list decoder requires.
func (e *ExportedServicesConfigEntry) MarshalJSON() ([]byte, error) {
	type plain ExportedServicesConfigEntry
	return json.Marshal(&struct {
		Kind string
		*plain
	}{ExportedServices, (*plain)(e)})
}

// JSONKind is the kind that e's JSON form names: the Kind field, which
// Normalize (and New) set, or, for exported-services, whose MarshalJSON
// writes it, the kind itself. DecodeJSON reads the form back as e's own type
// only if JSONKind(e) equals e.GetKind(); writers of stored forms check this
// to refuse an entry built in Go and never normalized, whose Kind is empty.
func JSONKind(e Entry) string {
	switch x := e.(type) {
	case *ServiceConfigEntry:
		if x != nil {
			return x.Kind
		}
	case *ProxyConfigEntry:
		if x != nil {
			return x.Kind
		}
	case *ServiceRouterConfigEntry:
		if x != nil {
			return x.Kind
		}
	case *ServiceSplitterConfigEntry:
		if x != nil {
			return x.Kind
		}
	case *ServiceResolverConfigEntry:
		if x != nil {
			return x.Kind
		}
	case *ExportedServicesConfigEntry:
		if x != nil {
			return ExportedServices
		}
	}
	return ""
}
