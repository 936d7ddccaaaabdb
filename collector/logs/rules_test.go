package logs

import (
	"math/rand/v2"
	"regexp"
	"strings"
	"testing"
)

func TestParseRulesErrors(t *testing.T) {
	tests := []struct {
		name, yaml, want string
	}{
		{"bad regex", "rules:\n  - name: a\n    regex: 'ERROR('\n", "rules.yaml:3: invalid regex"},
		{"unknown rule key", "rules:\n  - name: a\n    regex: x\n    stream: [stdout]\n", "rules.yaml:4: unknown key \"stream\""},
		{"unknown top key", "rule:\n  - name: a\n", "rules.yaml:1: unknown key \"rule\""},
		{"bad stream", "rules:\n  - name: a\n    regex: x\n    streams: [stdin]\n", "rules.yaml:4: unknown stream \"stdin\""},
		{"duplicate name", "rules:\n  - name: a\n    regex: x\n  - name: a\n    regex: y\n", "rules.yaml:4: rule name \"a\" already used on line 2"},
		{"missing regex", "rules:\n  - name: a\n", "rules.yaml:2: rule \"a\" has no regex"},
		{"bad name", "rules:\n  - name: 'a b'\n    regex: x\n", "rules.yaml:2: rule name"},
		{"empty list", "rules: []\n", "non-empty list"},
		{"not yaml", "rules: [\n", "invalid YAML"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := parseRules("rules.yaml", []byte(tc.yaml))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want it to contain %q", err, tc.want)
			}
		})
	}
}

func TestDefaultRules(t *testing.T) {
	rs, err := loadRules("")
	if err != nil {
		t.Fatal(err)
	}
	if rs.rules[0].re.String() != "ERROR|EXCEPTION" {
		t.Errorf("first default rule = %s, want the seed's ERROR|EXCEPTION", rs.rules[0].re)
	}
}

// TestPrefilterAgreesWithRegexp: the prefilter may let lines through that do
// not match, never reject one that does.
func TestPrefilterAgreesWithRegexp(t *testing.T) {
	exprs := []string{`ERROR|EXCEPTION`, `(?i)timed? ?out`, `^panic: |^fatal error: `, `OutOfMemoryError|(?i)out of memory`,
		`(?i)kelvin`, `(?i)class`, `a+b`, `x*`, `[Ee]rror`, `(foo){2,}bar`, `\bWARN\b`, `(?i)ÉTÉ`}
	lines := []string{"", "ERROR", "an EXCEPTION here", "TIMEOUT", "timed  out", "Timed Out", "time out", "ſ class", "CLASS",
		"\u212Aelvin", "KELVIN", "panic: x", "x panic: ", "Out Of Memory", "OUT OF MEMORYERROR", "aab", "Error", "foofoobar",
		"WARN!", "été", "ÉTÉ", "\xff\xfeERROR", "\x00timeout"}
	wantPre := map[string]bool{`ERROR|EXCEPTION`: true, `(?i)timed? ?out`: true, `a+b`: true}
	for _, expr := range exprs {
		re := regexp.MustCompile(expr)
		p := newPrefilter(expr)
		if wantPre[expr] && p.none {
			t.Errorf("%s: expected a usable literal prefilter", expr)
		}
		for _, l := range lines {
			if re.MatchString(l) && !p.candidate([]byte(l)) {
				t.Errorf("%s: prefilter rejects %q which matches", expr, l)
			}
		}
	}
	// and it does reject lines without the literal
	p := newPrefilter(`(?i)timed? ?out`)
	if p.candidate([]byte("all good here")) {
		t.Error("fold prefilter accepted a line without the literal")
	}
}

func FuzzPrefilter(f *testing.F) {
	f.Add("ERROR|EXCEPTION", "x ERROR y")
	f.Add("(?i)timed? ?out", "TIMED OUT")
	f.Add("(?i)k", "\u212A")
	f.Fuzz(func(t *testing.T, expr, line string) {
		re, err := regexp.Compile(expr)
		if err != nil {
			return
		}
		p := newPrefilter(expr)
		if re.MatchString(line) && !p.candidate([]byte(line)) {
			t.Fatalf("%q matches %q but the prefilter rejects it", expr, line)
		}
	})
}

// TestFoldSearchAgainstNaive compares the SWAR pair search and the
// single-byte search with a naive ASCII case-insensitive search, from every
// start offset, on random text over a small alphabet (many near misses).
func TestFoldSearchAgainstNaive(t *testing.T) {
	naive := func(s []byte, from int, lit []byte) int {
		for i := from; i+len(lit) <= len(s); i++ {
			if strings.EqualFold(string(s[i:i+len(lit)]), string(lit)) {
				return i
			}
		}
		return -1
	}
	rng := rand.New(rand.NewPCG(3, 4))
	const alpha = "tTiImMeE  o@`\x00\xff"
	for _, lit := range []string{"time", "out", "me", "t", "@x", " o"} {
		p := prefilter{lits: [][]byte{[]byte(lit)}, rare: []int{rarest([]byte(lit))}, fold: true}
		for n := 0; n < 300; n++ {
			s := make([]byte, rng.IntN(40))
			for i := range s {
				s[i] = alpha[rng.IntN(len(alpha))]
			}
			for from := 0; from <= len(s); from++ {
				if got, want := p.find(s, from, 0), naive(s, from, []byte(lit)); got != want {
					t.Fatalf("find(%q, %d, %q) = %d, want %d", s, from, lit, got, want)
				}
			}
		}
	}
}
