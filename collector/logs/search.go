package logs

import (
	"bytes"
	"encoding/binary"
	"math/bits"
)

// Literal search in a read chunk: the prefilters' inner loop.

// indexRare finds lit in s at or after from by its rarest byte (index k):
// IndexByte skips whole stretches where bytes.Index would stop at every
// occurrence of the literal's first byte ('E' of ERROR in every "GET").
// If the rare byte turns out frequent, bytes.Index takes over.
func indexRare(s []byte, from int, lit []byte, k int) int {
	c := lit[k]
	for i, fails := from+k, 0; i < len(s); fails++ {
		j := bytes.IndexByte(s[i:], c)
		if j < 0 {
			return -1
		}
		start := i + j - k
		if start+len(lit) <= len(s) && bytes.Equal(s[start:start+len(lit)], lit) {
			return start
		}
		i += j + 1
		if fails > 8 && i-from < fails*32 {
			if r := bytes.Index(s[start+1:], lit); r >= 0 {
				return start + 1 + r
			}
			return -1
		}
	}
	return -1
}

const (
	lsb   = 0x0101010101010101
	msb   = 0x8080808080808080
	bit20 = 0x2020202020202020
)

// indexFoldPair finds lit (lower-cased ASCII, len >= 2) in s at or after
// from, ignoring ASCII case. It tests 8 positions at a time (SWAR) for the
// byte pair lit[k:k+2] with bit 0x20 forced on both sides, which equates
// the two cases of a letter; each hit is verified. A pair is far rarer than
// a single letter, so verifications are few.
func indexFoldPair(s []byte, from int, lit []byte, r int) int {
	k := r
	if k+1 >= len(lit) {
		k = len(lit) - 2
	}
	pa := uint64(lit[k]|0x20) * lsb
	pb := uint64(lit[k+1]|0x20) * lsb
	i := from + k
	// 16 positions per turn as two independent words: fewer branches, and
	// one bounds check for the four loads.
	for ; i+17 <= len(s); i += 16 {
		w := s[i : i+17]
		x0 := (binary.LittleEndian.Uint64(w[0:]) | bit20) ^ pa
		y0 := (binary.LittleEndian.Uint64(w[1:]) | bit20) ^ pb
		x1 := (binary.LittleEndian.Uint64(w[8:]) | bit20) ^ pa
		y1 := (binary.LittleEndian.Uint64(w[9:]) | bit20) ^ pb
		m0 := (x0 - lsb) &^ x0 & (y0 - lsb) &^ y0 & msb
		m1 := (x1 - lsb) &^ x1 & (y1 - lsb) &^ y1 & msb
		if m0|m1 == 0 {
			continue
		}
		for b, m := range [2]uint64{m0, m1} {
			for m != 0 {
				start := i + 8*b + bits.TrailingZeros64(m)/8 - k
				if start+len(lit) <= len(s) && equalFoldASCII(s[start:start+len(lit)], lit) {
					return start
				}
				m &= m - 1
			}
		}
	}
	for ; i+9 <= len(s); i += 8 {
		vx := (binary.LittleEndian.Uint64(s[i:]) | bit20) ^ pa
		vy := (binary.LittleEndian.Uint64(s[i+1:]) | bit20) ^ pb
		m := (vx - lsb) &^ vx & (vy - lsb) &^ vy & msb
		for m != 0 {
			start := i + bits.TrailingZeros64(m)/8 - k
			if start+len(lit) <= len(s) && equalFoldASCII(s[start:start+len(lit)], lit) {
				return start
			}
			m &= m - 1
		}
	}
	for ; i+1 < len(s); i++ {
		if s[i]|0x20 == lit[k]|0x20 && s[i+1]|0x20 == lit[k+1]|0x20 {
			start := i - k
			if start+len(lit) <= len(s) && equalFoldASCII(s[start:start+len(lit)], lit) {
				return start
			}
		}
	}
	return -1
}

