package configentry

import (
	"encoding/json"
	"fmt"
	"math"
	"reflect"
	"strconv"
	"time"
	"unicode/utf8"
)

// Scalars convert weakly, as Consul's mapstructure decoding does with
// WeaklyTypedInput: numbers and booleans become strings ("1"/"0" for
// booleans), numeric strings become numbers, "" becomes zero/false. Integer
// strings are read in base 10 only: mapstructure's base-0 parsing would read
// "010" as 8, which no user means.

// scalar decodes a string, boolean or numeric field.
func (d *decoder) scalar(in any, out reflect.Value) {
	ok := false
	switch out.Kind() {
	case reflect.String:
		var s string
		if s, ok = weakString(in); ok {
			out.SetString(s)
		}
	case reflect.Bool:
		var b bool
		if b, ok = weakBool(in); ok {
			out.SetBool(b)
		}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		var i int64
		if text, isNum := weakNumberText(in); isNum {
			if i, ok = intFromText(text, out.Type().Bits()); ok {
				out.SetInt(i)
			}
		}
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		var u uint64
		if text, isNum := weakNumberText(in); isNum {
			if u, ok = uintFromText(text, out.Type().Bits()); ok {
				out.SetUint(u)
			}
		}
	case reflect.Float32, reflect.Float64:
		var f float64
		if text, isNum := weakNumberText(in); isNum {
			if f, ok = floatFromText(text, out.Type().Bits()); ok {
				out.SetFloat(f)
			}
		}
	default:
		panic(fmt.Sprintf("configentry: no decoder for field type %s at %s", out.Type(), d.where()))
	}
	if !ok {
		d.fail("expected %s, got %s", expectedType(out.Type()), describe(in))
	}
}

// duration decodes a time.Duration from a Go duration string or from integer
// nanoseconds (Consul emits both forms, depending on the field).
func (d *decoder) duration(in any, out reflect.Value) {
	if s, ok := in.(string); ok {
		v, err := time.ParseDuration(s)
		if err != nil {
			d.fail("expected %s, got %s", expectedType(durationType), describe(in))
			return
		}
		out.SetInt(int64(v))
		return
	}
	if text, ok := numberText(in); ok {
		if v, ok := intFromText(text, 64); ok {
			out.SetInt(v)
			return
		}
	}
	d.fail("expected %s, got %s", expectedType(durationType), describe(in))
}

// freeformObject keeps a free-form object (proxy-defaults Config, extension
// Arguments, RateLimits) as generic values. Null members are dropped: HCL and
// YAML output could not carry them, and Envoy configuration reads an absent
// key and a null one alike.
func (d *decoder) freeformObject(m map[string]any) map[string]any {
	out := make(map[string]any, len(m))
	var keyBuf [32]string
	for _, k := range sortedKeysInto(keyBuf[:0], m) {
		if m[k] == nil {
			continue
		}
		d.enterKey(k)
		if v, ok := d.freeform(m[k]); ok {
			out[k] = v
		}
		d.leave()
	}
	return out
}

// freeform converts one free-form value to the canonical generic form:
// map[string]any, []any, string, bool, int64 (integral numbers) or float64,
// so that the same value read from any input form compares Equal.
func (d *decoder) freeform(in any) (any, bool) {
	switch v := in.(type) {
	case string, bool:
		return v, true
	case map[string]any:
		return d.freeformObject(v), true
	case []map[string]any:
		// Only hcl.Decode produces this type, and it wraps every block in
		// a list: one element is a block written once, not a list.
		if len(v) == 1 {
			return d.freeformObject(v[0]), true
		}
	}
	if list, ok := asList(in); ok {
		out := make([]any, 0, len(list))
		for i, item := range list {
			d.enterIndex(i)
			if item == nil {
				d.fail("null is not allowed in a list")
			} else if v, ok := d.freeform(item); ok {
				out = append(out, v)
			}
			d.leave()
		}
		return out, true
	}
	if text, ok := numberText(in); ok {
		if n, ok := canonicalNumber(text); ok {
			return n, true
		}
		d.fail("expected a finite number, got %s", text)
		return nil, false
	}
	d.fail("unsupported value %s", describe(in))
	return nil, false
}

// canonicalNumber is int64 for integral values that fit, float64 otherwise.
func canonicalNumber(text string) (any, bool) {
	if i, ok := intFromText(text, 64); ok {
		return i, true
	}
	f, ok := floatFromText(text, 64)
	if !ok {
		return nil, false
	}
	return f, true
}

