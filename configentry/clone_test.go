package configentry

import (
	"encoding/json"
	"path/filepath"
	"reflect"
	"testing"
)

func TestCloneIsDeep(t *testing.T) {
	inputs, err := filepath.Glob("testdata/encode/*.json")
	if err != nil || len(inputs) == 0 {
		t.Fatalf("no inputs: %v", err)
	}
	for _, in := range inputs {
		entries, err := DecodeFile(in)
		if err != nil {
			t.Fatal(err)
		}
		e := entries[0]
		e.GetRaftIndex().CreateIndex, e.GetRaftIndex().ModifyIndex = 3, 4
		c := Clone(e)
		if !reflect.DeepEqual(e, c) {
			t.Errorf("%s: clone differs:\n%s\n%s", in, marshalForTest(t, e), marshalForTest(t, c))
		}
		assertNoSharing(t, filepath.Base(in), reflect.ValueOf(e), reflect.ValueOf(c))
	}
}

// assertNoSharing walks two equal values and fails if any map, slice or
// pointer of one is also reachable from the other.
func assertNoSharing(t *testing.T, path string, a, b reflect.Value) {
	t.Helper()
	switch a.Kind() {
	case reflect.Pointer, reflect.Map, reflect.Slice:
		if !a.IsNil() && a.Pointer() == b.Pointer() && (a.Kind() != reflect.Slice || a.Cap() > 0) {
			t.Errorf("%s: shared %s", path, a.Type())
			return
		}
	}
	switch a.Kind() {
	case reflect.Pointer, reflect.Interface:
		if !a.IsNil() {
			assertNoSharing(t, path, a.Elem(), b.Elem())
		}
	case reflect.Struct:
		for i := 0; i < a.NumField(); i++ {
			assertNoSharing(t, path+"."+a.Type().Field(i).Name, a.Field(i), b.Field(i))
		}
	case reflect.Map:
		iter := a.MapRange()
		for iter.Next() {
			assertNoSharing(t, path+"["+iter.Key().String()+"]", iter.Value(), b.MapIndex(iter.Key()))
		}
	case reflect.Slice:
		for i := 0; i < a.Len(); i++ {
			assertNoSharing(t, path, a.Index(i), b.Index(i))
		}
	}
}

func TestCloneKeepsNilAndEmpty(t *testing.T) {
	e := &ServiceResolverConfigEntry{Kind: ServiceResolver, Name: "web", Subsets: map[string]ServiceResolverSubset{},
		Failover: nil, Meta: map[string]string{}, Hash: 99}
	c := Clone(e).(*ServiceResolverConfigEntry)
	if c.Subsets == nil || c.Failover != nil || c.Meta == nil || c.Hash != 99 {
		t.Errorf("clone changed nil/empty or envelope: %+v", c)
	}
	if Clone(nil) != nil {
		t.Error("Clone(nil) is not nil")
	}
	var typedNil *ServiceConfigEntry
	if got := Clone(typedNil); got != Entry(typedNil) {
		t.Errorf("Clone(typed nil) = %v", got)
	}
}

func TestEqual(t *testing.T) {
	decode := func(text string) Entry {
		t.Helper()
		e, err := DecodeJSON([]byte(text))
		if err != nil {
			t.Fatal(err)
		}
		return e
	}
	base := `{"Kind":"service-resolver","Name":"web","Subsets":{"v1":{"Filter":"a"}}}`
	cases := []struct {
		name  string
		a, b  Entry
		equal bool
	}{
		{"same", decode(base), decode(base), true},
		{"different value", decode(base), decode(`{"Kind":"service-resolver","Name":"web","Subsets":{"v1":{"Filter":"b"}}}`), false},
		{"different kind", decode(`{"Kind":"service-router","Name":"web"}`), decode(`{"Kind":"service-splitter","Name":"web"}`), false},
		{"nil and empty map", decode(`{"Kind":"service-resolver","Name":"web"}`), decode(`{"Kind":"service-resolver","Name":"web","Subsets":{},"Meta":{}}`), true},
		{"nil and empty slice", decode(`{"Kind":"service-router","Name":"web"}`), decode(`{"Kind":"service-router","Name":"web","Routes":[]}`), true},
		{"nil and empty pointer", decode(`{"Kind":"service-resolver","Name":"web"}`), decode(`{"Kind":"service-resolver","Name":"web","Redirect":{}}`), false},
		{"free-form numbers by value", &ProxyConfigEntry{Name: "global", Config: map[string]any{"n": 5, "l": []any{json.Number("1.0")}}},
			decode(`{"Kind":"proxy-defaults","Name":"global","Config":{"n":5.0,"l":[1]}}`), true},
		{"free-form null member is absent", &ProxyConfigEntry{Name: "global", Config: map[string]any{"x": nil}},
			decode(`{"Kind":"proxy-defaults","Name":"global"}`), true},
		{"free-form types differ", &ProxyConfigEntry{Name: "global", Config: map[string]any{"n": "5"}},
			decode(`{"Kind":"proxy-defaults","Name":"global","Config":{"n":5}}`), false},
		{"free-form nested values differ", decode(`{"Kind":"proxy-defaults","Config":{"a":{"b":[1,2]}}}`),
			decode(`{"Kind":"proxy-defaults","Config":{"a":{"b":[1,3]}}}`), false},
		{"envelope and derived fields ignored",
			&ProxyConfigEntry{Kind: "", Name: "global", Hash: 1, Protocol: "http", RaftIndex: RaftIndex{CreateIndex: 1, ModifyIndex: 2}},
			&ProxyConfigEntry{Kind: ProxyDefaults, Name: "global", Hash: 2}, true},
		{"nil entries", nil, nil, true},
		{"one nil entry", decode(base), nil, false},
	}
	for _, tc := range cases {
		if got := Equal(tc.a, tc.b); got != tc.equal {
			t.Errorf("%s: Equal = %v, want %v", tc.name, got, tc.equal)
		}
		if got := Equal(tc.b, tc.a); got != tc.equal {
			t.Errorf("%s (swapped): Equal = %v, want %v", tc.name, got, tc.equal)
		}
	}
}
