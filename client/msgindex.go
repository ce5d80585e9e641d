package client

import (
	"encoding/json"
	"strings"
	"unicode/utf8"

	"github.com/vibesync/vibesync/wire"
)

// messageKeys returns the columns the replica indexes for a message row:
// its "at" in unix ms and its sender's id, as decoding the row into a
// Message would give them (data that is not a JSON object gives 0 and "").
// A pull of a large replica applies one message row per change, so the
// common shape is read by a small scanner that looks at two top-level
// keys and validates the rest without building anything; anything it does
// not recognise exactly (escaped or differently cased keys, a user that
// is neither an object nor a string) goes through encoding/json.
func messageKeys(data []byte) (at int64, author string) {
	if at, author, ok := scanMessageKeys(data); ok {
		return at, author
	}
	var m Message
	if json.Unmarshal(data, &m) != nil {
		return 0, ""
	}
	return m.At.UnixMilli(), m.User.ID
}

// scanMessageKeys is messageKeys' fast path; ok is false when the full
// decoder must decide.
func scanMessageKeys(data []byte) (at int64, author string, ok bool) {
	s := scanner{b: data}
	s.space()
	if !s.eat('{') {
		return 0, "", false
	}
	var atRaw, userRaw []byte
	s.space()
	if !s.eat('}') {
		for {
			s.space()
			key, plain := s.str()
			if key == nil || !plain {
				return 0, "", false
			}
			s.space()
			if !s.eat(':') {
				return 0, "", false
			}
			s.space()
			start := s.i
			if !s.value(0) {
				return 0, "", false
			}
			raw := data[start:s.i]
			switch k := string(key); k {
			case "at":
				if atRaw != nil {
					return 0, "", false
				}
				atRaw = raw
			case "user":
				if userRaw != nil {
					return 0, "", false
				}
				userRaw = raw
			default:
				if !fits(k, raw, messageFields) {
					return 0, "", false
				}
			}
			s.space()
			if s.eat(',') {
				continue
			}
			if s.eat('}') {
				break
			}
			return 0, "", false
		}
	}
	s.space()
	if s.i != len(data) {
		return 0, "", false
	}
	var t wire.Time
	if atRaw != nil {
		if t.UnmarshalJSON(atRaw) != nil {
			return 0, "", false
		}
	}
	if userRaw != nil {
		id, ok := userID(userRaw)
		if !ok {
			return 0, "", false
		}
		author = id
	}
	return t.UnixMilli(), author, true
}

// userID reads the "_id" of a user object, or a bare id string, both
// already validated.
func userID(raw []byte) (string, bool) {
	s := scanner{b: raw}
	if raw[0] == '"' {
		v, plain := s.str()
		// encoding/json replaces invalid UTF-8 with U+FFFD: leave that to it.
		return string(v), plain && utf8.Valid(v)
	}
	if !s.eat('{') {
		return "", false
	}
	var id string
	s.space()
	if s.eat('}') {
		return "", true
	}
	for {
		s.space()
		key, plain := s.str()
		if !plain {
			return "", false
		}
		s.space()
		s.eat(':')
		s.space()
		start := s.i
		s.value(0)
		v := raw[start:s.i]
		if k := string(key); k == "_id" {
			if v[0] != '"' {
				return "", false
			}
			vs := scanner{b: v}
			str, plain := vs.str()
			if !plain || !utf8.Valid(str) {
				return "", false
			}
			id = string(str)
		} else if !fits(k, v, userFields) {
			return "", false
		}
		s.space()
		if s.eat(',') {
			continue
		}
		return id, s.eat('}')
	}
}

// messageFields and userFields are the other keys Message and User
// decode, with the first byte their JSON value may start with ('"' for a
// string, 't' for a bool); null always fits.
var (
	messageFields = map[string]byte{"_id": '"', "chat": '"', "text": '"', "pending": 't'}
	userFields    = map[string]byte{"name": '"', "username": '"', "photo": '"', "bio": '"'}
)

