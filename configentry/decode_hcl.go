package configentry

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/hashicorp/hcl/hcl/ast"
	"github.com/hashicorp/hcl/hcl/parser"
	"github.com/hashicorp/hcl/hcl/scanner"
	hclstrconv "github.com/hashicorp/hcl/hcl/strconv"
	"github.com/hashicorp/hcl/hcl/token"
)

// DecodeHCL decodes one entry from HCL version 1, the syntax Consul's CLI
// reads. As with hcl itself, input whose first non-blank character is `{` is
// JSON. Blocks become objects (`Match { HTTP { ... } }`), a block repeated
// under one key becomes a list of objects, and any other repeated key is an
// error.
func DecodeHCL(data []byte) (Entry, error) {
	// hcl's parser does the same; doing it first keeps the offsets of the
	// lenient pre-pass aligned with what the parser sees.
	data = bytes.ReplaceAll(data, []byte("\r\n"), []byte("\n"))
	if trimmed := bytes.TrimSpace(data); len(trimmed) > 0 && trimmed[0] == '{' {
		return DecodeJSON(data)
	}
	file, err := parser.Parse(relaxHCL(data))
	if err != nil {
		var pe *parser.PosError
		if errors.As(err, &pe) {
			return nil, &decodeError{
				problems: []string{fmt.Sprintf("invalid HCL at line %d, column %d: %v", pe.Pos.Line, pe.Pos.Column, pe.Err)},
				cause:    err,
			}
		}
		return nil, &decodeError{problems: []string{"invalid HCL: " + err.Error()}, cause: err}
	}
	list, ok := file.Node.(*ast.ObjectList)
	if !ok {
		return nil, decodeErrorf("invalid HCL: the top level is not a list of assignments")
	}
	m, err := hclObject(list, "", 0)
	if err != nil {
		return nil, err
	}
	return DecodeMap(m)
}

// relaxHCL rewrites the two slips that Consul's documentation itself makes and
// users copy: `"X-Web-Version": "v1"` (a colon for `=`) and
// `Service = frontend` (an unquoted word as a value). It works on hcl's own
// tokens, so text inside strings, heredocs and comments is never touched.
// A colon only becomes `=` right after a key, and a word is only quoted right
// after `=`, where hcl accepts nothing but a value.
func relaxHCL(src []byte) []byte {
	sc := scanner.New(src)
	// The parser scans again and reports every real problem; without a
	// handler the scanner would print to stderr.
	sc.Error = func(token.Pos, string) {}
	var out []byte
	last := 0
	prev := token.ILLEGAL
	for tok := sc.Scan(); tok.Type != token.EOF; tok = sc.Scan() {
		typ := tok.Type
		off := tok.Pos.Offset
		switch {
		case typ == token.COMMENT:
			continue
		case typ == token.ILLEGAL && tok.Text == ":" && (prev == token.IDENT || prev == token.STRING):
			out = append(append(out, src[last:off]...), '=')
			last = off + 1
			typ = token.ASSIGN
		case typ == token.IDENT && prev == token.ASSIGN:
			out = append(append(out, src[last:off]...), '"')
			out = append(append(out, tok.Text...), '"')
			last = off + len(tok.Text)
			typ = token.STRING
		}
		prev = typ
	}
	if out == nil {
		return src
	}
	return append(out, src[last:]...)
}

// hclObject converts the items of an HCL object into a generic map.
func hclObject(list *ast.ObjectList, path string, depth int) (map[string]any, error) {
	m := map[string]any{}
	fromBlocks := map[string]bool{} // values written as blocks/objects
	repeated := map[string]bool{}   // values already gathered into a list
	for _, item := range list.Items {
		if len(item.Keys) == 0 {
			return nil, pathErrorf(path, "HCL item without a key at line %d, column %d", item.Pos().Line, item.Pos().Column)
		}
		keys := make([]string, len(item.Keys))
		for i, k := range item.Keys {
			s, err := hclKey(k, path)
			if err != nil {
				return nil, err
			}
			keys[i] = s
		}
		v, err := hclValue(item.Val, fieldPath(path, strings.Join(keys, ".")), depth+1)
		if err != nil {
			return nil, err
		}
		// `Failover "*" { ... }` is shorthand for Failover { "*" { ... } }.
		for i := len(keys) - 1; i >= 1; i-- {
			v = map[string]any{keys[i]: v}
		}
		_, isObject := item.Val.(*ast.ObjectType)
		isBlock := isObject || len(keys) > 1
		k := keys[0]
		prev, seen := m[k]
		switch {
		case !seen:
			m[k] = v
			fromBlocks[k] = isBlock
		case isBlock && fromBlocks[k] && repeated[k]:
			m[k] = append(prev.([]any), v)
		case isBlock && fromBlocks[k]:
			m[k] = []any{prev, v}
			repeated[k] = true
		default:
			pos := item.Keys[0].Pos()
			return nil, pathErrorf(path, "duplicate key %q at line %d, column %d", k, pos.Line, pos.Column)
		}
	}
	return m, nil
}

