package configentry

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// crdAPIVersion is the only apiVersion of Consul's Kubernetes resources.
const crdAPIVersion = "consul.hashicorp.com/v1alpha1"

// crdKinds maps Kubernetes resource kinds to config entry kinds. Kinds that
// Consul has but Switchyard does not implement are listed so that they are
// refused as unsupported rather than unknown.
var crdKinds = map[string]string{
	"ServiceDefaults":    ServiceDefaults,
	"ProxyDefaults":      ProxyDefaults,
	"ServiceRouter":      ServiceRouter,
	"ServiceSplitter":    ServiceSplitter,
	"ServiceResolver":    ServiceResolver,
	"ExportedServices":   ExportedServices,
	"ServiceIntentions":  "service-intentions",
	"IngressGateway":     "ingress-gateway",
	"TerminatingGateway": "terminating-gateway",
	"Mesh":               "mesh",
	"SamenessGroup":      "sameness-group",
	"JWTProvider":        "jwt-provider",
}

// crdIgnoredMetadata are the metadata keys that carry nothing for a config
// entry: the ones users write, and the ones a `kubectl get -o yaml` adds.
var crdIgnoredMetadata = map[string]bool{
	"namespace": true, "labels": true, "annotations": true, "uid": true,
	"resourceVersion": true, "generation": true, "creationTimestamp": true,
	"finalizers": true, "managedFields": true, "generateName": true,
	"selfLink": true, "ownerReferences": true, "deletionTimestamp": true,
	"deletionGracePeriodSeconds": true,
}

// maxYAMLNodes bounds the nodes visited in one document, counting each
// expansion of an alias, so that an alias bomb cannot blow up memory.
const maxYAMLNodes = 100000

// DecodeYAML decodes Consul's Kubernetes resources (apiVersion
// consul.hashicorp.com/v1alpha1): one entry per `---` document, named by
// metadata.name, with the camelCase spec bound like any other input. Empty
// documents are skipped; a stream without any entry is an error.
func DecodeYAML(data []byte) ([]Entry, error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var entries []Entry
	for {
		var doc yaml.Node
		err := dec.Decode(&doc)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			msg := strings.TrimPrefix(err.Error(), "yaml: ")
			return nil, &decodeError{problems: []string{"invalid YAML: " + msg}, cause: err}
		}
		if len(doc.Content) == 0 || doc.Content[0].ShortTag() == "!!null" {
			continue
		}
		r := &yamlReader{}
		v, err := r.value(doc.Content[0], "", 0)
		if err != nil {
			return nil, err
		}
		e, err := decodeResource(v, doc.Content[0])
		if err != nil {
			return nil, err
		}
		entries = append(entries, e)
	}
	if len(entries) == 0 {
		return nil, decodeErrorf("no config entry in the YAML input")
	}
	return entries, nil
}

// decodeResource checks the Kubernetes envelope and decodes its spec.
func decodeResource(v any, root *yaml.Node) (Entry, error) {
	at := func(key string) string { return fmt.Sprintf("line %d: ", yamlKeyLine(root, key)) }
	m, ok := v.(map[string]any)
	if !ok {
		return nil, decodeErrorf("line %d: expected a Kubernetes resource (apiVersion, kind, metadata, spec), got %s", root.Line, describe(v))
	}
	for _, k := range sortedKeys(m) {
		switch k {
		case "apiVersion", "kind", "metadata", "spec", "status":
		default:
			return nil, decodeErrorf("%sunknown top-level key %q (want apiVersion, kind, metadata, spec or status)", at(k), k)
		}
	}
	if av, ok := m["apiVersion"].(string); !ok || av != crdAPIVersion {
		if _, present := m["apiVersion"]; !present {
			return nil, decodeErrorf("line %d: apiVersion is required (want %s)", root.Line, crdAPIVersion)
		}
		return nil, decodeErrorf("%sapiVersion is %s, want %s", at("apiVersion"), describe(m["apiVersion"]), crdAPIVersion)
	}
	kind, err := resourceKind(m["kind"])
	if err != nil {
		return nil, fmt.Errorf("%s%w", at("kind"), err)
	}
	name, err := resourceName(m["metadata"])
	if err != nil {
		return nil, fmt.Errorf("%s%w", at("metadata"), err)
	}
	spec := map[string]any{}
	if m["spec"] != nil {
		given, ok := m["spec"].(map[string]any)
		if !ok {
			return nil, decodeErrorf("%sspec: expected an object, got %s", at("spec"), describe(m["spec"]))
		}
		for _, k := range sortedKeys(given) {
			// The envelope supplies these; a spec copy would be ambiguous.
			if strings.EqualFold(k, "kind") || strings.EqualFold(k, "name") {
				return nil, decodeErrorf("%sspec: invalid config key %q (set it in the resource's kind or metadata.name)", at("spec"), k)
			}
			spec[k] = given[k]
		}
	}
	spec["Kind"], spec["Name"] = kind, name
	e, err := decodeMapAt(spec, "spec")
	if err != nil {
		return nil, fmt.Errorf("%s%w", at("spec"), err)
	}
	return e, nil
}

