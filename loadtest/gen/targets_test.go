package gen

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kubepulse/kubepulse/internal/testutil"
)

var repoRoot = testutil.RepoRoot

func TestParseTargetsFile(t *testing.T) {
	name := filepath.Join(repoRoot(t), "testdata", "loadgen", "targets.jsonl")
	f, err := os.Open(name)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	ts, err := ParseTargets(name, f)
	if err != nil {
		t.Fatal(err)
	}
	want := []struct {
		label, method, uri, body string
		weight                   int
		header                   string
	}{
		{"home", "GET", "/", "", 3, ""},
		{"create", "POST", "/api/items", `{"name":"x"}`, 1, "Content-Type: application/json"},
		{"upload", "PUT", "/upload", "{\"payload\": [1, 2, 3]}\n", 1, ""},
	}
	if len(ts) != len(want) {
		t.Fatalf("%d targets, want %d", len(ts), len(want))
	}
	for i, w := range want {
		got := ts[i]
		if got.Label != w.label || got.Method != w.method || got.URL.RequestURI() != w.uri || string(got.Body) != w.body || got.Weight != w.weight {
			t.Errorf("target %d = %s %s %s body %q weight %d, want %+v", i, got.Label, got.Method, got.URL.RequestURI(), got.Body, got.Weight, w)
		}
		if w.header != "" && (len(got.Header) != 1 || got.Header[0][0]+": "+got.Header[0][1] != w.header) {
			t.Errorf("target %d headers %v, want %q", i, got.Header, w.header)
		}
	}
}

func TestParseTargetsRejectsBadLines(t *testing.T) {
	name := filepath.Join(repoRoot(t), "testdata", "loadgen", "targets-bad.jsonl")
	f, err := os.Open(name)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	_, err = ParseTargets(name, f)
	if err == nil {
		t.Fatal("bad targets file accepted")
	}
	msg := err.Error()
	for _, want := range []string{
		"6 bad line(s)",
		"targets-bad.jsonl:2: " + `not a JSON target object: json: unknown field "wieght"`,
		"targets-bad.jsonl:3: not a JSON target object",
		`targets-bad.jsonl:4: "url" is missing`,
		"targets-bad.jsonl:5: URL \"ftp://127.0.0.1/\": scheme must be http or https",
		`targets-bad.jsonl:6: "weight" 0 must be a positive integer`,
		`targets-bad.jsonl:7: set "body" or "body_file", not both`,
		`{"url":"http://host:8080/path"`, // the fix: what a line should look like
	} {
		if !strings.Contains(msg, want) {
			t.Errorf("error does not contain %q:\n%s", want, msg)
		}
	}
	if strings.Contains(msg, "jsonl:1:") {
		t.Errorf("good line 1 reported as bad:\n%s", msg)
	}
}

func TestParseTargetsEdgeCases(t *testing.T) {
	cases := []struct {
		name, in, wantErr string
		n                 int
	}{
		{"empty", "", "has no targets", 0},
		{"comments only", "# nothing\n\n", "has no targets", 0},
		{"two values on a line", `{"url":"http://a/"} {"url":"http://b/"}`, "more than one JSON value", 0},
		{"bad header", `{"url":"http://a/","headers":{"Bad Name":"x"}}`, "want \"Name: value\"", 0},
		{"bad method", `{"url":"http://a/","method":"GE T"}`, "not a valid HTTP method", 0},
		{"crlf lines", "{\"url\":\"http://a/\"}\r\n{\"url\":\"http://b/x?y=1\"}\r\n", "", 2},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ts, err := ParseTargets("t.jsonl", strings.NewReader(c.in))
			if c.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), c.wantErr) {
					t.Fatalf("err %v, want %q", err, c.wantErr)
				}
				return
			}
			if err != nil || len(ts) != c.n {
				t.Fatalf("got %d targets, %v; want %d", len(ts), err, c.n)
			}
		})
	}
}

func TestNewTargetAndBody(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "b.txt")
	if err := os.WriteFile(p, []byte("from file"), 0o644); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		method, url string
		headers     []string
		body        string
		wantErr     string
		wantLabel   string
		wantBody    string
	}{
		{"get", "http://127.0.0.1:1/a/b?q=1", nil, "", "", "GET /a/b", ""},
		{"POST", "http://127.0.0.1:1", []string{"X-A: 1"}, "@" + p, "", "POST /", "from file"},
		{"GET", "127.0.0.1:1/", nil, "", "write it as http://host:port/path", "", ""},
		{"GET", "ftp://127.0.0.1:1/", nil, "", "scheme must be http or https", "", ""},
		{"GET", "http:///x", nil, "", "no host", "", ""},
		{"GET", "http://127.0.0.1:1/", []string{"NoColon"}, "", "want \"Name: value\"", "", ""},
		{"GET", "http://127.0.0.1:1/", nil, "@" + filepath.Join(dir, "missing"), "--body @", "", ""},
	}
	for _, c := range cases {
		body, err := ReadBody(c.body)
		if err == nil {
			var tg *Target
			tg, err = NewTarget(c.method, c.url, c.headers, body, "")
			if err == nil {
				if tg.Label != c.wantLabel || string(tg.Body) != c.wantBody {
					t.Errorf("%s %s: label %q body %q, want %q %q", c.method, c.url, tg.Label, tg.Body, c.wantLabel, c.wantBody)
				}
			}
		}
		if (err != nil) != (c.wantErr != "") || (err != nil && !strings.Contains(err.Error(), c.wantErr)) {
			t.Errorf("%s %s %v: err %v, want %q", c.method, c.url, c.headers, err, c.wantErr)
		}
	}
}

func FuzzParseTargets(f *testing.F) {
	f.Add(`{"url":"http://127.0.0.1/","weight":2,"headers":{"A":"b"}}`)
	f.Add("# c\n{\"url\":\"https://h:1/x\",\"method\":\"POST\",\"body\":\"{}\"}\n")
	f.Add(`{"url":1}`)
	f.Add("\xff\xfe")
	f.Fuzz(func(t *testing.T, in string) {
		ts, err := ParseTargets("fuzz.jsonl", strings.NewReader(in))
		if err == nil {
			for _, tg := range ts {
				if tg.Weight < 1 || tg.URL == nil || tg.Label == "" {
					t.Fatalf("accepted a target without weight, URL or label: %+v", tg)
				}
				renderTemplate(tg, true, nil)
			}
		}
	})
}
