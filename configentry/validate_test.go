package configentry

import (
	"encoding/json"
	"errors"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// testEntry decodes an entry of kind from JSON text with DecodeJSON; Kind
// defaults to kind so that the cases stay short.
func testEntry(t *testing.T, kind, text string) Entry {
	t.Helper()
	var raw map[string]any
	if err := json.Unmarshal([]byte(text), &raw); err != nil {
		t.Fatalf("bad test JSON %s: %v", text, err)
	}
	if _, ok := raw["Kind"]; !ok {
		raw["Kind"] = kind
	}
	b, err := json.Marshal(raw)
	if err != nil {
		t.Fatal(err)
	}
	e, err := DecodeJSON(b)
	if err != nil {
		t.Fatalf("decoding %s: %v", text, err)
	}
	return e
}

// errorLines flattens Validate's result into one string per violation and
// checks that every violation is a *FieldError classified as ErrInvalid.
func errorLines(t *testing.T, err error) []string {
	t.Helper()
	if err == nil {
		return nil
	}
	if !errors.Is(err, ErrInvalid) {
		t.Errorf("error %q is not ErrInvalid", err)
	}
	errs := []error{err}
	if joined, ok := err.(interface{ Unwrap() []error }); ok {
		errs = joined.Unwrap()
	}
	var lines []string
	for _, e := range errs {
		var fe *FieldError
		if !errors.As(e, &fe) {
			t.Errorf("violation %q is a %T, not a *FieldError", e, e)
		}
		lines = append(lines, e.Error())
	}
	return lines
}

// validateCase is one entry (JSON text, Kind implied by the table) and the
// exact violations Validate must report after Normalize; none means valid.
type validateCase struct {
	name string
	json string
	want []string
}

func runValidateCases(t *testing.T, kind string, cases []validateCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := testEntry(t, kind, tc.json)
			if err := e.Normalize(); err != nil {
				t.Fatalf("Normalize: %v", err)
			}
			got := errorLines(t, e.Validate())
			if !slices.Equal(got, tc.want) {
				t.Errorf("Validate errors\n got: %q\nwant: %q", got, tc.want)
			}
		})
	}
}

func TestValidateFieldError(t *testing.T) {
	err := error(&FieldError{Path: `Routes[1].Match.HTTP`, Rule: "bad"})
	if err.Error() != "Routes[1].Match.HTTP: bad" {
		t.Errorf("Error() = %q", err.Error())
	}
	if !errors.Is(err, ErrInvalid) {
		t.Error("FieldError does not unwrap to ErrInvalid")
	}
	if got := (&FieldError{Rule: "whole entry"}).Error(); got != "whole entry" {
		t.Errorf("Error() without path = %q", got)
	}
}

func TestValidateMeta(t *testing.T) {
	long := strings.Repeat("k", 129)
	pairs := map[string]string{}
	for i := range 65 {
		pairs[strings.Repeat("a", i+1)] = "v"
	}
	tooMany, _ := json.Marshal(map[string]any{"Name": "web", "Meta": pairs})
	runValidateCases(t, ServiceRouter, []validateCase{
		{"ok", `{"Name":"web","Meta":{"owner":"team-a"}}`, nil},
		{"too many pairs", string(tooMany), []string{"Meta: Meta exceeds maximum element count 64"}},
		{"long key and value", `{"Name":"web","Meta":{"` + long + `":"v","b":"` + strings.Repeat("v", 513) + `"}}`, []string{
			`Meta["b"]: Meta value for key "b" exceeds maximum length 512`,
			`Meta["` + long + `"]: Meta key "` + long + `" exceeds maximum length 128`,
		}},
	})
}

func TestValidateEnvoyExtensions(t *testing.T) {
	runValidateCases(t, ServiceDefaults, []validateCase{
		{"builtins with arguments", `{"Name":"web","EnvoyExtensions":[
			{"Name":"builtin/lua","Arguments":{"Script":"x"},"EnvoyVersion":">= 1.24, < 1.30","ConsulVersion":"~> 1.20.0"},
			{"Name":"builtin/aws/lambda","Arguments":{"ARN":"arn"}},
			{"Name":"builtin/ext-authz","Arguments":{"Config":{}}},
			{"Name":"builtin/property-override","Arguments":{"Patches":[]}},
			{"Name":"builtin/otel-access-logging","Arguments":{"Config":{}}},
			{"Name":"builtin/wasm","Arguments":{"Protocol":"http"}}]}`, nil},
		{"broken extensions", `{"Name":"web","EnvoyExtensions":[
			{"Arguments":{"a":1}},
			{"Name":"builtin/lua","Arguments":{"a":1},"EnvoyVersion":"banana"},
			{"Name":"builtin/lua","Arguments":{"a":1},"ConsulVersion":">= 1.x"},
			{"Name":"acme/custom","Arguments":{"a":1}},
			{"Name":"builtin/wasm"}]}`, []string{
			"EnvoyExtensions[0]: Name is required",
			"EnvoyExtensions[1].EnvoyVersion: Malformed constraint: banana",
			"EnvoyExtensions[2].ConsulVersion: Malformed constraint: >= 1.x",
			`EnvoyExtensions[3]: unknown envoy extension "acme/custom"`,
			`EnvoyExtensions[4]: Arguments are required by extension "builtin/wasm"`,
		}},
	})
}

// TestValidateSeedSamples decodes, normalizes and validates every seed
// sample in all three forms (testdata/samples is a copy of the shared
// seeds): they are entries users copy from Consul's documentation, and
// peering-resolver-failover.yaml names the default namespace on a target.
func TestValidateSeedSamples(t *testing.T) {
	files, err := filepath.Glob("testdata/samples/*.*")
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, f := range files {
		if filepath.Ext(f) == ".md" {
			continue
		}
		n++
		t.Run(filepath.Base(f), func(t *testing.T) {
			entries, err := DecodeFile(f)
			if err != nil {
				t.Fatal(err)
			}
			for _, e := range entries {
				if err := e.Normalize(); err != nil {
					t.Fatalf("Normalize: %v", err)
				}
				if err := e.Validate(); err != nil {
					t.Fatalf("Validate: %v", err)
				}
			}
		})
	}
	if n != 32 {
		t.Errorf("found %d seed samples, want 32", n)
	}
}
