package catalog

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"
)

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatalf("marshal %T: %v", v, err)
	}
	return string(b)
}

func compactJSON(t *testing.T, s string) string {
	t.Helper()
	var buf bytes.Buffer
	if err := json.Compact(&buf, []byte(s)); err != nil {
		t.Fatalf("bad expected JSON %q: %v", s, err)
	}
	return buf.String()
}

func TestJSONShapes(t *testing.T) {
	cases := []struct {
		name string
		v    any
		want string
	}{
		{
			name: "node omits empty PeerName and Locality",
			v:    &Node{ID: "id", Node: "n1", Address: "10.0.0.1", Datacenter: "dc1", RaftIndex: RaftIndex{CreateIndex: 3, ModifyIndex: 4}},
			want: `{"ID":"id","Node":"n1","Address":"10.0.0.1","Datacenter":"dc1","TaggedAddresses":null,"Meta":null,"CreateIndex":3,"ModifyIndex":4}`,
		},
		{
			name: "imported node shows PeerName",
			v:    Node{Node: "n1", PeerName: "east", Locality: &Locality{Region: "r"}},
			want: `{"ID":"","Node":"n1","Address":"","Datacenter":"","PeerName":"east","TaggedAddresses":null,"Meta":null,"Locality":{"Region":"r"},"CreateIndex":0,"ModifyIndex":0}`,
		},
		{
			name: "service node never has null tags",
			v:    &ServiceNode{Node: "n1", ServiceID: "web1", ServiceName: "web", ServiceWeights: DefaultWeights},
			want: `{"ID":"","Node":"n1","Address":"","Datacenter":"","TaggedAddresses":null,"NodeMeta":null,
				"ServiceKind":"","ServiceID":"web1","ServiceName":"web","ServiceTags":[],"ServiceAddress":"",
				"ServiceWeights":{"Passing":1,"Warning":1},"ServiceMeta":null,"ServicePort":0,"ServiceSocketPath":"",
				"ServiceEnableTagOverride":false,"ServiceProxy":{"Mode":"","MeshGateway":{},"Expose":{}},
				"ServiceConnect":{},"ServiceLocality":null,"CreateIndex":0,"ModifyIndex":0}`,
		},
		{
			name: "node service",
			v:    &NodeService{ID: "web1", Service: "web", Port: 80, Weights: &Weights{Passing: 1, Warning: 1}, PeerName: "east"},
			want: `{"ID":"web1","Service":"web","Tags":[],"Address":"","Meta":null,"Port":80,"Weights":{"Passing":1,"Warning":1},
				"EnableTagOverride":false,"Proxy":{"Mode":"","MeshGateway":{},"Expose":{}},"Connect":{},"PeerName":"east",
				"CreateIndex":0,"ModifyIndex":0}`,
		},
		{
			name: "check with string durations",
			v: &HealthCheck{Node: "n1", CheckID: "c", Name: "c", Status: HealthPassing, Definition: HealthCheckDefinition{
				HTTP: "http://x", Interval: Duration(10 * time.Second), Timeout: Duration(1500 * time.Millisecond), TTL: Nanoseconds(time.Second)}},
			want: `{"Node":"n1","CheckID":"c","Name":"c","Status":"passing","Notes":"","Output":"","ServiceID":"",
				"ServiceName":"","ServiceTags":[],"Type":"","Interval":"","Timeout":"","ExposedPort":0,
				"Definition":{"HTTP":"http://x","Interval":"10s","Timeout":"1.5s","TTL":1000000000},
				"CreateIndex":0,"ModifyIndex":0}`,
		},
		{
			name: "health entry never has null checks",
			v:    CheckServiceNode{Node: &Node{Node: "n1"}, Service: &NodeService{ID: "a", Service: "a"}},
			want: `{"Node":{"ID":"","Node":"n1","Address":"","Datacenter":"","TaggedAddresses":null,"Meta":null,"CreateIndex":0,"ModifyIndex":0},
				"Service":{"ID":"a","Service":"a","Tags":[],"Address":"","Meta":null,"Weights":null,"EnableTagOverride":false,
				"Proxy":{"Mode":"","MeshGateway":{},"Expose":{}},"Connect":{},"CreateIndex":0,"ModifyIndex":0},"Checks":[]}`,
		},
		{
			name: "proxy writes transparent proxy and access logs only when set",
			v: ConnectProxyConfig{DestinationServiceName: "web", TransparentProxy: TransparentProxyConfig{DialedDirectly: true},
				AccessLogs: AccessLogsConfig{Enabled: true}},
			want: `{"DestinationServiceName":"web","Mode":"","MeshGateway":{},"Expose":{},
				"TransparentProxy":{"DialedDirectly":true},"AccessLogs":{"Enabled":true}}`,
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got, want := mustJSON(t, tc.v), compactJSON(t, tc.want); got != want {
				t.Errorf("got  %s\nwant %s", got, want)
			}
		})
	}
}

