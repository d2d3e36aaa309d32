package configentry

import (
	"strings"
	"testing"
)

func TestValidateServiceResolver(t *testing.T) {
	long := strings.Repeat("a", 64)
	runValidateCases(t, ServiceResolver, []validateCase{
		// Rule 29.
		{"no name", `{"ConnectTimeout":"5s"}`, []string{"Name: Name is required"}},
		// Rules 30–32.
		{"subsets", `{"Name":"web","DefaultSubset":"v1","PrioritizeByLocality":{},"Subsets":{"v1":{"Filter":"Service.Meta.version == v1"},"v-2":{"OnlyPassing":true}}}`, nil},
		{"bad subset names", `{"Name":"web","Subsets":{"":{},"V1":{},"` + long + `":{},"-a":{}}}`, []string{
			`Subsets[""]: Subset defined with empty name`,
			`Subsets["-a"]: Subset "-a" is invalid: must be 63 characters or fewer, begin or end with lower case alphanumeric characters, and contain lower case alphanumeric characters or '-' in between`,
			`Subsets["V1"]: Subset "V1" is invalid: must be 63 characters or fewer, begin or end with lower case alphanumeric characters, and contain lower case alphanumeric characters or '-' in between`,
			`Subsets["` + long + `"]: Subset "` + long + `" is invalid: must be non-empty and 63 characters or fewer`,
		}},
		{"bad filter", `{"Name":"web","Subsets":{"v1":{"Filter":"random string"}}}`, []string{
			`Subsets["v1"].Filter: Filter for subset "v1" is not a valid expression: 1:8 (7): no match found, expected: "!=", "==", "contains", "in", "is", "matches", "not" or [ \t\r\n]`,
		}},
		{"default subset", `{"Name":"web","DefaultSubset":"gone","Subsets":{"v1":{}}}`,
			[]string{`DefaultSubset: DefaultSubset "gone" is not a valid subset`}},
		// Rule 33.
		{"prioritize by locality", `{"Name":"web","PrioritizeByLocality":{"Mode":"failover"}}`,
			[]string{"PrioritizeByLocality: Prioritize-by-locality requires Consul Enterprise"}},
		// Rules 34–36.
		{"redirect to peer", `{"Name":"web","Redirect":{"Service":"web","Peer":"cluster-02","Namespace":"default","Partition":"default"}}`, nil},
		{"enterprise redirect", `{"Name":"web","Redirect":{"Service":"api","Partition":"ap1","Namespace":"ns1","SamenessGroup":"sg","Datacenter":"dc2"}}`, []string{
			"Redirect: Cross-datacenter and cross-partition redirect is not supported",
			"Redirect: Setting Partition requires Consul Enterprise",
			"Redirect: Setting Namespace requires Consul Enterprise",
			"Redirect: Setting SamenessGroup requires Consul Enterprise",
			"Redirect: Redirect.Partition cannot be set with Redirect.SamenessGroup",
		}},
		{"redirect and failover", `{"Name":"web","Redirect":{"Service":"api"},"Failover":{"*":{"Service":"backup"}}}`,
			[]string{"Redirect: Redirect and Failover cannot both be set"}},
		{"empty redirect", `{"Name":"web","Redirect":{"Namespace":"default"}}`, []string{"Redirect: Redirect is empty"}},
		// Rule 37, first broken combination only.
		{"sameness group and subset", `{"Name":"web","Redirect":{"SamenessGroup":"sg","ServiceSubset":"v1","Peer":"p"}}`, []string{
			"Redirect: Setting SamenessGroup requires Consul Enterprise",
			"Redirect: Redirect.SamenessGroup cannot be set with Redirect.ServiceSubset",
		}},
		{"sameness group and datacenter", `{"Name":"web","Redirect":{"Service":"api","SamenessGroup":"sg","Datacenter":"dc2"}}`, []string{
			"Redirect: Setting SamenessGroup requires Consul Enterprise",
			"Redirect: Redirect.SamenessGroup cannot be set with Redirect.Datacenter",
		}},
		{"peer and subset", `{"Name":"web","Redirect":{"Service":"api","Peer":"p","ServiceSubset":"v1","Datacenter":"dc2"}}`,
			[]string{"Redirect: Redirect.Peer cannot be set with Redirect.ServiceSubset"}},
		{"peer and partition", `{"Name":"web","Redirect":{"Service":"api","Peer":"p","Partition":"ap1"}}`, []string{
			"Redirect: Setting Partition requires Consul Enterprise",
			"Redirect: Redirect.Partition cannot be set with Redirect.Peer",
		}},
		{"peer and datacenter", `{"Name":"web","Redirect":{"Service":"api","Peer":"p","Datacenter":"dc2"}}`,
			[]string{"Redirect: Redirect.Peer cannot be set with Redirect.Datacenter"}},
		{"subset without service", `{"Name":"web","Redirect":{"ServiceSubset":"v1"}}`,
			[]string{"Redirect: Redirect.ServiceSubset defined without Redirect.Service"}},
		{"namespace without service", `{"Name":"web","Redirect":{"Namespace":"ns1"}}`, []string{
			"Redirect: Setting Namespace requires Consul Enterprise",
			"Redirect: Redirect.Namespace defined without Redirect.Service",
		}},
		{"peer without service", `{"Name":"web","Redirect":{"Peer":"p"}}`,
			[]string{"Redirect: Redirect.Peer defined without Redirect.Service"}},
		{"datacenter only", `{"Name":"web","Redirect":{"Datacenter":"dc2"}}`, nil},
		{"self redirect to unknown subset", `{"Name":"web","Redirect":{"Service":"web","ServiceSubset":"gone"}}`,
			[]string{`Redirect: Redirect.ServiceSubset "gone" is not a valid subset of "web"`}},
		{"redirect to another service's subset", `{"Name":"web","Redirect":{"Service":"api","ServiceSubset":"v9"}}`, nil},
	})
}

