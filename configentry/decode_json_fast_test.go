package configentry

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// checkFastParse asserts fastParseJSON's contract on one input: when it
// accepts, the token reader accepts too and yields the same value.
func checkFastParse(t *testing.T, data []byte) (accepted bool) {
	t.Helper()
	fast, ok := fastParseJSON(data)
	if !ok {
		return false
	}
	slow, err := parseJSONTokens(data)
	if err != nil {
		t.Fatalf("fast parser accepted %q, token reader refused it: %v", data, err)
	}
	if !reflect.DeepEqual(fast, slow) {
		t.Fatalf("fast parser and token reader differ on %q\nfast: %#v\nslow: %#v", data, fast, slow)
	}
	return true
}

// FuzzFastParseJSON is a differential test of fastParseJSON against the
// token reader, seeded with every JSON sample and the edge cases below.
func FuzzFastParseJSON(f *testing.F) {
	seedFuzz(f, "testdata/samples/*.json", "testdata/encode/*.json")
	for _, s := range fastParseEdgeCases {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) { checkFastParse(t, data) })
}

// fastParseEdgeCases are inputs near the boundary of what is valid JSON or
// of what the fast parser accepts.
var fastParseEdgeCases = []string{
	`{}`, `[]`, ` {"a" : [ 1 , 2 ] } `, "\t\r\n{}\n", `{"a":1,}`, `[1,]`, `{"a":1 "b":2}`,
	`{"a":1}{`, `{"a":1} x`, `{"a":01}`, `{"a":-}`, `{"a":1.}`, `{"a":1e}`, `{"a":1E+2}`,
	`{"a":-0.5e-3}`, `{"a":1x}`, `{"a":tru}`, `{"a":true}`, `{"a":nul}`, `{"a":null,"b":false}`,
	`{"a":"x","a":"y"}`, `{"a":"x","\u0061":"y"}`, `{"\u00e9":"\ud83d\ude00"}`, `{"a":"\ud800"}`,
	`{"a":"\x"}`, `{"a":"\u12"}`, `{"a":"tab	in"}`, "{\"a\":\"\xff\"}", "{\"a\":\"\xe2\x82\"}",
	`{"a":"é ☃ 😀"}`, `{"a":"\/\b\f\n\r\t\"\\"}`, `"just a string"`, `5`, `-`, ``, ` `,
	"\xef\xbb\xbf{}", `{"a":[[],{},[{}]]}`, `{"a":"x\`, `{"a`, `{"a":`, `[`, `{"a":1`,
	strings.Repeat("[", maxNesting) + strings.Repeat("]", maxNesting),
	strings.Repeat("[", maxNesting+1) + strings.Repeat("]", maxNesting+1),
	strings.Repeat("[", maxNesting) + "1" + strings.Repeat("]", maxNesting),
	strings.Repeat(`{"a":`, maxNesting) + "1" + strings.Repeat("}", maxNesting),
	strings.Repeat(`{"a":`, maxNesting) + "{}" + strings.Repeat("}", maxNesting),
	strings.Repeat(`{"a":`, maxNesting+1) + "1" + strings.Repeat("}", maxNesting+1),
}

func TestFastParseJSONEdgeCases(t *testing.T) {
	for _, s := range fastParseEdgeCases {
		checkFastParse(t, []byte(s))
	}
}

// TestFastParseJSONTakesSamples keeps the fast parser useful: every sample
// entry (well-formed JSON) must take it rather than the slow token reader.
func TestFastParseJSONTakesSamples(t *testing.T) {
	files, err := filepath.Glob("testdata/*/*.json")
	if err != nil || len(files) == 0 {
		t.Fatalf("no samples: %v", err)
	}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if !checkFastParse(t, data) {
			t.Errorf("%s: the fast parser refused a well-formed sample", f)
		}
	}
	for _, s := range []string{`{"a":"x","\u0061b":"y","c":[1,-2.5e3,true,null,{}]}`,
		strings.Repeat(`{"a":`, maxNesting) + "1" + strings.Repeat("}", maxNesting)} {
		if !checkFastParse(t, []byte(s)) {
			t.Errorf("the fast parser refused %q", s)
		}
	}
}

// TestDecodeDeepErrorPath checks error paths deeper than the decoder keeps
// in its fixed segment array, and that leaving them restores the path.
func TestDecodeDeepErrorPath(t *testing.T) {
	const levels = 40
	in := `{"Kind":"proxy-defaults","Config":` + strings.Repeat(`{"k":[`, levels) + `null` +
		strings.Repeat(`]}`, levels) + `,"Mode":{},"Bogus":1}`
	want := "Config" + strings.Repeat(`["k"][0]`, levels-1) + `["k"][0]: null is not allowed in a list; ` +
		`Mode: expected a string, got an object; invalid config key "Bogus"`
	_, err := DecodeJSON([]byte(in))
	if err == nil || err.Error() != want {
		t.Fatalf("error\n got: %v\nwant: %s", err, want)
	}
}