func TestHealthCheckDefinitionDecodesBothDurationForms(t *testing.T) {
	var d HealthCheckDefinition
	in := `{"HTTP":"http://x","Interval":"10s","Timeout":2000000000,"DeregisterCriticalServiceAfter":"0s","TTL":"",
		"IntervalDuration":5,"Header":null}`
	if err := json.Unmarshal([]byte(in), &d); err != nil {
		t.Fatal(err)
	}
	if d.Interval != Duration(10*time.Second) || d.Timeout != Duration(2*time.Second) || d.DeregisterCriticalServiceAfter != 0 || d.TTL != 0 {
		t.Fatalf("decoded %+v", d)
	}
	if err := json.Unmarshal([]byte(`{"Interval":"ten"}`), &d); err == nil || !strings.Contains(err.Error(), "invalid duration") {
		t.Fatalf("bad duration error = %v", err)
	}
}

func TestHealthCheckRoundTrip(t *testing.T) {
	in := HealthCheck{Node: "n", CheckID: "c", Status: HealthWarning, ServiceTags: []string{"a"}, Definition: HealthCheckDefinition{
		TCP: "x:1", Interval: Duration(3*time.Second + 7), Timeout: Duration(time.Minute), DeregisterCriticalServiceAfter: Duration(time.Hour),
		TTL: Nanoseconds(90 * time.Second), Header: map[string][]string{"A": {"b"}}}}
	var out HealthCheck
	if err := json.Unmarshal([]byte(mustJSON(t, in)), &out); err != nil {
		t.Fatal(err)
	}
	if !in.IsSame(&out) {
		t.Fatalf("round trip changed the check:\n in %+v\nout %+v", in, out)
	}
}

// A body as github.com/hashicorp/consul/api's Catalog().Register sends it
// must decode under the strict decoder the HTTP layer uses.
func TestRegisterRequestDecodesConsulClientBody(t *testing.T) {
	body := `{"ID":"","Node":"n1","Address":"10.0.0.1","TaggedAddresses":null,"NodeMeta":{"rack":"r1"},"Datacenter":"",
		"Service":{"ID":"web1","Service":"web","Tags":["v1"],"Meta":null,"Port":80,"Address":"",
			"Weights":{"Passing":0,"Warning":0},"EnableTagOverride":false},
		"Check":{"Node":"n1","CheckID":"c1","Name":"http","Status":"passing","Notes":"","Output":"","ServiceID":"web1",
			"ServiceName":"","Type":"","ExposedPort":0,"Definition":{"Interval":"10s","Timeout":"0s",
			"DeregisterCriticalServiceAfter":"0s","HTTP":"http://x","Header":null,"Method":"","Body":"","TLSServerName":"",
			"TLSSkipVerify":false,"TCP":"","TCPUseTLS":false,"UDP":"","GRPC":"","OSService":"","GRPCUseTLS":false}},
		"Checks":null,"SkipNodeUpdate":false,"Locality":null}`
	dec := json.NewDecoder(strings.NewReader(body))
	dec.DisallowUnknownFields()
	var req RegisterRequest
	if err := dec.Decode(&req); err != nil {
		t.Fatal(err)
	}
	if err := req.Validate(); err != nil {
		t.Fatal(err)
	}
	req.Normalize()
	if len(req.Checks) != 1 || req.Check != nil || req.Checks[0].Type != "http" {
		t.Fatalf("checks after Normalize: %+v", req.Checks)
	}
	if sn := req.Service.ToServiceNode("n1"); sn.ServiceWeights != DefaultWeights {
		t.Fatalf("zero weights should become defaults, got %+v", sn.ServiceWeights)
	}
}

func TestDurationDecoding(t *testing.T) {
	cases := map[string]Duration{
		`"1h"`:                       Duration(time.Hour),
		`""`:                         0,
		`9007199254740993`:           9007199254740993, // beyond float64 precision
		`1.5e9`:                      Duration(1500 * time.Millisecond),
		`"3.000000007s"`:             Duration(3*time.Second + 7),
		`"-5s"`:                      Duration(-5 * time.Second),
		`"250ms"`:                    Duration(250 * time.Millisecond),
		`12000000000`:                Duration(12 * time.Second),
		`"2562047h47m16.854775807s"`: Duration(1<<63 - 1),
	}
	for in, want := range cases {
		d := Duration(42)
		if err := json.Unmarshal([]byte(in), &d); err != nil || d != want {
			t.Errorf("%s: got %d (%v), want %d", in, d, err, want)
		}
	}
	for _, bad := range []string{`"ten"`, `true`, `{}`} {
		var d Duration
		if err := json.Unmarshal([]byte(bad), &d); err == nil {
			t.Errorf("%s: accepted", bad)
		}
	}
	if b, _ := json.Marshal(struct{ D Duration }{Duration(90 * time.Second)}); string(b) != `{"D":"1m30s"}` {
		t.Errorf("marshal: %s", b)
	}
}