func TestValidateServiceResolverFailover(t *testing.T) {
	runValidateCases(t, ServiceResolver, []validateCase{
		// The seed peering-resolver-failover.yaml names the default namespace.
		{"peer target in default namespace", `{"Name":"frontend","ConnectTimeout":"15s",
			"Failover":{"*":{"Targets":[{"Peer":"cluster-02","Service":"frontend","Namespace":"default"}]}}}`, nil},
		{"datacenters and subset", `{"Name":"web","Subsets":{"v1":{},"v2":{}},
			"Failover":{"v1":{"ServiceSubset":"v2","Datacenters":["dc2","dc3"],"Policy":{"Regions":["eu"]}}}}`, nil},
		// Rule 38.
		{"enterprise failover", `{"Name":"web","Failover":{"*":{"Namespace":"ns1","SamenessGroup":"sg","Datacenters":["dc2"]}}}`, []string{
			`Failover["*"]: Setting Namespace requires Consul Enterprise`,
			`Failover["*"]: Setting SamenessGroup requires Consul Enterprise`,
			`Failover["*"]: SamenessGroup cannot be set with Datacenters`,
		}},
		{"sameness group and subset", `{"Name":"web","Failover":{"*":{"Service":"api","SamenessGroup":"sg","ServiceSubset":"v1"}}}`, []string{
			`Failover["*"]: Setting SamenessGroup requires Consul Enterprise`,
			`Failover["*"]: SamenessGroup cannot be set with ServiceSubset`,
		}},
		{"sameness group and targets", `{"Name":"web","Failover":{"*":{"SamenessGroup":"sg","Targets":[{"Peer":"p"}]}}}`, []string{
			`Failover["*"]: Setting SamenessGroup requires Consul Enterprise`,
			`Failover["*"]: SamenessGroup cannot be set with Targets`,
		}},
		{"unknown subset key, empty failover", `{"Name":"web","Failover":{"gone":{"Namespace":"default"}}}`, []string{
			`Failover["gone"]: not a valid subset subset`,
			`Failover["gone"]: one of Service, ServiceSubset, Namespace, Targets, SamenessGroup, or Datacenters is required`,
		}},
		{"policy", `{"Name":"web","Failover":{"*":{"Service":"api","Policy":{"Mode":"sequential"}}}}`,
			[]string{`Failover["*"]: Setting failover policies requires Consul Enterprise`}},
		{"bad policy", `{"Name":"web","Failover":{"*":{"Service":"api","Policy":{"Mode":"nearest"}}}}`, []string{
			`Failover["*"]: Setting failover policies requires Consul Enterprise`,
			`Failover["*"].Policy.Mode: Failover-policy mode must be one of '', 'sequential', or 'order-by-locality'`,
		}},
		{"own unknown subset", `{"Name":"web","Failover":{"*":{"Service":"web","ServiceSubset":"gone"}}}`,
			[]string{`Failover["*"]: ServiceSubset "gone" is not a valid subset of "web"`}},
		{"targets with other fields", `{"Name":"web","Subsets":{"v1":{}},
			"Failover":{"*":{"Service":"api","ServiceSubset":"v1","Datacenters":["dc2"],"Targets":[{"Service":"api"}]}}}`, []string{
			`Failover["*"]: Targets cannot be set with Datacenters`,
			`Failover["*"]: Targets cannot be set with ServiceSubset`,
			`Failover["*"]: Targets cannot be set with Service`,
		}},
		// Rule 39.
		{"enterprise targets", `{"Name":"web","Failover":{"*":{"Targets":[{"Partition":"ap1","Namespace":"ns1","Datacenter":"dc2"}]}}}`, []string{
			`Failover["*"].Targets[0]: Setting Partition requires Consul Enterprise`,
			`Failover["*"].Targets[0]: Setting Namespace requires Consul Enterprise`,
			`Failover["*"].Targets[0]: Partition cannot be set with Datacenter`,
		}},
		{"target combinations", `{"Name":"web","Failover":{"*":{"Targets":[
			{"Peer":"p","ServiceSubset":"v1","Datacenter":"dc2"},{"Peer":"p","Partition":"ap1"},{"Peer":"p","Datacenter":"dc2"},
			{"ServiceSubset":"gone"},{"Service":"api","ServiceSubset":"v9","Datacenter":"dc2","Partition":"default"}]}}}`, []string{
			`Failover["*"].Targets[0]: Peer cannot be set with ServiceSubset`,
			`Failover["*"].Targets[1]: Setting Partition requires Consul Enterprise`,
			`Failover["*"].Targets[1]: Partition cannot be set with Peer`,
			`Failover["*"].Targets[2]: Peer cannot be set with Datacenter`,
			`Failover["*"].Targets[3]: ServiceSubset "gone" is not a valid subset of "web"`,
		}},
		// Rule 40.
		{"empty datacenter", `{"Name":"web","Failover":{"*":{"Service":"api","Datacenters":["dc2",""]}}}`,
			[]string{`Failover["*"].Datacenters[1]: found empty datacenter`}},
	})
}

