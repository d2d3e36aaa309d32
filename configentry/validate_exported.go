package configentry

// Validate checks spec §6 rules 43–46 for exported-services. As in Consul,
// the Enterprise-only consumer fields are checked across all services before
// the per-service rules.
func (e *ExportedServicesConfigEntry) Validate() error {
	var v violations
	if e.Name != "default" {
		v.add("Name", `exported-services Name must be "default"`)
	}
	validateMeta(&v, e.Meta)
	for i, s := range e.Services {
		for j, c := range s.Consumers {
			if c.SamenessGroup != "" {
				v.add(consumerPath(i, j), "sameness-groups are an enterprise-only feature")
			}
		}
	}
	for i, s := range e.Services {
		validateExportedService(&v, i, s)
	}
	return v.err()
}

func consumerPath(service, consumer int) string {
	return pathIndex(pathIndex("Services", service)+".Consumers", consumer)
}

// validateExportedService checks rules 45 and 46 for Services[i].
func validateExportedService(v *violations, i int, s ExportedService) {
	path := pathIndex("Services", i)
	if s.Name == "" {
		v.add(path, "service name cannot be empty")
	}
	if s.Namespace == "*" && s.Name != "*" {
		v.add(path, "service name must be wildcard if namespace is wildcard")
	}
	if len(s.Consumers) == 0 {
		v.add(path, "must have at least one consumer")
	}
	for j, c := range s.Consumers {
		if countSet(c.Peer != "", tenancySet(c.Partition), c.SamenessGroup != "") > 1 {
			v.add(consumerPath(i, j), "must define at most one of Peer, Partition, or SamenessGroup")
		}
		if c.Partition == "*" {
			v.add(consumerPath(i, j), "exporting to all partitions (wildcard) is not supported")
		}
		if c.Peer == "*" {
			v.add(consumerPath(i, j), "exporting to all peers (wildcard) is not supported")
		}
	}
}
