package configentry

import (
	"errors"
	"strings"
	"testing"
)

// firstYAML adapts DecodeYAML to the single-entry case table.
func firstYAML(data []byte) (Entry, error) {
	entries, err := DecodeYAML(data)
	if err != nil {
		return nil, err
	}
	if len(entries) != 1 {
		return nil, errors.New("want exactly one entry")
	}
	return entries[0], nil
}

const yamlHead = "apiVersion: consul.hashicorp.com/v1alpha1\nkind: ServiceRouter\nmetadata:\n  name: web\n"

func TestDecodeYAMLResource(t *testing.T) {
	runDecodeCases(t, firstYAML, []decodeCase{
		{name: "camelCase spec", in: yamlHead + `spec:
  routes:
    - match:
        http:
          pathPrefix: /admin
          queryParam:
            - name: debug
              present: true
      destination:
        service: admin
        numRetries: '3'
        requestTimeout: 10s
`, want: `{"Kind":"service-router","Name":"web","Routes":[{"Match":{"HTTP":{"PathPrefix":"/admin","QueryParam":[{"Name":"debug","Present":true}]}},
	"Destination":{"Service":"admin","NumRetries":3,"RequestTimeout":"10s"}}]}`},
		{name: "ignored metadata and status, no spec", in: `apiVersion: consul.hashicorp.com/v1alpha1
kind: ProxyDefaults
metadata:
  name: global
  namespace: consul
  labels: {app: x}
  annotations: {a: b}
  resourceVersion: "42"
status:
  conditions: []
`, want: `{"Kind":"proxy-defaults","Name":"global"}`},
		{name: "every implemented kind", in: "apiVersion: consul.hashicorp.com/v1alpha1\nkind: ExportedServices\nmetadata: {name: default}\nspec:\n  services:\n    - name: web\n      consumers: [{peer: east}]\n",
			want: `{"Kind":"exported-services","Name":"default","Services":[{"Name":"web","Consumers":[{"Peer":"east"}]}]}`},
		{name: "scalars by tag", in: `apiVersion: consul.hashicorp.com/v1alpha1
kind: ServiceSplitter
metadata:
  name: 1234
spec:
  splits:
    - weight: 33.33
      requestHeaders:
        set: {date: 2001-12-14, "n": 0x10, yes: true, empty: ~}
    - weight: 66.67
`, want: `{"Kind":"service-splitter","Name":"1234","Splits":[{"Weight":33.33,"RequestHeaders":{"Set":{"date":"2001-12-14","n":"16","yes":"1","empty":""}}},{"Weight":66.67}]}`},
		{name: "anchors and aliases", in: `apiVersion: consul.hashicorp.com/v1alpha1
kind: ServiceResolver
metadata:
  name: web
spec:
  subsets:
    v1: &subset {filter: "Service.Meta.v == 1", onlyPassing: true}
    v2: *subset
`, want: `{"Kind":"service-resolver","Name":"web","Subsets":{"v1":{"Filter":"Service.Meta.v == 1","OnlyPassing":true},"v2":{"Filter":"Service.Meta.v == 1","OnlyPassing":true}}}`},
	})
}

