package configentry

import (
	"bytes"
	"fmt"
	"strings"
	"unicode"

	"gopkg.in/yaml.v3"
)

// hclWriter renders a tree as HCL version 1 in the style of Consul's
// documentation: struct fields as blocks (`Match { ... }`), data maps as
// `Key = { ... }`, lists of objects as `Routes = [ { ... }, ]`.
type hclWriter struct {
	buf bytes.Buffer
}

func renderHCL(kind string, body *treeNode) []byte {
	w := &hclWriter{}
	w.line(0, "Kind = "+hclQuote(kind))
	w.members(0, body)
	return w.buf.Bytes()
}

func (w *hclWriter) line(indent int, text string) {
	w.buf.WriteString(strings.Repeat("  ", indent))
	w.buf.WriteString(text)
	w.buf.WriteByte('\n')
}

func (w *hclWriter) members(indent int, n *treeNode) {
	for i, k := range n.keys {
		key := k
		if n.kind == treeMap {
			key = hclMapKey(k)
		}
		v := n.vals[i]
		switch {
		case v.kind != treeScalar && v.kind != treeList && len(v.keys) == 0:
			w.line(indent, key+" = {}")
		case v.kind == treeStruct && n.kind == treeStruct:
			w.line(indent, key+" {")
			w.members(indent+1, v)
			w.line(indent, "}")
		case v.kind == treeStruct || v.kind == treeMap:
			w.line(indent, key+" = {")
			w.members(indent+1, v)
			w.line(indent, "}")
		case v.kind == treeList && allScalars(v):
			w.line(indent, key+" = "+inlineList(v))
		case v.kind == treeList:
			w.line(indent, key+" = [")
			w.items(indent+1, v)
			w.line(indent, "]")
		default:
			w.line(indent, key+" = "+hclScalar(v))
		}
	}
}

func (w *hclWriter) items(indent int, n *treeNode) {
	for _, v := range n.vals {
		switch {
		case (v.kind == treeStruct || v.kind == treeMap) && len(v.keys) == 0:
			w.line(indent, "{},")
		case v.kind == treeStruct || v.kind == treeMap:
			w.line(indent, "{")
			w.members(indent+1, v)
			w.line(indent, "},")
		case v.kind == treeList && allScalars(v):
			w.line(indent, inlineList(v)+",")
		case v.kind == treeList:
			w.line(indent, "[")
			w.items(indent+1, v)
			w.line(indent, "],")
		default:
			w.line(indent, hclScalar(v)+",")
		}
	}
}

func allScalars(n *treeNode) bool {
	for _, v := range n.vals {
		if v.kind != treeScalar {
			return false
		}
	}
	return true
}

func inlineList(n *treeNode) string {
	parts := make([]string, len(n.vals))
	for i, v := range n.vals {
		parts[i] = hclScalar(v)
	}
	return "[" + strings.Join(parts, ", ") + "]"
}

func hclScalar(n *treeNode) string {
	if n.scalar == scalarString {
		return hclQuote(n.text)
	}
	return n.text
}

// hclMapKey leaves identifier-like keys bare and quotes the rest. true and
// false would scan as booleans, so they are quoted too.
func hclMapKey(k string) string {
	if k == "true" || k == "false" || !isHCLIdent(k) {
		return hclQuote(k)
	}
	return k
}

// isHCLIdent reports whether k is a plain identifier. hcl would also take
// `-` and `.` and non-ASCII letters bare; quoting those reads more clearly,
// as in Consul's documentation (`"X-Web-Version" = "v1"`).
func isHCLIdent(k string) bool {
	if k == "" {
		return false
	}
	for i := 0; i < len(k); i++ {
		c := k[i]
		switch {
		case c == '_' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z':
		case i > 0 && '0' <= c && c <= '9':
		default:
			return false
		}
	}
	return true
}

