package fsm

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/raft"

	"github.com/switchyard/switchyard/catalog"
	"github.com/switchyard/switchyard/configentry"
)

var update = flag.Bool("update", false, "rewrite the current golden snapshot and every golden dump in testdata/")

// fixture builds a state that exercises every record type and the odd
// corners of the JSON forms: imported data, check definitions with
// durations, proxies, deleted scopes, several config entry kinds.
func fixture(t testing.TB) *harness {
	h := newHarness(t, Config{})
	web := withCheck(withCheck(instance("n1", "web1", "web", "v1"), "n1-alive", "", catalog.HealthPassing), "web1-http", "web1", catalog.HealthWarning)
	web.ID = "adf4238a-882b-9ddc-4a9d-5b6758e4159e"
	web.TaggedAddresses = map[string]string{"wan": "1.2.3.4"}
	web.NodeMeta = map[string]string{"rack": "r1"}
	web.Locality = &catalog.Locality{Region: "eu", Zone: "eu-1"}
	web.Service.Meta = map[string]string{"version": "1"}
	web.Service.Weights = &catalog.Weights{Passing: 10, Warning: 1}
	web.Checks[1].Definition = catalog.HealthCheckDefinition{
		HTTP: "http://10.0.0.1:8080/health", Interval: catalog.Duration(10 * time.Second), Timeout: catalog.Duration(1500 * time.Millisecond),
		DeregisterCriticalServiceAfter: catalog.Duration(time.Minute), Header: map[string][]string{"X": {"y"}},
	}
	proxy := instance("n1", "web1-proxy", "web-sidecar-proxy")
	proxy.SkipNodeUpdate = true // keep n1's ID, addresses and meta
	proxy.Service.Kind = catalog.ServiceKindConnectProxy
	proxy.Service.Proxy = catalog.ConnectProxyConfig{
		DestinationServiceName: "web", DestinationServiceID: "web1", LocalServicePort: 8080,
		Upstreams:        []catalog.Upstream{{DestinationName: "db", LocalBindPort: 9191, Config: map[string]any{"connect_timeout_ms": 1000.0}}},
		TransparentProxy: catalog.TransparentProxyConfig{DialedDirectly: true},
	}
	imported := withCheck(instance("n1", "db1", "db"), "db1:overall-check", "db1", catalog.HealthPassing)
	imported.PeerName = "east"
	imported.Service.Connect.PeerMeta = &catalog.PeeringServiceMeta{SNI: []string{"db.default.east"}, Protocol: "tcp"}
	h.mustRegister(web, proxy, imported, instance("n2", "api1", "api"), instance("n3", "gone1", "gone"))
	h.deregister(&catalog.DeregisterRequest{Node: "n3"})
	h.mustUpsert(
		serviceDefaults("web", "http"),
		&configentry.ProxyConfigEntry{Kind: configentry.ProxyDefaults, Name: "global", Config: map[string]any{"protocol": "http"}},
		&configentry.ServiceResolverConfigEntry{Kind: configentry.ServiceResolver, Name: "web", ConnectTimeout: 15 * time.Second,
			Subsets: map[string]configentry.ServiceResolverSubset{"v1": {Filter: `Service.Meta.version == "1"`}}},
		&configentry.ExportedServicesConfigEntry{Name: "default", Services: []configentry.ExportedService{
			{Name: "web", Consumers: []configentry.ServiceConsumer{{Peer: "east"}}}}},
		serviceDefaults("old", "tcp"),
	)
	h.deleteEntry(configentry.ServiceDefaults, "old", nil)
	if res := h.apply(EncodeSystemMetaSet(MetaClusterID, "5b9f1a9e-7d1c-4c55-9c8e-2f0c6c3f7a10", true)); !res.Ok {
		t.Fatalf("setting the cluster ID: %+v", res)
	}
	addPeeringFixture(t, h)
	return h
}

func snapshotBytes(t testing.TB, s *Store) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := writeSnapshot(&buf, s.db); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestSnapshotRestoreRoundTrip(t *testing.T) {
	h := fixture(t)
	want := dump(t, h.store())
	restored := New(Config{})
	if err := restored.Restore(io.NopCloser(bytes.NewReader(snapshotBytes(t, h.store())))); err != nil {
		t.Fatal(err)
	}
	if got := dump(t, restored.State()); got != want {
		t.Fatalf("restored state differs:\n--- got\n%s--- want\n%s", got, want)
	}
	// Reads behave the same on the restored store, indexes included.
	for _, s := range []*Store{h.store(), restored.State()} {
		idx, csn, err := s.CheckServiceNodes(nil, "web", "")
		if err != nil || idx != 1 || len(csn) != 1 || len(csn[0].Checks) != 2 {
			t.Fatalf("health of web: %d %v %+v", idx, err, csn)
		}
	}
}

// sinkBuffer is a raft.SnapshotSink over memory.
type sinkBuffer struct {
	bytes.Buffer
	closed, cancelled bool
}

func (s *sinkBuffer) ID() string    { return "test" }
func (s *sinkBuffer) Close() error  { s.closed = true; return nil }
func (s *sinkBuffer) Cancel() error { s.cancelled = true; return nil }

var _ raft.SnapshotSink = (*sinkBuffer)(nil)

