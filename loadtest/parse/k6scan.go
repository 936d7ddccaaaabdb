package parse

import (
	"bytes"
	"encoding/json"
	"strconv"
	"unicode/utf8"
)

// k6Scan reads one k6 --out json line in a single pass and validates it as
// JSON on the way. encoding/json would do the same work twice (generic
// validation, then reflection into a struct with a map of tags) and
// allocate for every tag; this keeps only the few fields kubepulse reads,
// as slices of the line. Strings with escapes (rare in k6 output) are
// decoded by encoding/json so their meaning is exactly JSON's.
type k6Scan struct {
	b []byte
	i int

	typ, metric, time         []byte
	value                     float64
	hasValue                  bool
	name, url, status, expect []byte
	hasExpect                 bool
}

// scan reports whether line is one valid JSON value, filling the fields
// it found when that value is an object.
func (s *k6Scan) scan(line []byte) bool {
	*s = k6Scan{b: line}
	s.ws()
	if s.peek() == '{' {
		if !s.object(s.top) {
			return false
		}
	} else if !s.skipValue(0) {
		return false
	}
	s.ws()
	return s.i == len(s.b)
}

func (s *k6Scan) peek() byte {
	if s.i < len(s.b) {
		return s.b[s.i]
	}
	return 0
}

func (s *k6Scan) ws() {
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case ' ', '\t', '\n', '\r':
			s.i++
		default:
			return
		}
	}
}

const maxJSONDepth = 1000 // as encoding/json: deeper nesting is rejected

// object scans {"k": v, ...}, calling field for each key with the scanner
// positioned at the value; field must consume the value.
func (s *k6Scan) object(field func(key []byte, depth int) bool) bool {
	return s.objectAt(field, 1)
}

func (s *k6Scan) objectAt(field func(key []byte, depth int) bool, depth int) bool {
	if depth > maxJSONDepth || s.peek() != '{' {
		return false
	}
	s.i++
	s.ws()
	if s.peek() == '}' {
		s.i++
		return true
	}
	for {
		s.ws()
		key, ok := s.str()
		if !ok {
			return false
		}
		s.ws()
		if s.peek() != ':' {
			return false
		}
		s.i++
		s.ws()
		if !field(key, depth) {
			return false
		}
		s.ws()
		switch s.peek() {
		case ',':
			s.i++
		case '}':
			s.i++
			return true
		default:
			return false
		}
	}
}

// Keys match case-insensitively, as encoding/json matches struct fields.
func (s *k6Scan) top(key []byte, depth int) bool {
	switch {
	case keyIs(key, "type"):
		return s.strInto(&s.typ, depth)
	case keyIs(key, "metric"):
		return s.strInto(&s.metric, depth)
	case keyIs(key, "data"):
		if s.peek() == '{' {
			return s.objectAt(s.data, depth+1)
		}
	}
	return s.skipValue(depth)
}

func (s *k6Scan) data(key []byte, depth int) bool {
	switch {
	case keyIs(key, "time"):
		return s.strInto(&s.time, depth)
	case keyIs(key, "value"):
		if c := s.peek(); c == '-' || (c >= '0' && c <= '9') {
			v, ok := s.num()
			s.value, s.hasValue = v, ok
			return ok
		}
		s.hasValue = false
	case keyIs(key, "tags"):
		if s.peek() == '{' {
			return s.objectAt(s.tags, depth+1)
		}
	}
	return s.skipValue(depth)
}

func (s *k6Scan) tags(key []byte, depth int) bool {
	// Tags are a map: names match exactly.
	switch string(key) {
	case "name":
		return s.strInto(&s.name, depth)
	case "url":
		return s.strInto(&s.url, depth)
	case "status":
		return s.strInto(&s.status, depth)
	case "expected_response":
		s.hasExpect = s.peek() == '"'
		return s.strInto(&s.expect, depth)
	}
	return s.skipValue(depth)
}

// strInto stores a string value in dst, or skips a value of another type
// (leaving dst nil).
func (s *k6Scan) strInto(dst *[]byte, depth int) bool {
	if s.peek() != '"' {
		*dst = nil
		return s.skipValue(depth)
	}
	v, ok := s.str()
	*dst = v
	return ok
}

