package logs

import (
	"regexp/syntax"
	"unicode"
	"unicode/utf8"
)

// The literal analysis behind prefilter: which byte strings every match of
// a parsed regexp must contain, or which bytes it must start with.

type litSet struct {
	lits   [][]byte
	fold   bool
	starts *[256]bool
	and    *litSet // another set every match also holds
}

// score is the length of the shortest literal: longer means fewer false
// candidates. A start-byte set scores as a 3-byte literal: checking one byte
// is cheap, and an anchored regexp fails at once.
func (s litSet) score() int {
	m := -1
	for _, l := range s.lits {
		if m < 0 || len(l) < m {
			m = len(l)
		}
	}
	if s.starts != nil && (m < 0 || m > 3) {
		m = 3
	}
	return m
}

func (s *litSet) union(o litSet) {
	s.and = nil // an alternative need not hold it
	s.lits = append(s.lits, o.lits...)
	s.fold = s.fold || o.fold
	if o.starts != nil {
		if s.starts == nil {
			s.starts = new([256]bool)
		}
		for i, ok := range o.starts {
			s.starts[i] = s.starts[i] || ok
		}
	}
}

// required returns a set of literals at least one of which occurs in any
// text that re matches (or the bytes such a text starts with).
func required(re *syntax.Regexp) (litSet, bool) {
	switch re.Op {
	case syntax.OpLiteral:
		lits, fold, ok := exact(re)
		return litSet{lits: lits, fold: fold}, ok && len(lits[0]) > 0
	case syntax.OpCapture, syntax.OpPlus:
		return required(re.Sub[0])
	case syntax.OpRepeat:
		if re.Min >= 1 {
			return required(re.Sub[0])
		}
		return litSet{}, false
	case syntax.OpConcat:
		return requiredConcat(re.Sub)
	case syntax.OpAlternate:
		var out litSet
		for _, sub := range re.Sub {
			s, ok := required(sub)
			if !ok {
				return litSet{}, false
			}
			out.union(s)
		}
		return out, true
	}
	return litSet{}, false
}

// requiredConcat picks the best of: each run of adjacent subexpressions
// with a small exact set of strings (their cross product, so that `"l(?:evel|vl)"`
// yields `"level"` and `"lvl"`, not the factored-out `l`), the required set
// of any other subexpression, and, when anchored at the text start, the
// set of first bytes.
func requiredConcat(subs []*syntax.Regexp) (litSet, bool) {
	best, found := litSet{}, false
	var second *litSet // the best other literal set, for an AND
	consider := func(s litSet) {
		if !found || s.score() > best.score() {
			if found && best.starts == nil && best.and == nil {
				b := best
				second = &b
			}
			best, found = s, true
		} else if s.starts == nil && s.and == nil && (second == nil || s.score() > second.score()) {
			second = &s
		}
	}
	var run [][]byte
	var runFold, inRun bool
	flush := func() {
		if inRun && len(run) > 0 && minLen(run) > 0 {
			consider(litSet{lits: run, fold: runFold})
		}
		run, runFold, inRun = nil, false, false
	}
	for _, sub := range subs {
		set, fold, ok := exact(sub)
		if ok && minLen(set) == 0 && maxLen(set) > 0 {
			// Optional text (d? in timed?): extending the run through it
			// multiplies the literals without making the shortest longer.
			ok = false
		}
		if ok {
			if !inRun {
				run, inRun = [][]byte{nil}, true
			}
			next := cross(run, set)
			if next == nil { // too many strings: a new run starts here
				flush()
				run, inRun, next = [][]byte{nil}, true, set
			}
			run, runFold = next, runFold || fold
			continue
		}
		flush()
		if s, ok := required(sub); ok {
			consider(s)
		}
	}
	flush()
	if len(subs) > 1 && subs[0].Op == syntax.OpBeginText {
		if st, ok := firstBytes(subs[1:]); ok {
			consider(litSet{starts: st})
		}
	}
	if found && best.and == nil && second != nil && second.score() >= 2 {
		best.and = second
	}
	return best, found
}

const maxExact = 64

func maxLen(ss [][]byte) int {
	m := 0
	for _, s := range ss {
		m = max(m, len(s))
	}
	return m
}

func minLen(ss [][]byte) int {
	m := -1
	for _, s := range ss {
		if m < 0 || len(s) < m {
			m = len(s)
		}
	}
	return m
}

// cross returns every a+b, or nil when there would be more than maxExact.
func cross(as, bs [][]byte) [][]byte {
	if len(as)*len(bs) > maxExact {
		return nil
	}
	out := make([][]byte, 0, len(as)*len(bs))
	for _, a := range as {
		for _, b := range bs {
			out = append(out, append(append([]byte(nil), a...), b...))
		}
	}
	return out
}

