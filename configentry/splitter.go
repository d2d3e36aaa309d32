package configentry

// ServiceSplitterConfigEntry is a service-splitter entry: weighted splits.
type ServiceSplitterConfigEntry struct {
	Kind   string
	Name   string
	Splits []ServiceSplit
	Meta   map[string]string `json:",omitempty"`
	Hash   uint64            `json:",omitempty"`
	RaftIndex
}

// ServiceSplit sends Weight percent of traffic to a service or subset.
type ServiceSplit struct {
	Weight          float32
	Service         string               `json:",omitempty"`
	ServiceSubset   string               `json:",omitempty" alias:"service_subset"`
	Namespace       string               `json:",omitempty"`
	Partition       string               `json:",omitempty"`
	RequestHeaders  *HTTPHeaderModifiers `json:",omitempty" alias:"request_headers"`
	ResponseHeaders *HTTPHeaderModifiers `json:",omitempty" alias:"response_headers"`
}

func (e *ServiceSplitterConfigEntry) GetKind() string            { return ServiceSplitter }
func (e *ServiceSplitterConfigEntry) GetName() string            { return e.Name }
func (e *ServiceSplitterConfigEntry) GetMeta() map[string]string { return e.Meta }
