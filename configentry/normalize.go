package configentry

import (
	"fmt"
	"math"
	"reflect"
	"slices"
	"strconv"
	"strings"
)

// Normalize applies the write-time rewrites of spec §5 to a service-defaults
// entry. It cannot fail.
func (e *ServiceConfigEntry) Normalize() error {
	e.Kind = ServiceDefaults
	e.Protocol = strings.ToLower(e.Protocol)
	if e.UpstreamConfig != nil {
		for _, o := range e.UpstreamConfig.Overrides {
			normalizeUpstream(o)
		}
		normalizeUpstream(e.UpstreamConfig.Defaults)
	}
	return nil
}

func normalizeUpstream(u *UpstreamConfig) {
	if u == nil {
		return
	}
	u.Protocol = strings.ToLower(u.Protocol)
	u.ConnectTimeoutMs = max(u.ConnectTimeoutMs, 0)
}

// Normalize names the entry "global" and derives Protocol from
// Config["protocol"]. Any other name is refused here and not only in
// Validate, because deletes are normalized but never validated.
func (e *ProxyConfigEntry) Normalize() error {
	e.Kind = ProxyDefaults
	if e.Name != "" && e.Name != ProxyDefaultsName {
		return &FieldError{Path: "Name", Rule: fmt.Sprintf("invalid name (%q), only %q is supported", e.Name, ProxyDefaultsName)}
	}
	e.Name = ProxyDefaultsName
	protocol, err := configProtocol(e.Config)
	if err != nil {
		return err
	}
	e.Protocol = protocol
	return nil
}

// configProtocol reads the partition-wide default protocol the way Consul's
// weakly typed decode of Config does: the key matches case-insensitively and
// scalars are stringified (booleans become "1"/"0", as mapstructure does).
func configProtocol(config map[string]any) (string, error) {
	k, ok := protocolKey(config)
	if !ok {
		return "", nil
	}
	raw := config[k]
	if raw == nil {
		return "", nil
	}
	rv := reflect.Indirect(reflect.ValueOf(raw))
	switch rv.Kind() {
	case reflect.String:
		return rv.String(), nil
	case reflect.Bool:
		if rv.Bool() {
			return "1", nil
		}
		return "0", nil
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return strconv.FormatInt(rv.Int(), 10), nil
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return strconv.FormatUint(rv.Uint(), 10), nil
	case reflect.Float32, reflect.Float64:
		return strconv.FormatFloat(rv.Float(), 'f', -1, 64), nil
	}
	return "", &FieldError{
		Path: pathKey("Config", k),
		Rule: fmt.Sprintf("expected type 'string', got unconvertible type '%T', value: '%v'", raw, raw),
	}
}

// protocolKey prefers the exact key and otherwise takes the first
// case-insensitive match in sorted order; Consul takes whichever match map
// iteration yields first, which is not something to reproduce.
func protocolKey(config map[string]any) (string, bool) {
	if _, ok := config["protocol"]; ok {
		return "protocol", true
	}
	var matches []string
	for k := range config {
		if strings.EqualFold(k, "protocol") {
			matches = append(matches, k)
		}
	}
	if len(matches) == 0 {
		return "", false
	}
	return slices.Min(matches), true
}

// Normalize upper-cases the methods of every route that matches on HTTP.
func (e *ServiceRouterConfigEntry) Normalize() error {
	e.Kind = ServiceRouter
	for _, r := range e.Routes {
		if r.Match == nil || r.Match.HTTP == nil {
			continue
		}
		for i, m := range r.Match.HTTP.Methods {
			r.Match.HTTP.Methods[i] = strings.ToUpper(m)
		}
	}
	return nil
}

// Normalize rounds every split weight to the nearest 0.01.
func (e *ServiceSplitterConfigEntry) Normalize() error {
	e.Kind = ServiceSplitter
	for i := range e.Splits {
		e.Splits[i].Weight = float32(splitWeightHundredths(e.Splits[i].Weight) / 100)
	}
	return nil
}

// splitWeightHundredths returns w rounded half away from zero to a whole
// number of hundredths. The rounding works on the shortest decimal that reads
// back as the same float32, i.e. on what the user wrote: scaling the binary
// value instead turns a written 0.005 (stored as 0.0049999998…) into 0. The
// result is a float64 holding an integer so that sums of huge or non-finite
// weights cannot overflow and simply fail the sum check.
func splitWeightHundredths(w float32) float64 {
	if math.IsNaN(float64(w)) || math.IsInf(float64(w), 0) {
		return float64(w)
	}
	digits := strconv.FormatFloat(float64(w), 'f', -1, 32)
	negative := strings.HasPrefix(digits, "-")
	whole, frac, _ := strings.Cut(strings.TrimPrefix(digits, "-"), ".")
	frac += "000"
	// whole and frac hold decimal digits only, so parsing cannot fail.
	n, _ := strconv.ParseFloat(whole+frac[:2], 64)
	if frac[2] >= '5' {
		n++
	}
	if negative {
		n = -n
	}
	return n
}

// Normalize sets the canonical kind; resolvers need no other rewrite.
func (e *ServiceResolverConfigEntry) Normalize() error {
	e.Kind = ServiceResolver
	return nil
}

// Normalize empties every service namespace: CE has a single namespace.
func (e *ExportedServicesConfigEntry) Normalize() error {
	for i := range e.Services {
		e.Services[i].Namespace = ""
	}
	return nil
}