// exact returns every string re can match, when they are few; zero-width
// assertions match "". fold: some strings match in any ASCII case.
func exact(re *syntax.Regexp) ([][]byte, bool, bool) {
	switch re.Op {
	case syntax.OpLiteral:
		fold := re.Flags&syntax.FoldCase != 0
		var b []byte
		for _, r := range re.Rune {
			if r == utf8.RuneError {
				return nil, false, false // matches invalid bytes too
			}
			if fold && !asciiFoldOnly(r) {
				return nil, false, false
			}
			b = utf8.AppendRune(b, r)
		}
		return [][]byte{b}, fold, true
	case syntax.OpEmptyMatch, syntax.OpBeginText, syntax.OpEndText, syntax.OpBeginLine, syntax.OpEndLine,
		syntax.OpWordBoundary, syntax.OpNoWordBoundary:
		return [][]byte{nil}, false, true
	case syntax.OpCapture:
		return exact(re.Sub[0])
	case syntax.OpQuest:
		s, fold, ok := exact(re.Sub[0])
		if !ok || len(s) >= maxExact {
			return nil, false, false
		}
		return append(s, nil), fold, true
	case syntax.OpCharClass:
		var out [][]byte
		for i := 0; i+1 < len(re.Rune); i += 2 {
			lo, hi := re.Rune[i], re.Rune[i+1]
			if hi >= utf8.RuneSelf || hi-lo >= 8 || len(out)+int(hi-lo)+1 > 8 {
				return nil, false, false
			}
			for r := lo; r <= hi; r++ {
				out = append(out, []byte{byte(r)})
			}
		}
		return out, false, len(out) > 0
	case syntax.OpConcat:
		run := [][]byte{nil}
		fold := false
		for _, sub := range re.Sub {
			s, f, ok := exact(sub)
			if !ok {
				return nil, false, false
			}
			if run = cross(run, s); run == nil {
				return nil, false, false
			}
			fold = fold || f
		}
		return run, fold, true
	case syntax.OpAlternate:
		var out [][]byte
		fold := false
		for _, sub := range re.Sub {
			s, f, ok := exact(sub)
			if !ok || len(out)+len(s) > maxExact {
				return nil, false, false
			}
			out = append(out, s...)
			fold = fold || f
		}
		return out, fold, true
	}
	return nil, false, false
}

// firstBytes returns the set of bytes a match of the concatenation subs
// must start with, when it is small (at most 8 bytes).
func firstBytes(subs []*syntax.Regexp) (*[256]bool, bool) {
	for _, sub := range subs {
		switch sub.Op {
		case syntax.OpWordBoundary, syntax.OpNoWordBoundary:
			continue // zero-width: the next one consumes the first byte
		}
		var set [256]bool
		n := 0
		add := func(c byte) {
			if !set[c] {
				set[c] = true
				n++
			}
		}
		switch sub.Op {
		case syntax.OpLiteral:
			r := sub.Rune[0]
			if r >= utf8.RuneSelf {
				return nil, false
			}
			if sub.Flags&syntax.FoldCase != 0 {
				if !asciiFoldOnly(r) {
					return nil, false
				}
				add(byte(unicode.ToLower(r)))
				add(byte(unicode.ToUpper(r)))
			} else {
				add(byte(r))
			}
		case syntax.OpCharClass:
			for i := 0; i+1 < len(sub.Rune); i += 2 {
				lo, hi := sub.Rune[i], sub.Rune[i+1]
				if hi >= utf8.RuneSelf || hi-lo >= 8 {
					return nil, false
				}
				for r := lo; r <= hi; r++ {
					add(byte(r))
				}
			}
		case syntax.OpCapture, syntax.OpPlus:
			return firstBytes(sub.Sub[:1])
		case syntax.OpRepeat:
			if sub.Min < 1 {
				return nil, false
			}
			return firstBytes(sub.Sub[:1])
		case syntax.OpConcat:
			return firstBytes(sub.Sub)
		default:
			return nil, false
		}
		if n == 0 || n > 8 {
			return nil, false
		}
		return &set, true
	}
	return nil, false
}

// pureSet returns the strings re matches when it is only literals,
// alternations, concatenations and small classes (no assertions, no
// repetition), all case-sensitive or all ASCII case-insensitive: then a
// line matches exactly when it holds one of them.
func pureSet(re *syntax.Regexp) ([][]byte, bool, bool) {
	var fold, plain bool
	var walk func(*syntax.Regexp) bool
	walk = func(re *syntax.Regexp) bool {
		switch re.Op {
		case syntax.OpLiteral:
			if re.Flags&syntax.FoldCase != 0 {
				fold = true
			} else {
				plain = true
			}
			return true
		case syntax.OpCharClass:
			// [Ss] is case-insensitive, [EF] case-sensitive
			closed := true
			in := func(r rune) bool {
				for i := 0; i+1 < len(re.Rune); i += 2 {
					if re.Rune[i] <= r && r <= re.Rune[i+1] {
						return true
					}
				}
				return false
			}
			for i := 0; i+1 < len(re.Rune); i += 2 {
				for r := re.Rune[i]; r <= re.Rune[i+1] && r < utf8.RuneSelf; r++ {
					if unicode.IsLetter(r) && !in(unicode.ToUpper(r)) || !in(unicode.ToLower(r)) {
						closed = false
					}
				}
			}
			if closed {
				fold = true
			} else {
				plain = true
			}
			return true
		case syntax.OpEmptyMatch:
			return true
		case syntax.OpCapture, syntax.OpConcat, syntax.OpAlternate, syntax.OpQuest:
			for _, sub := range re.Sub {
				if !walk(sub) {
					return false
				}
			}
			return true
		}
		return false
	}
	if !walk(re) || (fold && plain) {
		return nil, false, false
	}
	lits, _, ok := exact(re)
	if !ok || minLen(lits) == 0 {
		return nil, false, false
	}
	return lits, fold, true
}
