// Package collector is kubepulse's collector framework, modelled on
// node_exporter: collectors register themselves at init with a
// --collector.<name> toggle, and every scrape reports each collector's
// duration and success. Collector implementations live in subpackages.
package collector

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"sync"

	"github.com/alecthomas/kingpin/v2"
	"github.com/go-kit/log"
	"github.com/go-kit/log/level"
	"github.com/prometheus/client_golang/prometheus"
)

// Collector sends client_golang metrics for one scrape. A returned error marks
// the collector failed for this scrape (success 0); it never fails the scrape.
type Collector interface {
	Update(ch chan<- prometheus.Metric) error
}

// RawWriter is implemented by collectors that keep pre-rendered text
// exposition (the kube-state-metrics idea): a scrape copies bytes instead of
// building metric objects. Families written here must not also be sent by
// Update, and each family must be written contiguously.
type RawWriter interface {
	WriteRaw(w io.Writer) error
}

// Starter is implemented by collectors that run in the background (informers,
// tailers). Start must return promptly; work continues until ctx ends.
type Starter interface {
	Start(ctx context.Context) error
}

// Readier is implemented by collectors that need to sync before their output
// is complete. /-/ready is true once every Readier is ready.
type Readier interface {
	Ready() bool
}

// Stopper is implemented by collectors with state to flush at shutdown
// (for example the log positions file on SIGTERM).
type Stopper interface {
	Stop() error
}

// Flagger is what collectors need to declare flags: a kingpin application or
// command clause.
type Flagger interface {
	Flag(name, help string) *kingpin.FlagClause
}

type registration struct {
	spec           Spec
	seq            int // registration order, for stable messages
	name           string
	defaultEnabled bool
	factory        func(Env) (Collector, error)
	enabled        *bool
	explicit       bool // --collector.<name> or --no-collector.<name> was given
}

// on reports whether flags enable r, and which input flag did it when that
// input flag alone turned it on. Precedence: --collector.<name> /
// --no-collector.<name>, then an input flag, then
// --collector.disable-defaults, then the default.
func (r *registration) on() (bool, string) {
	if r.enabled == nil {
		return r.defaultEnabled, ""
	}
	if r.explicit {
		return *r.enabled, ""
	}
	if f := givenInput(r.name); f != "" {
		return true, f
	}
	if disableDefaults {
		return false, ""
	}
	return r.defaultEnabled, ""
}

// ErrDisabled is returned by a factory whose collector has nothing to do
// given the other flags. Build skips it and logs why instead of failing.
var ErrDisabled = errors.New("collector disabled")

var (
	regMu         sync.Mutex
	registrations = map[string]*registration{}
	flagFuncs     []func(Flagger)
)

// register adds a collector from its parts; Register is the public form.
func register(name string, defaultEnabled bool, factory func(Env) (Collector, error)) *registration {
	regMu.Lock()
	defer regMu.Unlock()
	if _, ok := registrations[name]; ok {
		panic(fmt.Sprintf("collector: %q registered twice", name))
	}
	r := &registration{name: name, seq: len(registrations), defaultEnabled: defaultEnabled, factory: factory}
	registrations[name] = r
	return r
}

// registerFlags adds a function declaring flags; AddFlags runs it.
func registerFlags(f func(Flagger)) {
	regMu.Lock()
	defer regMu.Unlock()
	flagFuncs = append(flagFuncs, f)
}

// AddFlags binds the --collector.<name> toggles and every registered
// collector flag to cmd.
func AddFlags(cmd Flagger) {
	regMu.Lock()
	defer regMu.Unlock()
	for _, name := range sortedNames() {
		r := registrations[name]
		state := "disabled"
		if r.defaultEnabled {
			state = "enabled"
		}
		if in := inputFlags[name]; len(in) > 0 {
			state += "; --" + strings.Join(in, ", --") + " enables it"
		}
		r.enabled = new(bool)
		r.explicit = false
		cmd.Flag("collector."+name, fmt.Sprintf("Enable the %s collector (default: %s).", name, state)).
			Default(fmt.Sprint(r.defaultEnabled)).IsSetByUser(&r.explicit).BoolVar(r.enabled)
	}
	cmd.Flag("collector.disable-defaults", "Disable the collectors that are on by default; ones named with --collector.<name> or enabled by their input flag stay on.").
		Default("false").BoolVar(&disableDefaults)
	w := watchFlags(cmd)
	for _, f := range flagFuncs {
		f(w)
	}
	w.mustHaveSeenAll()
}

