package chain

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/switchyard/switchyard/configentry"
)

// FuzzValidateCompile feeds arbitrary entry arrays through the whole write
// and read path: decode, Normalize, Validate, ValidateWrite for each entry
// (as an upsert and as a delete), and Compile for every service named.
// Errors are expected; panics are not. The golden inputs seed the corpus.
func FuzzValidateCompile(f *testing.F) {
	paths, err := filepath.Glob(filepath.Join("testdata", "*", "entries.json"))
	if err != nil {
		f.Fatal(err)
	}
	for _, p := range paths {
		data, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		entries, err := configentry.DecodeJSONList(data)
		if err != nil {
			return
		}
		var kept []configentry.Entry
		for _, e := range entries {
			if e.Normalize() != nil {
				continue
			}
			_ = e.Validate()
			kept = append(kept, e)
		}
		// Invalid entries stay in: the compiler must survive anything a
		// Source might hold.
		set := configentry.NewSet(kept...)
		for _, e := range kept {
			_ = ValidateWrite(set, e, "", "")
			_ = ValidateWrite(set, nil, e.GetKind(), e.GetName())
		}
		for _, name := range fuzzServiceNames(kept) {
			req := testRequest(name)
			c, err := Compile(req, set)
			if err != nil {
				continue
			}
			if _, err := json.Marshal(Response{Chain: c}); err != nil {
				t.Fatalf("chain %q does not encode: %v", name, err)
			}
		}
	})
}

// fuzzServiceNames lists every non-empty entry name and every service the
// entries point at.
func fuzzServiceNames(entries []configentry.Entry) []string {
	var names []string
	for _, e := range entries {
		names = append(names, e.GetName())
		switch x := e.(type) {
		case *configentry.ServiceRouterConfigEntry:
			names = append(names, routerRelated(x)...)
		case *configentry.ServiceSplitterConfigEntry:
			names = append(names, splitterRelated(x)...)
		case *configentry.ServiceResolverConfigEntry:
			names = append(names, resolverRelated(x)...)
		}
	}
	return sortedUnique(names, "")
}
