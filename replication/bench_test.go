package replication

import (
	"strconv"
	"testing"

	"github.com/switchyard/switchyard/configentry"
)

// benchmarkRound measures one steady-state round at n entries with one
// changed entry: the primary encodes its answer, the secondary decodes and
// diffs it. It is what the delta protocol keeps from growing with n.
func benchmarkRound(b *testing.B, n int, req func(local []configentry.Entry) Request) {
	primary := make([]configentry.Entry, 0, n)
	local := make([]configentry.Entry, 0, n)
	for i := range n {
		primary = append(primary, sd("svc-"+strconv.Itoa(i), "http", uint64(i+1)))
		local = append(local, sd("svc-"+strconv.Itoa(i), "http", uint64(i+1)))
	}
	primary[0] = sd("svc-0", "grpc", uint64(n+1))
	primary[0].GetRaftIndex().CreateIndex = 1
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		l, err := EncodeList(ProtocolVersionMax, uint64(n+1), primary, req(local))
		if err != nil {
			b.Fatal(err)
		}
		body := mustJSON(b, l)
		r, err := DecodeList(body)
		if err != nil {
			b.Fatal(err)
		}
		if p := Diff(local, r); len(p.Upserts) != 1 {
			b.Fatalf("plan %+v", p)
		}
	}
}

func BenchmarkRoundFull5000(b *testing.B) {
	benchmarkRound(b, 5000, func([]configentry.Entry) Request { return Request{} })
}

func BenchmarkRoundDelta5000(b *testing.B) {
	benchmarkRound(b, 5000, func(local []configentry.Entry) Request {
		return Request{Since: 5000, KeysHash: HashKeys(keysOf(local))}
	})
}
