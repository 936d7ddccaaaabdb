package gen

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/textproto"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// Target is one request the generator sends.
type Target struct {
	Label   string
	Method  string
	URL     *url.URL
	Header  [][2]string // in order; names canonicalised
	Body    []byte
	Weight  int
	rawURL  string
	poolKey string
}

// NewTarget checks and builds a target from flag values.
func NewTarget(method, rawURL string, headers []string, body []byte, label string) (*Target, error) {
	u, err := parseTargetURL(rawURL)
	if err != nil {
		return nil, err
	}
	t := &Target{Method: strings.ToUpper(method), URL: u, Body: body, Weight: 1, Label: label, rawURL: rawURL}
	if !validToken(t.Method) {
		return nil, fmt.Errorf("method %q is not a valid HTTP method token", method)
	}
	for _, h := range headers {
		k, v, ok := strings.Cut(h, ":")
		if !ok || !validToken(strings.TrimSpace(k)) || strings.ContainsAny(v, "\r\n") {
			return nil, fmt.Errorf("header %q: want \"Name: value\", for example \"Accept: application/json\"", h)
		}
		t.Header = append(t.Header, [2]string{textproto.CanonicalMIMEHeaderKey(strings.TrimSpace(k)), strings.TrimSpace(v)})
	}
	t.finish()
	return t, nil
}

func (t *Target) finish() {
	if t.Label == "" {
		t.Label = t.Method + " " + t.URL.EscapedPath()
		if t.URL.EscapedPath() == "" {
			t.Label = t.Method + " /"
		}
	}
	t.poolKey = t.URL.Scheme + "://" + hostPort(t.URL)
}

func parseTargetURL(raw string) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("URL %q: %v; write it as http://host:port/path", raw, err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, fmt.Errorf("URL %q: scheme must be http or https; write it as http://host:port/path", raw)
	}
	if u.Host == "" {
		return nil, fmt.Errorf("URL %q: no host; write it as http://host:port/path", raw)
	}
	return u, nil
}

func hostPort(u *url.URL) string {
	if u.Port() != "" {
		return u.Host
	}
	if u.Scheme == "https" {
		return u.Host + ":443"
	}
	return u.Host + ":80"
}

func validToken(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range []byte(s) {
		if c <= ' ' || c >= 0x7f || strings.IndexByte("()<>@,;:\\\"/[]?={}", c) >= 0 {
			return false
		}
	}
	return true
}

// ReadBody resolves a --body value: "@file" reads the file, anything else is
// the body itself.
func ReadBody(v string) ([]byte, error) {
	if strings.HasPrefix(v, "@") {
		b, err := os.ReadFile(v[1:])
		if err != nil {
			return nil, fmt.Errorf("--body %s: %w", v, err)
		}
		return b, nil
	}
	return []byte(v), nil
}

// targetLine is one line of a targets file (JSON lines).
type targetLine struct {
	URL      string            `json:"url"`
	Method   string            `json:"method"`
	Headers  map[string]string `json:"headers"`
	Body     *string           `json:"body"`
	BodyFile string            `json:"body_file"`
	Weight   *int              `json:"weight"`
	Label    string            `json:"label"`
}

// maxReportedErrors bounds how many bad lines one error message lists.
const maxReportedErrors = 10

// ParseTargets reads a targets file: one JSON object per line, blank lines
// and lines starting with # ignored. name is used in messages and to resolve
// body_file relative to the file. Every bad line is reported with its number.
func ParseTargets(name string, r io.Reader) ([]*Target, error) {
	var out []*Target
	var errs []string
	bad := 0
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 16<<20)
	lineNo := 0
	for sc.Scan() {
		lineNo++
		line := bytes.TrimSpace(sc.Bytes())
		if len(line) == 0 || line[0] == '#' {
			continue
		}
		t, err := parseTargetLine(name, line)
		if err != nil {
			bad++
			if len(errs) < maxReportedErrors {
				errs = append(errs, fmt.Sprintf("%s:%d: %v", name, lineNo, err))
			}
			continue
		}
		out = append(out, t)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s:%d: %w", name, lineNo+1, err)
	}
	if bad > 0 {
		msg := strings.Join(errs, "\n")
		if bad > len(errs) {
			msg += fmt.Sprintf("\n… and %d more bad lines", bad-len(errs))
		}
		return nil, fmt.Errorf("targets file %s has %d bad line(s); each line must be a JSON object like "+
			`{"url":"http://host:8080/path","method":"POST","headers":{"Content-Type":"application/json"},"body":"{}","weight":2,"label":"create"}`+
			":\n%s", name, bad, msg)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("targets file %s has no targets; add one JSON object per line with at least \"url\"", name)
	}
	return out, nil
}

func parseTargetLine(name string, line []byte) (*Target, error) {
	var tl targetLine
	dec := json.NewDecoder(bytes.NewReader(line))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&tl); err != nil {
		return nil, fmt.Errorf("not a JSON target object: %v", err)
	}
	if dec.More() {
		return nil, errors.New("more than one JSON value on the line; put one target per line")
	}
	if tl.URL == "" {
		return nil, errors.New(`"url" is missing`)
	}
	if tl.Method == "" {
		tl.Method = "GET"
	}
	var body []byte
	switch {
	case tl.Body != nil && tl.BodyFile != "":
		return nil, errors.New(`set "body" or "body_file", not both`)
	case tl.Body != nil:
		body = []byte(*tl.Body)
	case tl.BodyFile != "":
		p := tl.BodyFile
		if !filepath.IsAbs(p) {
			p = filepath.Join(filepath.Dir(name), p)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return nil, fmt.Errorf("body_file: %v", err)
		}
		body = b
	}
	hs := make([]string, 0, len(tl.Headers))
	for k, v := range tl.Headers {
		hs = append(hs, k+": "+v)
	}
	sort.Strings(hs)
	t, err := NewTarget(tl.Method, tl.URL, hs, body, tl.Label)
	if err != nil {
		return nil, err
	}
	if tl.Weight != nil {
		if *tl.Weight < 1 {
			return nil, fmt.Errorf(`"weight" %d must be a positive integer`, *tl.Weight)
		}
		t.Weight = *tl.Weight
	}
	return t, nil
}
