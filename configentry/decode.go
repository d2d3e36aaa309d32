package configentry

import (
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
)

// Decoding works in two stages, as Consul's does: each input form (JSON, HCL,
// Kubernetes YAML) is first read into a generic map (map[string]any, []any,
// string, bool, json.Number, nil), then DecodeMap binds that map to the typed
// struct with Consul's rules (spec config-entries.md §2). Decoding neither
// normalizes nor validates; callers run Normalize and Validate afterwards.

// decodeError is every decoding failure. Its text is the list of problems
// only, because the HTTP layer adds Consul's "Request decoding failed: "
// prefix itself; errors.Is(err, ErrDecode) still holds through Is.
type decodeError struct {
	problems []string
	cause    error // a kind error from New, kept for errors.Is
}

func (e *decodeError) Error() string   { return strings.Join(e.problems, "; ") }
func (e *decodeError) Is(t error) bool { return t == ErrDecode }
func (e *decodeError) Unwrap() error   { return e.cause }

// decodeErrorf builds a single-problem decodeError.
func decodeErrorf(format string, args ...any) error {
	return &decodeError{problems: []string{fmt.Sprintf(format, args...)}}
}

// pathErrorf builds a single-problem decodeError located at path.
func pathErrorf(path, format string, args ...any) error {
	return &decodeError{problems: []string{located(path, fmt.Sprintf(format, args...))}}
}

// located prefixes a message with its field path; the top level has none.
func located(path, msg string) string {
	if path == "" {
		return msg
	}
	return path + ": " + msg
}

// DecodeMap decodes one config entry from its generic map form: the kind
// comes from the `Kind` key, else `kind`; every other key binds to a field of
// that kind's struct. Field names match case-insensitively, snake_case names
// only through the fields' alias tags, and scalar types convert weakly. Keys
// that bind to nothing are errors, except the top-level Kind/kind,
// CreateIndex, ModifyIndex and Hash, which a write ignores. The input map is
// not modified.
func DecodeMap(raw map[string]any) (Entry, error) {
	return decodeMapAt(raw, "")
}

// decodeMapAt is DecodeMap with field paths in errors prefixed by base, so the
// Kubernetes form can report `spec.Routes[0]...`.
func decodeMapAt(raw map[string]any, base string) (Entry, error) {
	kindVal, ok := raw["Kind"]
	if !ok {
		kindVal, ok = raw["kind"]
	}
	if !ok {
		return nil, decodeErrorf("Payload does not contain a kind/Kind key at the top level")
	}
	kind, ok := kindVal.(string)
	if !ok {
		return nil, decodeErrorf("Kind value in payload is not a string")
	}
	e, err := New(kind)
	if err != nil {
		return nil, &decodeError{problems: []string{err.Error()}, cause: err}
	}
	d := &decoder{}
	d.structFields(base, raw, reflect.ValueOf(e).Elem(), true)
	if len(d.problems) > 0 {
		return nil, &decodeError{problems: d.problems}
	}
	return e, nil
}