// Enabled reports whether flags enable the named collector (--collector.X,
// its input flag, --collector.disable-defaults; its default when flags were
// not bound). It says nothing about whether it then steps aside.
func Enabled(name string) bool {
	regMu.Lock()
	defer regMu.Unlock()
	r, ok := registrations[name]
	if !ok {
		return false
	}
	on, _ := r.on()
	return on
}

// Names returns the registered collector names, sorted.
func Names() []string {
	regMu.Lock()
	defer regMu.Unlock()
	return sortedNames()
}

func sortedNames() []string {
	names := make([]string, 0, len(registrations))
	for n := range registrations {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// Build creates the collectors enabled by flags. If AddFlags was not called
// (tests), only names listed in only are built, or the defaults when only is nil.
func Build(logger log.Logger, only []string) (*Set, error) {
	regMu.Lock()
	regs := make([]*registration, 0, len(registrations))
	for _, n := range sortedNames() {
		regs = append(regs, registrations[n])
	}
	regMu.Unlock()

	// One cluster per Build: a second exporter in the same process (tests)
	// never inherits the first one's stopped informers or old flags.
	cluster := clusterOnce(logger)

	want := map[string]bool{}
	for _, n := range only {
		if _, ok := registrations[n]; !ok {
			return nil, fmt.Errorf("unknown collector %q (known: %v)", n, Names())
		}
		want[n] = true
	}
	if only == nil {
		if err := runChecks(); err != nil {
			return nil, err
		}
	}
	s := &Set{logger: logger}
	var skipped skips
	for _, r := range regs {
		on, via := r.on()
		if only != nil {
			on, via = want[r.name], ""
		}
		if !on {
			if f := givenInput(r.name); f != "" && only == nil {
				level.Warn(logger).Log("msg", "input flag ignored: its collector is disabled", "flag", "--"+f, "collector", r.name, "fix", "drop --no-collector."+r.name)
			}
			continue
		}
		if via != "" {
			level.Info(logger).Log("msg", "collector enabled by its input flag", "collector", r.name, "flag", "--"+via)
		}
		// A collector the user asked for (by name or by its input flag)
		// must run; one that is only on by default steps aside.
		asked := r.explicit || via != ""
		c, err := r.build(logger, cluster, r.explicit)
		if errors.Is(err, ErrDisabled) || (IsUnavailable(err) && !asked) {
			skipped.add(r.name, err)
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("collector %s: %w", r.name, err)
		}
		s.collectors = append(s.collectors, named{name: r.name, c: c})
	}
	skipped.log(logger)
	if only == nil {
		if len(s.collectors) == 0 {
			return nil, noneEnabled(skipped)
		}
		warnUnused(logger, s)
	}
	return s, nil
}

type named struct {
	name string
	c    Collector
}

// Set is the group of enabled collectors of one exporter.
type Set struct {
	logger     log.Logger
	collectors []named
}

// NewSet builds a Set from explicit collectors; for tests and the demo.
func NewSet(logger log.Logger, cs map[string]Collector) *Set {
	s := &Set{logger: logger}
	for n, c := range cs {
		s.collectors = append(s.collectors, named{name: n, c: c})
	}
	sort.Slice(s.collectors, func(i, j int) bool { return s.collectors[i].name < s.collectors[j].name })
	return s
}

// Enabled returns the names of the collectors in the set.
func (s *Set) Enabled() []string {
	out := make([]string, len(s.collectors))
	for i, n := range s.collectors {
		out[i] = n.name
	}
	return out
}

// Start starts every background collector.
func (s *Set) Start(ctx context.Context) error {
	for _, n := range s.collectors {
		if st, ok := n.c.(Starter); ok {
			if err := st.Start(ctx); err != nil {
				return fmt.Errorf("collector %s: %w", n.name, err)
			}
		}
	}
	return nil
}

// Stop flushes collectors that keep state; errors are joined.
func (s *Set) Stop() error {
	var errs []error
	for _, n := range s.collectors {
		if st, ok := n.c.(Stopper); ok {
			if err := st.Stop(); err != nil {
				errs = append(errs, fmt.Errorf("collector %s: %w", n.name, err))
			}
		}
	}
	return errors.Join(errs...)
}

// Ready reports whether every collector that syncs has synced, and which have not.
func (s *Set) Ready() (bool, []string) {
	var waiting []string
	for _, n := range s.collectors {
		if r, ok := n.c.(Readier); ok && !r.Ready() {
			waiting = append(waiting, n.name)
		}
	}
	return len(waiting) == 0, waiting
}