func TestFSMSnapshotPersistsAPointInTime(t *testing.T) {
	h := fixture(t)
	want := dump(t, h.store())
	snap, err := h.fsm.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	defer snap.Release()
	// Writes after Snapshot must not leak into what Persist writes.
	h.mustRegister(instance("n7", "late", "late"))
	var sink sinkBuffer
	if err := snap.Persist(&sink); err != nil || !sink.closed || sink.cancelled {
		t.Fatalf("persist: %v closed=%v cancelled=%v", err, sink.closed, sink.cancelled)
	}
	restored := New(Config{})
	if err := restored.Restore(io.NopCloser(&sink.Buffer)); err != nil {
		t.Fatal(err)
	}
	if got := dump(t, restored.State()); got != want {
		t.Fatalf("snapshot is not the state at Snapshot time:\n%s", got)
	}
}

func TestCorruptSnapshotsAreRefused(t *testing.T) {
	good := snapshotBytes(t, fixture(t).store())
	flip := func(i int) []byte {
		b := bytes.Clone(good)
		b[i] ^= 0x01
		return b
	}
	newer := bytes.Clone(good)
	newer[9] = byte(snapshotVersion + 1)
	cases := map[string]struct {
		data []byte
		want string
	}{
		"empty":                   {nil, "truncated: reading header"},
		"cut in the header":       {good[:5], "truncated: reading header"},
		"cut after the header":    {good[:12], "truncated: reading record 1"},
		"cut inside a record":     {good[:len(good)/2], "truncated"},
		"cut before the checksum": {good[:len(good)-4], "truncated: reading checksum"},
		"cut inside the checksum": {good[:len(good)-1], "truncated: reading checksum"},
		"bit flip in a record":    {flip(len(good) / 2), ""},
		"bit flip in the count":   {flip(len(good) - 6), "trailer counts"},
		"bit flip in checksum":    {flip(len(good) - 1), "checksum mismatch"},
		"trailing garbage":        {append(bytes.Clone(good), 0), "data after the trailer"},
		"bad magic":               {flip(0), "bad magic"},
		"newer format":            {newer, fmt.Sprintf("snapshot format version %d is not supported", snapshotVersion+1)},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			f := fixture(t).fsm
			before := dump(t, f.State())
			old := f.State()
			err := f.Restore(io.NopCloser(bytes.NewReader(tc.data)))
			if err == nil {
				t.Fatal("corrupt snapshot accepted")
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %q, want it to contain %q", err, tc.want)
			}
			if name != "newer format" && !errors.Is(err, ErrCorruptSnapshot) {
				t.Fatalf("error %v is not ErrCorruptSnapshot", err)
			}
			if f.State() != old || dump(t, f.State()) != before {
				t.Fatal("a refused snapshot changed the state")
			}
			select {
			case <-old.AbandonCh():
				t.Fatal("a refused snapshot abandoned the store")
			default:
			}
		})
	}
}

func goldenPath(version uint16, ext string) string {
	return filepath.Join("testdata", fmt.Sprintf("snapshot-v%d.%s", version, ext))
}

// TestGoldenSnapshots restores every snapshot format this binary has ever
// written and compares the result with the reviewed dump beside it. With
// -update it rewrites the current version's snapshot from the fixture and
// every version's dump from what restoring it gives; the snapshots of older
// versions are never rewritten.
func TestGoldenSnapshots(t *testing.T) {
	if *update {
		if err := os.WriteFile(goldenPath(snapshotVersion, "bin"), snapshotBytes(t, fixture(t).store()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for v := minSnapshotVersion; v <= snapshotVersion; v++ {
		t.Run(fmt.Sprintf("v%d", v), func(t *testing.T) {
			bin, err := os.ReadFile(goldenPath(v, "bin"))
			if err != nil {
				t.Fatalf("golden snapshot missing (run go test ./fsm -run TestGoldenSnapshots -update): %v", err)
			}
			f := New(Config{})
			if err := f.Restore(io.NopCloser(bytes.NewReader(bin))); err != nil {
				t.Fatal(err)
			}
			got := dump(t, f.State())
			if *update {
				if err := os.WriteFile(goldenPath(v, "dump"), []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(goldenPath(v, "dump"))
			if err != nil {
				t.Fatal(err)
			}
			if got != string(want) {
				t.Fatalf("restored golden v%d differs:\n--- got\n%s--- want\n%s", v, got, want)
			}
		})
	}
}

// The current writer and the fixture must agree with the current golden
// dump, so that a change to either is seen as a diff of testdata.
func TestFixtureMatchesCurrentGolden(t *testing.T) {
	want, err := os.ReadFile(goldenPath(snapshotVersion, "dump"))
	if err != nil {
		t.Fatal(err)
	}
	if got := dump(t, fixture(t).store()); got != string(want) {
		t.Fatalf("fixture differs from %s (rerun with -update if intended):\n%s", goldenPath(snapshotVersion, "dump"), got)
	}
}

// failingSink fails every write, as a full disk would.
type failingSink struct{ sinkBuffer }

func (s *failingSink) Write([]byte) (int, error) { return 0, errors.New("disk full") }

func TestPersistFailureCancelsTheSink(t *testing.T) {
	snap, err := fixture(t).fsm.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	defer snap.Release()
	var sink failingSink
	if err := snap.Persist(&sink); err == nil || !sink.cancelled || sink.closed {
		t.Fatalf("persist: %v cancelled=%v closed=%v", err, sink.cancelled, sink.closed)
	}
}