// fits says whether a key decodes into the struct described by fields
// exactly as the full decoder would take it: an unknown key (in no case
// variant) is ignored, a known one must hold its type or null.
func fits(key string, raw []byte, fields map[string]byte) bool {
	want, known := fields[key]
	if !known {
		for f := range fields {
			if strings.EqualFold(f, key) {
				return false
			}
		}
		for _, f := range []string{"_id", "user", "at"} {
			if strings.EqualFold(f, key) {
				return false
			}
		}
		return true
	}
	switch raw[0] {
	case 'n':
		return true
	case 't', 'f':
		return want == 't'
	}
	return raw[0] == want
}

// scanner validates JSON text without decoding it.
type scanner struct {
	b []byte
	i int
}

func (s *scanner) space() {
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case ' ', '\t', '\n', '\r':
			s.i++
		default:
			return
		}
	}
}

func (s *scanner) eat(c byte) bool {
	if s.i < len(s.b) && s.b[s.i] == c {
		s.i++
		return true
	}
	return false
}

// str reads a string and returns its contents between the quotes (nil if
// it is not a valid string); plain is false when it holds an escape.
func (s *scanner) str() (v []byte, plain bool) {
	if !s.eat('"') {
		return nil, false
	}
	start, plain := s.i, true
	for s.i < len(s.b) {
		c := s.b[s.i]
		switch {
		case c == '"':
			s.i++
			return s.b[start : s.i-1], plain
		case c < 0x20:
			return nil, false
		case c == '\\':
			plain = false
			s.i++
			if s.i >= len(s.b) {
				return nil, false
			}
			switch s.b[s.i] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				s.i++
			case 'u':
				if s.i+5 > len(s.b) {
					return nil, false
				}
				for _, h := range s.b[s.i+1 : s.i+5] {
					if !isHex(h) {
						return nil, false
					}
				}
				s.i += 5
			default:
				return nil, false
			}
		default:
			s.i++
		}
	}
	return nil, false
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

// value skips one valid JSON value.
func (s *scanner) value(depth int) bool {
	if s.i >= len(s.b) || depth > 1000 {
		return false
	}
	switch c := s.b[s.i]; {
	case c == '"':
		v, _ := s.str()
		return v != nil
	case c == '{':
		s.i++
		s.space()
		if s.eat('}') {
			return true
		}
		for {
			s.space()
			if k, _ := s.str(); k == nil {
				return false
			}
			s.space()
			if !s.eat(':') {
				return false
			}
			s.space()
			if !s.value(depth + 1) {
				return false
			}
			s.space()
			if s.eat(',') {
				continue
			}
			return s.eat('}')
		}
	case c == '[':
		s.i++
		s.space()
		if s.eat(']') {
			return true
		}
		for {
			s.space()
			if !s.value(depth + 1) {
				return false
			}
			s.space()
			if s.eat(',') {
				continue
			}
			return s.eat(']')
		}
	case c == 't':
		return s.lit("true")
	case c == 'f':
		return s.lit("false")
	case c == 'n':
		return s.lit("null")
	case c == '-' || '0' <= c && c <= '9':
		return s.number()
	}
	return false
}

func (s *scanner) lit(l string) bool {
	if len(s.b)-s.i >= len(l) && string(s.b[s.i:s.i+len(l)]) == l {
		s.i += len(l)
		return true
	}
	return false
}

// number skips a number of the JSON grammar.
func (s *scanner) number() bool {
	s.eat('-')
	digits := func() int {
		n := 0
		for s.i < len(s.b) && '0' <= s.b[s.i] && s.b[s.i] <= '9' {
			s.i++
			n++
		}
		return n
	}
	if s.eat('0') {
		// no leading zeros
	} else if digits() == 0 {
		return false
	}
	if s.eat('.') && digits() == 0 {
		return false
	}
	if s.i < len(s.b) && (s.b[s.i] == 'e' || s.b[s.i] == 'E') {
		s.i++
		if !s.eat('+') {
			s.eat('-')
		}
		if digits() == 0 {
			return false
		}
	}
	return true
}
