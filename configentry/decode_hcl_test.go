package configentry

import (
	"testing"
)

func TestDecodeHCLStructure(t *testing.T) {
	runDecodeCases(t, DecodeHCL, []decodeCase{
		{name: "nested blocks in a list", in: `
Kind = "service-router"
Name = "web"
Routes = [
  {
    Match { HTTP { PathPrefix = "/admin" } }
    Destination { Service = "admin" }
  },
]`, want: `{"Kind":"service-router","Name":"web","Routes":[{"Match":{"HTTP":{"PathPrefix":"/admin"}},"Destination":{"Service":"admin"}}]}`},
		{name: "repeated blocks form a list", in: `
kind = "service-router"
name = "web"
routes { destination { service = "a" } }
routes { destination { service = "b" } }
`, want: `{"Kind":"service-router","Name":"web","Routes":[{"Destination":{"Service":"a"}},{"Destination":{"Service":"b"}}]}`},
		{name: "one block where a list is expected", in: `
Kind = "service-router"
Name = "web"
Routes { Match { HTTP { Header { Name = "x-debug" Present = true } } } }
`, want: `{"Kind":"service-router","Name":"web","Routes":[{"Match":{"HTTP":{"Header":[{"Name":"x-debug","Present":true}]}}}]}`},
		{name: "labelled blocks merge into a map", in: `
Kind = "service-resolver"
Name = "web"
default_subset = "v1"
Subsets "v1" { Filter = "Service.Meta.version == v1" }
Subsets "v2" { Filter = "Service.Meta.version == v2" only_passing = true }
Failover "*" { Targets = [{ Peer = "east" }, { Datacenter = "dc2" }] }
`, want: `{"Kind":"service-resolver","Name":"web","DefaultSubset":"v1",
	"Subsets":{"v1":{"Filter":"Service.Meta.version == v1"},"v2":{"Filter":"Service.Meta.version == v2","OnlyPassing":true}},
	"Failover":{"*":{"Targets":[{"Peer":"east"},{"Datacenter":"dc2"}]}}}`},
		{name: "free-form blocks are plain objects", in: `
Kind = "proxy-defaults"
Name = "global"
Config {
  protocol = "http"
  envoy_stats { flush = 5, tags = ["a", "b"] }
  listeners = [{ port = 1 }]
}
`, want: `{"Kind":"proxy-defaults","Name":"global","Config":{"protocol":"http","envoy_stats":{"flush":5,"tags":["a","b"]},"listeners":[{"port":1}]}}`},
		{name: "literals", in: `
Kind = "service-defaults"
Name = "web"
MaxInboundConnections = 0x10
LocalConnectTimeoutMs = -5
Meta = { "a" = "${not.interpolated}", b = "tab\there", "c d" = "\u00e9" }
`, want: `{"Kind":"service-defaults","Name":"web","MaxInboundConnections":16,"LocalConnectTimeoutMs":-5,
	"Meta":{"a":"${not.interpolated}","b":"tab\there","c d":"é"}}`},
		{name: "weights", in: "Kind = \"service-splitter\"\nName = \"web\"\nSplits = [{Weight = 33.33}, {Weight = 66.67}]\n",
			want: `{"Kind":"service-splitter","Name":"web","Splits":[{"Weight":33.33},{"Weight":66.67}]}`},
		{name: "heredocs", in: "Kind = \"service-resolver\"\nName = \"web\"\nSubsets \"a\" {\n  Filter = <<EOF\nService.Meta.v == 1\nEOF\n}\nSubsets \"b\" {\n  Filter = <<-EOT\n    x\n      y\n    EOT\n}\nSubsets \"c\" {\n  Filter = <<EOF\nEOF\n}\n",
			want: `{"Kind":"service-resolver","Name":"web","Subsets":{"a":{"Filter":"Service.Meta.v == 1\n"},"b":{"Filter":"x\n  y\n"},"c":{}}}`},
		{name: "JSON is read as JSON", in: "  {\"Kind\": \"service-defaults\", \"Name\": \"web\"}",
			want: `{"Kind":"service-defaults","Name":"web"}`},
	})
}

