package configentry

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// decodeCase is one input and either the exact error text DecodeJSON must
// return or the entry it must produce, written as the JSON that
// encoding/json makes of the entry (zero-valued members may be left out).
type decodeCase struct {
	name string
	in   string
	want string // expected entry as JSON; empty when err is set
	err  string
}

func runDecodeCases(t *testing.T, decode func([]byte) (Entry, error), cases []decodeCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e, err := decode([]byte(tc.in))
			if tc.err != "" {
				if err == nil {
					t.Fatalf("decoded %s, want error %q", marshalForTest(t, e), tc.err)
				}
				if err.Error() != tc.err {
					t.Fatalf("error\n got: %s\nwant: %s", err, tc.err)
				}
				if !errors.Is(err, ErrDecode) {
					t.Errorf("error %q does not wrap ErrDecode", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("unexpected error: %v", err)
			}
			assertEntryJSON(t, e, tc.want)
		})
	}
}

func marshalForTest(t *testing.T, e Entry) string {
	t.Helper()
	b, err := json.Marshal(e)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// assertEntryJSON compares an entry's JSON with want: every member of want
// must match, and members want leaves out must be empty (null, "", 0, false,
// {} or []), so expectations stay short without hiding stray values.
func assertEntryJSON(t *testing.T, e Entry, want string) {
	t.Helper()
	var got, exp any
	if err := json.Unmarshal([]byte(marshalForTest(t, e)), &got); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal([]byte(want), &exp); err != nil {
		t.Fatalf("bad expectation %s: %v", want, err)
	}
	if !jsonCovers(got, exp) {
		t.Fatalf("entry\n got: %s\nwant: %s", marshalForTest(t, e), want)
	}
}

func jsonCovers(got, want any) bool {
	gm, gok := got.(map[string]any)
	wm, wok := want.(map[string]any)
	if gok && wok {
		for k, gv := range gm {
			wv, ok := wm[k]
			if !ok && !jsonEmpty(gv) || ok && !jsonCovers(gv, wv) {
				return false
			}
		}
		for k := range wm {
			if _, ok := gm[k]; !ok {
				return false
			}
		}
		return true
	}
	gl, gok := got.([]any)
	wl, wok := want.([]any)
	if gok && wok {
		if len(gl) != len(wl) {
			return false
		}
		for i := range gl {
			if !jsonCovers(gl[i], wl[i]) {
				return false
			}
		}
		return true
	}
	return reflect.DeepEqual(got, want)
}

func jsonEmpty(v any) bool {
	switch x := v.(type) {
	case nil:
		return true
	case map[string]any:
		for _, m := range x {
			if !jsonEmpty(m) {
				return false
			}
		}
		return true
	case []any:
		return len(x) == 0
	}
	return reflect.ValueOf(v).IsZero()
}

func TestDecodeKind(t *testing.T) {
	runDecodeCases(t, DecodeJSON, []decodeCase{
		{name: "missing", in: `{"Name":"web"}`,
			err: "Payload does not contain a kind/Kind key at the top level"},
		{name: "not a string", in: `{"Kind":5,"Name":"web"}`,
			err: "Kind value in payload is not a string"},
		{name: "lower-case key", in: `{"kind":"service-defaults","name":"web","protocol":"http"}`,
			want: `{"Kind":"service-defaults","Name":"web","Protocol":"http"}`},
		{name: "Kind wins over kind", in: `{"Kind":"service-defaults","kind":"nonsense","Name":"web"}`,
			want: `{"Kind":"service-defaults","Name":"web"}`},
		{name: "other casing binds nothing", in: `{"KIND":"x","Kind":"service-defaults","Name":"web"}`,
			err: `invalid config key "KIND"`},
		{name: "unknown", in: `{"Kind":"service-bogus","Name":"web"}`,
			err: "invalid config entry kind: service-bogus"},
		{name: "recognised but unimplemented", in: `{"Kind":"mesh"}`,
			err: `unsupported config entry kind: config entry kind "mesh" is not supported by switchyard`},
	})
	_, err := DecodeJSON([]byte(`{"Kind":"service-bogus"}`))
	if !errors.Is(err, ErrInvalidKind) || !errors.Is(err, ErrDecode) {
		t.Errorf("unknown kind error %v: want ErrInvalidKind and ErrDecode", err)
	}
	_, err = DecodeJSON([]byte(`{"Kind":"ingress-gateway"}`))
	if !errors.Is(err, ErrUnsupportedKind) || !errors.Is(err, ErrDecode) {
		t.Errorf("unimplemented kind error %v: want ErrUnsupportedKind and ErrDecode", err)
	}
}

func TestDecodeFieldNames(t *testing.T) {
	runDecodeCases(t, DecodeJSON, []decodeCase{
		{name: "any casing", in: `{"Kind":"service-defaults","NAME":"web","pRoToCoL":"http","externalsni":"x.example"}`,
			want: `{"Kind":"service-defaults","Name":"web","Protocol":"http","ExternalSNI":"x.example"}`},
		{name: "aliases at every level", in: `{"Kind":"service-resolver","Name":"web","default_subset":"v1",
			"Subsets":{"v1":{"Filter":"Service.Meta.v == 1","only_passing":true}},
			"load_balancer":{"policy":"ring_hash","ring_hash_config":{"minimum_ring_size":1024},
				"hash_policies":[{"field":"cookie","field_value":"s","cookie_config":{"ttl":"10s"}}]}}`,
			want: `{"Kind":"service-resolver","Name":"web","DefaultSubset":"v1",
			"Subsets":{"v1":{"Filter":"Service.Meta.v == 1","OnlyPassing":true}},
			"LoadBalancer":{"Policy":"ring_hash","RingHashConfig":{"MinimumRingSize":1024},
				"HashPolicies":[{"Field":"cookie","FieldValue":"s","CookieConfig":{"TTL":10000000000}}]}}`},
		{name: "aliases in any case", in: `{"Kind":"service-router","Name":"web","Routes":[{"Match":{"HTTP":{"PATH_PREFIX":"/a"}}}]}`,
			want: `{"Kind":"service-router","Name":"web","Routes":[{"Match":{"HTTP":{"PathPrefix":"/a"}}}]}`},
		{name: "exported-services consumer alias", in: `{"Kind":"exported-services","Name":"default",
			"Services":[{"Name":"web","Consumers":[{"peer_name":"east"}]}]}`,
			want: `{"Kind":"exported-services","Name":"default","Services":[{"Name":"web","Consumers":[{"Peer":"east"}]}]}`},
		{name: "snake_case without an alias", in: `{"Kind":"service-router","Name":"web","Routes":[{"Match":{"HTTP":{"path_exact":"/a","http_methods":["GET"]}}}]}`,
			err: `Routes[0].Match.HTTP: invalid config key "http_methods"`},
		{name: "unknown nested key", in: `{"Kind":"service-router","Name":"web","Routes":[{},
			{"Match":{"HTTP":{"Header":[{"Name":"x","Exacts":"1"}]}}}]}`,
			err: `Routes[1].Match.HTTP.Header[0]: invalid config key "Exacts"`},
		{name: "every unknown key is reported", in: `{"Kind":"service-defaults","Name":"web","Bogus":1,"Expose":{"Pathz":[]}}`,
			err: `Expose: invalid config key "Pathz"; invalid config key "Bogus"`},
		{name: "read-back keys are ignored", in: `{"Kind":"service-defaults","Name":"web","CreateIndex":7,"ModifyIndex":9,"Hash":12345}`,
			want: `{"Kind":"service-defaults","Name":"web"}`},
		{name: "derived proxy-defaults Protocol is accepted and dropped", in: `{"Kind":"proxy-defaults","Name":"global","Protocol":"grpc"}`,
			want: `{"Kind":"proxy-defaults","Name":"global"}`},
	})
}

func TestDecodeEnterpriseKeys(t *testing.T) {
	runDecodeCases(t, DecodeJSON, []decodeCase{
		{name: "top-level namespace even when empty", in: `{"Kind":"service-defaults","Name":"web","Namespace":""}`,
			err: `invalid config key "Namespace", namespaces are a consul enterprise feature`},
		{name: "top-level partition", in: `{"Kind":"service-router","Name":"web","Partition":"default"}`,
			err: `invalid config key "Partition", partitions are a consul enterprise feature`},
		{name: "suffix in any case", in: `{"Kind":"service-resolver","Name":"web","Subsets":{"v1":{"DestinationNAMESPACE":"x"}}}`,
			err: `Subsets["v1"]: invalid config key "DestinationNAMESPACE", namespaces are a consul enterprise feature`},
		{name: "structs that have the fields bind them", in: `{"Kind":"service-resolver","Name":"web",
			"Redirect":{"Service":"api","Namespace":"ns","Partition":"p"}}`,
			want: `{"Kind":"service-resolver","Name":"web","Redirect":{"Service":"api","Namespace":"ns","Partition":"p"}}`},
		{name: "failover targets bind them", in: `{"Kind":"service-resolver","Name":"web",
			"Failover":{"*":{"Targets":[{"Service":"api","Namespace":"default","Partition":"p"}]}}}`,
			want: `{"Kind":"service-resolver","Name":"web","Failover":{"*":{"Targets":[{"Service":"api","Namespace":"default","Partition":"p"}]}}}`},
	})
}

func TestDecodeDuplicateFields(t *testing.T) {
	runDecodeCases(t, DecodeJSON, []decodeCase{
		{name: "two casings", in: `{"Kind":"service-defaults","Name":"web","Protocol":"http","protocol":"grpc"}`,
			err: `duplicate keys "Protocol" and "protocol" for field Protocol`},
		{name: "name and alias", in: `{"Kind":"service-resolver","Name":"web","DefaultSubset":"a","default_subset":"b"}`,
			err: `duplicate keys "DefaultSubset" and "default_subset" for field DefaultSubset`},
		{name: "nested, three keys", in: `{"Kind":"service-router","Name":"web","Routes":[{"Destination":
			{"service_subset":"a","ServiceSubset":"b","SERVICESUBSET":"c"}}]}`,
			err: `Routes[0].Destination: duplicate keys "SERVICESUBSET", "ServiceSubset" and "service_subset" for field ServiceSubset`},
		{name: "lower-case name and alias collapse to the name's value",
			in:   `{"Kind":"service-resolver","Name":"web","defaultsubset":"a","default_subset":"b"}`,
			want: `{"Kind":"service-resolver","Name":"web","DefaultSubset":"a"}`},
	})
}

func TestDecodeWeakTyping(t *testing.T) {
	runDecodeCases(t, DecodeJSON, []decodeCase{
		{name: "numeric strings and bool strings", in: `{"Kind":"service-router","Name":"web","Routes":[{"Destination":
			{"NumRetries":"3","RetryOnConnectFailure":"true","RetryOnStatusCodes":["503", 504]}}]}`,
			want: `{"Kind":"service-router","Name":"web","Routes":[{"Destination":
			{"NumRetries":3,"RetryOnConnectFailure":true,"RetryOnStatusCodes":[503,504]}}]}`},
		{name: "string weight", in: `{"Kind":"service-splitter","Name":"web","Splits":[{"Weight":"50"},{"Weight":"33.33"},{"Weight":16.67}]}`,
			want: `{"Kind":"service-splitter","Name":"web","Splits":[{"Weight":50},{"Weight":33.33},{"Weight":16.67}]}`},
		{name: "numbers and booleans into strings", in: `{"Kind":"service-router","Name":"web","Routes":[{"Match":{"HTTP":
			{"Header":[{"Name":"a","Exact":1},{"Name":"b","Exact":2.50},{"Name":"c","Exact":true},{"Name":"d","Exact":18446744073709551615}]}}}]}`,
			want: `{"Kind":"service-router","Name":"web","Routes":[{"Match":{"HTTP":
			{"Header":[{"Name":"a","Exact":"1"},{"Name":"b","Exact":"2.5"},{"Name":"c","Exact":"1"},{"Name":"d","Exact":"18446744073709551615"}]}}}]}`},
		{name: "numbers into booleans, integral floats into integers", in: `{"Kind":"service-defaults","Name":"web",
			"TransparentProxy":{"DialedDirectly":1,"OutboundListenerPort":15001.0}}`,
			want: `{"Kind":"service-defaults","Name":"web","TransparentProxy":{"DialedDirectly":true,"OutboundListenerPort":15001}}`},
		{name: "64-bit unsigned stays exact", in: `{"Kind":"service-resolver","Name":"web","LoadBalancer":{"RingHashConfig":{"MaximumRingSize":18446744073709551615}}}`,
			want: `{"Kind":"service-resolver","Name":"web","LoadBalancer":{"RingHashConfig":{"MaximumRingSize":18446744073709551615}}}`},
		{name: "pointers to zero are kept", in: `{"Kind":"service-defaults","Name":"web","UpstreamConfig":{"Defaults":{"Limits":{"MaxConnections":0}}}}`,
			want: `{"Kind":"service-defaults","Name":"web","UpstreamConfig":{"Defaults":{"Limits":{"MaxConnections":0}}}}`},
		{name: "null leaves a field unset", in: `{"Kind":"service-resolver","Name":"web","Redirect":null,"LoadBalancer":[null],"DefaultSubset":null}`,
			want: `{"Kind":"service-resolver","Name":"web"}`},
	})
}

func TestDecodeTypeErrors(t *testing.T) {
	runDecodeCases(t, DecodeJSON, []decodeCase{
		{name: "word for an integer", in: `{"Kind":"service-router","Name":"web","Routes":[{"Destination":{"NumRetries":"three"}}]}`,
			err: `Routes[0].Destination.NumRetries: expected an unsigned 32-bit integer, got "three"`},
		{name: "negative unsigned", in: `{"Kind":"service-router","Name":"web","Routes":[{"Destination":{"NumRetries":-1}}]}`,
			err: `Routes[0].Destination.NumRetries: expected an unsigned 32-bit integer, got -1`},
		{name: "out of range", in: `{"Kind":"service-router","Name":"web","Routes":[{"Destination":{"RetryOnStatusCodes":[500, 5000000000]}}]}`,
			err: `Routes[0].Destination.RetryOnStatusCodes[1]: expected an unsigned 32-bit integer, got 5000000000`},
		{name: "fraction for an integer", in: `{"Kind":"service-defaults","Name":"web","MaxInboundConnections":2.5}`,
			err: `MaxInboundConnections: expected an integer, got 2.5`},
		{name: "object for a number", in: `{"Kind":"service-splitter","Name":"web","Splits":[{"Weight":{}}]}`,
			err: `Splits[0].Weight: expected a number, got an object`},
		{name: "not finite", in: `{"Kind":"service-splitter","Name":"web","Splits":[{"Weight":"NaN"},{"Weight":1e39}]}`,
			err: `Splits[0].Weight: expected a number, got "NaN"; Splits[1].Weight: expected a number, got 1e39`},
		{name: "list for a string", in: `{"Kind":"service-defaults","Name":["a","b"]}`,
			err: `Name: expected a string, got a list`},
		{name: "word for a boolean", in: `{"Kind":"service-resolver","Name":"web","Subsets":{"v1":{"OnlyPassing":"maybe"}}}`,
			err: `Subsets["v1"].OnlyPassing: expected a boolean, got "maybe"`},
		{name: "string for an object", in: `{"Kind":"service-resolver","Name":"web","Redirect":"api"}`,
			err: `Redirect: expected an object, got "api"`},
		{name: "two objects for one", in: `{"Kind":"service-resolver","Name":"web","Redirect":[{"Service":"a"},{"Service":"b"}]}`,
			err: `Redirect: expected an object, got a list`},
		{name: "null list element", in: `{"Kind":"service-router","Name":"web","Routes":[{"Match":{"HTTP":{"Methods":["GET",null]}}}]}`,
			err: `Routes[0].Match.HTTP.Methods[1]: null is not allowed in a list`},
		{name: "merged objects repeat a key", in: `{"Kind":"service-resolver","Name":"web","Subsets":[{"v1":{}},{"v1":{}}]}`,
			err: `Subsets: duplicate key "v1"`},
	})
}

func TestDecodeShapes(t *testing.T) {
	runDecodeCases(t, DecodeJSON, []decodeCase{
		{name: "one-element list for an object", in: `{"Kind":"service-resolver","Name":"web","Redirect":[{"Service":"api"}]}`,
			want: `{"Kind":"service-resolver","Name":"web","Redirect":{"Service":"api"}}`},
		{name: "one-element list for a scalar", in: `{"Kind":"service-resolver","Name":["web"]}`,
			want: `{"Kind":"service-resolver","Name":"web"}`},
		{name: "single value for a list", in: `{"Kind":"service-router","Name":"web","Routes":{"Match":{"HTTP":{"Methods":"GET"}}}}`,
			want: `{"Kind":"service-router","Name":"web","Routes":[{"Match":{"HTTP":{"Methods":["GET"]}}}]}`},
		{name: "list of objects merged into a map", in: `{"Kind":"service-resolver","Name":"web","Subsets":[{"v1":{"Filter":"a"}},{"v2":{"Filter":"b"}}]}`,
			want: `{"Kind":"service-resolver","Name":"web","Subsets":{"v1":{"Filter":"a"},"v2":{"Filter":"b"}}}`},
		{name: "free-form values kept, nulls dropped, wrapping removed", in: `{"Kind":"proxy-defaults","Name":"global",
			"Config":[{"protocol":"http","n":5,"f":1.5,"e":1e3,"gone":null,"nested":{"list":[1,"x",true,{"k":[]}]}}]}`,
			want: `{"Kind":"proxy-defaults","Name":"global",
			"Config":{"protocol":"http","n":5,"f":1.5,"e":1000,"nested":{"list":[1,"x",true,{"k":[]}]}}}`},
		{name: "null in a free-form list", in: `{"Kind":"service-defaults","Name":"web","EnvoyExtensions":[{"Name":"x","Arguments":{"l":[1,null]}}]}`,
			err: `EnvoyExtensions[0].Arguments["l"][1]: null is not allowed in a list`},
		{name: "free-form needs an object", in: `{"Kind":"proxy-defaults","Name":"global","Config":"protocol=http"}`,
			err: `Config: expected an object, got "protocol=http"`},
	})
	e, err := DecodeJSON([]byte(`{"Kind":"proxy-defaults","Config":{"n":5,"f":1.5,"big":1e20}}`))
	if err != nil {
		t.Fatal(err)
	}
	cfg := e.(*ProxyConfigEntry).Config
	if _, ok := cfg["n"].(int64); !ok {
		t.Errorf("integral free-form number is %T, want int64", cfg["n"])
	}
	if _, ok := cfg["f"].(float64); !ok {
		t.Errorf("fractional free-form number is %T, want float64", cfg["f"])
	}
	if _, ok := cfg["big"].(float64); !ok {
		t.Errorf("integral number beyond int64 is %T, want float64", cfg["big"])
	}
}

func TestDecodeDurations(t *testing.T) {
	runDecodeCases(t, DecodeJSON, []decodeCase{
		{name: "strings and nanoseconds", in: `{"Kind":"service-resolver","Name":"web","ConnectTimeout":"15s","RequestTimeout":1500000000,
			"LoadBalancer":{"HashPolicies":[{"CookieConfig":{"TTL":"1m"}},{"CookieConfig":{"TTL":2e9}}]}}`,
			want: `{"Kind":"service-resolver","Name":"web","ConnectTimeout":"15s","RequestTimeout":"1.5s",
			"LoadBalancer":{"HashPolicies":[{"CookieConfig":{"TTL":60000000000}},{"CookieConfig":{"TTL":2000000000}}]}}`},
		{name: "pointer durations", in: `{"Kind":"service-defaults","Name":"web","UpstreamConfig":{"Defaults":{"PassiveHealthCheck":{"Interval":"10s","BaseEjectionTime":"0s"}}}}`,
			want: `{"Kind":"service-defaults","Name":"web","UpstreamConfig":{"Defaults":{"PassiveHealthCheck":{"Interval":10000000000,"BaseEjectionTime":0}}}}`},
		{name: "number without unit as a string", in: `{"Kind":"service-resolver","Name":"web","ConnectTimeout":"15"}`,
			err: `ConnectTimeout: expected a duration such as "15s" or integer nanoseconds, got "15"`},
		{name: "fractional nanoseconds", in: `{"Kind":"service-resolver","Name":"web","ConnectTimeout":1.5}`,
			err: `ConnectTimeout: expected a duration such as "15s" or integer nanoseconds, got 1.5`},
	})
}

func TestDecodeJSONSyntax(t *testing.T) {
	runDecodeCases(t, DecodeJSON, []decodeCase{
		{name: "duplicate key", in: "{\"Kind\":\"service-defaults\",\n  \"Name\":\"a\",\n  \"Name\":\"b\"}",
			err: `duplicate key "Name" at line 3, column 3`},
		{name: "nested duplicate key", in: `{"Kind":"service-resolver","Name":"w","Redirect":{"Service":"a", "Service":"b"}}`,
			err: `Redirect: duplicate key "Service" at line 1, column 66`},
		{name: "syntax error", in: "{\"Kind\":\"service-defaults\",\n\"Name\" \"web\"}",
			err: `invalid JSON at line 2, column 8: invalid character '"' after object key`},
		{name: "truncated", in: `{"Kind":"service-defaults"`,
			err: `invalid JSON: unexpected end of input`},
		{name: "trailing data", in: `{"Kind":"service-defaults"} {}`,
			err: `invalid JSON at line 1, column 29: unexpected data after the top-level value`},
		{name: "not an object", in: `["service-defaults"]`,
			err: `expected a JSON object, got a list`},
		{name: "too deep", in: `{"Kind":"proxy-defaults","Config":` + strings.Repeat(`{"a":`, 300) + strings.Repeat(`}`, 301),
			err: `invalid JSON at line 1, column 1035: nested more than 200 levels`},
	})
}

func TestDecodeMapGoValues(t *testing.T) {
	// Callers that build the generic map themselves (or use hcl.Decode,
	// which yields []map[string]any for blocks) get the same rules.
	e, err := DecodeMap(map[string]any{
		"Kind": "service-splitter",
		"Name": "web",
		"Splits": []map[string]any{
			{"Weight": 90, "ServiceSubset": "v1"},
			{"Weight": float32(10), "RequestHeaders": []map[string]any{{"Add": map[string]any{"x": uint8(1)}}}},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	assertEntryJSON(t, e, `{"Kind":"service-splitter","Name":"web","Splits":[
		{"Weight":90,"ServiceSubset":"v1"},{"Weight":10,"RequestHeaders":{"Add":{"x":"1"}}}]}`)

	// hcl.Decode's shape for `Config { protocol = "http" envoy { a = 1 } }`:
	// every block is wrapped in a one-element list, even inside Config,
	// while a real list ([]any) stays a list.
	e, err = DecodeMap(map[string]any{
		"Kind": "proxy-defaults",
		"Config": []map[string]any{{
			"protocol": "http",
			"envoy":    []map[string]any{{"a": 1}},
			"blocks":   []map[string]any{{"a": 1}, {"b": 2}},
			"list":     []any{map[string]any{"c": 3}},
		}},
	})
	if err != nil {
		t.Fatal(err)
	}
	assertEntryJSON(t, e, `{"Kind":"proxy-defaults","Config":{"protocol":"http","envoy":{"a":1},
		"blocks":[{"a":1},{"b":2}],"list":[{"c":3}]}}`)

	_, err = DecodeMap(map[string]any{"Kind": "service-defaults", "Name": "web", "Meta": map[string]any{"k": struct{}{}}})
	if err == nil || err.Error() != `Meta["k"]: expected a string, got a value of type struct {}` {
		t.Errorf("got %v", err)
	}
}

func TestDecodeJSONList(t *testing.T) {
	entries, err := DecodeJSONList([]byte(`[{"Kind":"service-defaults","Name":"a"},{"Kind":"proxy-defaults","Name":"global"}]`))
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 2 || entries[0].GetName() != "a" || entries[1].GetKind() != ProxyDefaults {
		t.Fatalf("got %v", entries)
	}
	entries, err = DecodeJSONList([]byte(`{"Kind":"service-defaults","Name":"a"}`))
	if err != nil || len(entries) != 1 {
		t.Fatalf("single object: %v, %v", entries, err)
	}
	entries, err = DecodeJSONList([]byte(`[]`))
	if err != nil || len(entries) != 0 {
		t.Fatalf("empty array: %v, %v", entries, err)
	}
	for in, want := range map[string]string{
		`[{"Kind":"service-defaults"}, 5]`:                      `[1]: expected a JSON object, got 5`,
		`[{"Kind":"service-defaults"}, {"Kind":"x-y"}]`:         `[1]: invalid config entry kind: x-y`,
		`[{"Kind":"service-defaults","Bogus":true}]`:            `[0]: invalid config key "Bogus"`,
		`"service-defaults"`:                                    `expected a JSON object or an array of objects, got "service-defaults"`,
		`[{"Kind":"service-defaults"}, {"Kind":"x", "Kind":1}]`: `[1]: duplicate key "Kind" at line 1, column 44`,
	} {
		_, err := DecodeJSONList([]byte(in))
		if err == nil || err.Error() != want || !errors.Is(err, ErrDecode) {
			t.Errorf("DecodeJSONList(%s) error = %v, want %q wrapping ErrDecode", in, err, want)
		}
	}
}

func TestDecodeFile(t *testing.T) {
	dir := t.TempDir()
	write := func(name, text string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	files := map[string]string{
		"a.json": `[{"Kind":"service-defaults","Name":"a"},{"Kind":"service-defaults","Name":"b"}]`,
		"c.hcl":  "Kind = \"service-defaults\"\nName = \"c\"\n",
		"d.yml":  "apiVersion: consul.hashicorp.com/v1alpha1\nkind: ServiceDefaults\nmetadata:\n  name: d\n",
		"e.YAML": "apiVersion: consul.hashicorp.com/v1alpha1\nkind: ServiceDefaults\nmetadata:\n  name: e\n",
	}
	want := map[string][]string{"a.json": {"a", "b"}, "c.hcl": {"c"}, "d.yml": {"d"}, "e.YAML": {"e"}}
	for name, text := range files {
		entries, err := DecodeFile(write(name, text))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		var names []string
		for _, e := range entries {
			names = append(names, e.GetName())
		}
		if !reflect.DeepEqual(names, want[name]) {
			t.Errorf("%s: names %v, want %v", name, names, want[name])
		}
	}
	bad := write("bad.hcl", "Kind = \"service-defaults\"\nBogus = 1\n")
	if _, err := DecodeFile(bad); err == nil || err.Error() != bad+`: invalid config key "Bogus"` || !errors.Is(err, ErrDecode) {
		t.Errorf("bad file: %v", err)
	}
	txt := write("entry.txt", "{}")
	if _, err := DecodeFile(txt); err == nil || err.Error() != txt+`: unsupported file extension ".txt" (want .json, .hcl, .yaml or .yml)` {
		t.Errorf("txt file: %v", err)
	}
	if _, err := DecodeFile(filepath.Join(dir, "missing.json")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: %v", err)
	}
}
