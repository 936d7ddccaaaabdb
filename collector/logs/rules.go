package logs

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math/bits"
	"os"
	"regexp"
	"regexp/syntax"
	"unicode"
	"unicode/utf8"

	"gopkg.in/yaml.v3"
)

// DefaultRulesYAML is the rule set used without --logs.rules-file. The first
// rule is the seed's ERROR|EXCEPTION scan; docs/logs.md lists them.
const DefaultRulesYAML = `rules:
  - name: error
    regex: 'ERROR|EXCEPTION'
  - name: panic
    regex: '^panic: |^fatal error: '
    streams: [stderr]
  - name: oom
    regex: 'OutOfMemoryError|(?i)out of memory'
`

// rule is one compiled matching rule.
type rule struct {
	name    string
	re      *regexp.Regexp
	streams [numStreams]bool // which streams it applies to
	pre     prefilter
}

type ruleSet struct {
	rules   []*rule
	numLits int // literals of all prefilters, for the chunk-wide search
}

var ruleNameRE = regexp.MustCompile(`^[a-zA-Z_][a-zA-Z0-9_]*$`)

// loadRules reads --logs.rules-file, or the defaults when path is "".
func loadRules(path string) (*ruleSet, error) {
	if path == "" {
		return parseRules("<default rules>", []byte(DefaultRulesYAML))
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("--logs.rules-file: %w", err)
	}
	return parseRules(path, b)
}

// parseRules decodes the rules YAML through yaml.Node so every error can name
// the file and line of the offending entry.
func parseRules(file string, b []byte) (*ruleSet, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(b, &doc); err != nil {
		return nil, fmt.Errorf("%s: invalid YAML: %v; the file must look like 'rules: [{name: error, regex: \"ERROR\"}]'", file, err)
	}
	errAt := func(n *yaml.Node, format string, args ...any) error {
		return fmt.Errorf("%s:%d: %s", file, n.Line, fmt.Sprintf(format, args...))
	}
	if doc.Kind != yaml.DocumentNode || len(doc.Content) == 0 {
		return nil, fmt.Errorf("%s: empty rules file; add 'rules:' with at least one {name, regex}", file)
	}
	top := doc.Content[0]
	if top.Kind != yaml.MappingNode {
		return nil, errAt(top, "top level must be a mapping with the key 'rules'")
	}
	var list *yaml.Node
	for i := 0; i+1 < len(top.Content); i += 2 {
		k, v := top.Content[i], top.Content[i+1]
		if k.Value != "rules" {
			return nil, errAt(k, "unknown key %q; the only top-level key is 'rules'", k.Value)
		}
		list = v
	}
	if list == nil || list.Kind != yaml.SequenceNode || len(list.Content) == 0 {
		n := top
		if list != nil {
			n = list
		}
		return nil, errAt(n, "'rules' must be a non-empty list of {name, regex, streams}")
	}
	rs := &ruleSet{}
	seen := map[string]int{}
	for _, item := range list.Content {
		if item.Kind != yaml.MappingNode {
			return nil, errAt(item, "each rule must be a mapping with keys name, regex and optionally streams")
		}
		r := &rule{}
		var haveRegex bool
		for i := 0; i+1 < len(item.Content); i += 2 {
			k, v := item.Content[i], item.Content[i+1]
			switch k.Value {
			case "name":
				if v.Kind != yaml.ScalarNode || !ruleNameRE.MatchString(v.Value) {
					return nil, errAt(v, "rule name %q must match %s (it becomes the 'rule' label)", v.Value, ruleNameRE)
				}
				r.name = v.Value
			case "regex":
				if v.Kind != yaml.ScalarNode || v.Value == "" {
					return nil, errAt(v, "regex must be a non-empty string")
				}
				re, err := regexp.Compile(v.Value)
				if err != nil {
					return nil, errAt(v, "invalid regex %q: %v (Go RE2 syntax, see https://golang.org/s/re2syntax)", v.Value, err)
				}
				r.re = re
				haveRegex = true
			case "streams":
				if v.Kind != yaml.SequenceNode || len(v.Content) == 0 {
					return nil, errAt(v, "streams must be a non-empty list of stdout and/or stderr")
				}
				for _, s := range v.Content {
					switch s.Value {
					case "stdout":
						r.streams[streamStdout] = true
					case "stderr":
						r.streams[streamStderr] = true
					default:
						return nil, errAt(s, "unknown stream %q; use stdout or stderr", s.Value)
					}
				}
			default:
				return nil, errAt(k, "unknown key %q in rule; known keys: name, regex, streams", k.Value)
			}
		}
		if r.name == "" {
			return nil, errAt(item, "rule without a name")
		}
		if !haveRegex {
			return nil, errAt(item, "rule %q has no regex", r.name)
		}
		if prev, ok := seen[r.name]; ok {
			return nil, errAt(item, "rule name %q already used on line %d", r.name, prev)
		}
		seen[r.name] = item.Line
		if !r.streams[streamStdout] && !r.streams[streamStderr] {
			// no streams: every stream, including malformed records
			r.streams = [numStreams]bool{true, true, true}
		}
		r.pre = newPrefilter(r.re.String())
		rs.numLits += len(r.pre.lits)
		rs.rules = append(rs.rules, r)
	}
	return rs, nil
}