func hclKey(k *ast.ObjectKey, path string) (string, error) {
	switch k.Token.Type {
	case token.IDENT:
		return k.Token.Text, nil
	case token.STRING:
		return hclString(k.Token, path)
	}
	return "", pathErrorf(path, "invalid HCL key %s at line %d, column %d", k.Token.Text, k.Pos().Line, k.Pos().Column)
}

func hclValue(node ast.Node, path string, depth int) (any, error) {
	if depth > maxNesting {
		return nil, pathErrorf(path, "nested more than %d levels", maxNesting)
	}
	switch n := node.(type) {
	case *ast.LiteralType:
		return hclLiteral(n.Token, path)
	case *ast.ObjectType:
		return hclObject(n.List, path, depth)
	case *ast.ListType:
		list := make([]any, 0, len(n.List))
		for i, elem := range n.List {
			v, err := hclValue(elem, pathIndex(path, i), depth+1)
			if err != nil {
				return nil, err
			}
			list = append(list, v)
		}
		return list, nil
	}
	return nil, pathErrorf(path, "unsupported HCL value at line %d, column %d", node.Pos().Line, node.Pos().Column)
}

// hclLiteral converts a literal token. Numbers stay as text (json.Number) so
// that a float32 Weight is parsed once, at its own precision.
func hclLiteral(tok token.Token, path string) (any, error) {
	switch tok.Type {
	case token.STRING:
		return hclString(tok, path)
	case token.HEREDOC:
		return heredocValue(tok, path)
	case token.BOOL:
		return tok.Text == "true", nil
	case token.NUMBER:
		if i, err := strconv.ParseInt(tok.Text, 0, 64); err == nil {
			return json.Number(strconv.FormatInt(i, 10)), nil
		}
		if u, err := strconv.ParseUint(tok.Text, 0, 64); err == nil {
			return json.Number(strconv.FormatUint(u, 10)), nil
		}
	}
	if tok.Type == token.NUMBER || tok.Type == token.FLOAT {
		if _, ok := floatFromText(tok.Text, 64); ok {
			return json.Number(tok.Text), nil
		}
	}
	return nil, pathErrorf(path, "invalid value %s at line %d, column %d", tok.Text, tok.Pos.Line, tok.Pos.Column)
}

// hclString unquotes a string token. hcl's token.Value would panic on text
// its unquoting refuses, so the error is returned instead.
func hclString(tok token.Token, path string) (string, error) {
	s, err := hclstrconv.Unquote(tok.Text)
	if err != nil {
		return "", pathErrorf(path, "invalid string %s at line %d, column %d", tok.Text, tok.Pos.Line, tok.Pos.Column)
	}
	if !utf8.ValidString(s) {
		return "", pathErrorf(path, "string at line %d, column %d is not valid UTF-8", tok.Pos.Line, tok.Pos.Column)
	}
	return s, nil
}

// heredocValue returns the text between a heredoc's anchor line and its
// terminator line; `<<-` heredocs lose the terminator's indentation when every
// line has it, as hcl does. It is written here because hcl's own version
// panics on an empty heredoc.
func heredocValue(tok token.Token, path string) (string, error) {
	text := tok.Text
	nl := strings.IndexByte(text, '\n')
	if nl < 0 || !utf8.ValidString(text) {
		return "", pathErrorf(path, "invalid heredoc at line %d, column %d", tok.Pos.Line, tok.Pos.Column)
	}
	indented := strings.HasPrefix(text, "<<-")
	body := strings.TrimSuffix(text[nl+1:], "\n")
	cut := strings.LastIndexByte(body, '\n')
	content, terminator := body[:cut+1], body[cut+1:]
	if !indented || content == "" {
		return content, nil
	}
	indent := terminator[:len(terminator)-len(strings.TrimLeft(terminator, " \t"))]
	lines := strings.SplitAfter(content, "\n")
	for _, l := range lines {
		if l != "" && !strings.HasPrefix(l, indent) {
			return content, nil
		}
	}
	for i, l := range lines {
		lines[i] = strings.TrimPrefix(l, indent)
	}
	return strings.Join(lines, ""), nil
}
