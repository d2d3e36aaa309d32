package configentry

import (
	"bytes"
	"errors"
	"flag"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var updateGolden = flag.Bool("update", false, "rewrite the golden files in testdata/encode/golden")

var encodeFormats = []string{"json", "hcl", "yaml"}

// decodeFormat reads back one entry written by Encode in format.
func decodeFormat(t *testing.T, format string, data []byte) Entry {
	t.Helper()
	var e Entry
	var err error
	switch format {
	case "json":
		e, err = DecodeJSON(data)
	case "hcl":
		e, err = DecodeHCL(data)
	case "yaml":
		var entries []Entry
		if entries, err = DecodeYAML(data); err == nil && len(entries) != 1 {
			t.Fatalf("YAML output holds %d entries", len(entries))
		}
		if err == nil {
			e = entries[0]
		}
	}
	if err != nil {
		t.Fatalf("%s output does not decode: %v\n%s", format, err, data)
	}
	return e
}

// assertRoundTrip encodes e in every format and checks each output decodes
// back to an Equal entry, and that encoding is deterministic.
func assertRoundTrip(t *testing.T, e Entry) {
	t.Helper()
	for _, format := range encodeFormats {
		out, err := Encode(e, format)
		if err != nil {
			t.Fatalf("Encode %s: %v", format, err)
		}
		again, err := Encode(e, format)
		if err != nil || !bytes.Equal(out, again) {
			t.Fatalf("Encode %s is not deterministic", format)
		}
		if back := decodeFormat(t, format, out); !Equal(e, back) {
			t.Fatalf("%s round trip changed the entry\nbefore: %s\n after: %s\n%s",
				format, marshalForTest(t, e), marshalForTest(t, back), out)
		}
	}
}

func TestEncodeRoundTripsSamples(t *testing.T) {
	for name, forms := range sampleForms(t) {
		for ext, e := range forms {
			t.Run(name+ext, func(t *testing.T) { assertRoundTrip(t, e) })
		}
	}
}

// TestEncodeGolden writes every input of testdata/encode as HCL and YAML and
// compares with testdata/encode/golden; run with -update to accept changes.
// (The JSON form is the types' own encoding/json output, tested with them.)
// The inputs cover every field type and awkward values (keys that look like
// booleans or numbers, `${`, control characters, extreme floats), not only
// valid entries: encoding does not validate.
func TestEncodeGolden(t *testing.T) {
	inputs, err := filepath.Glob("testdata/encode/*.json")
	if err != nil || len(inputs) == 0 {
		t.Fatalf("no inputs: %v", err)
	}
	for _, in := range inputs {
		name := strings.TrimSuffix(filepath.Base(in), ".json")
		t.Run(name, func(t *testing.T) {
			entries, err := DecodeFile(in)
			if err != nil {
				t.Fatal(err)
			}
			e := entries[0]
			assertRoundTrip(t, e)
			for _, format := range []string{"hcl", "yaml"} {
				got, err := Encode(e, format)
				if err != nil {
					t.Fatal(err)
				}
				golden := filepath.Join("testdata/encode/golden", name+"."+format)
				if *updateGolden {
					if err := os.WriteFile(golden, got, 0o644); err != nil {
						t.Fatal(err)
					}
					continue
				}
				want, err := os.ReadFile(golden)
				if err != nil {
					t.Fatalf("%v (run go test -update to create it)", err)
				}
				if !bytes.Equal(got, want) {
					t.Errorf("%s differs from %s:\n%s", format, golden, got)
				}
			}
		})
	}
}

func TestEncodeFreeformGoValues(t *testing.T) {
	// Entries built in code may hold any Go values in free-form maps; they
	// are written in their canonical form and read back Equal.
	e := &ProxyConfigEntry{Kind: ProxyDefaults, Name: "global", Config: map[string]any{
		"protocol": "grpc",
		"n":        int32(7),
		"f":        float32(0.5),
		"list":     []string{"a", "b"},
		"map":      map[string]int{"x": 1},
		"skipped":  nil,
	}}
	assertRoundTrip(t, e)
	out, err := Encode(e, "hcl")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(out), "skipped") {
		t.Errorf("null member written:\n%s", out)
	}
}

func TestEncodeKeepsPointersToZero(t *testing.T) {
	e := &ServiceResolverConfigEntry{Kind: ServiceResolver, Name: "web",
		Redirect: &ServiceResolverRedirect{}, LoadBalancer: &LoadBalancer{RingHashConfig: &RingHashConfig{}}}
	assertRoundTrip(t, e)
	zero := 0
	sd := &ServiceConfigEntry{Kind: ServiceDefaults, Name: "web", UpstreamConfig: &UpstreamConfiguration{
		Defaults: &UpstreamConfig{Limits: &UpstreamLimits{MaxConnections: &zero}},
	}}
	assertRoundTrip(t, sd)
	back := decodeFormat(t, "yaml", mustEncode(t, sd, "yaml")).(*ServiceConfigEntry)
	if back.UpstreamConfig.Defaults.Limits.MaxConnections == nil {
		t.Error("pointer to zero lost in YAML")
	}
}

