package configentry

import (
	"bytes"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

// sampleDir is a copy of the shared seed samples (sharedSampleDir), so that
// the package tests stand alone; TestSampleCopiesMatchShared keeps it honest.
const (
	sampleDir       = "testdata/samples"
	sharedSampleDir = "../../shared/seeds/samples"
)

// sampleForms decodes every sample file, grouped by basename and then by
// extension. Each file must hold exactly one entry.
func sampleForms(t *testing.T) map[string]map[string]Entry {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(sampleDir, "*.*"))
	if err != nil {
		t.Fatal(err)
	}
	groups := map[string]map[string]Entry{}
	for _, f := range files {
		ext := filepath.Ext(f)
		if ext == ".md" {
			continue
		}
		entries, err := DecodeFile(f)
		if err != nil {
			t.Fatalf("%v", err)
		}
		if len(entries) != 1 {
			t.Fatalf("%s: %d entries, want 1", f, len(entries))
		}
		base := strings.TrimSuffix(filepath.Base(f), ext)
		if groups[base] == nil {
			groups[base] = map[string]Entry{}
		}
		groups[base][ext] = entries[0]
	}
	if len(groups) < 10 {
		t.Fatalf("found only %d samples in %s", len(groups), sampleDir)
	}
	return groups
}

// sampleQuirks are the documented differences between the forms of a
// sample (samples/README.md). Each asserts that the forms differ and that
// the difference is exactly the documented one.
var sampleQuirks = map[string]func(t *testing.T, hcl, yaml, json Entry){
	// The JSON sends /coffees to procurement; the YAML matches exactly.
	"router-retry": func(t *testing.T, hcl, yaml, json Entry) {
		assertDiffer(t, json, hcl, func(e Entry) {
			e.(*ServiceRouterConfigEntry).Routes[0].Destination.Service = "products"
		})
		assertDiffer(t, hcl, yaml, func(e Entry) {
			for _, r := range e.(*ServiceRouterConfigEntry).Routes {
				r.Match.HTTP.PathExact, r.Match.HTTP.PathPrefix = r.Match.HTTP.PathPrefix, ""
			}
		})
	},
	// The YAML writes the header name in lower case.
	"splitter-set-headers": func(t *testing.T, hcl, yaml, json Entry) {
		if !Equal(hcl, json) {
			t.Error("HCL and JSON forms differ")
		}
		assertDiffer(t, json, yaml, func(e Entry) {
			for _, s := range e.(*ServiceSplitterConfigEntry).Splits {
				set := s.ResponseHeaders.Set
				for k, v := range set {
					delete(set, k)
					set[strings.ToLower(k)] = v
				}
			}
		})
	},
	// The YAML names the target's service and (default) namespace too.
	"peering-resolver-failover": func(t *testing.T, hcl, yaml, json Entry) {
		if !Equal(hcl, json) {
			t.Error("HCL and JSON forms differ")
		}
		if ri := json.GetRaftIndex(); ri.CreateIndex != 0 || ri.ModifyIndex != 0 {
			t.Errorf("read-back indexes were decoded: %+v", *ri)
		}
		assertDiffer(t, hcl, yaml, func(e Entry) {
			target := &e.(*ServiceResolverConfigEntry).Failover["*"].Targets[0]
			target.Service, target.Namespace = "frontend", "default"
		})
	},
}

// assertDiffer checks that from and to differ, and that applying change to a
// copy of from makes them Equal.
func assertDiffer(t *testing.T, from, to Entry, change func(Entry)) {
	t.Helper()
	if Equal(from, to) {
		t.Fatal("forms are Equal; the documented difference is missing")
	}
	changed := Clone(from)
	change(changed)
	if !Equal(changed, to) {
		t.Fatalf("forms differ beyond the documented difference:\n%s\n%s", marshalForTest(t, changed), marshalForTest(t, to))
	}
}

func TestSampleFormsAgree(t *testing.T) {
	groups := sampleForms(t)
	names := make([]string, 0, len(groups))
	for name := range groups {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		if strings.HasPrefix(name, "_") {
			continue
		}
		forms := groups[name]
		t.Run(name, func(t *testing.T) {
			hcl, yaml, json := forms[".hcl"], forms[".yaml"], forms[".json"]
			if hcl == nil || yaml == nil || json == nil || len(forms) != 3 {
				t.Fatalf("want exactly .hcl, .yaml and .json forms, have %d", len(forms))
			}
			if quirk, ok := sampleQuirks[name]; ok {
				quirk(t, hcl, yaml, json)
				return
			}
			if !Equal(hcl, json) {
				t.Errorf("HCL and JSON differ:\n%s\n%s", marshalForTest(t, hcl), marshalForTest(t, json))
			}
			if !Equal(yaml, json) {
				t.Errorf("YAML and JSON differ:\n%s\n%s", marshalForTest(t, yaml), marshalForTest(t, json))
			}
		})
	}
	for name := range sampleQuirks {
		if groups[name] == nil {
			t.Errorf("quirk listed for missing sample %s", name)
		}
	}
}

func TestSampleCompanions(t *testing.T) {
	groups := sampleForms(t)
	assertEntryJSON(t, groups["_http-defaults"][".json"],
		`{"Kind":"proxy-defaults","Name":"global","Config":{"protocol":"http"}}`)
	assertEntryJSON(t, groups["_web-resolver"][".json"], `{"Kind":"service-resolver","Name":"web","Subsets":{
		"v1":{"Filter":"Service.Meta.version == v1"},"v2":{"Filter":"Service.Meta.version == v2"},
		"canary":{"Filter":"Service.Meta.version == canary"}}}`)
}

func TestSampleQuirkFormsAreReadLeniently(t *testing.T) {
	groups := sampleForms(t)
	headers := groups["splitter-set-headers"][".hcl"].(*ServiceSplitterConfigEntry)
	if got := headers.Splits[1].ResponseHeaders.Set["X-Web-Version"]; got != "v2" {
		t.Errorf(`"X-Web-Version": "v2" read as %q`, got)
	}
	redirect := groups["peering-resolver-redirect"][".hcl"].(*ServiceResolverConfigEntry)
	if redirect.Redirect == nil || redirect.Redirect.Service != "frontend" {
		t.Errorf("Service = frontend read as %+v", redirect.Redirect)
	}
}

// TestSampleCopiesMatchShared compares the copies with the shared seeds when
// the shared tree is checked out next to this repository; a standalone
// checkout has only the copies, and that is what the other tests read.
func TestSampleCopiesMatchShared(t *testing.T) {
	shared, err := os.ReadDir(sharedSampleDir)
	if errors.Is(err, fs.ErrNotExist) {
		t.Logf("%s not present; comparing nothing", sharedSampleDir)
		return
	}
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range shared {
		want, err := os.ReadFile(filepath.Join(sharedSampleDir, f.Name()))
		if err != nil {
			t.Fatal(err)
		}
		got, err := os.ReadFile(filepath.Join(sampleDir, f.Name()))
		if err != nil || !bytes.Equal(got, want) {
			t.Errorf("%s: copy in %s is missing or differs (%v)", f.Name(), sampleDir, err)
		}
	}
}
