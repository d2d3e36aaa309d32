package configentry

import (
	"os"
	"testing"
)

// benchPutBody is the body of the config-entry write load test: a small
// service-defaults entry, the most common write.
const benchPutBody = `{"Kind":"service-defaults","Name":"bench-12345","Protocol":"http"}`

// BenchmarkDecodeJSON measures the lenient decoder every HTTP write runs,
// on the load-test body and on larger samples with nesting and free-form
// values.
func BenchmarkDecodeJSON(b *testing.B) {
	inputs := []struct{ name, body string }{{"service-defaults", benchPutBody}}
	for _, f := range []struct{ name, file string }{
		{"resolver", "testdata/samples/_web-resolver.json"},
		{"router", "testdata/samples/router-header-query.json"},
		{"proxy-defaults", "testdata/encode/proxy-defaults.json"},
	} {
		data, err := os.ReadFile(f.file)
		if err != nil {
			b.Fatal(err)
		}
		inputs = append(inputs, struct{ name, body string }{f.name, string(data)})
	}
	for _, in := range inputs {
		data := []byte(in.body)
		b.Run(in.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := DecodeJSON(data); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