// str scans a JSON string and returns its value.
func (s *k6Scan) str() ([]byte, bool) {
	if s.peek() != '"' {
		return nil, false
	}
	start := s.i
	s.i++
	escaped, wide := false, false
	for s.i < len(s.b) {
		c := s.b[s.i]
		switch {
		case c == '"':
			s.i++
			if !escaped && (!wide || utf8.Valid(s.b[start+1:s.i-1])) {
				return s.b[start+1 : s.i-1], true
			}
			// Escapes, or invalid UTF-8 that JSON turns into U+FFFD.
			var out string
			if json.Unmarshal(s.b[start:s.i], &out) != nil {
				return nil, false
			}
			return []byte(out), true
		case c == '\\':
			escaped = true
			if s.i+1 >= len(s.b) {
				return nil, false
			}
			switch s.b[s.i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				s.i += 2
			case 'u':
				if s.i+6 > len(s.b) {
					return nil, false
				}
				for _, h := range s.b[s.i+2 : s.i+6] {
					if !isHex(h) {
						return nil, false
					}
				}
				s.i += 6
			default:
				return nil, false
			}
		case c < 0x20:
			return nil, false
		default:
			wide = wide || c >= 0x80
			s.i++
		}
	}
	return nil, false
}

func keyIs(key []byte, name string) bool {
	return len(key) == len(name) && string(key) == name || bytes.EqualFold(key, []byte(name))
}

func isHex(c byte) bool {
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')
}

// num scans a JSON number: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
func (s *k6Scan) num() (float64, bool) {
	start := s.i
	if s.peek() == '-' {
		s.i++
	}
	switch c := s.peek(); {
	case c == '0':
		s.i++
	case c >= '1' && c <= '9':
		s.digits()
	default:
		return 0, false
	}
	if s.peek() == '.' {
		s.i++
		if !s.digits() {
			return 0, false
		}
	}
	if c := s.peek(); c == 'e' || c == 'E' {
		s.i++
		if c := s.peek(); c == '+' || c == '-' {
			s.i++
		}
		if !s.digits() {
			return 0, false
		}
	}
	v, err := strconv.ParseFloat(string(s.b[start:s.i]), 64)
	if err != nil {
		// Out of float64 range: valid JSON, but not a usable value.
		return 0, false
	}
	return v, true
}

func (s *k6Scan) digits() bool {
	start := s.i
	for s.i < len(s.b) && s.b[s.i] >= '0' && s.b[s.i] <= '9' {
		s.i++
	}
	return s.i > start
}

func (s *k6Scan) lit(word string) bool {
	if len(s.b)-s.i >= len(word) && string(s.b[s.i:s.i+len(word)]) == word {
		s.i += len(word)
		return true
	}
	return false
}

// skipValue scans and discards any JSON value.
func (s *k6Scan) skipValue(depth int) bool {
	switch c := s.peek(); {
	case c == '"':
		_, ok := s.str()
		return ok
	case c == '{':
		return s.objectAt(func(_ []byte, d int) bool { return s.skipValue(d) }, depth+1)
	case c == '[':
		if depth+1 > maxJSONDepth {
			return false
		}
		s.i++
		s.ws()
		if s.peek() == ']' {
			s.i++
			return true
		}
		for {
			s.ws()
			if !s.skipValue(depth + 1) {
				return false
			}
			s.ws()
			switch s.peek() {
			case ',':
				s.i++
			case ']':
				s.i++
				return true
			default:
				return false
			}
		}
	case c == '-' || (c >= '0' && c <= '9'):
		start := s.i
		if _, ok := s.num(); !ok {
			// A number too large for float64 is still valid JSON to skip.
			return s.i > start && validNumber(s.b[start:s.i])
		}
		return true
	case c == 't':
		return s.lit("true")
	case c == 'f':
		return s.lit("false")
	case c == 'n':
		return s.lit("null")
	}
	return false
}

func validNumber(b []byte) bool {
	return json.Valid(b)
}
