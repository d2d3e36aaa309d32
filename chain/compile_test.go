package chain

import (
	"encoding/json"
	"errors"
	"path/filepath"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/switchyard/switchyard/configentry"
)

func testRequest(service string) Request {
	return Request{ServiceName: service, EvaluateInDatacenter: "dc1", TrustDomain: testTrustDomain}
}

func TestCompileRequestErrors(t *testing.T) {
	for _, req := range []Request{
		{EvaluateInDatacenter: "dc1", TrustDomain: "td"},
		{ServiceName: "web", TrustDomain: "td"},
		{ServiceName: "web", EvaluateInDatacenter: "dc1"},
	} {
		if _, err := Compile(req, configentry.NewSet()); !errors.Is(err, ErrCompile) {
			t.Errorf("Compile(%+v) = %v, want an ErrCompile", req, err)
		}
	}
}

// TestCompileGraphErrorsWrapErrCompile checks the error contract on one
// golden error case.
func TestCompileGraphErrorsWrapErrCompile(t *testing.T) {
	set := configentry.NewSet(decodeEntries(t, `[
		{"Kind":"service-resolver","Name":"web","Redirect":{"Service":"api"}},
		{"Kind":"service-resolver","Name":"api","Redirect":{"Service":"web"}}]`)...)
	_, err := Compile(testRequest("web"), set)
	var ge *GraphError
	if !errors.As(err, &ge) || !errors.Is(err, ErrCompile) || ge.Chain != "web" {
		t.Fatalf("got %T %v, want a GraphError of chain web wrapping ErrCompile", err, err)
	}
}

// TestOverrideHashMatchesConsul pins the hash to the value Consul's own
// tests expect for mesh gateway "local", protocol "grpc" and 22s.
func TestOverrideHashMatchesConsul(t *testing.T) {
	if got := overrideHash("local", "grpc", 22*time.Second); got != "98809527" {
		t.Errorf("overrideHash = %q, want 98809527", got)
	}
	if overrideHash("", "http", 0) == overrideHash("", "http2", 0) {
		t.Error("different overrides hash alike")
	}
}

// localitySource adds peer localities to a Set and records peer lookups.
type localitySource struct {
	*configentry.Set
	localities map[string]*Locality
	asked      []string
}

func (s *localitySource) PeerLocality(peer string) *Locality {
	s.asked = append(s.asked, peer)
	return s.localities[peer]
}

func TestCompilePeerLocality(t *testing.T) {
	src := &localitySource{
		Set: configentry.NewSet(decodeEntries(t, `[
			{"Kind":"service-resolver","Name":"web","Failover":{"*":{"Targets":[{"Peer":"east"},{"Peer":"west"}]}}}]`)...),
		localities: map[string]*Locality{"east": {Region: "us-east-1", Zone: "us-east-1a"}},
	}
	c, err := Compile(testRequest("web"), src)
	if err != nil {
		t.Fatal(err)
	}
	east := c.Targets["web.default.default.external.east"]
	if east == nil || east.Locality == nil || *east.Locality != (Locality{Region: "us-east-1", Zone: "us-east-1a"}) {
		t.Errorf("east target locality = %+v", east)
	}
	if east.Locality == src.localities["east"] {
		t.Error("the chain shares the source's Locality")
	}
	if w := c.Targets["web.default.default.external.west"]; w == nil || w.Locality != nil {
		t.Errorf("west target = %+v, want no locality", w)
	}
	if local := c.Targets["web.default.default.dc1"]; local.Locality != nil {
		t.Error("a local target got a locality")
	}
	if !slices.Equal(src.asked, []string{"east", "west"}) {
		t.Errorf("peers looked up: %v", src.asked)
	}
}

// recordingSource logs every lookup, to check which entries are read.
type recordingSource struct {
	*configentry.Set
	reads []string
}

func (s *recordingSource) Router(n string) *configentry.ServiceRouterConfigEntry {
	s.reads = append(s.reads, "router/"+n)
	return s.Set.Router(n)
}

func (s *recordingSource) Splitter(n string) *configentry.ServiceSplitterConfigEntry {
	s.reads = append(s.reads, "splitter/"+n)
	return s.Set.Splitter(n)
}

func (s *recordingSource) Resolver(n string) *configentry.ServiceResolverConfigEntry {
	s.reads = append(s.reads, "resolver/"+n)
	return s.Set.Resolver(n)
}

