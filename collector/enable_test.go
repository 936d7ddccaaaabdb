package collector

import (
	"bytes"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/alecthomas/kingpin/v2"
	"github.com/go-kit/log"
)

// registerTemp registers test collectors, input flags and checks, and takes
// them back at the end so that other tests and -count=N see a clean registry.
func registerTemp(t *testing.T, register func()) {
	t.Helper()
	regMu.Lock()
	before := map[string]bool{}
	for n := range registrations {
		before[n] = true
	}
	nFlags, nChecks := len(flagFuncs), len(checks)
	shared := maps.Clone(sharedFlags)
	regMu.Unlock()
	t.Cleanup(func() {
		regMu.Lock()
		defer regMu.Unlock()
		for n := range registrations {
			if !before[n] {
				delete(registrations, n)
				delete(inputFlags, n)
			}
		}
		flagFuncs, checks, sharedFlags = flagFuncs[:nFlags], checks[:nChecks], shared
	})
	register()
}

func TestInputFlagsDefaultsAndAbsentSources(t *testing.T) {
	var checkErr error
	registerTemp(t, func() {
		ok := func(log.Logger) (Collector, error) { return constCollector{}, nil }
		noSource := func(log.Logger) (Collector, error) {
			return nil, Unavailable(errors.New("no cluster here; give --zz.kubeconfig"))
		}
		registerLogger("zz_on", true, ok)
		registerLogger("zz_in", false, ok)
		registerLogger("zz_far1", true, noSource)
		registerLogger("zz_far2", true, noSource)
		registerLogger("zz_farin", false, noSource)
		registerLogger("zz_follow", false, func(log.Logger) (Collector, error) {
			return nil, fmt.Errorf("nothing to follow (give --collector.zz_follow to force it): %w", ErrDisabled)
		})
		var path, farPath, kc, opt string
		registerFlags(func(f Flagger) {
			f.Flag("zz.path", "input").StringVar(&path)
			f.Flag("zz_in.opt", "an option of zz_in").StringVar(&opt)
			f.Flag("zz.far-path", "input").StringVar(&farPath)
			f.Flag("zz.kubeconfig", "source").StringVar(&kc)
		})
		enabledBy("zz_in", "zz.path")
		enabledBy("zz_farin", "zz.far-path")
		shareFlags([]string{"zz_far1", "zz_far2"}, "zz.kubeconfig")
		registerCheck(func() error { return checkErr })
	})

	tests := []struct {
		name    string
		args    []string
		check   error
		want    []string
		wantErr string   // substring of Build's error
		wantLog []string // substrings of the log
		noLog   []string
	}{
		{name: "input flag enables its collector", args: []string{"--zz.path=/x"}, want: []string{"zz_in", "zz_on"},
			wantLog: []string{`msg="collector enabled by its input flag" collector=zz_in flag=--zz.path`}},
		{name: "input flag default value enables nothing", args: nil, want: []string{"zz_on"},
			noLog: []string{"input flag"}},
		{name: "absent source: one line for all", args: nil, want: []string{"zz_on"},
			wantLog: []string{`msg="collectors stepped aside" collectors=zz_far1,zz_far2 reason="no cluster here; give --zz.kubeconfig"`}},
		{name: "absent source named explicitly fails", args: []string{"--collector.zz_far2"},
			wantErr: "collector zz_far2: no cluster here"},
		{name: "absent source enabled by its input flag fails", args: []string{"--zz.far-path=/x"},
			wantErr: "collector zz_farin: no cluster here"},
		{name: "disable-defaults", args: []string{"--collector.disable-defaults"},
			wantErr: "no collector is enabled; give an input flag such as --zz.far-path (zz_farin), --zz.path (zz_in)"},
		{name: "disable-defaults keeps named and input-enabled", args: []string{"--collector.disable-defaults", "--collector.zz_on", "--zz.path=/x"},
			want: []string{"zz_in", "zz_on"}, noLog: []string{"stepped aside"}},
		{name: "nothing left names the flags", args: []string{"--no-collector.zz_on"},
			wantErr: "no collector is enabled (zz_far1,zz_far2 stepped aside: no cluster here; give --zz.kubeconfig); give an input flag such as --zz.far-path (zz_farin), --zz.path (zz_in), or --collector.<name> (one of"},
		{name: "explicit off wins over the input flag, with a warning", args: []string{"--no-collector.zz_in", "--zz.path=/x"}, want: []string{"zz_on"},
			wantLog: []string{`msg="input flag ignored: its collector is disabled" flag=--zz.path collector=zz_in`}},
		{name: "disabled by a factory: its reason, once", args: []string{"--collector.zz_follow"}, want: []string{"zz_on"},
			wantLog: []string{`msg="collectors stepped aside" collectors=zz_follow reason="nothing to follow (give --collector.zz_follow to force it)"` + "\n"}},
		{name: "option of a collector that is off", args: []string{"--zz_in.opt=1"}, want: []string{"zz_on"},
			wantLog: []string{`msg="flag has no effect: no collector it configures is running" flag=--zz_in.opt collectors=zz_in`}},
		{name: "option of a collector that runs", args: []string{"--zz_in.opt=1", "--zz.path=/x"}, want: []string{"zz_in", "zz_on"},
			noLog: []string{"has no effect"}},
		{name: "shared flag of collectors that stepped aside", args: []string{"--zz.kubeconfig=k"}, want: []string{"zz_on"},
			wantLog: []string{`msg="flag has no effect: no collector it configures is running" flag=--zz.kubeconfig collectors=zz_far1,zz_far2`}},
		{name: "check errors are not attributed to a collector", args: nil, check: errors.New("--zz.shard=3: too big"),
			wantErr: "--zz.shard=3: too big"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkErr = tt.check
			app := kingpin.New("t", "")
			AddFlags(app)
			if _, err := app.Parse(tt.args); err != nil {
				t.Fatalf("parse: %v", err)
			}
			var logs bytes.Buffer
			set, err := Build(log.NewLogfmtLogger(&logs), nil)
			if tt.wantErr != "" {
				if err == nil || !strings.HasPrefix(err.Error(), tt.wantErr) {
					t.Fatalf("Build error %v, want it to start with %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("Build: %v", err)
			}
			var got []string
			for _, n := range set.Enabled() {
				if strings.HasPrefix(n, "zz_") {
					got = append(got, n)
				}
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("enabled %v, want %v", got, tt.want)
			}
			for _, w := range tt.wantLog {
				if strings.Count(logs.String(), w) != 1 {
					t.Errorf("log lacks exactly one %q:\n%s", w, logs.String())
				}
			}
			for _, w := range tt.noLog {
				if strings.Contains(logs.String(), w) {
					t.Errorf("log has %q:\n%s", w, logs.String())
				}
			}
		})
	}
}

func TestHelpSaysWhichFlagEnables(t *testing.T) {
	registerTemp(t, func() {
		registerLogger("zz_in", false, func(log.Logger) (Collector, error) { return constCollector{}, nil })
		registerFlags(func(f Flagger) { f.Flag("zz.path", "input").String() })
		enabledBy("zz_in", "zz.path")
	})
	app := kingpin.New("t", "")
	AddFlags(app)
	f := app.GetFlag("collector.zz_in")
	if f == nil || !strings.Contains(f.Model().Help, "--zz.path enables it") {
		t.Fatalf("help of --collector.zz_in does not name its input flag: %+v", f)
	}
}

func TestEnabledByUndeclaredFlagPanics(t *testing.T) {
	registerTemp(t, func() {
		registerLogger("zz_in", false, func(log.Logger) (Collector, error) { return constCollector{}, nil })
		enabledBy("zz_in", "zz.typo")
	})
	defer func() {
		if r := recover(); r == nil || !strings.Contains(fmt.Sprint(r), "--zz.typo") {
			t.Fatalf("AddFlags did not panic naming the undeclared input flag: %v", r)
		}
	}()
	AddFlags(kingpin.New("t", ""))
}
