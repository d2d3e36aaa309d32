package configentry

import (
	"reflect"
	"strings"
	"testing"
)

func TestJSONKind(t *testing.T) {
	for _, kind := range Kinds() {
		e, err := New(kind)
		if err != nil {
			t.Fatal(err)
		}
		if got := JSONKind(e); got != kind {
			t.Errorf("JSONKind(New(%q)) = %q", kind, got)
		}
		if !strings.Contains(marshalForTest(t, e), `"Kind":"`+kind+`"`) {
			t.Errorf("%s: JSON form does not name the kind: %s", kind, marshalForTest(t, e))
		}
		// The same type without its Kind field set (exported-services has
		// none) and a typed nil.
		blank := reflect.New(reflect.TypeOf(e).Elem()).Interface().(Entry)
		if want := map[bool]string{true: kind, false: ""}[kind == ExportedServices]; JSONKind(blank) != want {
			t.Errorf("JSONKind(zero %T) = %q, want %q", blank, JSONKind(blank), want)
		}
		if got := JSONKind(reflect.Zero(reflect.TypeOf(e)).Interface().(Entry)); got != "" {
			t.Errorf("JSONKind(nil %T) = %q", e, got)
		}
	}
}
