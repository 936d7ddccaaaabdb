package logs

import (
	"fmt"
	"os"
	"regexp"

	"gopkg.in/yaml.v3"
)

// DefaultRulesYAML is the rule set used without --logs.rules-file: one rule,
// so that the mixin's sum over rules counts each error once. docs/logs.md
// explains each pattern.
const DefaultRulesYAML = `rules:
  - name: error
    regex:
      # level words in any case, as whole words: ERROR, Error:, [error], SEVERE
      # ((?-i:[Ss]): under (?i) an s also matches U+017F, which no literal
      # search can skip to)
      - '(?i)\b(?:error|fatal|critical|crit|emerg|exception|(?-i:[Ss])evere)\b'
      # klog: E or F, then MMDD (E1003 05:25:08.939282 …)
      - '^[EF]\d{4} \d\d:\d\d:\d\d'
      # JSON and logfmt level fields with values the words above miss
      - '"(?:level|lvl|severity|loglevel)" ?: ?(?:"(?i:err|eror|alert|emergency|panic|dpanic)"|[56]0\b)'
      - '\b(?:level|lvl|severity)="?(?i:err|eror|alert|emergency|panic|dpanic)\b'
      # Go panics ("fatal error: …" has a level word)
      - '^panic: '
      # JVM stack trace heads (java.lang.IllegalStateException: boom), Python tracebacks
      - '^(?:[\w$]+\.)+[\w$]*(?:Exception|Error)(?::|$)'
      - '^Traceback \(most recent call last\):'
    # A stack trace is one event with the line that starts it.
    continuation:
      - '^\s'
      - '^$'
      - '^Caused by: '
      - '^goroutine \d+ '
      - '^created by '
      - '^\[signal '
      - '^[\w./*()-]+\(.*\)$'
      - '^Traceback \(most recent call last\):'
      - '^[A-Za-z_]\w*(?:Error|Exception|Warning)(?::|$)'
      - '^(?:The above exception was the direct cause|During handling of the above exception)'
    # An exception printed right after the logger's own error line.
    attached:
      - '^(?:[\w$]+\.)+[\w$]*(?:Exception|Error)(?::|$)'
`

// rule is one compiled matching rule.
type rule struct {
	name    string
	alts    []matcher // the rule matches a line when any of them does
	streams [numStreams]bool
	// cont: after a counted line, the lines of the same stream that match
	// it are part of the same event (a stack trace) and not counted again;
	// attached: only the line right after the counted one.
	cont     []matcher
	attached []matcher
	numLits  int // of all alts' prefilters
}

// matcher is one regexp of a rule with its prefilter.
type matcher struct {
	re  *regexp.Regexp
	pre prefilter
}

// anyMatch reports whether one of ms matches line.
func anyMatch(ms []matcher, line []byte) bool {
	for i := range ms {
		if ms[i].pre.candidate(line) && ms[i].confirm(line) {
			return true
		}
	}
	return false
}

// confirm reports whether a line that passed the prefilter matches.
func (m *matcher) confirm(line []byte) bool {
	if m.pre.exact != exactNo {
		return m.pre.matches(line)
	}
	return m.re.Match(line)
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
				res, err := regexList(v, "regex", errAt)
				if err != nil {
					return nil, err
				}
				for _, re := range res {
					r.alts = append(r.alts, matcher{re: re, pre: newPrefilter(re.String())})
				}
				haveRegex = true
			case "continuation", "attached":
				res, err := regexList(v, k.Value, errAt)
				if err != nil {
					return nil, err
				}
				// Kept apart, not joined into one alternation: each anchored
				// regexp then fails at the first byte, and has a prefilter.
				ms := make([]matcher, len(res))
				for i, re := range res {
					ms[i] = matcher{re: re, pre: newPrefilter(re.String())}
				}
				if k.Value == "attached" {
					r.attached = ms
				} else {
					r.cont = ms
				}
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
				return nil, errAt(k, "unknown key %q in rule; known keys: name, regex, streams, continuation, attached", k.Value)
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
		for _, m := range r.alts {
			r.numLits += len(m.pre.lits)
		}
		rs.numLits += r.numLits
		rs.rules = append(rs.rules, r)
	}
	return rs, nil
}

// regexList compiles a rule's regex or continuation: one string, or a list
// of strings of which any may match.
func regexList(v *yaml.Node, key string, errAt func(*yaml.Node, string, ...any) error) ([]*regexp.Regexp, error) {
	items := []*yaml.Node{v}
	if v.Kind == yaml.SequenceNode {
		items = v.Content
	}
	if len(items) == 0 {
		return nil, errAt(v, "%s must be a non-empty string or a non-empty list of strings", key)
	}
	var out []*regexp.Regexp
	for _, n := range items {
		if n.Kind != yaml.ScalarNode || n.Value == "" {
			return nil, errAt(n, "%s must be a non-empty string or a non-empty list of strings", key)
		}
		re, err := regexp.Compile(n.Value)
		if err != nil {
			return nil, errAt(n, "invalid regex %q: %v (Go RE2 syntax, see https://golang.org/s/re2syntax)", n.Value, err)
		}
		out = append(out, re)
	}
	return out, nil
}