// prefilter holds literals of which every match of a rule contains at least
// one. Lines containing none skip the regexp, which is where Go's regexp
// engine is slow (it scans the whole line to fail).
type prefilter struct {
	lits [][]byte
	rare []int // per literal: index of its rarest byte (fold search)
	fold bool  // ASCII case-insensitive search
	none bool  // no usable literal: always run the regexp
}

func newPrefilter(expr string) prefilter {
	re, err := syntax.Parse(expr, syntax.Perl)
	if err != nil {
		return prefilter{none: true}
	}
	set, ok := required(re.Simplify())
	if !ok || len(set.lits) == 0 {
		return prefilter{none: true}
	}
	p := prefilter{fold: set.fold}
	for _, l := range set.lits {
		if len(l) == 0 {
			return prefilter{none: true}
		}
		if set.fold {
			l = toLowerASCII(l)
		}
		p.lits = append(p.lits, l)
		p.rare = append(p.rare, rarest(l))
	}
	return p
}

type litSet struct {
	lits [][]byte
	fold bool
}

// score is the length of the shortest literal: longer means fewer false
// candidates.
func (s litSet) score() int {
	m := -1
	for _, l := range s.lits {
		if m < 0 || len(l) < m {
			m = len(l)
		}
	}
	return m
}

// required returns a set of literals at least one of which occurs in any
// text that re matches.
func required(re *syntax.Regexp) (litSet, bool) {
	switch re.Op {
	case syntax.OpLiteral:
		fold := re.Flags&syntax.FoldCase != 0
		var b []byte
		for _, r := range re.Rune {
			if r == utf8.RuneError {
				return litSet{}, false // matches invalid bytes too
			}
			if fold && !asciiFoldOnly(r) {
				return litSet{}, false
			}
			b = utf8.AppendRune(b, r)
		}
		return litSet{lits: [][]byte{b}, fold: fold}, true
	case syntax.OpCapture, syntax.OpPlus:
		return required(re.Sub[0])
	case syntax.OpRepeat:
		if re.Min >= 1 {
			return required(re.Sub[0])
		}
		return litSet{}, false
	case syntax.OpConcat:
		best, found := litSet{}, false
		for _, sub := range re.Sub {
			s, ok := required(sub)
			if ok && (!found || s.score() > best.score()) {
				best, found = s, true
			}
		}
		return best, found
	case syntax.OpAlternate:
		var out litSet
		for _, sub := range re.Sub {
			s, ok := required(sub)
			if !ok {
				return litSet{}, false
			}
			out.lits = append(out.lits, s.lits...)
			out.fold = out.fold || s.fold
		}
		return out, true
	}
	return litSet{}, false
}

// asciiFoldOnly reports whether r is ASCII and every rune that case-folds to
// it is ASCII too (not so for k: U+212A KELVIN SIGN, s: U+017F LONG S).
func asciiFoldOnly(r rune) bool {
	if r >= utf8.RuneSelf {
		return false
	}
	for f := unicode.SimpleFold(r); f != r; f = unicode.SimpleFold(f) {
		if f >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// candidate reports whether line may match.
func (p *prefilter) candidate(line []byte) bool {
	if p.none {
		return true
	}
	for k := range p.lits {
		if p.find(line, 0, k) >= 0 {
			return true
		}
	}
	return false
}

// find returns the index of literal k in s at or after from, or -1.
func (p *prefilter) find(s []byte, from, k int) int {
	if p.fold {
		if len(p.lits[k]) >= 2 {
			return indexFoldPair(s, from, p.lits[k], p.rare[k])
		}
		jl, ju := -2, -2
		return indexFold(s, from, p.lits[k], p.rare[k], &jl, &ju)
	}
	i := bytes.Index(s[from:], p.lits[k])
	if i < 0 {
		return -1
	}
	return from + i
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
		rank := len(common) + 1 // digits, punctuation: rare
		if c >= 'a' && c <= 'z' || c == ' ' {
			rank = bytes.IndexByte([]byte(common), c)
		}
		if rank > bestRank {
			best, bestRank = i, rank
		}
	}
	return best
}
