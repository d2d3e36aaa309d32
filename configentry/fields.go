package configentry

import (
	"reflect"
	"strings"
	"sync"
	"time"
)

// entryField describes one field of an entry struct as the decoder, the
// encoders, Clone and Equal see it. Embedded structs (RaftIndex) are left
// out: their keys are envelope keys handled at the top level only.
type entryField struct {
	index int
	name  string // the Go field name, which is also the canonical key
	// aliases are the lower-cased names from the `alias` tag; Consul compares
	// them with lower-cased input keys, so their own case never matters.
	aliases []string
	// derived marks `json:"-"` fields: computed by Normalize, never encoded,
	// never compared, and accepted-but-discarded on input (Consul ignores a
	// top-level Protocol in proxy-defaults the same way).
	derived bool
}

var entryFieldCache sync.Map // reflect.Type → []entryField

// fieldsOf returns the fields of struct type t in declaration order.
func fieldsOf(t reflect.Type) []entryField {
	if cached, ok := entryFieldCache.Load(t); ok {
		return cached.([]entryField)
	}
	var out []entryField
	for i := 0; i < t.NumField(); i++ {
		sf := t.Field(i)
		if sf.Anonymous || !sf.IsExported() {
			continue
		}
		f := entryField{index: i, name: sf.Name, derived: sf.Tag.Get("json") == "-"}
		if tag, ok := sf.Tag.Lookup("alias"); ok {
			for _, a := range strings.Split(tag, ",") {
				f.aliases = append(f.aliases, strings.ToLower(strings.TrimSpace(a)))
			}
		}
		out = append(out, f)
	}
	entryFieldCache.Store(t, out)
	return out
}

// isEnvelopeField reports whether a top-level field belongs to the envelope
// rather than the entry's content: Kind is fixed by the entry's type and Hash
// is recomputed on every write, so neither is decoded, encoded by the HCL and
// YAML writers, or compared by Equal.
func isEnvelopeField(name string) bool { return name == "Kind" || name == "Hash" }

var durationType = reflect.TypeOf(time.Duration(0))
