package configentry

import (
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"unicode/utf8"
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
	d := &decoder{base: base}
	d.structFields(raw, reflect.ValueOf(e).Elem(), true)
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
	// base and the segments locate the value being decoded. Paths are only
	// needed for error messages, so they are kept as a stack of segments
	// and rendered (fieldPath, pathIndex, pathKey) only when a problem is
	// reported; building each nested field's path string eagerly was an
	// allocation per field of every decoded entry. The first levels live
	// in an array inside the decoder, which does not escape its caller.
	base  string
	depth int
	segs  [16]pathSeg
	deep  []pathSeg // the segments beyond len(segs)
}

// pathSeg is one step of a path: a struct field, a list index or a map key.
type pathSeg struct {
	kind  segKind
	name  string
	index int
}

type segKind uint8

const (
	segField segKind = iota
	segIndex
	segKey
)

// Each enter* call is paired with a leave once the value is decoded.
func (d *decoder) enterField(name string) { d.enter(pathSeg{kind: segField, name: name}) }
func (d *decoder) enterIndex(i int)       { d.enter(pathSeg{kind: segIndex, index: i}) }
func (d *decoder) enterKey(k string)      { d.enter(pathSeg{kind: segKey, name: k}) }

func (d *decoder) enter(s pathSeg) {
	if d.depth < len(d.segs) {
		d.segs[d.depth] = s
	} else {
		d.deep = append(d.deep, s)
	}
	d.depth++
}

func (d *decoder) leave() {
	d.depth--
	if d.depth >= len(d.segs) {
		d.deep = d.deep[:d.depth-len(d.segs)]
	}
}

// where renders the current path exactly as the eager builders would have.
func (d *decoder) where() string {
	p := d.base
	for i := 0; i < d.depth; i++ {
		var s pathSeg
		if i < len(d.segs) {
			s = d.segs[i]
		} else {
			s = d.deep[i-len(d.segs)]
		}
		switch s.kind {
		case segField:
			p = fieldPath(p, s.name)
		case segIndex:
			p = pathIndex(p, s.index)
		case segKey:
			p = pathKey(p, s.name)
		}
	}
	return p
}

