package configentry

import (
	"encoding/json"
	"reflect"
	"testing"
)

// normalized decodes text as an entry of kind and normalizes it.
func normalized(t *testing.T, kind, text string) (Entry, error) {
	t.Helper()
	e := testEntry(t, kind, text)
	return e, e.Normalize()
}

func TestNormalizeSetsKind(t *testing.T) {
	for _, kind := range []string{ServiceDefaults, ProxyDefaults, ServiceRouter, ServiceSplitter, ServiceResolver} {
		e, err := normalized(t, kind, `{"Kind":"`+kind+`","Name":"global"}`)
		if err != nil {
			t.Fatal(err)
		}
		// Kind is decoded from the text above; clear it to see Normalize set it.
		reflect.ValueOf(e).Elem().FieldByName("Kind").SetString("")
		if err := e.Normalize(); err != nil {
			t.Fatal(err)
		}
		if got := reflect.ValueOf(e).Elem().FieldByName("Kind").String(); got != kind {
			t.Errorf("Kind after Normalize = %q, want %q", got, kind)
		}
	}
}

func TestNormalizeServiceDefaults(t *testing.T) {
	e, err := normalized(t, ServiceDefaults, `{"Name":"web","Protocol":"HTTP2","UpstreamConfig":{
		"Overrides":[{"Name":"db","Protocol":"GRPC","ConnectTimeoutMs":-1},{"Name":"cache","ConnectTimeoutMs":250}],
		"Defaults":{"Protocol":"Http","ConnectTimeoutMs":-30}}}`)
	if err != nil {
		t.Fatal(err)
	}
	sd := e.(*ServiceConfigEntry)
	u := sd.UpstreamConfig
	got := []any{sd.Protocol, u.Overrides[0].Protocol, u.Overrides[0].ConnectTimeoutMs,
		u.Overrides[1].ConnectTimeoutMs, u.Defaults.Protocol, u.Defaults.ConnectTimeoutMs}
	want := []any{"http2", "grpc", 0, 250, "http", 0}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("normalized = %v, want %v", got, want)
	}
}

func TestNormalizeProxyDefaults(t *testing.T) {
	for _, tc := range []struct {
		name, json, protocol, err string
	}{
		{"empty name becomes global", `{"Config":{"protocol":"http"}}`, "http", ""},
		{"other name", `{"Name":"local"}`, "", `Name: invalid name ("local"), only "global" is supported`},
		{"key case-insensitive", `{"Name":"global","Config":{"PROTOCOL":"grpc"}}`, "grpc", ""},
		{"exact key wins", `{"Name":"global","Config":{"Protocol":"grpc","protocol":"http2"}}`, "http2", ""},
		{"stale top-level protocol replaced", `{"Name":"global","Config":{}}`, "", ""},
		{"number", `{"Name":"global","Config":{"protocol":2}}`, "2", ""},
		{"fraction", `{"Name":"global","Config":{"protocol":1.5}}`, "1.5", ""},
		{"bool", `{"Name":"global","Config":{"protocol":true}}`, "1", ""},
		{"null", `{"Name":"global","Config":{"protocol":null}}`, "", ""},
		{"list", `{"Name":"global","Config":{"protocol":["http"]}}`, "",
			`Config["protocol"]: expected type 'string', got unconvertible type '[]interface {}', value: '[http]'`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := testEntry(t, ProxyDefaults, tc.json).(*ProxyConfigEntry)
			e.Protocol = "stale"
			err := e.Normalize()
			if tc.err != "" {
				if err == nil || err.Error() != tc.err {
					t.Fatalf("Normalize error = %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if e.Name != ProxyDefaultsName || e.Protocol != tc.protocol {
				t.Errorf("Name, Protocol = %q, %q; want global, %q", e.Name, e.Protocol, tc.protocol)
			}
		})
	}
}

func TestNormalizeProxyDefaultsIntegerTypes(t *testing.T) {
	// HCL and YAML decoders hand over Go integers rather than float64.
	for _, v := range []any{int(7), int64(7), uint8(7), float32(7)} {
		e := &ProxyConfigEntry{Config: map[string]any{"protocol": v}}
		if err := e.Normalize(); err != nil || e.Protocol != "7" {
			t.Errorf("protocol %T(7): Protocol %q, err %v", v, e.Protocol, err)
		}
	}
}

func TestNormalizeServiceRouter(t *testing.T) {
	e, err := normalized(t, ServiceRouter, `{"Name":"web","Routes":[
		{"Match":{"HTTP":{"Methods":["get","Post","PUT"]}}},{"Match":{}},{}]}`)
	if err != nil {
		t.Fatal(err)
	}
	got := e.(*ServiceRouterConfigEntry).Routes[0].Match.HTTP.Methods
	if want := []string{"GET", "POST", "PUT"}; !reflect.DeepEqual(got, want) {
		t.Errorf("Methods = %q, want %q", got, want)
	}
}

func TestNormalizeServiceSplitter(t *testing.T) {
	for _, tc := range []struct {
		in, want float32
	}{
		{50, 50}, {33.333, 33.33}, {66.667, 66.67}, {12.345, 12.35}, {33.335, 33.34},
		{0.005, 0.01}, {0.004, 0}, {-0.005, -0.01}, {99.995, 100}, {50.004997, 50},
	} {
		text, _ := json.Marshal(map[string]any{"Name": "web", "Splits": []map[string]any{{"Weight": tc.in}}})
		e, err := normalized(t, ServiceSplitter, string(text))
		if err != nil {
			t.Fatal(err)
		}
		if got := e.(*ServiceSplitterConfigEntry).Splits[0].Weight; got != tc.want {
			t.Errorf("Weight %v normalized to %v, want %v", tc.in, got, tc.want)
		}
	}
}

func TestNormalizeExportedServices(t *testing.T) {
	e, err := normalized(t, ExportedServices, `{"Name":"default","Services":[
		{"Name":"web","Namespace":"default","Consumers":[{"Peer":"p"}]},{"Name":"*","Namespace":"*","Consumers":[{"Peer":"p"}]}]}`)
	if err != nil {
		t.Fatal(err)
	}
	for i, s := range e.(*ExportedServicesConfigEntry).Services {
		if s.Namespace != "" {
			t.Errorf("Services[%d].Namespace = %q after Normalize, want empty", i, s.Namespace)
		}
	}
}

func TestNormalizeKeepsDefaultTenancy(t *testing.T) {
	e, err := normalized(t, ServiceResolver, `{"Name":"frontend",
		"Failover":{"*":{"Targets":[{"Peer":"cluster-02","Service":"frontend","Namespace":"default"}]}}}`)
	if err != nil {
		t.Fatal(err)
	}
	if ns := e.(*ServiceResolverConfigEntry).Failover["*"].Targets[0].Namespace; ns != "default" {
		t.Errorf("target Namespace = %q after Normalize, want it kept as \"default\"", ns)
	}
}