// DecodeFile decodes the entries in a file, choosing the form by extension:
// .json (one object or an array of them), .hcl (one entry) or .yaml/.yml
// (Kubernetes resources, several documents allowed). Decoding errors are
// prefixed with the path.
func DecodeFile(path string) ([]Entry, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var entries []Entry
	switch ext := strings.ToLower(filepath.Ext(path)); ext {
	case ".json":
		entries, err = DecodeJSONList(data)
	case ".hcl":
		var e Entry
		if e, err = DecodeHCL(data); err == nil {
			entries = []Entry{e}
		}
	case ".yaml", ".yml":
		entries, err = DecodeYAML(data)
	default:
		err = decodeErrorf("unsupported file extension %q (want .json, .hcl, .yaml or .yml)", ext)
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return entries, nil
}

// decoder binds a generic value to a typed value, collecting every problem
// rather than stopping at the first, so one run reports all bad keys.
type decoder struct {
	problems []string
}

func (d *decoder) fail(path, format string, args ...any) {
	d.problems = append(d.problems, located(path, fmt.Sprintf(format, args...)))
}

// fieldPath appends a struct field (or raw map key) to a path.
func fieldPath(path, name string) string {
	if path == "" {
		return name
	}
	return path + "." + name
}

// isIgnoredTopKey reports the top-level keys a write accepts and drops: the
// kind keys (the kind was already taken from them) and the server-assigned
// indexes and hash, which a read-back carries.
func isIgnoredTopKey(k string) bool {
	if k == "Kind" || k == "kind" {
		return true
	}
	return strings.EqualFold(k, "CreateIndex") || strings.EqualFold(k, "ModifyIndex") ||
		strings.EqualFold(k, "Hash")
}

// structFields binds the keys of m to the fields of the struct out.
func (d *decoder) structFields(path string, m map[string]any, out reflect.Value, top bool) {
	fields := fieldsOf(out.Type())
	claims := make([][]string, len(fields))
	var leftover []string
	for _, k := range sortedKeys(m) {
		if top && isIgnoredTopKey(k) {
			continue
		}
		i := matchField(fields, k, top)
		if i < 0 {
			leftover = append(leftover, k)
			continue
		}
		claims[i] = append(claims[i], k)
	}
	for i, f := range fields {
		key, ok := d.pickKey(path, f, claims[i])
		if !ok {
			continue
		}
		target := out.Field(f.index)
		if f.derived {
			// Decoded into a scratch value so that type errors still show.
			target = reflect.New(target.Type()).Elem()
		}
		d.value(fieldPath(path, f.name), m[key], target)
	}
	for _, k := range leftover {
		d.unknownKey(path, k)
	}
}

// matchField finds the field a key binds to: its name in any case, or one of
// its aliases in any case. At the top level the envelope fields bind nothing.
func matchField(fields []entryField, key string, top bool) int {
	lower := strings.ToLower(key)
	for i, f := range fields {
		if top && isEnvelopeField(f.name) {
			continue
		}
		if strings.EqualFold(key, f.name) {
			return i
		}
		for _, a := range f.aliases {
			if lower == a {
				return i
			}
		}
	}
	return -1
}

// pickKey chooses which of the keys claiming a field supplies its value.
// Consul's alias hook folds an alias into the all-lowercase canonical key, so
// that pair is one value (the canonical key's); any other repetition leaves a
// key unbound in Consul, and is reported here naming every key involved.
func (d *decoder) pickKey(path string, f entryField, keys []string) (string, bool) {
	switch {
	case len(keys) == 0:
		return "", false
	case len(keys) == 1:
		return keys[0], true
	case len(keys) == 2:
		lowerName := strings.ToLower(f.name)
		for i, k := range keys {
			other := keys[1-i]
			if k == lowerName && !strings.EqualFold(other, f.name) {
				return k, true
			}
		}
	}
	quoted := make([]string, len(keys))
	for i, k := range keys {
		quoted[i] = fmt.Sprintf("%q", k)
	}
	list := strings.Join(quoted[:len(quoted)-1], ", ") + " and " + quoted[len(quoted)-1]
	d.fail(path, "duplicate keys %s for field %s", list, f.name)
	return "", false
}

// unknownKey reports a key that binds to nothing. Keys naming namespaces or
// partitions get Consul CE's hint that they are Enterprise features.
func (d *decoder) unknownKey(path, k string) {
	lower := strings.ToLower(k)
	switch {
	case strings.HasSuffix(lower, "namespace"):
		d.fail(path, "invalid config key %q, namespaces are a consul enterprise feature", k)
	case strings.HasSuffix(lower, "partition"):
		d.fail(path, "invalid config key %q, partitions are a consul enterprise feature", k)
	default:
		d.fail(path, "invalid config key %q", k)
	}
}

// value decodes in into out (a settable value of an entry type). A null
// input leaves out at its zero value.
func (d *decoder) value(path string, in any, out reflect.Value) {
	t := out.Type()
	if t.Kind() != reflect.Slice {
		in = unwrapSingleton(in)
	}
	if in == nil {
		return
	}
	switch {
	case t == durationType:
		d.duration(path, in, out)
	case t.Kind() == reflect.Pointer:
		elem := reflect.New(t.Elem())
		d.value(path, in, elem.Elem())
		out.Set(elem)
	case t.Kind() == reflect.Struct:
		m, ok := asObject(in)
		if !ok {
			d.fail(path, "expected an object, got %s", describe(in))
			return
		}
		d.structFields(path, m, out, false)
	case t.Kind() == reflect.Map:
		d.mapValue(path, in, out)
	case t.Kind() == reflect.Slice:
		d.sliceValue(path, in, out)
	default:
		d.scalar(path, in, out)
	}
}

// mapValue decodes an object into a map[string]T. A list of objects is
// merged into one, as Consul's weak decoding does for repeated HCL blocks
// such as two `Subsets "x" {}` blocks.
func (d *decoder) mapValue(path string, in any, out reflect.Value) {
	m, ok := d.mergedObject(path, in)
	if !ok {
		return
	}
	t := out.Type()
	if t.Elem().Kind() == reflect.Interface {
		out.Set(reflect.ValueOf(d.freeformObject(path, m)))
		return
	}
	result := reflect.MakeMapWithSize(t, len(m))
	for _, k := range sortedKeys(m) {
		elem := reflect.New(t.Elem()).Elem()
		d.value(pathKey(path, k), m[k], elem)
		result.SetMapIndex(reflect.ValueOf(k).Convert(t.Key()), elem)
	}
	out.Set(result)
}

// mergedObject returns in as one object, merging a list of objects.
func (d *decoder) mergedObject(path string, in any) (map[string]any, bool) {
	if m, ok := asObject(in); ok {
		return m, true
	}
	list, ok := asList(in)
	if !ok {
		d.fail(path, "expected an object, got %s", describe(in))
		return nil, false
	}
	merged := map[string]any{}
	for i, item := range list {
		m, ok := asObject(item)
		if !ok {
			d.fail(pathIndex(path, i), "expected an object, got %s", describe(item))
			return nil, false
		}
		for _, k := range sortedKeys(m) {
			if _, dup := merged[k]; dup {
				d.fail(path, "duplicate key %q", k)
				return nil, false
			}
			merged[k] = m[k]
		}
	}
	return merged, true
}

// sliceValue decodes a list; a single non-list value becomes a one-element
// list, as Consul's weak decoding allows (`Methods = "GET"`, or a single HCL
// block where a list of objects is expected).
func (d *decoder) sliceValue(path string, in any, out reflect.Value) {
	list, ok := asList(in)
	if !ok {
		list = []any{in}
	}
	result := reflect.MakeSlice(out.Type(), len(list), len(list))
	for i, item := range list {
		if item == nil {
			d.fail(pathIndex(path, i), "null is not allowed in a list")
			continue
		}
		d.value(pathIndex(path, i), item, result.Index(i))
	}
	out.Set(result)
}

// unwrapSingleton unwraps a one-element list where a non-list value is
// expected: HCL's block syntax yields `[{...}]` for `Redirect { ... }`.
func unwrapSingleton(in any) any {
	if list, ok := asList(in); ok && len(list) == 1 {
		return list[0]
	}
	return in
}

// asObject returns in as a generic object, if it is one.
func asObject(in any) (map[string]any, bool) {
	m, ok := in.(map[string]any)
	return m, ok
}

// asList returns in as a generic list, if it is one. []map[string]any is
// what hcl.Decode produces for blocks, so callers building maps with it work.
func asList(in any) ([]any, bool) {
	switch v := in.(type) {
	case []any:
		return v, true
	case []map[string]any:
		out := make([]any, len(v))
		for i, m := range v {
			out[i] = m
		}
		return out, true
	}
	return nil, false
}

// sortedKeys makes iteration, and therefore error order, deterministic.
func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