func (d *decoder) fail(format string, args ...any) {
	d.problems = append(d.problems, located(d.where(), fmt.Sprintf(format, args...)))
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

// Keys claimed by no field, and ignored top-level keys, get these marks in
// structFields' claim table.
const (
	claimUnknown = -1
	claimIgnored = -2
)

// structFields binds the keys of m to the fields of the struct out.
//
// Problems are reported field by field in declaration order, then unknown
// keys in sorted order. The key and claim tables live in fixed-size arrays
// so that an entry of ordinary size is bound without allocating them.
func (d *decoder) structFields(m map[string]any, out reflect.Value, top bool) {
	fields := fieldsOf(out.Type())
	var keyBuf [32]string
	var claimBuf [32]int
	keys := sortedKeysInto(keyBuf[:0], m)
	claims := claimBuf[:0]
	for _, k := range keys {
		if top && isIgnoredTopKey(k) {
			claims = append(claims, claimIgnored)
		} else {
			claims = append(claims, matchField(fields, k, top))
		}
	}
	for i, f := range fields {
		key, n := "", 0
		for j, c := range claims {
			if c == i {
				key = keys[j]
				n++
			}
		}
		if n == 0 {
			continue
		}
		if n > 1 {
			// Rare (an alias and its field both given): collect the
			// keys, in sorted order, for pickKey to choose or report.
			claimed := make([]string, 0, n)
			for j, c := range claims {
				if c == i {
					claimed = append(claimed, keys[j])
				}
			}
			var ok bool
			if key, ok = d.pickKey(f, claimed); !ok {
				continue
			}
		}
		target := out.Field(f.index)
		if f.derived {
			// Decoded into a scratch value so that type errors still show.
			target = reflect.New(target.Type()).Elem()
		}
		d.enterField(f.name)
		d.value(m[key], target)
		d.leave()
	}
	for j, c := range claims {
		if c == claimUnknown {
			d.unknownKey(keys[j])
		}
	}
}

// matchField finds the field a key binds to: its name in any case, or one of
// its aliases in any case. At the top level the envelope fields bind nothing.
// It returns claimUnknown when no field matches.
func matchField(fields []entryField, key string, top bool) int {
	// Aliases are stored lower-cased and compared with the lower-cased key.
	// For an ASCII key that is a byte-wise comparison, which spares
	// strings.ToLower's allocation for every key with a capital letter.
	ascii := isASCII(key)
	lower := key
	if !ascii {
		lower = strings.ToLower(key)
	}
	for i, f := range fields {
		if top && isEnvelopeField(f.name) {
			continue
		}
		if strings.EqualFold(key, f.name) {
			return i
		}
		for _, a := range f.aliases {
			if ascii && equalASCIILower(key, a) || !ascii && lower == a {
				return i
			}
		}
	}
	return claimUnknown
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// equalASCIILower reports whether strings.ToLower(key) == lower for an
// ASCII key.
func equalASCIILower(key, lower string) bool {
	if len(key) != len(lower) {
		return false
	}
	for i := 0; i < len(key); i++ {
		c := key[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != lower[i] {
			return false
		}
	}
	return true
}

// pickKey chooses which of the keys claiming a field supplies its value.
// Consul's alias hook folds an alias into the all-lowercase canonical key, so
// that pair is one value (the canonical key's); any other repetition leaves a
// key unbound in Consul, and is reported here naming every key involved.
func (d *decoder) pickKey(f entryField, keys []string) (string, bool) {
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
	d.fail("duplicate keys %s for field %s", list, f.name)
	return "", false
}

// unknownKey reports a key that binds to nothing. Keys naming namespaces or
// partitions get Consul CE's hint that they are Enterprise features.
func (d *decoder) unknownKey(k string) {
	lower := strings.ToLower(k)
	switch {
	case strings.HasSuffix(lower, "namespace"):
		d.fail("invalid config key %q, namespaces are a consul enterprise feature", k)
	case strings.HasSuffix(lower, "partition"):
		d.fail("invalid config key %q, partitions are a consul enterprise feature", k)
	default:
		d.fail("invalid config key %q", k)
	}
}

// value decodes in into out (a settable value of an entry type). A null
// input leaves out at its zero value.
func (d *decoder) value(in any, out reflect.Value) {
	t := out.Type()
	if t.Kind() != reflect.Slice {
		in = unwrapSingleton(in)
	}
	if in == nil {
		return
	}
	switch {
	case t == durationType:
		d.duration(in, out)
	case t.Kind() == reflect.Pointer:
		elem := reflect.New(t.Elem())
		d.value(in, elem.Elem())
		out.Set(elem)
	case t.Kind() == reflect.Struct:
		m, ok := asObject(in)
		if !ok {
			d.fail("expected an object, got %s", describe(in))
			return
		}
		d.structFields(m, out, false)
	case t.Kind() == reflect.Map:
		d.mapValue(in, out)
	case t.Kind() == reflect.Slice:
		d.sliceValue(in, out)
	default:
		d.scalar(in, out)
	}
}

// mapValue decodes an object into a map[string]T. A list of objects is
// merged into one, as Consul's weak decoding does for repeated HCL blocks
// such as two `Subsets "x" {}` blocks.
func (d *decoder) mapValue(in any, out reflect.Value) {
	m, ok := d.mergedObject(in)
	if !ok {
		return
	}
	t := out.Type()
	if t.Elem().Kind() == reflect.Interface {
		out.Set(reflect.ValueOf(d.freeformObject(m)))
		return
	}
	result := reflect.MakeMapWithSize(t, len(m))
	// One key and one element value serve every member: SetMapIndex copies
	// them into the map, so they are reset, not reallocated, per member.
	key := reflect.New(t.Key()).Elem()
	elem := reflect.New(t.Elem()).Elem()
	var keyBuf [32]string
	for _, k := range sortedKeysInto(keyBuf[:0], m) {
		elem.SetZero()
		d.enterKey(k)
		d.value(m[k], elem)
		d.leave()
		key.SetString(k)
		result.SetMapIndex(key, elem)
	}
	out.Set(result)
}

// mergedObject returns in as one object, merging a list of objects.
func (d *decoder) mergedObject(in any) (map[string]any, bool) {
	if m, ok := asObject(in); ok {
		return m, true
	}
	list, ok := asList(in)
	if !ok {
		d.fail("expected an object, got %s", describe(in))
		return nil, false
	}
	merged := map[string]any{}
	for i, item := range list {
		m, ok := asObject(item)
		if !ok {
			d.enterIndex(i)
			d.fail("expected an object, got %s", describe(item))
			d.leave()
			return nil, false
		}
		for _, k := range sortedKeys(m) {
			if _, dup := merged[k]; dup {
				d.fail("duplicate key %q", k)
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
func (d *decoder) sliceValue(in any, out reflect.Value) {
	list, ok := asList(in)
	if !ok {
		list = []any{in}
	}
	result := reflect.MakeSlice(out.Type(), len(list), len(list))
	for i, item := range list {
		d.enterIndex(i)
		if item == nil {
			d.fail("null is not allowed in a list")
		} else {
			d.value(item, result.Index(i))
		}
		d.leave()
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
	return sortedKeysInto(make([]string, 0, len(m)), m)
}

// sortedKeysInto is sortedKeys appending to buf, which callers back with an
// array on their stack.
func sortedKeysInto[V any](buf []string, m map[string]V) []string {
	for k := range m {
		buf = append(buf, k)
	}
	slices.Sort(buf)
	return buf
}
