package fsm

import (
	"bytes"
	"io"
	"testing"
)

func digest(t *testing.T, s *Store) StateDigest {
	t.Helper()
	d, err := s.Digest()
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// Two stores fed the same commands agree; one different command, or the
// same change at another index, makes them differ; a restored snapshot
// keeps the digest.
func TestDigestTracksReplicatedState(t *testing.T) {
	build := func(protocol string) *harness {
		h := newHarness(t, Config{})
		h.mustRegister(instance("n1", "web-1", "web"), nodeOnly("n2"))
		h.mustUpsert(serviceDefaults("web", protocol))
		return h
	}
	a, b, c := build("http"), build("http"), build("grpc")
	da, db, dc := digest(t, a.store()), digest(t, b.store()), digest(t, c.store())
	if da != db {
		t.Fatalf("same commands, different digests: %+v %+v", da, db)
	}
	if da.Index != 3 {
		t.Fatalf("digest index %d, want 3 (the last change)", da.Index)
	}
	if dc.Hash == da.Hash || dc.Index != da.Index {
		t.Fatalf("a different entry at the same index must change only the hash: %+v %+v", da, dc)
	}

	// A no-op-ish command that fails leaves the digest alone.
	before := digest(t, b.store())
	if res := b.deleteEntry("service-defaults", "web", u64(999)); res.Ok {
		t.Fatal("delete with a stale cas succeeded")
	}
	if after := digest(t, b.store()); after != before {
		t.Fatalf("a refused command changed the digest: %+v -> %+v", before, after)
	}

	restored := New(Config{})
	if err := restored.Restore(io.NopCloser(bytes.NewReader(snapshotBytes(t, a.store())))); err != nil {
		t.Fatal(err)
	}
	if dr := digest(t, restored.State()); dr != da {
		t.Fatalf("restore changed the digest: %+v -> %+v", da, dr)
	}
}