// numberText returns the text of a numeric input: json.Number as written, or
// a Go number (from callers that build the generic map themselves).
func numberText(in any) (string, bool) {
	if n, ok := in.(json.Number); ok {
		return string(n), true
	}
	v := reflect.ValueOf(in)
	switch v.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return strconv.FormatInt(v.Int(), 10), true
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return strconv.FormatUint(v.Uint(), 10), true
	case reflect.Float32:
		return strconv.FormatFloat(v.Float(), 'g', -1, 32), true
	case reflect.Float64:
		return strconv.FormatFloat(v.Float(), 'g', -1, 64), true
	}
	return "", false
}

// weakNumberText is numberText extended to strings and booleans.
func weakNumberText(in any) (string, bool) {
	switch v := in.(type) {
	case string:
		if v == "" {
			return "0", true
		}
		return v, true
	case bool:
		if v {
			return "1", true
		}
		return "0", true
	}
	return numberText(in)
}

func weakString(in any) (string, bool) {
	switch v := in.(type) {
	case string:
		return v, true
	case bool:
		if v {
			return "1", true
		}
		return "0", true
	}
	text, ok := numberText(in)
	if !ok {
		return "", false
	}
	if i, ok := intFromText(text, 64); ok {
		return strconv.FormatInt(i, 10), true
	}
	if u, err := strconv.ParseUint(text, 10, 64); err == nil {
		return strconv.FormatUint(u, 10), true
	}
	f, ok := floatFromText(text, 64)
	if !ok {
		return "", false
	}
	return strconv.FormatFloat(f, 'f', -1, 64), true
}

func weakBool(in any) (bool, bool) {
	switch v := in.(type) {
	case bool:
		return v, true
	case string:
		if v == "" {
			return false, true
		}
		b, err := strconv.ParseBool(v)
		return b, err == nil
	}
	text, ok := numberText(in)
	if !ok {
		return false, false
	}
	f, ok := floatFromText(text, 64)
	return f != 0, ok
}

// intFromText parses a signed integer of the given size. Integral numbers in
// float form ("3.0", "1e3") are accepted because JSON producers write them.
func intFromText(text string, bits int) (int64, bool) {
	if i, err := strconv.ParseInt(text, 10, bits); err == nil {
		return i, true
	}
	f, err := strconv.ParseFloat(text, 64)
	limit := math.Ldexp(1, bits-1)
	if err != nil || f != math.Trunc(f) || f < -limit || f >= limit {
		return 0, false
	}
	return int64(f), true
}

// uintFromText is intFromText for unsigned integers.
func uintFromText(text string, bits int) (uint64, bool) {
	if u, err := strconv.ParseUint(text, 10, bits); err == nil {
		return u, true
	}
	f, err := strconv.ParseFloat(text, 64)
	if err != nil || f != math.Trunc(f) || f < 0 || f >= math.Ldexp(1, bits) {
		return 0, false
	}
	return uint64(f), true
}

// floatFromText parses a finite float of the given size; NaN and infinities
// are refused because no output form can carry them.
func floatFromText(text string, bits int) (float64, bool) {
	f, err := strconv.ParseFloat(text, bits)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
		return 0, false
	}
	return f, true
}

// expectedType names a field type in error messages.
func expectedType(t reflect.Type) string {
	if t == durationType {
		return `a duration such as "15s" or integer nanoseconds`
	}
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "a boolean"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return "an integer"
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32:
		return fmt.Sprintf("an unsigned %d-bit integer", t.Bits())
	case reflect.Uint64:
		return "an unsigned integer"
	case reflect.Float32, reflect.Float64:
		return "a number"
	}
	return t.String()
}

// describe renders an input value for error messages, cutting long strings.
func describe(in any) string {
	switch v := in.(type) {
	case nil:
		return "null"
	case string:
		const max = 64
		if len(v) > max {
			cut := max
			for cut > 0 && !utf8.RuneStart(v[cut]) {
				cut--
			}
			return strconv.Quote(v[:cut]) + "..."
		}
		return strconv.Quote(v)
	case bool:
		return strconv.FormatBool(v)
	case map[string]any:
		return "an object"
	}
	if _, ok := asList(in); ok {
		return "a list"
	}
	if text, ok := numberText(in); ok {
		return text
	}
	return fmt.Sprintf("a value of type %T", in)
}
