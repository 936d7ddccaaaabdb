package logs

import (
	"bytes"
	"encoding/binary"
	"math/bits"
	"unicode/utf8"
)

// Stream indexes; "unknown" is a malformed record whose stream is not known.
const (
	streamStdout = iota
	streamStderr
	streamUnknown
	numStreams
)

var streamNames = [numStreams]string{"stdout", "stderr", "unknown"}

// format of a log file, detected from its first record.
type format uint8

const (
	formatUnknown format = iota
	formatCRI
	formatDocker
)

func detectFormat(rec []byte) format {
	for _, c := range rec {
		switch c {
		case ' ', '\t', '\r':
			continue
		case '{':
			return formatDocker
		default:
			return formatCRI
		}
	}
	return formatUnknown
}

// record is one physical record of a log file.
type record struct {
	stream  int
	partial bool   // P tag, or docker log without trailing newline
	msg     []byte // message without the CRI header or JSON envelope
	ok      bool   // false: malformed; msg is then the raw record
}

// parseCRI parses "<RFC3339Nano> <stdout|stderr> <P|F>[:tags] <message>"
// (line without its newline). It does not allocate; msg aliases line.
func parseCRI(line []byte) record {
	bad := record{stream: streamUnknown, msg: line}
	// The timestamp is at least 20 bytes and at most 35 (nanoseconds and
	// an offset): its end is searched 8 bytes at a time (SWAR), which beats
	// both a byte loop and an IndexByte call here.
	sp := -1
	for i := 19; i < 40; i += 8 {
		if i+8 > len(line) {
			for ; i < len(line) && i < 40; i++ {
				if line[i] == ' ' {
					sp = i
					break
				}
			}
			break
		}
		v := binary.LittleEndian.Uint64(line[i:]) ^ 0x2020202020202020 // a space becomes 0
		if m := (v - lsb) &^ v & msb; m != 0 {
			if sp = i + bits.TrailingZeros64(m)/8; sp >= 40 { // the lowest flagged byte is exact
				sp = -1
			}
			break
		}
	}
	if sp < 0 || !looksLikeTimestamp(line[:sp]) {
		return bad
	}
	rest := line[sp+1:]
	var stream int
	switch {
	case len(rest) >= 7 && string(rest[:7]) == "stdout ":
		stream = streamStdout
	case len(rest) >= 7 && string(rest[:7]) == "stderr ":
		stream = streamStderr
	default:
		return bad
	}
	rest = rest[7:]
	if len(rest) == 0 || (rest[0] != 'P' && rest[0] != 'F') {
		return bad
	}
	partial := rest[0] == 'P'
	if len(rest) >= 2 && rest[1] == ' ' { // the usual "F <msg>"
		return record{stream: stream, partial: partial, msg: rest[2:], ok: true}
	}
	// Tags are "P" or "F", optionally followed by ":"-separated extras.
	end := bytes.IndexByte(rest, ' ')
	tag := rest
	if end >= 0 {
		tag = rest[:end]
	}
	if len(tag) > 1 && tag[1] != ':' {
		return bad
	}
	var msg []byte
	if end >= 0 {
		msg = rest[end+1:]
	}
	return record{stream: stream, partial: partial, msg: msg, ok: true}
}

