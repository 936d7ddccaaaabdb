package collector

import (
	"context"
	"errors"
	"slices"
	"testing"

	"github.com/alecthomas/kingpin/v2"
	"github.com/go-kit/log"
)

type lifecycle struct {
	constCollector
	started, stopped *bool
	ready            bool
	stopErr          error
}

func (l lifecycle) Start(context.Context) error { *l.started = true; return nil }
func (l lifecycle) Stop() error                 { *l.stopped = true; return l.stopErr }
func (l lifecycle) Ready() bool                 { return l.ready }

func TestSetLifecycle(t *testing.T) {
	var s1, s2, st1, st2 bool
	set := NewSet(log.NewNopLogger(), map[string]Collector{
		"b": lifecycle{started: &s1, stopped: &st1, ready: true},
		"a": lifecycle{started: &s2, stopped: &st2, ready: false, stopErr: errors.New("flush failed")},
	})
	if got := set.Enabled(); !slices.Equal(got, []string{"a", "b"}) {
		t.Fatalf("Enabled() = %v, want sorted [a b]", got)
	}
	if err := set.Start(context.Background()); err != nil || !s1 || !s2 {
		t.Fatalf("Start: err=%v started=%v,%v", err, s1, s2)
	}
	ok, waiting := set.Ready()
	if ok || !slices.Equal(waiting, []string{"a"}) {
		t.Fatalf("Ready() = %v %v, want false [a]", ok, waiting)
	}
	if err := set.Stop(); err == nil || !st1 || !st2 {
		t.Fatalf("Stop: err=%v stopped=%v,%v; want an error and both stopped", err, st1, st2)
	}
}

func TestRegistrationFlags(t *testing.T) {
	// Registrations are global; use names no real collector takes, and
	// take them back so that -count=N runs register them again.
	regMu.Lock()
	nFlags := len(flagFuncs)
	regMu.Unlock()
	t.Cleanup(func() {
		regMu.Lock()
		defer regMu.Unlock()
		for _, n := range []string{"zz_on", "zz_off", "zz_broken", "zz_follower"} {
			delete(registrations, n)
		}
		flagFuncs = flagFuncs[:nFlags]
	})
	registerLogger("zz_on", true, func(log.Logger) (Collector, error) { return constCollector{}, nil })
	registerLogger("zz_off", false, func(log.Logger) (Collector, error) { return constCollector{}, nil })
	registerLogger("zz_broken", false, func(log.Logger) (Collector, error) { return nil, errors.New("bad flag value") })
	var extra string
	Register(Spec{Name: "zz_follower", Default: true, OnlyWith: []string{"zz_on"},
		Flags: func(f Flagger) { f.Flag("zz.extra", "test flag").StringVar(&extra) },
		New:   func(Env) (Collector, error) { return constCollector{}, nil }})

	tests := []struct {
		args    []string
		want    []string
		wantErr bool
	}{
		{args: nil, want: []string{"zz_follower", "zz_on"}},
		// zz_follower is OnlyWith zz_on: without it, it steps aside unless named.
		{args: []string{"--no-collector.zz_on", "--collector.zz_off"}, want: []string{"zz_off"}},
		{args: []string{"--no-collector.zz_on", "--collector.zz_follower"}, want: []string{"zz_follower"}},
		{args: []string{"--collector.zz_broken"}, wantErr: true},
	}
	for _, tt := range tests {
		app := kingpin.New("t", "")
		AddFlags(app)
		if _, err := app.Parse(append(tt.args, "--zz.extra=x")); err != nil {
			t.Fatalf("%v: parse: %v", tt.args, err)
		}
		if extra != "x" {
			t.Fatalf("collector flag not bound: %q", extra)
		}
		set, err := Build(log.NewNopLogger(), nil)
		if tt.wantErr {
			if err == nil {
				t.Fatalf("%v: Build succeeded, want the factory error", tt.args)
			}
			continue
		}
		if err != nil {
			t.Fatalf("%v: %v", tt.args, err)
		}
		var got []string
		for _, n := range set.Enabled() {
			if len(n) > 3 && n[:3] == "zz_" {
				got = append(got, n)
			}
		}
		if !slices.Equal(got, tt.want) {
			t.Errorf("%v: enabled %v, want %v", tt.args, got, tt.want)
		}
	}
	if _, err := Build(log.NewNopLogger(), []string{"nope"}); err == nil {
		t.Fatal("Build accepted an unknown collector name")
	}
}

// registerLogger registers a collector whose factory needs only a logger.
func registerLogger(name string, on bool, f func(log.Logger) (Collector, error)) {
	register(name, on, func(e Env) (Collector, error) { return f(e.Logger) })
}