func resourceKind(v any) (string, error) {
	s, ok := v.(string)
	if !ok {
		if v == nil {
			return "", decodeErrorf("kind is required")
		}
		return "", decodeErrorf("kind must be a string, got %s", describe(v))
	}
	kind, ok := crdKinds[s]
	if !ok {
		return "", &decodeError{
			problems: []string{fmt.Sprintf("kind %q is not a Consul config entry resource (want ServiceDefaults, ProxyDefaults, ServiceRouter, ServiceSplitter, ServiceResolver or ExportedServices)", s)},
			cause:    ErrInvalidKind,
		}
	}
	if _, err := New(kind); err != nil {
		return "", &decodeError{problems: []string{err.Error()}, cause: err}
	}
	return kind, nil
}

func resourceName(v any) (string, error) {
	meta, ok := v.(map[string]any)
	if !ok {
		if v == nil {
			return "", decodeErrorf("metadata.name is required")
		}
		return "", decodeErrorf("metadata: expected an object, got %s", describe(v))
	}
	for _, k := range sortedKeys(meta) {
		if k != "name" && !crdIgnoredMetadata[k] {
			return "", decodeErrorf("metadata: invalid key %q", k)
		}
	}
	switch name := meta["name"].(type) {
	case nil:
		return "", decodeErrorf("metadata.name is required")
	case string:
		return name, nil
	}
	// An unquoted numeric name is still a name (`name: 1234`).
	if text, ok := numberText(meta["name"]); ok {
		return text, nil
	}
	return "", decodeErrorf("metadata.name: expected a string, got %s", describe(meta["name"]))
}

// yamlErrorf builds a decodeError that starts with the input line.
func yamlErrorf(line int, path, format string, args ...any) error {
	return fmt.Errorf("line %d: %w", line, pathErrorf(path, format, args...))
}

// yamlKeyLine finds the line of a top-level key, for messages.
func yamlKeyLine(root *yaml.Node, key string) int {
	for i := 0; i+1 < len(root.Content); i += 2 {
		if root.Content[i].Value == key {
			return root.Content[i].Line
		}
	}
	return root.Line
}

// yamlReader converts a yaml.v3 node tree into the generic form, checking
// duplicate keys itself because yaml.v3 only does so when decoding into Go
// values, not into nodes.
type yamlReader struct {
	nodes int
}

func (r *yamlReader) value(n *yaml.Node, path string, depth int) (any, error) {
	r.nodes++
	if r.nodes > maxYAMLNodes || depth > maxNesting {
		return nil, yamlErrorf(n.Line, path, "document too large or too deeply nested")
	}
	switch n.Kind {
	case yaml.AliasNode:
		return r.value(n.Alias, path, depth+1)
	case yaml.MappingNode:
		return r.mapping(n, path, depth)
	case yaml.SequenceNode:
		list := make([]any, 0, len(n.Content))
		for i, c := range n.Content {
			v, err := r.value(c, pathIndex(path, i), depth+1)
			if err != nil {
				return nil, err
			}
			list = append(list, v)
		}
		return list, nil
	case yaml.ScalarNode:
		return yamlScalar(n, path)
	}
	return nil, yamlErrorf(n.Line, path, "unexpected YAML node")
}

func (r *yamlReader) mapping(n *yaml.Node, path string, depth int) (any, error) {
	m := make(map[string]any, len(n.Content)/2)
	lines := map[string]int{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, vn := n.Content[i], n.Content[i+1]
		if k.Kind == yaml.AliasNode {
			k = k.Alias
		}
		if k.Kind != yaml.ScalarNode {
			return nil, yamlErrorf(k.Line, path, "mapping keys must be scalars")
		}
		if k.ShortTag() == "!!merge" {
			return nil, yamlErrorf(k.Line, path, "merge keys (<<) are not supported")
		}
		if first, dup := lines[k.Value]; dup {
			return nil, yamlErrorf(k.Line, path, "mapping key %q already defined at line %d", k.Value, first)
		}
		lines[k.Value] = k.Line
		v, err := r.value(vn, fieldPath(path, k.Value), depth+1)
		if err != nil {
			return nil, err
		}
		m[k.Value] = v
	}
	return m, nil
}

// yamlScalar resolves a scalar by its YAML tag. Numbers become json.Number
// (keeping the written text when Go reads it the same way, so a float32
// field is parsed at its own precision); timestamps stay text, and so does a
// "<<" that is a value rather than a merge key.
func yamlScalar(n *yaml.Node, path string) (any, error) {
	tag := n.ShortTag()
	switch tag {
	case "!!str", "!!timestamp", "!!merge":
		return n.Value, nil
	case "!!null":
		return nil, nil
	}
	var v any
	if err := n.Decode(&v); err != nil {
		return nil, yamlErrorf(n.Line, path, "%s", strings.TrimPrefix(err.Error(), "yaml: "))
	}
	switch x := v.(type) {
	case bool:
		return x, nil
	case int:
		return json.Number(strconv.Itoa(x)), nil
	case int64:
		return json.Number(strconv.FormatInt(x, 10)), nil
	case uint64:
		return json.Number(strconv.FormatUint(x, 10)), nil
	case float64:
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return nil, yamlErrorf(n.Line, path, "expected a finite number, got %s", n.Value)
		}
		if f, err := strconv.ParseFloat(n.Value, 64); err == nil && f == x {
			return json.Number(n.Value), nil
		}
		return json.Number(strconv.FormatFloat(x, 'g', -1, 64)), nil
	}
	return nil, yamlErrorf(n.Line, path, "unsupported YAML value with tag %s", tag)
}
