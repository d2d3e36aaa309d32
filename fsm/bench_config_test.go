package fsm

import "testing"

// BenchmarkEncodeConfigUpsert measures building the Raft command of the
// load-test write (a small service-defaults entry), as the leader's HTTP
// handler does for every PUT /v1/config.
func BenchmarkEncodeConfigUpsert(b *testing.B) {
	e := serviceDefaults("bench-12345", "http")
	if err := e.Normalize(); err != nil {
		b.Fatal(err)
	}
	// Measure what production runs, without the tests' decoding check.
	verify := verifyConfigUpsert
	verifyConfigUpsert = nil
	b.Cleanup(func() { verifyConfigUpsert = verify })
	b.ReportAllocs()
	for b.Loop() {
		if _, err := EncodeConfigUpsert(e, nil); err != nil {
			b.Fatal(err)
		}
	}
}