// indexFoldRare finds lit (lower-cased ASCII, len >= 2) in s at or after
// from, ignoring ASCII case: by IndexByte on both cases of its rarest byte
// while that byte is rare in s (one hit per 100 bytes or fewer), which skips
// text far faster than the SWAR pair search; where it is frequent, the pair
// search takes over.
func indexFoldRare(s []byte, from int, lit []byte, k int) int {
	lo := lit[k]
	up := lo
	if lo >= 'a' && lo <= 'z' {
		up = lo - 'a' + 'A'
	}
	for i, fails := from+k, 0; i < len(s); fails++ {
		// The upper case is searched only up to the next lower-case hit:
		// searching on to the end of s on every call would make a rare
		// upper case cost O(len(s)) per call.
		j := bytes.IndexByte(s[i:], lo)
		limit := len(s)
		if j >= 0 {
			j += i
			limit = j
		}
		if up != lo {
			if u := bytes.IndexByte(s[i:limit], up); u >= 0 {
				j = i + u
			}
		}
		if j < 0 {
			return -1
		}
		start := j - k
		if start+len(lit) <= len(s) && equalFoldASCII(s[start:start+len(lit)], lit) {
			return start
		}
		i = j + 1
		// An IndexByte restart costs about as much as the pair search
		// spends on 100 bytes: below that spacing, the pair search wins.
		if fails > 8 && i-from < fails*100 {
			return indexFoldPair(s, start+1, lit, k)
		}
	}
	return -1
}

// indexFold finds lit (lower-case ASCII letters and other bytes) in s at or
// after from, ignoring ASCII case. It scans for the literal's rarest byte
// (index k) with IndexByte, in both cases, and verifies around each hit.
// *jl and *ju cache the next positions of the lower- and upper-case rare
// byte (-2: unknown, -1: none left) across calls over the same s, so that a
// rare case variant is not searched for again on every call.
func indexFold(s []byte, from int, lit []byte, k int, jl, ju *int) int {
	lo := lit[k]
	up := lo
	if lo >= 'a' && lo <= 'z' {
		up = lo - 'a' + 'A'
	}
	i := from + k
	for i < len(s) {
		if *jl != -1 && *jl < i {
			if *jl = bytes.IndexByte(s[i:], lo); *jl >= 0 {
				*jl += i
			}
		}
		j := *jl
		if up != lo {
			if *ju != -1 && *ju < i {
				if *ju = bytes.IndexByte(s[i:], up); *ju >= 0 {
					*ju += i
				}
			}
			if *ju >= 0 && (j < 0 || *ju < j) {
				j = *ju
			}
		}
		if j < 0 {
			return -1
		}
		start := j - k
		if start+len(lit) <= len(s) && equalFoldASCII(s[start:start+len(lit)], lit) {
			return start
		}
		i = j + 1
	}
	return -1
}

func toLowerASCII(b []byte) []byte {
	out := make([]byte, len(b))
	for i, c := range b {
		if c >= 'A' && c <= 'Z' {
			c += 'a' - 'A'
		}
		out[i] = c
	}
	return out
}

func equalFoldASCII(s, lower []byte) bool {
	for i, c := range s {
		if c >= 'A' && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != lower[i] {
			return false
		}
	}
	return true
}

// rarest returns the index of the byte of lit least frequent in log text,
// by a rough English/log letter ranking.
func rarest(lit []byte) int {
	const common = " etaoinsrhldcumfpgwybvkxjqz" // most to least frequent
	best, bestRank := 0, -1
	for i, c := range lit {
		var rank int
		switch {
		case c >= 'a' && c <= 'z' || c == ' ':
			rank = bytes.IndexByte([]byte(common), c)
		case c >= 'A' && c <= 'Z': // rarer than lower case, in the same order
			rank = len(common) + bytes.IndexByte([]byte(common), c+'a'-'A')
		case c >= '0' && c <= '9' || bytes.IndexByte([]byte(`"=:,.-_/{}[]`), c) >= 0:
			rank = 1 // timestamps, JSON and logfmt syntax: everywhere
		default:
			rank = 2 * len(common) // other punctuation: rare
		}
		if rank > bestRank {
			best, bestRank = i, rank
		}
	}
	return best
}
