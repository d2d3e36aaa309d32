package configentry

import (
	"encoding/json"
	"fmt"
	"math"
	"reflect"
	"sort"
	"strconv"
	"time"
)

// Encode renders an entry as "json" (Consul's HTTP API form, indented two
// spaces), "hcl" (HCL version 1 as Consul's documentation writes it) or
// "yaml" (Consul's Kubernetes resource form). Every output decodes back, with
// DecodeJSON, DecodeHCL or DecodeYAML, to an entry Equal to e.
func Encode(e Entry, format string) ([]byte, error) {
	if e == nil || reflect.ValueOf(e).IsNil() {
		return nil, fmt.Errorf("configentry: cannot encode a nil entry")
	}
	switch format {
	case "json":
		out, err := json.MarshalIndent(e, "", "  ")
		if err != nil {
			return nil, fmt.Errorf("configentry: encoding %s %q as JSON: %w", e.GetKind(), e.GetName(), err)
		}
		return append(out, '\n'), nil
	case "hcl", "yaml":
		body, err := entryTree(e)
		if err != nil {
			return nil, fmt.Errorf("configentry: encoding %s %q as %s: %w", e.GetKind(), e.GetName(), format, err)
		}
		if format == "hcl" {
			return renderHCL(e.GetKind(), body), nil
		}
		return renderYAML(e.GetKind(), e.GetName(), body)
	}
	return nil, fmt.Errorf("configentry: unknown format %q (want json, hcl or yaml)", format)
}

// The HCL and YAML writers share one intermediate tree, built from the entry
// by reflection; each then only decides the syntax.

type treeKind int

const (
	treeScalar treeKind = iota
	treeStruct          // keys are Go field names
	treeMap             // keys are data (Meta, Subsets, Config ...), written verbatim
	treeList
)

type scalarKind int

const (
	scalarString scalarKind = iota
	scalarNumber
	scalarBool
)

// treeNode is one value of the tree; zero-valued fields are already dropped.
type treeNode struct {
	kind   treeKind
	scalar scalarKind
	text   string      // scalars: the value, unquoted
	keys   []string    // struct and map members, in output order
	vals   []*treeNode // struct and map member values, or list items
}

func (n *treeNode) add(key string, v *treeNode) {
	n.keys = append(n.keys, key)
	n.vals = append(n.vals, v)
}

// without returns a copy of a struct node minus one member; the Kubernetes
// form carries the entry's Name in metadata, not in the spec.
func (n *treeNode) without(key string) *treeNode {
	out := &treeNode{kind: n.kind}
	for i, k := range n.keys {
		if k != key {
			out.add(k, n.vals[i])
		}
	}
	return out
}

// entryTree builds the tree of an entry's content: every field but the
// envelope (Kind, Hash, indexes) and derived fields.
func entryTree(e Entry) (*treeNode, error) {
	return structTree(reflect.ValueOf(e).Elem(), true)
}

func structTree(v reflect.Value, top bool) (*treeNode, error) {
	n := &treeNode{kind: treeStruct}
	for _, f := range fieldsOf(v.Type()) {
		if f.derived || (top && isEnvelopeField(f.name)) {
			continue
		}
		child, err := valueTree(v.Field(f.index))
		if err != nil {
			return nil, fmt.Errorf("%s: %w", f.name, err)
		}
		if child != nil {
			n.add(f.name, child)
		}
	}
	return n, nil
}

// valueTree returns nil for values that are zero and need not be written:
// decoding an absent key gives the same zero value. Non-nil pointers are
// always written (an empty block), because nil and empty differ for them.
func valueTree(v reflect.Value) (*treeNode, error) {
	if v.Type() == durationType {
		if v.Int() == 0 {
			return nil, nil
		}
		return &treeNode{text: time.Duration(v.Int()).String()}, nil
	}
	switch v.Kind() {
	case reflect.Pointer:
		if v.IsNil() {
			return nil, nil
		}
		if v.Elem().Kind() == reflect.Struct {
			return structTree(v.Elem(), false)
		}
		return keptTree(v.Elem()), nil
	case reflect.Struct:
		if v.IsZero() {
			return nil, nil
		}
		return structTree(v, false)
	case reflect.Map:
		if v.Len() == 0 {
			return nil, nil
		}
		if v.Type().Elem().Kind() == reflect.Interface {
			return freeformTree(v.Interface())
		}
		return mapTree(v)
	case reflect.Slice:
		if v.Len() == 0 {
			return nil, nil
		}
		list := &treeNode{kind: treeList}
		for i := 0; i < v.Len(); i++ {
			child, err := valueTree(v.Index(i))
			if err != nil {
				return nil, fmt.Errorf("[%d]: %w", i, err)
			}
			if child == nil {
				child = keptTree(v.Index(i))
			}
			list.vals = append(list.vals, child)
		}
		return list, nil
	}
	return scalarTree(v, false), nil
}