func (s *recordingSource) ServiceDefaults(n string) *configentry.ServiceConfigEntry {
	s.reads = append(s.reads, "service-defaults/"+n)
	return s.Set.ServiceDefaults(n)
}

func (s *recordingSource) ProxyDefaults() *configentry.ProxyConfigEntry {
	s.reads = append(s.reads, "proxy-defaults")
	return s.Set.ProxyDefaults()
}

// TestCompileReadsOnlyChainEntries checks §1.1: routers of other services
// and resolvers of peer failover targets are not read.
func TestCompileReadsOnlyChainEntries(t *testing.T) {
	src := &recordingSource{Set: configentry.NewSet(decodeEntries(t, `[
		{"Kind":"proxy-defaults","Name":"global","Config":{"protocol":"http"}},
		{"Kind":"service-router","Name":"web","Routes":[{"Destination":{"Service":"api"}}]},
		{"Kind":"service-router","Name":"api","Routes":[{"Destination":{"Service":"never"}}]},
		{"Kind":"service-splitter","Name":"api","Splits":[{"Weight":100,"Service":"api-v2"}]},
		{"Kind":"service-resolver","Name":"api-v2","Redirect":{"Service":"api-v3"}},
		{"Kind":"service-resolver","Name":"web","Failover":{"*":{"Targets":[{"Service":"db","Peer":"east"},{"Service":"backup"}]}}}
	]`)...)}
	if _, err := Compile(testRequest("web"), src); err != nil {
		t.Fatal(err)
	}
	want := []string{
		"router/web",
		"splitter/api", "splitter/web", "splitter/api-v2",
		"resolver/api", "resolver/web", "resolver/api-v2", "resolver/backup", "resolver/api-v3",
		"proxy-defaults",
		"service-defaults/web", "service-defaults/api", "service-defaults/api-v2",
		"service-defaults/backup", "service-defaults/api-v3",
	}
	if !slices.Equal(src.reads, want) {
		t.Errorf("reads:\n got %v\nwant %v", src.reads, want)
	}
}

// TestCompileLeavesEntriesAlone compiles every golden case, scribbles over
// everything the chain could share with its entries, and checks that the
// entries did not change.
func TestCompileLeavesEntriesAlone(t *testing.T) {
	paths, _ := filepath.Glob(filepath.Join("testdata", "*", "entries.json"))
	for _, p := range paths {
		dir := filepath.Dir(p)
		set := loadGoldenEntries(t, p)
		before := setJSON(t, set)
		c, err := Compile(loadGoldenRequest(t, filepath.Join(dir, "request.json")), set)
		if err != nil {
			continue
		}
		scribble(reflect.ValueOf(c))
		if after := setJSON(t, set); after != before {
			t.Errorf("%s: entries changed through the compiled chain", dir)
		}
	}
}

// scribble overwrites every string, number and bool reachable from v and
// adds a key to every map, so that any memory shared with an entry shows.
func scribble(v reflect.Value) {
	switch v.Kind() {
	case reflect.Pointer, reflect.Interface:
		if !v.IsNil() {
			scribble(v.Elem())
		}
	case reflect.Struct:
		for i := range v.NumField() {
			if v.Type().Field(i).IsExported() {
				scribble(v.Field(i))
			}
		}
	case reflect.Slice:
		for i := range v.Len() {
			scribble(v.Index(i))
		}
	case reflect.Map:
		for _, k := range v.MapKeys() {
			e := reflect.New(v.Type().Elem()).Elem()
			e.Set(v.MapIndex(k))
			scribble(e)
			v.SetMapIndex(k, e)
		}
		if v.Type().Key().Kind() == reflect.String && !v.IsNil() {
			v.SetMapIndex(reflect.ValueOf("scribbled").Convert(v.Type().Key()), reflect.Zero(v.Type().Elem()))
		}
	case reflect.String:
		if v.CanSet() {
			v.SetString("scribbled")
		}
	case reflect.Bool:
		if v.CanSet() {
			v.SetBool(!v.Bool())
		}
	case reflect.Int, reflect.Int64, reflect.Uint32, reflect.Uint64, reflect.Float32, reflect.Float64:
		if v.CanSet() {
			v.Set(reflect.ValueOf(7).Convert(v.Type()))
		}
	}
}

