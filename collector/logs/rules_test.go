package logs

import (
	"bytes"
	"encoding/json"
	"math/rand/v2"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/go-kit/log"
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
		{"bad regex in list", "rules:\n  - name: a\n    regex:\n      - x\n      - 'y('\n", "rules.yaml:5: invalid regex"},
		{"empty regex list", "rules:\n  - name: a\n    regex: []\n", "rules.yaml:3: regex must be a non-empty"},
		{"bad continuation", "rules:\n  - name: a\n    regex: x\n    continuation: ['(']\n", "rules.yaml:4: invalid regex"},
		{"continuation not a string", "rules:\n  - name: a\n    regex: x\n    continuation: {a: b}\n", "rules.yaml:4: continuation must be"},
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

// defaultMatches runs lines through the default rules as one container's
// log, both as CRI records (the chunk-wide search) and as docker records
// (the per-line path), and returns the error count of each.
func defaultMatches(t *testing.T, lines []string) (cri, docker uint64) {
	t.Helper()
	tl, err := NewTailer(Config{Path: t.TempDir()}, log.NewNopLogger())
	if err != nil {
		t.Fatal(err)
	}
	var c, d strings.Builder
	for _, l := range lines {
		c.WriteString("2025-03-21T14:51:23.233523365Z stderr F " + l + "\n")
		b, _ := json.Marshal(map[string]string{"log": l + "\n", "stream": "stderr", "time": "2025-03-21T14:51:23.233523365Z"})
		d.Write(append(b, '\n'))
	}
	run := func(chunk string) uint64 {
		ct := &container{matches: make([]atomic.Uint64, len(tl.rules.rules))}
		s := &series{c: ct}
		w := newWorker(0, tl.rules.numLits)
		if n := tl.consume(w, s, &file{current: true}, []byte(chunk), false, false); n != len(chunk) {
			t.Fatalf("consumed %d of %d", n, len(chunk))
		}
		if got := ct.lines[streamStderr].Load(); got != uint64(len(lines)) {
			t.Fatalf("%d lines counted, want %d", got, len(lines))
		}
		return ct.matches[0].Load()
	}
	return run(c.String()), run(d.String())
}

// TestDefaultRules: the default rule finds errors in the common formats and
// counts a stack trace once.
func TestDefaultRules(t *testing.T) {
	for _, tc := range []struct {
		name  string
		lines []string
		want  uint64
	}{
		{"level words", []string{"request error", "Error: x", "[ERROR] y", "FATAL z", "critical: disk", "[crit] nginx", "Unhandled exception"}, 7},
		{"not whole words", []string{"errors=0", "error_count=3", "terrorist", "ERRORS", "fatalistic", "info ok"}, 0},
		{"klog", []string{"E1003 05:25:08.939282       1 reflector.go:205] failed", "F0102 15:04:05.000000 1 main.go:1] boom",
			"I1003 05:25:08.920151       1 server.go:126] Version", "W1003 05:25:08.926956 1 a.go:47] disabled", "E10 not klog", "Everything fine"}, 2},
		{"json level", []string{`{"level":"error","msg":"x"}`, `{"level":"warn","msg":"x"}`, `{"level":50,"msg":"x"}`, `{"level":30}`,
			`{"level":"dpanic"}`, `{"severity":"ERROR"}`, `{"lvl": "eror"}`, `{"level":"info","msg":"ok"}`, `{"level":500}`}, 5},
		{"logfmt level", []string{"level=error msg=x", "level=info msg=x", "lvl=eror msg=y", "level=panic msg=z", `level="err" msg=a`,
			"level=warning msg=b", "loglevel=debug"}, 4},
		{"go panic, one event", []string{"panic: runtime error: index out of range [5] with length 3", "", "goroutine 1 [running]:",
			"go.uber.org/zap.(*Logger).Error(0xc000010000, {0x4b2f20, 0x5})", "\t/go/pkg/zap/error.go:8 +0x1d", "main.main()",
			"\t/tmp/x.go:8 +0x1d", "exit status 2"}, 1},
		{"go fatal error, one event", []string{"fatal error: concurrent map writes", "", "goroutine 6 gp=0xc000007a40 m=3 [running]:",
			"internal/runtime/maps.fatal({0x4b9b3d?, 0x0?})", "\t/usr/local/go/src/runtime/panic.go:1058 +0x18", "created by main.main in goroutine 1",
			"\t/tmp/x.go:9 +0x25"}, 1},
		{"go panic, custom message", []string{"panic: boom", "", "goroutine 1 [running]:", "main.main()"}, 1},
		{"java uncaught, one event", []string{`Exception in thread "main" java.lang.IllegalStateException: boom`,
			"\tat com.x.Main.run(Main.java:10)", "\tat com.x.Main.main(Main.java:5)", "Caused by: java.lang.Error: inner",
			"\tat com.x.Y.error(Y.java:3)", "\t... 2 more"}, 1},
		{"java logger line and its trace, one event", []string{"2024-01-01 12:00:00.000 ERROR [main] c.x.Svc - request failed",
			"java.lang.IllegalStateException: boom", "\tat c.x.Svc.handle(Svc.java:42)", "\tSuppressed: java.io.IOException: x"}, 1},
		{"bare printStackTrace", []string{"java.io.IOException: broken pipe", "\tat java.base/sun.nio.ch.IOUtil.write(IOUtil.java:62)"}, 1},
		{"events end at a normal line", []string{"ERROR a", "ERROR b", "info", "ERROR c", "\tdetail error"}, 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cri, docker := defaultMatches(t, tc.lines)
			if cri != tc.want || docker != tc.want {
				t.Errorf("matches: CRI %d, docker %d, want %d", cri, docker, tc.want)
			}
		})
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
	lines = append(lines, "E1003 05:25:08.939282", "e1003 05:25:08", "F0102 15:04:05", `{"level":"DPanic"}`, `{"lvl" : 60}`,
		"level=\"ERR\"", "severity=Alert", "xlevel=err", "java.lang.Error", "java.lang.Error: x", "a.b$c.DException:", "Error",
		"CRIT", "crit", "Critical", "EMERG", "panic: ", "\tat x", `"loglevel":"eror"`, "ERRor!")
	exprs = append(exprs, `\b(?:ab|abc)\b`, `(?i)\bcrit(?:ical)?\b`, `x(?:y|z)?w`, `[Ee]rror|[Ss]evere`, `(?i)[Ee]rror`, `\bERROR\b|x`)
	lines = append(lines, "ab", "abc", "abcd", "ab_", "-ab-", "crit critical", "criticalx", "xw", "xyw", "xzw", "xyzw", "severe", "sEVERE", "eRROR")
	wantExact := map[string]uint8{`ERROR|EXCEPTION`: exactAny, `\b(?:ab|abc)\b`: exactWord, `(?i)\bcrit(?:ical)?\b`: exactWord,
		`x(?:y|z)?w`: exactAny, `[Ee]rror|[Ss]evere`: exactNo, `(?i)timed? ?out`: exactAny, `(?i)[Ee]rror`: exactAny, `a+b`: exactNo}
	wantPre := map[string]bool{`ERROR|EXCEPTION`: true, `(?i)timed? ?out`: true, `a+b`: true}
	rs, err := loadRules("")
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range rs.rules[0].alts {
		exprs = append(exprs, m.re.String())
		wantPre[m.re.String()] = true // every default pattern has a cheap prefilter
	}
	for _, expr := range exprs {
		re := regexp.MustCompile(expr)
		p := newPrefilter(expr)
		if want, ok := wantExact[expr]; ok && p.exact != want {
			t.Errorf("%s: exact = %d, want %d", expr, p.exact, want)
		}
		if wantPre[expr] && p.none {
			t.Errorf("%s: expected a usable literal prefilter", expr)
		}
		for _, l := range lines {
			if re.MatchString(l) && !p.candidate([]byte(l)) {
				t.Errorf("%s: prefilter rejects %q which matches", expr, l)
			}
			if p.exact != exactNo && re.MatchString(l) != (p.candidate([]byte(l)) && p.matches([]byte(l))) {
				t.Errorf("%s: exact prefilter says %v for %q, the regexp %v", expr, !re.MatchString(l), l, re.MatchString(l))
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
	f.Add(`^[EF]\d{4} \d\d`, "E1003 05")
	f.Add(`"(?:level|lvl)" ?: ?"(?i:err|panic)"`, `{"lvl" : "PANIC"}`)
	f.Add(`\b(?:level|lvl)="?(?i:err|eror)\b`, `level="Eror"`)
	f.Add(`^(?:[\w$]+\.)+[\w$]*(?:Exception|Error)(?::|$)`, "java.lang.Error")
	f.Fuzz(func(t *testing.T, expr, line string) {
		re, err := regexp.Compile(expr)
		if err != nil {
			return
		}
		p := newPrefilter(expr)
		if re.MatchString(line) && !p.candidate([]byte(line)) {
			t.Fatalf("%q matches %q but the prefilter rejects it", expr, line)
		}
		if p.exact != exactNo && re.MatchString(line) != (p.candidate([]byte(line)) && p.matches([]byte(line))) {
			t.Fatalf("%q on %q: the exact prefilter disagrees with the regexp", expr, line)
		}
	})
}

// TestFoldSearchAgainstNaive compares the SWAR pair search, the
// single-byte search and the rare-byte search with naive searches, from every
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
	exactNaive := func(s []byte, from int, lit []byte) int {
		if i := bytes.Index(s[from:], lit); i >= 0 {
			return from + i
		}
		return -1
	}
	for _, lit := range []string{"time", "out", "me", "t", "@x", " o", "TiMe", "ee", "EE", "M"} {
		fold := lit == strings.ToLower(lit) // else the case-sensitive search
		naive := naive
		if !fold {
			naive = exactNaive
		}
		p := prefilter{lits: [][]byte{[]byte(lit)}, rare: []int{rarest([]byte(lit))}, fold: fold}
		for n := 0; n < 300; n++ {
			size := 40
			if n%10 == 0 {
				size = 300 // long enough for the searches to switch method
			}
			s := make([]byte, rng.IntN(size))
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

// TestContinuationPerStream: an event on one stream is not continued or
// ended by the other stream's lines; attached lines continue it only right
// after its head; a user rules file can declare both.
func TestContinuationPerStream(t *testing.T) {
	rules := filepath.Join(t.TempDir(), "rules.yaml")
	if err := os.WriteFile(rules, []byte("rules:\n  - name: crash\n    regex: boom\n    continuation: '^\\s'\n    attached: ['^goroutine ']\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	tl, err := NewTailer(Config{Path: t.TempDir(), RulesFile: rules}, log.NewNopLogger())
	if err != nil {
		t.Fatal(err)
	}
	recs := []struct{ stream, msg string }{
		{"stderr", "boom a"},         // counted
		{"stdout", "plain"},          // other stream: does not end stderr's event
		{"stderr", "goroutine boom"}, // attached: right after the head on stderr
		{"stdout", "boom b"},         // counted
		{"stderr", "\tboom"},         // continues a
		{"stderr", "goroutine boom"}, // not right after the head: counted
		{"stdout", "\tboom"},         // continues b
		{"stderr", "\tboom"},         // continues the last stderr event
	}
	var b strings.Builder
	for _, r := range recs {
		b.WriteString("2025-03-21T14:51:23.233523365Z " + r.stream + " F " + r.msg + "\n")
	}
	ct := &container{matches: make([]atomic.Uint64, 1)}
	chunk := []byte(b.String())
	if n := tl.consume(newWorker(0, tl.rules.numLits), &series{c: ct}, &file{current: true}, chunk, false, false); n != len(chunk) {
		t.Fatalf("consumed %d of %d", n, len(chunk))
	}
	if got := ct.matches[0].Load(); got != 3 {
		t.Errorf("crash events = %d, want 3", got)
	}
}