// looksLikeTimestamp is a cheap shape check of an RFC 3339 timestamp
// ("2006-01-02T15:04:05" then fraction and Z or a numeric offset). Parsing the
// time fully would cost more than the rest of the line; its value is unused.
func looksLikeTimestamp(b []byte) bool {
	if len(b) < 20 {
		return false
	}
	// "2006-01-02T15:04:05" as two overlapping 8-byte words checked at once
	// (SWAR): the separators compared under a mask, then replaced by '0' so
	// that every byte must be a digit. This runs once per line.
	const (
		sepA  = 0x0000FF0000FF0000 // bytes 2 and 5 of b[2:10]: '-' '-'
		wantA = 0x00002D00002D0000
		sepB  = 0x00FF0000FF0000FF // bytes 0, 3, 6 of b[10:18]: 'T' ':' ':'
		wantB = 0x003A00003A000054
	)
	a := binary.LittleEndian.Uint64(b[2:10])
	c := binary.LittleEndian.Uint64(b[10:18])
	if a&sepA != wantA || c&sepB != wantB || !digits8(a&^sepA|0x3030303030303030&sepA) ||
		!digits8(c&^sepB|0x3030303030303030&sepB) || b[0]-'0' > 9 || b[1]-'0' > 9 || b[18]-'0' > 9 {
		return false
	}
	last := b[len(b)-1]
	return last == 'Z' || last-'0' <= 9
}

// digits8 reports whether all 8 bytes of v are ASCII digits. A byte below
// '0' borrows, one above '9' carries into its top bit; either only happens
// when some byte is not a digit, so the result is exact.
func digits8(v uint64) bool {
	return (v|(v+0x4646464646464646)|(v-0x3030303030303030))&0x8080808080808080 == 0
}

// parseDocker parses a json-file record {"log":…,"stream":…,"time":…}.
// The unescaped message is appended to scratch[:0]; the returned msg aliases
// the (possibly grown) scratch, which the caller keeps for the next record.
func parseDocker(line []byte, scratch []byte) (record, []byte) {
	bad := record{stream: streamUnknown, msg: line}
	p := jsonParser{b: line}
	p.ws()
	if !p.eat('{') {
		return bad, scratch
	}
	var (
		haveLog  bool
		stream   = -1
		msg      = scratch[:0]
		keyBuf   [16]byte
		valStart int
	)
	p.ws()
	if p.eat('}') {
		return bad, scratch
	}
	for {
		p.ws()
		key, ok := p.str(keyBuf[:0])
		if !ok {
			return bad, msg
		}
		p.ws()
		if !p.eat(':') {
			return bad, msg
		}
		p.ws()
		switch string(key) {
		case "log":
			if haveLog {
				return bad, msg
			}
			valStart = len(msg)
			msg, ok = p.str(msg)
			if !ok {
				return bad, msg
			}
			_ = valStart
			haveLog = true
		case "stream":
			var sb [8]byte
			s, ok := p.str(sb[:0])
			if !ok {
				return bad, msg
			}
			switch string(s) {
			case "stdout":
				stream = streamStdout
			case "stderr":
				stream = streamStderr
			default:
				return bad, msg
			}
		default: // time, attrs, anything newer: skipped
			if !p.skipValue(0) {
				return bad, msg
			}
		}
		p.ws()
		if p.eat(',') {
			continue
		}
		if p.eat('}') {
			break
		}
		return bad, msg
	}
	p.ws()
	if p.i != len(p.b) || !haveLog || stream < 0 {
		return bad, msg
	}
	partial := true
	if n := len(msg); n > 0 && msg[n-1] == '\n' {
		partial = false
		msg = msg[:n-1]
	}
	return record{stream: stream, partial: partial, msg: msg, ok: true}, msg
}

// jsonParser is a minimal, allocation-free JSON scanner for docker records.
type jsonParser struct {
	b []byte
	i int
}

func (p *jsonParser) ws() {
	for p.i < len(p.b) {
		switch p.b[p.i] {
		case ' ', '\t', '\r', '\n':
			p.i++
		default:
			return
		}
	}
}

func (p *jsonParser) eat(c byte) bool {
	if p.i < len(p.b) && p.b[p.i] == c {
		p.i++
		return true
	}
	return false
}

