package chain

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/switchyard/switchyard/configentry"
)

var update = flag.Bool("update", false, "rewrite chain/testdata/*/want.json from the compiler's output")

// testTrustDomain is the trust domain of Consul's test clusters.
const testTrustDomain = "11111111-2222-3333-4444-555555555555.consul"

// goldenRequest is request.json: the parts of a compile request a case sets.
type goldenRequest struct {
	ServiceName            string
	Datacenter             string
	OverrideProtocol       string
	OverrideConnectTimeout string
	OverrideMeshGateway    configentry.MeshGatewayConfig
}

// TestGolden compiles every chain/testdata/<case>/ and compares the body
// with want.json as text.
func TestGolden(t *testing.T) {
	dirs, err := filepath.Glob(filepath.Join("testdata", "*", "entries.json"))
	if err != nil {
		t.Fatal(err)
	}
	if len(dirs) == 0 {
		t.Fatal("no golden cases found")
	}
	for _, p := range dirs {
		dir := filepath.Dir(p)
		t.Run(filepath.Base(dir), func(t *testing.T) {
			got := goldenOutput(t, dir)
			wantPath := filepath.Join(dir, "want.json")
			if *update {
				if err := os.WriteFile(wantPath, got, 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(wantPath)
			if err != nil {
				t.Fatalf("%v (run go test ./chain -update to create it)", err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("output differs from %s; got:\n%s", wantPath, got)
			}
		})
	}
}

// goldenOutput compiles one case into the text want.json must hold.
func goldenOutput(t *testing.T, dir string) []byte {
	t.Helper()
	set := loadGoldenEntries(t, filepath.Join(dir, "entries.json"))
	req := loadGoldenRequest(t, filepath.Join(dir, "request.json"))
	compiled, err := Compile(req, set)
	var body any = Response{Chain: compiled}
	if err != nil {
		if compiled != nil {
			t.Fatalf("Compile returned both a chain and %v", err)
		}
		body = struct{ Error string }{err.Error()}
	}
	out, err := json.MarshalIndent(body, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	return append(out, '\n')
}

// loadGoldenEntries decodes, normalizes and validates a case's entries, as
// a write would, so every case is a state Consul could actually hold.
func loadGoldenEntries(t testing.TB, path string) *configentry.Set {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	entries, err := configentry.DecodeJSONList(data)
	if err != nil {
		t.Fatalf("decoding %s: %v", path, err)
	}
	for _, e := range entries {
		if err := e.Normalize(); err != nil {
			t.Fatalf("normalizing %s %q: %v", e.GetKind(), e.GetName(), err)
		}
		if err := e.Validate(); err != nil {
			t.Fatalf("validating %s %q: %v", e.GetKind(), e.GetName(), err)
		}
	}
	return configentry.NewSet(entries...)
}

func loadGoldenRequest(t testing.TB, path string) Request {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var gr goldenRequest
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&gr); err != nil {
		t.Fatalf("decoding %s: %v", path, err)
	}
	req := Request{
		ServiceName:          gr.ServiceName,
		EvaluateInDatacenter: gr.Datacenter,
		TrustDomain:          testTrustDomain,
		OverrideProtocol:     gr.OverrideProtocol,
		OverrideMeshGateway:  gr.OverrideMeshGateway,
	}
	if gr.OverrideConnectTimeout != "" {
		if req.OverrideConnectTimeout, err = time.ParseDuration(gr.OverrideConnectTimeout); err != nil {
			t.Fatalf("%s: %v", path, err)
		}
	}
	return req
}
