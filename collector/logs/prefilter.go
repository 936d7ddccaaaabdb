package logs

import (
	"bytes"
	"regexp/syntax"
	"slices"
	"unicode"
	"unicode/utf8"
)

// prefilter says cheaply whether a line may match a regexp: every match
// contains one of lits, or (for a regexp anchored at the line start) begins
// with a byte in starts. Lines passing neither skip the regexp, which is
// where Go's regexp engine is slow (it scans the whole line to fail).
type prefilter struct {
	lits   [][]byte
	rare   []int      // per literal: index of its rarest byte (fold search)
	fold   bool       // ASCII case-insensitive search
	starts *[256]bool // first bytes of an anchored match; nil: none
	none   bool       // no usable literal: always run the regexp
	// exact: the regexp matches exactly the lines holding one of exactLits
	// (ERROR|EXCEPTION), or holding one as a whole word (\b(?:a|b)\b), so
	// it need not run: see matches. hitIsMatch: exactLits are lits, so a
	// candidate matches.
	exact      uint8
	exactLits  *prefilter
	hitIsMatch bool
	// and: a second literal set every match also holds, checked in the
	// candidate line only ("level=" finds the line, "err" confirms).
	and *prefilter
}

const (
	exactNo = iota
	exactAny
	exactWord
)

func newPrefilter(expr string) prefilter {
	re, err := syntax.Parse(expr, syntax.Perl)
	if err != nil {
		return prefilter{none: true}
	}
	re = re.Simplify()
	set, ok := required(re)
	if !ok || (len(set.lits) == 0 && set.starts == nil) {
		return prefilter{none: true}
	}
	p := literals(set, false)
	if set.and != nil {
		if a := literals(*set.and, false); !a.none && len(a.lits) > 0 {
			p.and = &a
		}
	}
	if lits, fold, ok := pureSet(re); ok {
		e := literals(litSet{lits: lits, fold: fold}, false)
		p.exact, p.exactLits = exactAny, &e
	} else if n := len(re.Sub); re.Op == syntax.OpConcat && n >= 3 && re.Sub[0].Op == syntax.OpWordBoundary && re.Sub[n-1].Op == syntax.OpWordBoundary {
		if lits, fold, ok := pureSet(&syntax.Regexp{Op: syntax.OpConcat, Sub: re.Sub[1 : n-1]}); ok {
			e := literals(litSet{lits: lits, fold: fold}, true)
			p.exact, p.exactLits = exactWord, &e
		}
	}
	p.hitIsMatch = p.exact == exactAny && p.starts == nil && p.fold == p.exactLits.fold &&
		slices.EqualFunc(p.lits, p.exactLits.lits, bytes.Equal)
	return p
}

// literals normalizes a literal set: lower-cased when folded, sorted,
// without duplicates and (unless words) without literals holding another.
func literals(set litSet, words bool) prefilter {
	p := prefilter{fold: set.fold, starts: set.starts}
	for _, l := range set.lits {
		if len(l) == 0 {
			return prefilter{none: true}
		}
		if set.fold {
			l = toLowerASCII(l)
		}
		p.lits = append(p.lits, l)
	}
	// A literal containing another is redundant: "critical" holds "crit".
	// Not so for whole words: "crit" is no whole word in "critical".
	p.lits = slices.DeleteFunc(p.lits, func(l []byte) bool {
		if words {
			return false
		}
		for _, o := range p.lits {
			if len(o) < len(l) && bytes.Contains(l, o) {
				return true
			}
		}
		return false
	})
	slices.SortFunc(p.lits, bytes.Compare)
	p.lits = slices.CompactFunc(p.lits, bytes.Equal)
	for _, l := range p.lits {
		p.rare = append(p.rare, rarest(l))
	}
	return p
}

// matches reports whether a candidate line matches, for an exact prefilter.
func (p *prefilter) matches(line []byte) bool {
	if p.hitIsMatch {
		return true // the candidate holds a literal
	}
	e := p.exactLits
	if p.exact == exactAny {
		for k := range e.lits {
			if e.find(line, 0, k) >= 0 {
				return true
			}
		}
		return false
	}
	for k, l := range e.lits {
		for from := 0; ; {
			i := e.find(line, from, k)
			if i < 0 {
				break
			}
			end := i + len(l)
			if (i == 0 || !isWordByte(line[i-1])) && (end == len(line) || !isWordByte(line[end])) {
				return true
			}
			from = i + 1
		}
	}
	return false
}

// isWordByte is \b's notion of a word character (ASCII only).
func isWordByte(c byte) bool {
	return c == '_' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
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
	if p.none || (p.starts != nil && len(line) > 0 && p.starts[line[0]]) {
		return p.andHolds(line)
	}
	for k := range p.lits {
		if p.find(line, 0, k) >= 0 {
			return p.andHolds(line)
		}
	}
	return false
}

// andHolds reports whether line holds one of the and-literals, if any.
func (p *prefilter) andHolds(line []byte) bool {
	if p.and == nil {
		return true
	}
	for k := range p.and.lits {
		if p.and.find(line, 0, k) >= 0 {
			return true
		}
	}
	return false
}

// find returns the index of literal k in s at or after from, or -1.
func (p *prefilter) find(s []byte, from, k int) int {
	if p.fold {
		if len(p.lits[k]) >= 2 {
			return indexFoldRare(s, from, p.lits[k], p.rare[k])
		}
		jl, ju := -2, -2
		return indexFold(s, from, p.lits[k], p.rare[k], &jl, &ju)
	}
	return indexRare(s, from, p.lits[k], p.rare[k])
}