func TestValidateServiceResolverTimeoutsAndBalancing(t *testing.T) {
	runValidateCases(t, ServiceResolver, []validateCase{
		// Rule 41.
		{"timeouts", `{"Name":"web","ConnectTimeout":"0s","RequestTimeout":"30s"}`, nil},
		{"negative timeouts", `{"Name":"web","ConnectTimeout":"-1s","RequestTimeout":"-1ms"}`, []string{
			"ConnectTimeout: Bad ConnectTimeout '-1s', must be >= 0",
			"RequestTimeout: Bad RequestTimeout '-1ms', must be >= 0",
		}},
		// Rule 42.
		{"ring hash", `{"Name":"web","LoadBalancer":{"Policy":"ring_hash","RingHashConfig":{"MinimumRingSize":1024},
			"HashPolicies":[{"Field":"cookie","FieldValue":"s","CookieConfig":{"TTL":"10s","Path":"/"}},{"SourceIP":true,"Terminal":true}]}}`, nil},
		{"least request", `{"Name":"web","LoadBalancer":{"Policy":"least_request","LeastRequestConfig":{"ChoiceCount":3}}}`, nil},
		{"bad policy", `{"Name":"web","LoadBalancer":{"Policy":"fastest","RingHashConfig":{},"LeastRequestConfig":{},"HashPolicies":[{"SourceIP":true}]}}`, []string{
			`LoadBalancer: Bad LoadBalancer policy: "fastest" is not supported`,
			`LoadBalancer: Bad LoadBalancer configuration. RingHashConfig specified for incompatible load balancing policy "fastest"`,
			`LoadBalancer: Bad LoadBalancer configuration. LeastRequestConfig specified for incompatible load balancing policy "fastest"`,
			`LoadBalancer: Bad LoadBalancer configuration: HashPolicies specified for non-hash-based Policy: "fastest"`,
		}},
		{"bad hash policies", `{"Name":"web","LoadBalancer":{"Policy":"maglev","HashPolicies":[
			{"Field":"path","FieldValue":"x"},{"Field":"header","FieldValue":"x","SourceIP":true},{"SourceIP":true,"FieldValue":"x"},
			{"Field":"header"},{"FieldValue":"x"},{"Field":"header","FieldValue":"x","CookieConfig":{}},
			{"Field":"cookie","FieldValue":"x","CookieConfig":{"Session":true,"TTL":"1s"}}]}}`, []string{
			`LoadBalancer.HashPolicies[0]: "path" is not a supported field`,
			`LoadBalancer.HashPolicies[1]: A single hash policy cannot hash both a source address and a "header"`,
			`LoadBalancer.HashPolicies[2]: A FieldValue cannot be specified when hashing SourceIP`,
			`LoadBalancer.HashPolicies[3]: Field "header" was specified without a FieldValue`,
			`LoadBalancer.HashPolicies[4]: FieldValue requires a Field to apply to`,
			`LoadBalancer.HashPolicies[5]: cookie_config provided for "header"`,
			`LoadBalancer.HashPolicies[6]: a session cookie cannot have an associated TTL`,
		}},
	})
}
