package catalog

import (
	"encoding/json"
	"fmt"
	"strconv"
	"time"
)

// Duration is a time.Duration written as a Go duration string ("10s") and
// read from either a string or integer nanoseconds, as Consul does for check
// intervals and timeouts.
type Duration time.Duration

// MarshalText writes the duration string. Being a TextMarshaler rather than
// a json.Marshaler spares encoding/json a re-validation of the output.
func (d Duration) MarshalText() ([]byte, error) {
	return []byte(time.Duration(d).String()), nil
}

// UnmarshalJSON reads a duration string ("" being zero), a number of
// nanoseconds, or null (which leaves d alone).
func (d *Duration) UnmarshalJSON(raw []byte) error {
	if string(raw) == "null" {
		return nil
	}
	if len(raw) > 0 && raw[0] == '"' {
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return err
		}
		if s == "" {
			*d = 0
			return nil
		}
		v, err := time.ParseDuration(s)
		*d = Duration(v)
		return err
	}
	// Integers are parsed exactly; a float64 would round durations past
	// 2^53 nanoseconds (about 104 days).
	if n, err := strconv.ParseInt(string(raw), 10, 64); err == nil {
		*d = Duration(n)
		return nil
	}
	var f float64
	if err := json.Unmarshal(raw, &f); err != nil {
		return fmt.Errorf("duration must be a string or a number of nanoseconds: %s", raw)
	}
	*d = Duration(f)
	return nil
}

// Nanoseconds is a time.Duration written as integer nanoseconds, which is
// how Consul writes a check's TTL, and read like Duration.
type Nanoseconds time.Duration

// UnmarshalJSON accepts what Duration accepts.
func (d *Nanoseconds) UnmarshalJSON(raw []byte) error { return (*Duration)(d).UnmarshalJSON(raw) }
