package configentry

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
)

// maxNesting bounds how deeply any input form may nest. Real entries nest a
// handful of levels; the bound keeps hostile input from exhausting the stack.
const maxNesting = 200

// DecodeJSON decodes one entry from its Consul HTTP API JSON form. Unlike
// encoding/json into a map, a key repeated within one object is an error.
func DecodeJSON(data []byte) (Entry, error) {
	v, err := parseJSON(data)
	if err != nil {
		return nil, err
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, decodeErrorf("expected a JSON object, got %s", describe(v))
	}
	return DecodeMap(m)
}

// DecodeJSONList decodes a single JSON object, or a JSON array of objects
// (the shape of a list read-back), into entries. Errors in an array element
// are prefixed with its index.
func DecodeJSONList(data []byte) ([]Entry, error) {
	v, err := parseJSON(data)
	if err != nil {
		return nil, err
	}
	if m, ok := v.(map[string]any); ok {
		e, err := DecodeMap(m)
		if err != nil {
			return nil, err
		}
		return []Entry{e}, nil
	}
	list, ok := v.([]any)
	if !ok {
		return nil, decodeErrorf("expected a JSON object or an array of objects, got %s", describe(v))
	}
	entries := make([]Entry, 0, len(list))
	for i, item := range list {
		m, ok := item.(map[string]any)
		if !ok {
			return nil, decodeErrorf("[%d]: expected a JSON object, got %s", i, describe(item))
		}
		e, err := DecodeMap(m)
		if err != nil {
			return nil, fmt.Errorf("[%d]: %w", i, err)
		}
		entries = append(entries, e)
	}
	return entries, nil
}

// ParseJSON reads one JSON value into the generic form that DecodeMap binds
// (map[string]any, []any, string, bool, json.Number, nil), with DecodeJSON's
// rules and messages: a repeated key is an error, nesting is bounded, and
// nothing may follow the value. DecodeJSON(data) is ParseJSON followed by
// DecodeMap of the object; callers that carry an entry inside a larger JSON
// document (the FSM's commands) use the two steps to read it in one pass.
func ParseJSON(data []byte) (any, error) { return parseJSON(data) }

// jsonReader walks encoding/json's token stream, keeping the input to turn
// byte offsets into line and column numbers for messages.
type jsonReader struct {
	data []byte
	dec  *json.Decoder
}

// parseJSON reads exactly one JSON value into the generic form, with numbers
// as json.Number so that no precision is lost before the target type is known.
// Well-formed input takes fastParseJSON; anything else is read again by the
// token reader below, whose messages carry line and column.
func parseJSON(data []byte) (any, error) {
	if v, ok := fastParseJSON(data); ok {
		return v, nil
	}
	return parseJSONTokens(data)
}

// parseJSONTokens is parseJSON through json.Decoder's token stream.
func parseJSONTokens(data []byte) (any, error) {
	r := &jsonReader{data: data, dec: json.NewDecoder(bytes.NewReader(data))}
	r.dec.UseNumber()
	v, err := r.value("", 0)
	if err != nil {
		return nil, err
	}
	start := r.skipBlanks(r.dec.InputOffset())
	if _, err := r.dec.Token(); err != io.EOF {
		if err == nil {
			line, col := lineCol(data, start)
			return nil, decodeErrorf("invalid JSON at line %d, column %d: unexpected data after the top-level value", line, col)
		}
		return nil, r.syntaxError(err)
	}
	return v, nil
}

func (r *jsonReader) value(path string, depth int) (any, error) {
	if depth > maxNesting {
		line, col := lineCol(r.data, r.skipBlanks(r.dec.InputOffset()))
		return nil, decodeErrorf("invalid JSON at line %d, column %d: nested more than %d levels", line, col, maxNesting)
	}
	tok, err := r.dec.Token()
	if err != nil {
		return nil, r.syntaxError(err)
	}
	switch tok {
	case json.Delim('{'):
		return r.object(path, depth)
	case json.Delim('['):
		return r.array(path, depth)
	}
	return tok, nil
}

func (r *jsonReader) object(path string, depth int) (any, error) {
	m := map[string]any{}
	for r.dec.More() {
		offset := r.dec.InputOffset()
		tok, err := r.dec.Token()
		if err != nil {
			return nil, r.syntaxError(err)
		}
		key := tok.(string) // the decoder only yields strings in key position
		if _, dup := m[key]; dup {
			line, col := lineCol(r.data, r.skipBlanks(offset))
			return nil, pathErrorf(path, "duplicate key %q at line %d, column %d", key, line, col)
		}
		v, err := r.value(fieldPath(path, key), depth+1)
		if err != nil {
			return nil, err
		}
		m[key] = v
	}
	if _, err := r.dec.Token(); err != nil {
		return nil, r.syntaxError(err)
	}
	return m, nil
}

func (r *jsonReader) array(path string, depth int) (any, error) {
	list := []any{}
	for r.dec.More() {
		v, err := r.value(pathIndex(path, len(list)), depth+1)
		if err != nil {
			return nil, err
		}
		list = append(list, v)
	}
	if _, err := r.dec.Token(); err != nil {
		return nil, r.syntaxError(err)
	}
	return list, nil
}

// skipBlanks skips the blanks and separators that InputOffset leaves before
// the next token, so a reported column is the token's first character.
func (r *jsonReader) skipBlanks(offset int64) int64 {
	for offset < int64(len(r.data)) {
		switch r.data[offset] {
		case ' ', '\t', '\r', '\n', ',', ':':
			offset++
		default:
			return offset
		}
	}
	return offset
}

// syntaxError words a token-stream failure with its position.
func (r *jsonReader) syntaxError(err error) error {
	var syn *json.SyntaxError
	switch {
	case errors.As(err, &syn):
		line, col := lineCol(r.data, syn.Offset)
		return &decodeError{problems: []string{fmt.Sprintf("invalid JSON at line %d, column %d: %s", line, col, syn.Error())}, cause: err}
	case err == io.EOF || errors.Is(err, io.ErrUnexpectedEOF):
		return decodeErrorf("invalid JSON: unexpected end of input")
	}
	return &decodeError{problems: []string{"invalid JSON: " + err.Error()}, cause: err}
}

// lineCol converts a byte offset into 1-based line and column numbers.
func lineCol(data []byte, offset int64) (int, int) {
	if offset > int64(len(data)) {
		offset = int64(len(data))
	}
	before := data[:offset]
	line := bytes.Count(before, []byte("\n")) + 1
	col := int(offset) - bytes.LastIndexByte(before, '\n')
	return line, col
}