// str decodes a JSON string at the cursor and appends it to dst.
func (p *jsonParser) str(dst []byte) ([]byte, bool) {
	if !p.eat('"') {
		return dst, false
	}
	for {
		// copy the run up to the next quote or backslash in one go
		j := p.i
		for j < len(p.b) && p.b[j] != '"' && p.b[j] != '\\' {
			if p.b[j] < 0x20 {
				return dst, false
			}
			j++
		}
		dst = append(dst, p.b[p.i:j]...)
		p.i = j
		if p.i >= len(p.b) {
			return dst, false
		}
		if p.b[p.i] == '"' {
			p.i++
			return dst, true
		}
		p.i++ // backslash
		if p.i >= len(p.b) {
			return dst, false
		}
		c := p.b[p.i]
		p.i++
		switch c {
		case '"', '\\', '/':
			dst = append(dst, c)
		case 'b':
			dst = append(dst, '\b')
		case 'f':
			dst = append(dst, '\f')
		case 'n':
			dst = append(dst, '\n')
		case 'r':
			dst = append(dst, '\r')
		case 't':
			dst = append(dst, '\t')
		case 'u':
			r, ok := p.hex4()
			if !ok {
				return dst, false
			}
			if r >= 0xD800 && r < 0xDC00 { // high surrogate: expect a low one
				if p.i+6 <= len(p.b) && p.b[p.i] == '\\' && p.b[p.i+1] == 'u' {
					save := p.i
					p.i += 2
					lo, ok := p.hex4()
					if ok && lo >= 0xDC00 && lo < 0xE000 {
						r = 0x10000 + (r-0xD800)<<10 + (lo - 0xDC00)
					} else {
						p.i = save
						r = utf8.RuneError
					}
				} else {
					r = utf8.RuneError
				}
			} else if r >= 0xDC00 && r < 0xE000 {
				r = utf8.RuneError
			}
			dst = utf8.AppendRune(dst, r)
		default:
			return dst, false
		}
	}
}

func (p *jsonParser) hex4() (rune, bool) {
	if p.i+4 > len(p.b) {
		return 0, false
	}
	var r rune
	for _, c := range p.b[p.i : p.i+4] {
		r <<= 4
		switch {
		case c >= '0' && c <= '9':
			r |= rune(c - '0')
		case c >= 'a' && c <= 'f':
			r |= rune(c-'a') + 10
		case c >= 'A' && c <= 'F':
			r |= rune(c-'A') + 10
		default:
			return 0, false
		}
	}
	p.i += 4
	return r, true
}

// skipValue skips any JSON value; depth bounds nesting so hostile input
// cannot recurse without limit.
func (p *jsonParser) skipValue(depth int) bool {
	if depth > 32 || p.i >= len(p.b) {
		return false
	}
	var tmp [0]byte
	switch c := p.b[p.i]; {
	case c == '"':
		// decode into a discarded buffer; strings here are short (time)
		_, ok := p.skipString()
		_ = tmp
		return ok
	case c == '{' || c == '[':
		closeC := byte('}')
		if c == '[' {
			closeC = ']'
		}
		p.i++
		p.ws()
		if p.eat(closeC) {
			return true
		}
		for {
			p.ws()
			if c == '{' {
				if _, ok := p.skipString(); !ok {
					return false
				}
				p.ws()
				if !p.eat(':') {
					return false
				}
				p.ws()
			}
			if !p.skipValue(depth + 1) {
				return false
			}
			p.ws()
			if p.eat(',') {
				continue
			}
			return p.eat(closeC)
		}
	default: // number, true, false, null
		j := p.i
		for j < len(p.b) {
			ch := p.b[j]
			if ch == ',' || ch == '}' || ch == ']' || ch == ' ' || ch == '\t' || ch == '\r' || ch == '\n' {
				break
			}
			j++
		}
		if j == p.i {
			return false
		}
		p.i = j
		return true
	}
}

func (p *jsonParser) skipString() (int, bool) {
	if !p.eat('"') {
		return 0, false
	}
	start := p.i
	for p.i < len(p.b) {
		switch p.b[p.i] {
		case '\\':
			p.i += 2
			continue
		case '"':
			p.i++
			return start, true
		}
		p.i++
	}
	return 0, false
}