// keptTree writes a value that valueTree would drop as zero: a list element
// or map value cannot be left out, and a pointer to zero differs from nil.
// v is a zero struct, a nil pointer, or a scalar of any value.
func keptTree(v reflect.Value) *treeNode {
	switch v.Kind() {
	case reflect.Struct:
		return &treeNode{kind: treeStruct}
	case reflect.Pointer:
		// A nil pointer in a list has no text form; the decoder refuses null
		// list elements, so an empty object is the nearest readable value.
		return &treeNode{kind: treeStruct}
	}
	if v.Type() == durationType {
		return &treeNode{text: time.Duration(v.Int()).String()}
	}
	return scalarTree(v, true)
}

func mapTree(v reflect.Value) (*treeNode, error) {
	n := &treeNode{kind: treeMap}
	keys := make([]string, 0, v.Len())
	for _, k := range v.MapKeys() {
		keys = append(keys, k.String())
	}
	sort.Strings(keys)
	for _, k := range keys {
		elem := v.MapIndex(reflect.ValueOf(k).Convert(v.Type().Key()))
		child, err := valueTree(elem)
		if err != nil {
			return nil, fmt.Errorf("[%q]: %w", k, err)
		}
		if child == nil {
			child = keptTree(elem)
		}
		n.add(k, child)
	}
	return n, nil
}

// scalarTree writes a string, boolean or number. Zero values are dropped
// unless keep is set (pointers to zero and list elements mean something).
func scalarTree(v reflect.Value, keep bool) *treeNode {
	if !keep && v.IsZero() {
		return nil
	}
	switch v.Kind() {
	case reflect.String:
		return &treeNode{text: v.String()}
	case reflect.Bool:
		return &treeNode{scalar: scalarBool, text: strconv.FormatBool(v.Bool())}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return &treeNode{scalar: scalarNumber, text: strconv.FormatInt(v.Int(), 10)}
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return &treeNode{scalar: scalarNumber, text: strconv.FormatUint(v.Uint(), 10)}
	case reflect.Float32, reflect.Float64:
		return &treeNode{scalar: scalarNumber, text: floatText(v.Float(), v.Type().Bits())}
	}
	panic(fmt.Sprintf("configentry: no encoder for field type %s", v.Type()))
}

// floatText writes the shortest text that reads back as exactly f at its
// own size; like encoding/json, it uses an exponent only for very large or
// very small magnitudes, which keeps weights such as 33.33 plain.
func floatText(f float64, bits int) string {
	if abs := math.Abs(f); abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		return strconv.FormatFloat(f, 'e', -1, bits)
	}
	return strconv.FormatFloat(f, 'f', -1, bits)
}

// freeformTree writes a free-form value. It is first put through the same
// canonical form the decoder produces (via its JSON encoding, which also
// covers values a caller stored with other Go types).
func freeformTree(v any) (*treeNode, error) {
	raw, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	generic, err := parseJSON(raw)
	if err != nil {
		return nil, err
	}
	d := &decoder{}
	canonical, _ := d.freeform(generic)
	if len(d.problems) > 0 {
		return nil, &decodeError{problems: d.problems}
	}
	return canonicalTree(canonical), nil
}

func canonicalTree(v any) *treeNode {
	switch x := v.(type) {
	case map[string]any:
		n := &treeNode{kind: treeMap}
		for _, k := range sortedKeys(x) {
			n.add(k, canonicalTree(x[k]))
		}
		return n
	case []any:
		n := &treeNode{kind: treeList}
		for _, item := range x {
			n.vals = append(n.vals, canonicalTree(item))
		}
		return n
	case bool:
		return &treeNode{scalar: scalarBool, text: strconv.FormatBool(x)}
	case int64:
		return &treeNode{scalar: scalarNumber, text: strconv.FormatInt(x, 10)}
	case float64:
		if math.IsInf(x, 0) || math.IsNaN(x) {
			panic("configentry: canonical free-form value is not finite")
		}
		return &treeNode{scalar: scalarNumber, text: floatText(x, 64)}
	case string:
		return &treeNode{text: x}
	}
	panic(fmt.Sprintf("configentry: canonical free-form value of type %T", v))
}