func TestDecodeYAMLErrors(t *testing.T) {
	runDecodeCases(t, firstYAML, []decodeCase{
		{name: "wrong apiVersion", in: strings.Replace(yamlHead, "v1alpha1", "v2", 1),
			err: `line 1: apiVersion is "consul.hashicorp.com/v2", want consul.hashicorp.com/v1alpha1`},
		{name: "missing apiVersion", in: "kind: ServiceRouter\nmetadata:\n  name: web\n",
			err: `line 1: apiVersion is required (want consul.hashicorp.com/v1alpha1)`},
		{name: "unknown kind", in: strings.Replace(yamlHead, "ServiceRouter", "HTTPRoute", 1),
			err: `line 2: kind "HTTPRoute" is not a Consul config entry resource (want ServiceDefaults, ProxyDefaults, ServiceRouter, ServiceSplitter, ServiceResolver or ExportedServices)`},
		{name: "unimplemented kind", in: strings.Replace(yamlHead, "ServiceRouter", "ServiceIntentions", 1),
			err: `line 2: unsupported config entry kind: config entry kind "service-intentions" is not supported by switchyard`},
		{name: "config entry kind name", in: strings.Replace(yamlHead, "ServiceRouter", "service-router", 1),
			err: `line 2: kind "service-router" is not a Consul config entry resource (want ServiceDefaults, ProxyDefaults, ServiceRouter, ServiceSplitter, ServiceResolver or ExportedServices)`},
		{name: "missing name", in: "apiVersion: consul.hashicorp.com/v1alpha1\nkind: ServiceRouter\nmetadata:\n  namespace: x\n",
			err: `line 3: metadata.name is required`},
		{name: "boolean name", in: "apiVersion: consul.hashicorp.com/v1alpha1\nkind: ServiceRouter\nmetadata:\n  name: true\n",
			err: `line 3: metadata.name: expected a string, got true`},
		{name: "missing metadata", in: "apiVersion: consul.hashicorp.com/v1alpha1\nkind: ServiceRouter\n",
			err: `line 1: metadata.name is required`},
		{name: "unknown metadata key", in: yamlHead + "  nmae: x\n",
			err: `line 3: metadata: invalid key "nmae"`},
		{name: "unknown top-level key", in: yamlHead + "specs: {}\n",
			err: `line 5: unknown top-level key "specs" (want apiVersion, kind, metadata, spec or status)`},
		{name: "name in spec", in: yamlHead + "spec:\n  name: other\n",
			err: `line 5: spec: invalid config key "name" (set it in the resource's kind or metadata.name)`},
		{name: "spec not an object", in: yamlHead + "spec: [1]\n",
			err: `line 5: spec: expected an object, got a list`},
		{name: "spec field error", in: yamlHead + "spec:\n  routes:\n    - match:\n        http:\n          pathExacts: /a\n",
			err: `line 5: spec.Routes[0].Match.HTTP: invalid config key "pathExacts"`},
		{name: "spec top-level field error", in: yamlHead + "spec:\n  namespace: default\n",
			err: `line 5: spec: invalid config key "namespace", namespaces are a consul enterprise feature`},
		{name: "duplicate key", in: yamlHead + "spec:\n  routes:\n    - destination:\n        service: a\n        service: b\n",
			err: `line 9: spec.routes[0].destination: mapping key "service" already defined at line 8`},
		{name: "syntax error", in: yamlHead + "spec:\n  routes: [\n",
			err: `invalid YAML: line 6: did not find expected node content`},
		{name: "merge key", in: yamlHead + "spec:\n  <<: {routes: []}\n",
			err: `line 6: spec: merge keys (<<) are not supported`},
		{name: "infinite weight", in: "apiVersion: consul.hashicorp.com/v1alpha1\nkind: ServiceSplitter\nmetadata: {name: web}\nspec:\n  splits: [{weight: .inf}]\n",
			err: `line 5: spec.splits[0].weight: expected a finite number, got .inf`},
		{name: "not a resource", in: "- a\n- b\n",
			err: `line 1: expected a Kubernetes resource (apiVersion, kind, metadata, spec), got a list`},
		{name: "nothing", in: "# just a comment\n",
			err: `no config entry in the YAML input`},
	})
}

func TestDecodeYAMLStream(t *testing.T) {
	stream := yamlHead + "---\n---\napiVersion: consul.hashicorp.com/v1alpha1\nkind: ServiceDefaults\nmetadata:\n  name: web\nspec:\n  protocol: http\n"
	entries, err := DecodeYAML([]byte(stream))
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 2 {
		t.Fatalf("got %d entries, want 2 (the empty document is skipped)", len(entries))
	}
	assertEntryJSON(t, entries[0], `{"Kind":"service-router","Name":"web"}`)
	assertEntryJSON(t, entries[1], `{"Kind":"service-defaults","Name":"web","Protocol":"http"}`)

	_, err = DecodeYAML([]byte(yamlHead + "---\n" + strings.Replace(yamlHead, "ServiceRouter", "Nope", 1)))
	if err == nil || !strings.HasPrefix(err.Error(), `line 7: kind "Nope"`) || !errors.Is(err, ErrInvalidKind) || !errors.Is(err, ErrDecode) {
		t.Errorf("second document's error = %v, want its own line, ErrInvalidKind and ErrDecode", err)
	}
}

func TestDecodeYAMLAliasBomb(t *testing.T) {
	var b strings.Builder
	b.WriteString(yamlHead + "spec:\n  meta:\n    a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n")
	for i := 1; i < 10; i++ {
		b.WriteString("    a" + string(rune('0'+i)) + ": &a" + string(rune('0'+i)) + " [")
		for j := 0; j < 10; j++ {
			if j > 0 {
				b.WriteString(", ")
			}
			b.WriteString("*a" + string(rune('0'+i-1)))
		}
		b.WriteString("]\n")
	}
	_, err := DecodeYAML([]byte(b.String()))
	if err == nil || !strings.Contains(err.Error(), "document too large or too deeply nested") {
		t.Fatalf("alias expansion was not bounded: %v", err)
	}
}

func TestDecodeYAMLMergeMarkerAsValue(t *testing.T) {
	e, err := firstYAML([]byte(yamlHead + "spec:\n  meta:\n    arrow: <<\n"))
	if err != nil {
		t.Fatal(err)
	}
	if got := e.GetMeta()["arrow"]; got != "<<" {
		t.Errorf("meta.arrow = %q, want <<", got)
	}
}