// hclQuote writes an HCL string literal. Control characters are escaped, and
// so is the `$` of `${`, which hcl would otherwise read as an interpolation
// and copy without unescaping.
func hclQuote(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for i, r := range s {
		switch {
		case r == '"':
			b.WriteString(`\"`)
		case r == '\\':
			b.WriteString(`\\`)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\r':
			b.WriteString(`\r`)
		case r == '\t':
			b.WriteString(`\t`)
		case r == '$' && strings.HasPrefix(s[i+1:], "{"):
			b.WriteString(`\u0024`)
		case r < 0x20 || r == 0x7f:
			fmt.Fprintf(&b, `\u%04x`, r)
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
	return b.String()
}

// renderYAML writes the Kubernetes resource form: the envelope, then the
// spec with lowerCamel field names and data keys as they are.
func renderYAML(kind, name string, body *treeNode) ([]byte, error) {
	crdKind := ""
	for k, v := range crdKinds {
		if v == kind {
			crdKind = k
		}
	}
	if crdKind == "" {
		return nil, fmt.Errorf("configentry: kind %q has no Kubernetes resource form", kind)
	}
	root := &yaml.Node{Kind: yaml.MappingNode}
	metadata := &yaml.Node{Kind: yaml.MappingNode}
	metadata.Content = []*yaml.Node{yamlString("name"), yamlString(name)}
	root.Content = []*yaml.Node{
		yamlString("apiVersion"), yamlString(crdAPIVersion),
		yamlString("kind"), yamlString(crdKind),
		yamlString("metadata"), metadata,
		yamlString("spec"), yamlTree(body.without("Name")),
	}
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(root); err != nil {
		return nil, fmt.Errorf("configentry: encoding YAML: %w", err)
	}
	if err := enc.Close(); err != nil {
		return nil, fmt.Errorf("configentry: encoding YAML: %w", err)
	}
	return buf.Bytes(), nil
}

func yamlTree(n *treeNode) *yaml.Node {
	switch n.kind {
	case treeStruct, treeMap:
		m := &yaml.Node{Kind: yaml.MappingNode}
		for i, k := range n.keys {
			if n.kind == treeStruct {
				k = lowerCamel(k)
			}
			m.Content = append(m.Content, yamlString(k), yamlTree(n.vals[i]))
		}
		return m
	case treeList:
		seq := &yaml.Node{Kind: yaml.SequenceNode}
		for _, v := range n.vals {
			seq.Content = append(seq.Content, yamlTree(v))
		}
		return seq
	}
	if n.scalar == scalarString {
		return yamlString(n.text)
	}
	// Untagged, so the text resolves as the number or boolean it spells.
	return &yaml.Node{Kind: yaml.ScalarNode, Value: n.text}
}

// yamlString is a string scalar; yaml.v3 quotes it when plain text would
// read back as another type ("true", "50", ""). Two cases are forced into
// double quotes: line breaks, because yaml.v3 writes some multi-line strings
// as block scalars that read back differently (a lone "\n" becomes ""), and
// "<<", which plain would read back as a merge key.
func yamlString(s string) *yaml.Node {
	n := &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: s}
	if s == "<<" || strings.ContainsAny(s, "\n\r") {
		n.Style = yaml.DoubleQuotedStyle
	}
	return n
}

// lowerCamel turns a Go field name into the Kubernetes resource's key:
// ServiceSubset → serviceSubset, HTTP → http, JSONFormat → jsonFormat. Only
// the leading capitals are lowered (ExternalSNI → externalSNI), matching the
// resources' own field names; decoding compares keys case-insensitively.
func lowerCamel(s string) string {
	r := []rune(s)
	n := 0
	for n < len(r) && unicode.IsUpper(r[n]) {
		n++
	}
	if n > 1 && n < len(r) && unicode.IsLower(r[n]) {
		n-- // the last capital starts the next word: JSONFormat → json|Format
	}
	for i := 0; i < n; i++ {
		r[i] = unicode.ToLower(r[i])
	}
	return string(r)
}