func TestDecodeHCLDocumentQuirks(t *testing.T) {
	runDecodeCases(t, DecodeHCL, []decodeCase{
		{name: "colon for equals", in: `
Kind = "service-splitter"
Name = "web"
Splits = [
  { Weight = 100, ResponseHeaders { Set { "X-Web-Version": "v1", other: "x" } } },
]`, want: `{"Kind":"service-splitter","Name":"web","Splits":[{"Weight":100,"ResponseHeaders":{"Set":{"X-Web-Version":"v1","other":"x"}}}]}`},
		{name: "bare word value", in: `
Kind = "service-resolver"
Name = "frontend-peer"
Redirect {
  Service = frontend
  Peer = cluster-02.east
}`, want: `{"Kind":"service-resolver","Name":"frontend-peer","Redirect":{"Service":"frontend","Peer":"cluster-02.east"}}`},
		{name: "strings, comments and heredocs are untouched", in: `
Kind = "service-resolver"  # key: value, Name = word
Name = "web"
/* Service = frontend */
Subsets "v1" { Filter = "Service.Meta.version: v1" }
Subsets "v2" {
  Filter = <<EOF
Service = frontend
EOF
}`, want: `{"Kind":"service-resolver","Name":"web","Subsets":{"v1":{"Filter":"Service.Meta.version: v1"},"v2":{"Filter":"Service = frontend\n"}}}`},
		{name: "booleans stay booleans", in: "Kind = \"service-resolver\"\nName = \"web\"\nSubsets \"v1\" { OnlyPassing = true }\n",
			want: `{"Kind":"service-resolver","Name":"web","Subsets":{"v1":{"OnlyPassing":true}}}`},
	})
}

func TestDecodeHCLErrors(t *testing.T) {
	runDecodeCases(t, DecodeHCL, []decodeCase{
		{name: "scalar key twice", in: "Kind = \"service-defaults\"\nName = \"a\"\nName = \"b\"\n",
			err: `duplicate key "Name" at line 3, column 1`},
		{name: "nested scalar key twice", in: "Kind = \"service-resolver\"\nName = \"web\"\nRedirect {\n  Service = \"a\"\n  Service = \"b\"\n}\n",
			err: `Redirect: duplicate key "Service" at line 5, column 3`},
		{name: "list assigned twice", in: "Kind = \"service-router\"\nName = \"web\"\nRoutes = []\nRoutes = []\n",
			err: `duplicate key "Routes" at line 4, column 1`},
		{name: "block after a scalar", in: "Kind = \"service-resolver\"\nName = \"web\"\nRedirect = \"x\"\nRedirect { Service = \"a\" }\n",
			err: `duplicate key "Redirect" at line 4, column 1`},
		{name: "casings meet in the decoder", in: "Kind = \"service-defaults\"\nName = \"web\"\nprotocol = \"http\"\nProtocol = \"grpc\"\n",
			err: `duplicate keys "Protocol" and "protocol" for field Protocol`},
		{name: "unknown block key", in: "Kind = \"service-router\"\nName = \"web\"\nRoutes { Match { HTTP { Exacts = \"1\" } } }\n",
			err: `Routes[0].Match.HTTP: invalid config key "Exacts"`},
		{name: "syntax error position", in: "Kind = \"service-router\"\nName = \"web\"\nRoutes = [\n  { Match { HTTP { PathPrefix = } } },\n]\n",
			err: `invalid HCL at line 4, column 3: error while trying to parse object within list: At 5:1: expected: IDENT | STRING | ASSIGN | LBRACE got: RBRACK`},
		{name: "missing equals", in: "Kind = \"service-router\"\nName \"web\"\n",
			err: `invalid HCL at line 3, column 1: key 'Name "web"' expected start of object ('{') or assignment ('=')`},
		{name: "unterminated string", in: "Kind = \"service-router\nName = \"web\"\n",
			err: `invalid HCL at line 1, column 23: literal not terminated`},
		{name: "missing kind", in: "Name = \"web\"\n",
			err: "Payload does not contain a kind/Kind key at the top level"},
	})
}
