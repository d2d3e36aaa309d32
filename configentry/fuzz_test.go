package configentry

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// The fuzz targets check two properties of every input: decoding never
// panics and fails only with ErrDecode; and whatever decodes survives
// Clone and a round trip through every output format unchanged.

func FuzzDecodeJSON(f *testing.F) {
	seedFuzz(f, "testdata/samples/*.json", "testdata/encode/*.json")
	f.Fuzz(func(t *testing.T, data []byte) {
		e, err := DecodeJSON(data)
		checkFuzzResult(t, e, err)
		if _, err := DecodeJSONList(data); err != nil && !errors.Is(err, ErrDecode) {
			t.Fatalf("DecodeJSONList error %q does not wrap ErrDecode", err)
		}
	})
}

func FuzzDecodeHCL(f *testing.F) {
	seedFuzz(f, "testdata/samples/*.hcl", "testdata/encode/golden/*.hcl")
	f.Fuzz(func(t *testing.T, data []byte) {
		e, err := DecodeHCL(data)
		checkFuzzResult(t, e, err)
	})
}

func FuzzDecodeYAML(f *testing.F) {
	seedFuzz(f, "testdata/samples/*.yaml", "testdata/encode/golden/*.yaml")
	f.Fuzz(func(t *testing.T, data []byte) {
		entries, err := DecodeYAML(data)
		if err != nil {
			checkFuzzResult(t, nil, err)
			return
		}
		for _, e := range entries {
			checkFuzzResult(t, e, nil)
		}
	})
}

func seedFuzz(f *testing.F, patterns ...string) {
	n := 0
	for _, p := range patterns {
		files, err := filepath.Glob(p)
		if err != nil {
			f.Fatal(err)
		}
		for _, file := range files {
			data, err := os.ReadFile(file)
			if err != nil {
				f.Fatal(err)
			}
			f.Add(data)
			n++
		}
	}
	if n == 0 {
		f.Fatalf("no seeds match %v", patterns)
	}
}

func checkFuzzResult(t *testing.T, e Entry, err error) {
	t.Helper()
	if err != nil {
		if !errors.Is(err, ErrDecode) {
			t.Fatalf("error %q does not wrap ErrDecode", err)
		}
		return
	}
	if !Equal(e, Clone(e)) {
		t.Fatalf("Clone is not Equal: %s", marshalForTest(t, e))
	}
	assertRoundTrip(t, e)
}
