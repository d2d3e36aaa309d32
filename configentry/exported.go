package configentry

// ExportedServicesConfigEntry says which services are visible to which
// cluster peers. Its JSON form carries "Kind" although the type has no Kind
// field in Consul; see json.go.
type ExportedServicesConfigEntry struct {
	Name     string
	Services []ExportedService
	Meta     map[string]string `json:",omitempty"`
	RaftIndex
}

// ExportedService exports one service (or "*") to its consumers.
type ExportedService struct {
	Name      string
	Namespace string `json:",omitempty"`
	Consumers []ServiceConsumer
}

// ServiceConsumer is a peer (or, in Enterprise, a partition or sameness group)
// allowed to import a service.
type ServiceConsumer struct {
	Partition     string `json:",omitempty"`
	Peer          string `json:",omitempty" alias:"peer_name"`
	SamenessGroup string `json:",omitempty" alias:"sameness_group"`
}

func (e *ExportedServicesConfigEntry) GetKind() string            { return ExportedServices }
func (e *ExportedServicesConfigEntry) GetName() string            { return e.Name }
func (e *ExportedServicesConfigEntry) GetMeta() map[string]string { return e.Meta }
