package logging

import (
	"fmt"
	"strings"

	"github.com/go-kit/log"
)

// foldLines keeps each logfmt record on one readable line. logfmt escapes a
// newline inside a value as the two characters \n, so a YAML error or an
// errors.Join would read as `err="yaml: unmarshal errors:\n  line 5: ..."`.
// Lines are trimmed and joined with "; ", or with a space after a line that
// ends in ":" (a heading such as "yaml: unmarshal errors:"). JSON output is
// left as it is: JSON readers decode \n.
type foldLines struct{ next log.Logger }

func (f foldLines) Log(kv ...any) error {
	var out []any
	for i := 1; i < len(kv); i += 2 {
		s, ok := text(kv[i])
		if !ok || !strings.Contains(s, "\n") {
			continue
		}
		if out == nil {
			out = append([]any(nil), kv...)
		}
		out[i] = fold(s)
	}
	if out == nil {
		return f.next.Log(kv...)
	}
	return f.next.Log(out...)
}

// text returns the string logfmt would write for v, for the value types that
// can hold newlines. A nil pointer behind an error or Stringer panics in its
// method; logfmt prints those itself, so they are left alone.
func text(v any) (s string, ok bool) {
	defer func() {
		if recover() != nil {
			s, ok = "", false
		}
	}()
	switch x := v.(type) {
	case string:
		return x, true
	case error:
		return x.Error(), true
	case fmt.Stringer:
		return x.String(), true
	}
	return "", false
}

func fold(s string) string {
	var b strings.Builder
	prev := ""
	for _, line := range strings.Split(s, "\n") {
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		switch {
		case prev == "":
		case strings.HasSuffix(prev, ":"):
			b.WriteByte(' ')
		default:
			b.WriteString("; ")
		}
		b.WriteString(line)
		prev = line
	}
	return b.String()
}
