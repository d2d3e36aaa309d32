package configentry

import (
	"reflect"
)

// Clone returns a deep copy of e: no map, slice or pointer is shared, and
// nil and empty collections stay as they were. Clone(nil) is nil.
func Clone(e Entry) Entry {
	if e == nil {
		return nil
	}
	src := reflect.ValueOf(e)
	if src.Kind() != reflect.Pointer || src.IsNil() {
		return e
	}
	dst := reflect.New(src.Type().Elem())
	deepCopy(dst.Elem(), src.Elem())
	return dst.Interface().(Entry)
}

// deepCopy copies src into the settable dst of the same type.
func deepCopy(dst, src reflect.Value) {
	switch src.Kind() {
	case reflect.Pointer:
		if src.IsNil() {
			return
		}
		p := reflect.New(src.Type().Elem())
		deepCopy(p.Elem(), src.Elem())
		dst.Set(p)
	case reflect.Struct:
		for i := 0; i < src.NumField(); i++ {
			deepCopy(dst.Field(i), src.Field(i))
		}
	case reflect.Map:
		if src.IsNil() {
			return
		}
		m := reflect.MakeMapWithSize(src.Type(), src.Len())
		iter := src.MapRange()
		for iter.Next() {
			v := reflect.New(src.Type().Elem()).Elem()
			deepCopy(v, iter.Value())
			m.SetMapIndex(iter.Key(), v)
		}
		dst.Set(m)
	case reflect.Slice:
		if src.IsNil() {
			return
		}
		s := reflect.MakeSlice(src.Type(), src.Len(), src.Len())
		for i := 0; i < src.Len(); i++ {
			deepCopy(s.Index(i), src.Index(i))
		}
		dst.Set(s)
	case reflect.Interface:
		if src.IsNil() {
			return
		}
		v := reflect.New(src.Elem().Type()).Elem()
		deepCopy(v, src.Elem())
		dst.Set(v)
	default:
		dst.Set(src)
	}
}

// Equal reports whether a and b are the same entry as a write would see it:
// same kind and same content. It ignores the envelope that a write does not
// take from its input (Raft indexes, Hash, the Kind field, which the type
// already fixes) and fields derived by Normalize; a nil map or slice equals
// an empty one, and free-form numbers compare by value (5 equals 5.0).
func Equal(a, b Entry) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	va, vb := reflect.ValueOf(a), reflect.ValueOf(b)
	if va.Type() != vb.Type() || a.GetKind() != b.GetKind() {
		return false
	}
	if va.Kind() == reflect.Pointer {
		if va.IsNil() || vb.IsNil() {
			return va.IsNil() && vb.IsNil()
		}
		va, vb = va.Elem(), vb.Elem()
	}
	return equalStruct(va, vb, true)
}

func equalStruct(a, b reflect.Value, top bool) bool {
	for _, f := range fieldsOf(a.Type()) {
		if f.derived || (top && isEnvelopeField(f.name)) {
			continue
		}
		if !equalValue(a.Field(f.index), b.Field(f.index)) {
			return false
		}
	}
	return true
}

func equalValue(a, b reflect.Value) bool {
	switch a.Kind() {
	case reflect.Pointer:
		if a.IsNil() || b.IsNil() {
			return a.IsNil() && b.IsNil()
		}
		return equalValue(a.Elem(), b.Elem())
	case reflect.Struct:
		return equalStruct(a, b, false)
	case reflect.Map:
		if a.Type().Elem().Kind() == reflect.Interface {
			return equalCollections(a, b)
		}
		if a.Len() != b.Len() {
			return false
		}
		iter := a.MapRange()
		for iter.Next() {
			other := b.MapIndex(iter.Key())
			if !other.IsValid() || !equalValue(iter.Value(), other) {
				return false
			}
		}
		return true
	case reflect.Slice:
		if a.Len() != b.Len() {
			return false
		}
		for i := 0; i < a.Len(); i++ {
			if !equalValue(a.Index(i), b.Index(i)) {
				return false
			}
		}
		return true
	case reflect.Interface:
		return equalFreeform(a.Interface(), b.Interface())
	}
	return a.Equal(b)
}

// equalFreeform compares free-form values (Config, Arguments, RateLimits),
// which may hold any generic value and numbers of any Go type.
func equalFreeform(a, b any) bool {
	if ta, ok := numberText(a); ok {
		tb, ok := numberText(b)
		if !ok {
			return false
		}
		na, okA := canonicalNumber(ta)
		nb, okB := canonicalNumber(tb)
		return okA && okB && na == nb
	}
	va, vb := reflect.ValueOf(a), reflect.ValueOf(b)
	if !va.IsValid() || !vb.IsValid() {
		return va.IsValid() == vb.IsValid()
	}
	switch {
	case va.Kind() == reflect.Map && vb.Kind() == reflect.Map,
		va.Kind() == reflect.Slice && vb.Kind() == reflect.Slice:
		return equalCollections(va, vb)
	}
	return reflect.DeepEqual(a, b)
}

// equalCollections compares two free-form maps or lists element-wise, with
// nil and empty alike. A null map member counts as absent, as the decoder
// drops it.
func equalCollections(a, b reflect.Value) bool {
	if a.Kind() == reflect.Slice {
		if a.Len() != b.Len() {
			return false
		}
		for i := 0; i < a.Len(); i++ {
			if !equalFreeform(a.Index(i).Interface(), b.Index(i).Interface()) {
				return false
			}
		}
		return true
	}
	if a.Type().Key() != b.Type().Key() || presentMembers(a) != presentMembers(b) {
		return false
	}
	iter := a.MapRange()
	for iter.Next() {
		if isNullMember(iter.Value()) {
			continue
		}
		other := b.MapIndex(iter.Key())
		if !other.IsValid() || !equalFreeform(iter.Value().Interface(), other.Interface()) {
			return false
		}
	}
	return true
}

// presentMembers counts the members of a free-form map that are not null.
func presentMembers(m reflect.Value) int {
	n := 0
	iter := m.MapRange()
	for iter.Next() {
		if !isNullMember(iter.Value()) {
			n++
		}
	}
	return n
}

func isNullMember(v reflect.Value) bool {
	return v.Kind() == reflect.Interface && v.IsNil()
}