// TestMergeHeadersAllocatesMaps covers a merge Consul cannot do: the base
// has no Add map but the overrides do (Consul writes to a nil map and
// panics); the merge allocates one instead.
func TestMergeHeadersAllocatesMaps(t *testing.T) {
	base := &configentry.HTTPHeaderModifiers{Remove: []string{"a"}}
	over := &configentry.HTTPHeaderModifiers{Add: map[string]string{"x": "1"}, Set: map[string]string{"y": "2"}, Remove: []string{"a", "b", "b"}}
	got := mergeHeaders(base, over)
	want := &configentry.HTTPHeaderModifiers{
		Add: map[string]string{"x": "1"}, Set: map[string]string{"y": "2"},
		// Only the base's names are deduplicated, as in Consul.
		Remove: []string{"a", "b", "b"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %+v, want %+v", got, want)
	}
	if len(base.Remove) != 1 || base.Add != nil {
		t.Error("the base was modified")
	}
}

func TestConfigProtocol(t *testing.T) {
	cases := []struct {
		cfg  map[string]any
		want string
	}{
		{nil, ""},
		{map[string]any{"protocol": "http"}, "http"},
		{map[string]any{"Protocol": "grpc"}, "grpc"},
		{map[string]any{"PROTOCOL": "tcp", "Protocol": "http2"}, "tcp"},
		{map[string]any{"protocol": "http", "Protocol": "grpc"}, "http"},
		{map[string]any{"protocol": 12.5}, "12.5"},
		{map[string]any{"protocol": json.Number("3")}, "3"},
		{map[string]any{"protocol": true}, "1"},
		{map[string]any{"protocol": int64(-2)}, "-2"},
		{map[string]any{"protocol": []any{"http"}}, ""},
		{map[string]any{"protocol": map[string]any{}}, ""},
	}
	for _, tc := range cases {
		if got := configProtocol(tc.cfg); got != tc.want {
			t.Errorf("configProtocol(%v) = %q, want %q", tc.cfg, got, tc.want)
		}
	}
}

func TestRoundWeight(t *testing.T) {
	for in, want := range map[float32]float32{
		50 * 50 / 100:       25,
		33.33 * 33.33 / 100: 11.11,
		33.33 * 12.5 / 100:  4.17,
		0.004:               0,
		0.005:               0.01,
	} {
		if got := roundWeight(in); got != want {
			t.Errorf("roundWeight(%v) = %v, want %v", in, got, want)
		}
	}
}

// TestChainJSONRoundTrip checks that a client can decode what the server
// encodes: resolvers and targets carry their ConnectTimeout as a string.
func TestChainJSONRoundTrip(t *testing.T) {
	for _, name := range []string{"all-the-bells-and-whistles", "spec-failover-peer-and-dc", "override-all"} {
		dir := filepath.Join("testdata", name)
		c, err := Compile(loadGoldenRequest(t, filepath.Join(dir, "request.json")), loadGoldenEntries(t, filepath.Join(dir, "entries.json")))
		if err != nil {
			t.Fatal(err)
		}
		encoded := mustJSON(t, Response{Chain: c})
		var decoded Response
		if err := json.Unmarshal([]byte(encoded), &decoded); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if again := mustJSON(t, decoded); again != encoded {
			t.Errorf("%s: round trip changed the chain:\n%s\n%s", name, encoded, again)
		}
	}
}

// TestPrioritizeByLocality covers an Enterprise-only setting that CE
// validation refuses: targets take the resolver's, else proxy-defaults'.
func TestPrioritizeByLocality(t *testing.T) {
	set := configentry.NewSet(decodeEntries(t, `[
		{"Kind":"proxy-defaults","Name":"global","PrioritizeByLocality":{"Mode":"failover"}},
		{"Kind":"service-resolver","Name":"web","PrioritizeByLocality":{"Mode":"none"},"Failover":{"*":{"Service":"api"}}}]`)...)
	c, err := Compile(testRequest("web"), set)
	if err != nil {
		t.Fatal(err)
	}
	for id, want := range map[string]string{"web.default.default.dc1": "none", "api.default.default.dc1": "failover"} {
		if p := c.Targets[id].PrioritizeByLocality; p == nil || p.Mode != want {
			t.Errorf("%s: PrioritizeByLocality = %+v, want mode %q", id, p, want)
		}
	}
}
