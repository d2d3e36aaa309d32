package configentry

import "testing"

func TestValidateExportedServices(t *testing.T) {
	runValidateCases(t, ExportedServices, []validateCase{
		{"peers", `{"Name":"default","Services":[{"Name":"web","Consumers":[{"Peer":"cluster-02"},{"Partition":"default"}]},
			{"Name":"*","Namespace":"*","Consumers":[{"Peer":"cluster-03","Partition":"default"}]}]}`, nil},
		// Rules 43 and 44.
		{"name and sameness group", `{"Name":"ap1","Meta":{"k":"v"},"Services":[{"Name":"web","Consumers":[{"SamenessGroup":"sg"}]}]}`, []string{
			`Name: exported-services Name must be "default"`,
			"Services[0].Consumers[0]: sameness-groups are an enterprise-only feature",
		}},
		// Rule 45; Normalize empties namespaces, so the wildcard rule is
		// exercised without it below.
		{"services", `{"Name":"default","Services":[{"Consumers":[{"Peer":"p"}]},{"Name":"web"}]}`, []string{
			"Services[0]: service name cannot be empty",
			"Services[1]: must have at least one consumer",
		}},
		// Rule 46.
		{"consumers", `{"Name":"default","Services":[{"Name":"web","Consumers":[{"Peer":"p","Partition":"ap1"},{"Partition":"*"},{"Peer":"*"}]}]}`, []string{
			"Services[0].Consumers[0]: must define at most one of Peer, Partition, or SamenessGroup",
			"Services[0].Consumers[1]: exporting to all partitions (wildcard) is not supported",
			"Services[0].Consumers[2]: exporting to all peers (wildcard) is not supported",
		}},
	})
}

func TestValidateExportedServicesWildcardNamespace(t *testing.T) {
	e := &ExportedServicesConfigEntry{Name: "default", Services: []ExportedService{
		{Name: "web", Namespace: "*", Consumers: []ServiceConsumer{{Peer: "p"}}},
		{Name: "*", Namespace: "*", Consumers: []ServiceConsumer{{Peer: "p"}}},
	}}
	got := errorLines(t, e.Validate())
	want := "Services[0]: service name must be wildcard if namespace is wildcard"
	if len(got) != 1 || got[0] != want {
		t.Errorf("Validate = %q, want [%q]", got, want)
	}
}
