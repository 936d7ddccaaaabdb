package logging

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/alecthomas/kingpin/v2"
	"github.com/go-kit/log/level"
	"k8s.io/klog/v2"
)

func TestLevelsAndFormats(t *testing.T) {
	tests := []struct {
		args      []string
		wantDebug bool
		wantInfo  bool
		json      bool
	}{
		{args: nil, wantDebug: false, wantInfo: true},
		{args: []string{"--log.level=debug"}, wantDebug: true, wantInfo: true},
		{args: []string{"--log.level=warn", "--log.format=json"}, wantInfo: false, json: true},
	}
	for _, tt := range tests {
		app := kingpin.New("t", "")
		c := AddFlags(app)
		if _, err := app.Parse(tt.args); err != nil {
			t.Fatal(err)
		}
		var buf bytes.Buffer
		l := NewWriter(c, &buf)
		level.Debug(l).Log("msg", "dbg")
		level.Info(l).Log("msg", "inf")
		level.Warn(l).Log("msg", "wrn")
		out := buf.String()
		if got := strings.Contains(out, "dbg"); got != tt.wantDebug {
			t.Errorf("%v: debug logged = %v", tt.args, got)
		}
		if got := strings.Contains(out, "inf"); got != tt.wantInfo {
			t.Errorf("%v: info logged = %v", tt.args, got)
		}
		if tt.json {
			first := strings.SplitN(out, "\n", 2)[0]
			var m map[string]any
			if err := json.Unmarshal([]byte(first), &m); err != nil || m["msg"] != "wrn" {
				t.Errorf("%v: not a JSON line: %q (%v)", tt.args, first, err)
			}
		}
	}
}

func TestRejectsUnknownLevel(t *testing.T) {
	app := kingpin.New("t", "")
	AddFlags(app)
	if _, err := app.Parse([]string{"--log.level=verbose"}); err == nil {
		t.Fatal("--log.level=verbose was accepted")
	}
}

func TestSlogBridgeReachesGoKit(t *testing.T) {
	var buf bytes.Buffer
	l := NewWriter(&Config{Level: "info", Format: "logfmt"}, &buf)
	Slog(l).Info("from slog", "k", "v")
	Slog(l).Debug("hidden")
	out := buf.String()
	if !strings.Contains(out, `msg="from slog"`) || !strings.Contains(out, "k=v") {
		t.Fatalf("slog record not in go-kit output: %q", out)
	}
	if strings.Count(out, "caller=") != 1 || strings.Contains(out, "time=") {
		t.Fatalf("bridged record should carry one caller and no second timestamp: %q", out)
	}
	if strings.Contains(out, "hidden") {
		t.Fatalf("debug record passed the go-kit info filter: %q", out)
	}
}

func TestRouteKlogFollowsLatestLogger(t *testing.T) {
	for _, word := range []string{"first", "second"} {
		var buf bytes.Buffer
		RouteKlog(NewWriter(&Config{Level: "info", Format: "logfmt"}, &buf))
		klog.InfoS("from klog", "word", word)
		klog.Flush()
		if out := buf.String(); !strings.Contains(out, "word="+word) || strings.Count(out, "caller=") != 1 {
			t.Fatalf("klog record not routed to the latest logger: %q", out)
		}
	}
}

type nilErr struct{ msg string }

func (e *nilErr) Error() string { return e.msg }

// A logfmt record is one line; a value spanning lines must read as one
// line, not as literal \n escapes. JSON keeps the value exact.
func TestMultiLineValues(t *testing.T) {
	tests := []struct {
		name   string
		format string
		val    any
		want   string // substring of the single output line
	}{
		{"yaml error", "logfmt", errors.New("yaml: unmarshal errors:\n  line 5: cannot unmarshal !!int `5`"),
			`err="yaml: unmarshal errors: line 5: cannot unmarshal !!int ` + "`5`" + `"`},
		{"joined errors", "logfmt", errors.Join(errors.New("a.yaml: bad"), errors.New("b.yaml: worse")),
			`err="a.yaml: bad; b.yaml: worse"`},
		{"string with blank lines", "logfmt", "first\n\n  second\n", `err="first; second"`},
		{"one line untouched", "logfmt", errors.New("plain"), `err=plain`},
		{"typed nil error", "logfmt", (*nilErr)(nil), `err=null`},
		{"json keeps the value", "json", errors.New("a\nb"), `"err":"a\nb"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			l := NewWriter(&Config{Level: "info", Format: tt.format}, &buf)
			level.Error(l).Log("msg", "failed", "err", tt.val)
			out := strings.TrimSuffix(buf.String(), "\n")
			if strings.Contains(out, "\n") {
				t.Fatalf("record spans lines: %q", out)
			}
			if !strings.Contains(out, tt.want) {
				t.Fatalf("got %s\nwant it to contain %s", out, tt.want)
			}
		})
	}
}
