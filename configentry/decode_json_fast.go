package configentry

import (
	"encoding/json"
	"unicode/utf8"
)

// fastParseJSON is parseJSON for the inputs that matter for throughput:
// well-formed JSON with unique keys. It reads the bytes directly instead of
// through json.Decoder.Token, which allocates for every token and was the
// largest cost of decoding a config entry write (every write is decoded by
// the HTTP handler and again by Apply on every server).
//
// It has no error reporting at all: on anything it does not accept (a
// syntax error, a duplicate key, nesting beyond maxNesting, invalid UTF-8,
// trailing data) it returns ok=false and parseJSON runs the token reader,
// which produces the positioned message clients see. The contract, checked
// by FuzzFastParseJSON, is: whenever ok is true, the token reader
// (parseJSONTokens) succeeds on the same input with a value
// reflect.DeepEqual to v. Being stricter than the token reader is always
// allowed; it only costs speed.
//
// Strings share one copy of the input: the values and map keys of a decoded
// entry are substrings of it, so a body costs one string allocation rather
// than one per key and value. The price is that a stored entry keeps its
// whole JSON text alive rather than only its strings; entries are small and
// bounded by the request size limit, and replacing one frees its text.
func fastParseJSON(data []byte) (v any, ok bool) {
	p := fastParser{src: string(data)}
	p.skipBlanks()
	v, ok = p.value(0)
	if !ok {
		return nil, false
	}
	p.skipBlanks()
	if p.pos != len(p.src) {
		return nil, false
	}
	return v, true
}

type fastParser struct {
	src string
	pos int
}

// skipBlanks skips JSON whitespace, exactly the four bytes encoding/json
// accepts between tokens.
func (p *fastParser) skipBlanks() {
	for p.pos < len(p.src) {
		switch p.src[p.pos] {
		case ' ', '\t', '\n', '\r':
			p.pos++
		default:
			return
		}
	}
}

// value reads one value at nesting depth (0 for the top level), counted as
// parseJSON counts it: any value deeper than maxNesting is refused.
func (p *fastParser) value(depth int) (any, bool) {
	if depth > maxNesting || p.pos >= len(p.src) {
		return nil, false
	}
	switch c := p.src[p.pos]; {
	case c == '{':
		return p.object(depth)
	case c == '[':
		return p.array(depth)
	case c == '"':
		s, ok := p.str()
		if !ok {
			return nil, false
		}
		return s, true
	case c == '-' || ('0' <= c && c <= '9'):
		n, ok := p.number()
		if !ok {
			return nil, false
		}
		return n, true
	case c == 't':
		return true, p.literal("true")
	case c == 'f':
		return false, p.literal("false")
	case c == 'n':
		return nil, p.literal("null")
	}
	return nil, false
}

func (p *fastParser) literal(word string) bool {
	if len(p.src)-p.pos < len(word) || p.src[p.pos:p.pos+len(word)] != word {
		return false
	}
	p.pos += len(word)
	return true
}

// object reads an object; p.pos is at its '{'. Like parseJSON it always
// returns a non-nil map, and a repeated key is refused (parseJSON reports it).
func (p *fastParser) object(depth int) (any, bool) {
	p.pos++
	m := map[string]any{}
	p.skipBlanks()
	if p.pos < len(p.src) && p.src[p.pos] == '}' {
		p.pos++
		return m, true
	}
	for {
		if p.pos >= len(p.src) || p.src[p.pos] != '"' {
			return nil, false
		}
		key, ok := p.str()
		if !ok {
			return nil, false
		}
		if _, dup := m[key]; dup {
			return nil, false
		}
		p.skipBlanks()
		if p.pos >= len(p.src) || p.src[p.pos] != ':' {
			return nil, false
		}
		p.pos++
		p.skipBlanks()
		v, ok := p.value(depth + 1)
		if !ok {
			return nil, false
		}
		m[key] = v
		p.skipBlanks()
		if p.pos >= len(p.src) {
			return nil, false
		}
		switch p.src[p.pos] {
		case ',':
			p.pos++
			p.skipBlanks()
		case '}':
			p.pos++
			return m, true
		default:
			return nil, false
		}
	}
}

// array reads an array; p.pos is at its '['. An empty array is a non-nil
// empty slice, as parseJSON returns.
func (p *fastParser) array(depth int) (any, bool) {
	p.pos++
	p.skipBlanks()
	if p.pos < len(p.src) && p.src[p.pos] == ']' {
		p.pos++
		return []any{}, true
	}
	// Lists in entries are short; room for four spares the first regrowths.
	list := make([]any, 0, 4)
	for {
		v, ok := p.value(depth + 1)
		if !ok {
			return nil, false
		}
		list = append(list, v)
		p.skipBlanks()
		if p.pos >= len(p.src) {
			return nil, false
		}
		switch p.src[p.pos] {
		case ',':
			p.pos++
			p.skipBlanks()
		case ']':
			p.pos++
			return list, true
		default:
			return nil, false
		}
	}
}

// str reads a string; p.pos is at its opening quote. A string without
// escapes is a substring of the input. One with escapes is unquoted by
// encoding/json itself, so every escape (\u surrogate pairs included) means
// exactly what it means to the token reader. Control characters and
// invalid UTF-8 are left to the token reader (an error, or U+FFFD).
func (p *fastParser) str() (string, bool) {
	start := p.pos
	p.pos++
	escaped := false
	for p.pos < len(p.src) {
		c := p.src[p.pos]
		switch {
		case c == '"':
			p.pos++
			if !escaped {
				return p.src[start+1 : p.pos-1], true
			}
			var s string
			if json.Unmarshal([]byte(p.src[start:p.pos]), &s) != nil {
				return "", false
			}
			return s, true
		case c == '\\':
			escaped = true
			p.pos += 2 // the escaped byte is never the closing quote
		case c < 0x20:
			return "", false
		case c < utf8.RuneSelf:
			p.pos++
		default:
			r, size := utf8.DecodeRuneInString(p.src[p.pos:])
			if r == utf8.RuneError && size == 1 {
				return "", false
			}
			p.pos += size
		}
	}
	return "", false
}

// number reads a number with JSON's grammar and keeps its text, as
// json.Decoder.UseNumber does. What follows it is checked by the caller
// (a delimiter, or the end of the input), so "01" and "1x" are refused.
func (p *fastParser) number() (json.Number, bool) {
	s, i := p.src, p.pos
	start := i
	if s[i] == '-' {
		i++
	}
	switch {
	case i < len(s) && s[i] == '0':
		i++
	case i < len(s) && '1' <= s[i] && s[i] <= '9':
		for i < len(s) && '0' <= s[i] && s[i] <= '9' {
			i++
		}
	default:
		return "", false
	}
	if i < len(s) && s[i] == '.' {
		i++
		if i >= len(s) || s[i] < '0' || s[i] > '9' {
			return "", false
		}
		for i < len(s) && '0' <= s[i] && s[i] <= '9' {
			i++
		}
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			i++
		}
		if i >= len(s) || s[i] < '0' || s[i] > '9' {
			return "", false
		}
		for i < len(s) && '0' <= s[i] && s[i] <= '9' {
			i++
		}
	}
	p.pos = i
	return json.Number(s[start:i]), true
}