func mustEncode(t *testing.T, e Entry, format string) []byte {
	t.Helper()
	out, err := Encode(e, format)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestEncodeErrors(t *testing.T) {
	e := &ServiceConfigEntry{Kind: ServiceDefaults, Name: "web"}
	if _, err := Encode(e, "xml"); err == nil || err.Error() != `configentry: unknown format "xml" (want json, hcl or yaml)` {
		t.Errorf("unknown format: %v", err)
	}
	if _, err := Encode(nil, "json"); err == nil {
		t.Error("nil entry encoded")
	}
	var typedNil *ServiceConfigEntry
	if _, err := Encode(typedNil, "hcl"); err == nil {
		t.Error("typed nil entry encoded")
	}
	bad := &ProxyConfigEntry{Kind: ProxyDefaults, Name: "global", Config: map[string]any{"x": math.NaN()}}
	for _, format := range encodeFormats {
		if _, err := Encode(bad, format); err == nil {
			t.Errorf("%s: NaN in Config encoded", format)
		}
	}
	withNullItem := &ProxyConfigEntry{Kind: ProxyDefaults, Name: "global", Config: map[string]any{"l": []any{nil}}}
	_, err := Encode(withNullItem, "hcl")
	if err == nil || !errors.Is(err, ErrDecode) || !strings.Contains(err.Error(), `Config: ["l"][0]: null is not allowed in a list`) {
		t.Errorf("null list item: %v", err)
	}
}

func TestLowerCamel(t *testing.T) {
	for in, want := range map[string]string{
		"ServiceSubset":           "serviceSubset",
		"HTTP":                    "http",
		"TTL":                     "ttl",
		"JSONFormat":              "jsonFormat",
		"ExternalSNI":             "externalSNI",
		"SourceIP":                "sourceIP",
		"EnforcingConsecutive5xx": "enforcingConsecutive5xx",
		"Name":                    "name",
		"already":                 "already",
	} {
		if got := lowerCamel(in); got != want {
			t.Errorf("lowerCamel(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestHCLQuote(t *testing.T) {
	for in, want := range map[string]string{
		`plain`:      `"plain"`,
		`say "hi"`:   `"say \"hi\""`,
		"a\\b\n\t\r": `"a\\b\n\t\r"`,
		"${var}":     `"\u0024{var}"`,
		"$ and {":    `"$ and {"`,
		"\x01\x7f":   `"\u0001\u007f"`,
		"héllo, 世界":  `"héllo, 世界"`,
	} {
		if got := hclQuote(in); got != want {
			t.Errorf("hclQuote(%q) = %s, want %s", in, got, want)
		}
	}
}

// awkwardStrings are texts that some output syntax could misread: YAML
// plain-scalar lookalikes, HCL interpolation and heredoc markers, comment
// starters, control and special Unicode characters.
var awkwardStrings = []string{
	"", " ", " leading", "trailing ", "\t", "\n", "a\nb", "\r\n", "#", "a #b", ":", "a: b",
	"- a", "-", "?", "!", "&a", "*a", "|", ">", "'", `"`, "`", "%", "@", "{", "}", "[", "]",
	",", "~", "null", "NULL", "true", "True", "yes", "off", "y", "0", "-0", "0x10", "0o17",
	"1e3", ".5", "1_000", "+1", ".inf", ".nan", "2001-12-14", "12:30:45", "${a}", "$${a}",
	"${", "\\", `\n`, "\x00", "\u0085", "\u2028", "\ufeff", "\ufffd", "日本", "😀", "a\x00b",
	"\x7f", "<<", "<<EOF", "=", "a = b", "/*", "//", "*/", "---", "...", "%YAML",
}

func TestEncodeRoundTripsAwkwardStrings(t *testing.T) {
	meta := map[string]string{}
	config := map[string]any{}
	var methods []string
	for i, s := range awkwardStrings {
		meta[s] = s
		config[s] = []any{s, map[string]any{s: s}}
		methods = append(methods, s)
		name := s
		if name == "" {
			name = "x"
		}
		t.Run(strings.ToValidUTF8(name, "?")+"/"+string(rune('a'+i%26)), func(t *testing.T) {
			assertRoundTrip(t, &ServiceRouterConfigEntry{Kind: ServiceRouter, Name: s, Meta: map[string]string{s: s},
				Routes: []ServiceRoute{{Match: &ServiceRouteMatch{HTTP: &ServiceRouteHTTPMatch{PathRegex: s, Methods: []string{s}}}}}})
		})
	}
	assertRoundTrip(t, &ServiceConfigEntry{Kind: ServiceDefaults, Name: "web", Meta: meta})
	assertRoundTrip(t, &ProxyConfigEntry{Kind: ProxyDefaults, Name: "global", Config: config})
	assertRoundTrip(t, &ServiceRouterConfigEntry{Kind: ServiceRouter, Name: "web",
		Routes: []ServiceRoute{{Match: &ServiceRouteMatch{HTTP: &ServiceRouteHTTPMatch{Methods: methods}}}}})
}
