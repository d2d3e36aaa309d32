package chain

import (
	"encoding/json"
	"errors"
	"testing"

	"github.com/switchyard/switchyard/configentry"
)

// decodeEntries decodes and normalizes a JSON array of entries.
func decodeEntries(t testing.TB, js string) []configentry.Entry {
	t.Helper()
	entries, err := configentry.DecodeJSONList([]byte(js))
	if err != nil {
		t.Fatalf("decoding %s: %v", js, err)
	}
	for _, e := range entries {
		if err := e.Normalize(); err != nil {
			t.Fatal(err)
		}
	}
	return entries
}

func decodeEntry(t testing.TB, js string) configentry.Entry {
	t.Helper()
	return decodeEntries(t, "["+js+"]")[0]
}

const exportWebToPeer = `{"Kind":"exported-services","Name":"default","Services":[{"Name":"web","Consumers":[{"Peer":"p1"}]}]}`

// validateWriteCase is one write against an existing set of entries.
type validateWriteCase struct {
	name     string
	existing string // JSON array
	upsert   string // one entry; empty for a delete
	delKind  string
	delName  string
	chain    string // the chain named by the GraphError; "" for success
	msg      string
}

var validateWriteCases = []validateWriteCase{
	{
		name:     "redirect loop closes",
		existing: `[{"Kind":"service-resolver","Name":"a","Redirect":{"Service":"b"}}]`,
		upsert:   `{"Kind":"service-resolver","Name":"b","Redirect":{"Service":"a"}}`,
		chain:    "a",
		msg:      "detected circular resolver redirect: [a.default.default.dc1 -> b.default.default.dc1 -> a.default.default.dc1]",
	},
	{
		name: "split target turns tcp",
		existing: `[{"Kind":"proxy-defaults","Name":"global","Config":{"protocol":"http"}},
				{"Kind":"service-splitter","Name":"web","Splits":[{"Weight":50},{"Weight":50,"Service":"canary"}]}]`,
		upsert: `{"Kind":"service-defaults","Name":"canary","Protocol":"tcp"}`,
		chain:  "web",
		msg:    `discovery chain "web" uses inconsistent protocols; service "canary" has "tcp" which is not "http"`,
	},
	{
		name: "deleting proxy-defaults leaves a router on tcp",
		existing: `[{"Kind":"proxy-defaults","Name":"global","Config":{"protocol":"http"}},
				{"Kind":"service-router","Name":"web","Routes":[{"Match":{"HTTP":{"PathPrefix":"/a"}},"Destination":{"Service":"admin"}}]}]`,
		delKind: configentry.ProxyDefaults, delName: "global",
		chain: "web",
		msg:   `discovery chain "web" uses a protocol "tcp" that does not permit advanced routing or splitting behavior`,
	},
	{
		name: "deleting a resolver drops a split subset",
		existing: `[{"Kind":"proxy-defaults","Name":"global","Config":{"protocol":"http"}},
				{"Kind":"service-resolver","Name":"web","Subsets":{"v1":{},"v2":{}}},
				{"Kind":"service-splitter","Name":"web","Splits":[{"Weight":50,"ServiceSubset":"v1"},{"Weight":50,"ServiceSubset":"v2"}]}]`,
		delKind: configentry.ServiceResolver, delName: "web",
		chain: "web",
		msg:   `service "web" does not have a subset named "v1"`,
	},
	{
		name:     "valid write",
		existing: `[{"Kind":"service-resolver","Name":"a","Redirect":{"Service":"b"}}]`,
		upsert:   `{"Kind":"service-resolver","Name":"b","ConnectTimeout":"3s"}`,
	},
	{
		name:     "deleting a missing entry",
		existing: `[]`,
		delKind:  configentry.ServiceSplitter, delName: "nope",
	},
	{
		name:     "kinds without chains are not checked",
		existing: `[]`,
		delKind:  "service-intentions", delName: "web",
	},
	{
		name:     "peer export: cross-datacenter redirect",
		existing: `[` + exportWebToPeer + `]`,
		upsert:   `{"Kind":"service-resolver","Name":"web","Redirect":{"Datacenter":"dc2"}}`,
		chain:    "web",
		msg:      `peer exported service "web" contains cross-datacenter resolver redirect`,
	},
	{
		name:     "peer export: cross-peer redirect",
		existing: `[` + exportWebToPeer + `]`,
		upsert:   `{"Kind":"service-resolver","Name":"web","Redirect":{"Service":"web","Peer":"p2"}}`,
		chain:    "web",
		msg:      `peer exported service "web" contains cross-peer resolver redirect`,
	},
	{
		name:     "peer export: cross-datacenter failover target",
		existing: `[` + exportWebToPeer + `]`,
		upsert:   `{"Kind":"service-resolver","Name":"web","Failover":{"*":{"Targets":[{"Datacenter":"dc2"}]}}}`,
		chain:    "web",
		msg:      `peer exported service "web" contains cross-datacenter failover`,
	},
	{
		name:     "peer export: failover to a peer is allowed",
		existing: `[` + exportWebToPeer + `]`,
		upsert:   `{"Kind":"service-resolver","Name":"web","Failover":{"*":{"Targets":[{"Peer":"p2"}]}}}`,
	},
	{
		name: "peer export: cross-partition route",
		existing: `[` + exportWebToPeer + `,
				{"Kind":"proxy-defaults","Name":"global","Config":{"protocol":"http"}}]`,
		upsert: `{"Kind":"service-router","Name":"web","Routes":[{"Destination":{"Service":"admin","Partition":"part1"}}]}`,
		chain:  "web",
		msg:    `peer exported service "web" contains cross-partition route destination`,
	},
	{
		name:     "peer export: tcp chain may not gain a target",
		existing: `[` + exportWebToPeer + `]`,
		upsert:   `{"Kind":"service-resolver","Name":"web","Redirect":{"Service":"other"}}`,
		chain:    "web",
		msg:      `peer exported service "web" uses protocol="tcp" and cannot introduce new discovery chain targets like "other.default.default.dc1"`,
	},
	{
		name:     "peer export: tcp chain may gain a subset",
		existing: `[` + exportWebToPeer + `]`,
		upsert:   `{"Kind":"service-resolver","Name":"web","DefaultSubset":"v1","Subsets":{"v1":{}}}`,
	},
	{
		name: "peer export: http chain may gain a target",
		existing: `[` + exportWebToPeer + `,
				{"Kind":"proxy-defaults","Name":"global","Config":{"protocol":"http"}}]`,
		upsert: `{"Kind":"service-resolver","Name":"web","Redirect":{"Service":"other"}}`,
	},
	{
		name:     "exporting an unsafe chain",
		existing: `[{"Kind":"service-resolver","Name":"web","Failover":{"*":{"Datacenters":["dc2"]}}}]`,
		upsert:   exportWebToPeer,
		chain:    "web",
		msg:      `peer exported service "web" contains cross-datacenter failover`,
	},
	{
		name:     "exporting with a wildcard checks every chain",
		existing: `[{"Kind":"service-resolver","Name":"api","Redirect":{"Datacenter":"dc3"}}]`,
		upsert:   `{"Kind":"exported-services","Name":"default","Services":[{"Name":"*","Consumers":[{"Peer":"p1"}]}]}`,
		chain:    "api",
		msg:      `peer exported service "api" contains cross-datacenter resolver redirect`,
	},
	{
		name:     "exporting to a partition only is not a peer export",
		existing: `[{"Kind":"service-resolver","Name":"web","Failover":{"*":{"Datacenters":["dc2"]}}}]`,
		upsert:   `{"Kind":"exported-services","Name":"default","Services":[{"Name":"web","Consumers":[{"Partition":"part1"}]}]}`,
	},
}

func TestValidateWrite(t *testing.T) {
	for _, tc := range validateWriteCases {
		t.Run(tc.name, func(t *testing.T) {
			set := configentry.NewSet(decodeEntries(t, tc.existing)...)
			before := setJSON(t, set)
			var up configentry.Entry
			if tc.upsert != "" {
				up = decodeEntry(t, tc.upsert)
			}
			err := ValidateWrite(set, up, tc.delKind, tc.delName)
			if after := setJSON(t, set); after != before {
				t.Errorf("ValidateWrite changed the set:\nbefore %s\nafter  %s", before, after)
			}
			if tc.msg == "" {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				return
			}
			var ge *GraphError
			if !errors.As(err, &ge) || !errors.Is(err, ErrCompile) {
				t.Fatalf("want a GraphError wrapping ErrCompile, got %T %v", err, err)
			}
			if ge.Chain != tc.chain || ge.Message != tc.msg || err.Error() != tc.msg {
				t.Errorf("got chain %q message %q\nwant chain %q message %q", ge.Chain, ge.Message, tc.chain, tc.msg)
			}
		})
	}
}

func setJSON(t testing.TB, s *configentry.Set) string {
	t.Helper()
	b, err := json.Marshal(s.All())
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
