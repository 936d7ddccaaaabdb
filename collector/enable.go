package collector

import (
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/alecthomas/kingpin/v2"
	"github.com/go-kit/log"
	"github.com/go-kit/log/level"
)

// How flags beyond --collector.<name> decide what runs: a collector's input
// flag (--logs.path) turns it on by itself, --collector.disable-defaults turns
// off the default-on ones, and a collector whose source is absent (no
// cluster) steps aside unless it was named.

var (
	disableDefaults bool
	inputFlags      = map[string][]string{} // collector -> flags that enable it
	sharedFlags     = map[string][]string{} // flag -> collectors it configures, beyond "<collector>.*"
	flagGiven       = map[string]*bool{}    // collector flag -> given on the command line
	flagOrder       []string                // collector flags in declaration order
	checks          []func() error
)

// enabledBy declares flags that say where a collector reads from (without
// the leading "--"). Giving one of them on the command line enables the
// collector, so a user never has to repeat it with --collector.<name>. The
// flags must be declared by some Spec.Flags; AddFlags panics otherwise.
func enabledBy(collectorName string, flags ...string) {
	regMu.Lock()
	defer regMu.Unlock()
	inputFlags[collectorName] = append(inputFlags[collectorName], flags...)
}

// registerCheck adds a validation of flags that Build runs before any
// collector is built. Its errors name the flag and are returned as they
// are: flags of a source shared by several collectors belong to none of
// them.
func registerCheck(f func() error) {
	regMu.Lock()
	defer regMu.Unlock()
	checks = append(checks, f)
}

func runChecks() error {
	regMu.Lock()
	cs := append([]func() error(nil), checks...)
	regMu.Unlock()
	for _, c := range cs {
		if err := c(); err != nil {
			return err
		}
	}
	return nil
}

// shareFlags declares flags (without "--") that configure a source several
// collectors share. The cluster flags need no declaration (Spec.NeedsCluster
// says it), nor does a flag named "<collector>.*". Build warns about such
// flags given while none of their collectors runs: they would do nothing.
func shareFlags(collectors []string, flags ...string) {
	regMu.Lock()
	defer regMu.Unlock()
	for _, f := range flags {
		sharedFlags[f] = append(sharedFlags[f], collectors...)
	}
}

// givenInput returns the first input flag of the collector that was given
// on the command line, or "".
func givenInput(name string) string {
	for _, f := range inputFlags[name] {
		if p := flagGiven[f]; p != nil && *p {
			return f
		}
	}
	return ""
}

// flagWatcher wraps the Flagger handed to collector packages so that each of
// their flags records whether the user gave it.
type flagWatcher struct{ Flagger }

func watchFlags(cmd Flagger) flagWatcher {
	clear(flagGiven)
	flagOrder = flagOrder[:0]
	return flagWatcher{cmd}
}

func (w flagWatcher) Flag(name, help string) *kingpin.FlagClause {
	p := new(bool)
	flagGiven[name] = p
	flagOrder = append(flagOrder, name)
	return w.Flagger.Flag(name, help).IsSetByUser(p)
}

// mustHaveSeenAll catches a Spec.EnabledBy naming a flag nobody declares: that
// input would silently never enable anything.
func (w flagWatcher) mustHaveSeenAll() {
	for _, fs := range inputFlags {
		for _, f := range fs {
			if flagGiven[f] == nil {
				panic(fmt.Sprintf("collector: Spec.EnabledBy names --%s, which no collector package declares", f))
			}
		}
	}
}

// warnUnused logs each collector flag the user gave whose collectors are all
// absent from the set (disabled, or stepped aside). Input flags have their
// own warning in Build.
func warnUnused(logger log.Logger, s *Set) {
	running := map[string]bool{}
	for _, n := range s.collectors {
		running[n.name] = true
	}
	regMu.Lock()
	defer regMu.Unlock()
	inputs := map[string]bool{}
	for _, fs := range inputFlags {
		for _, f := range fs {
			inputs[f] = true
		}
	}
	for _, f := range flagOrder {
		if !*flagGiven[f] || inputs[f] {
			continue
		}
		owners := sharedFlags[f]
		if owners == nil {
			owners = clusterOwners(f)
		}
		if owners == nil {
			if i := strings.IndexByte(f, '.'); i > 0 && registrations[f[:i]] != nil {
				owners = []string{f[:i]}
			}
		}
		if len(owners) == 0 || slices.ContainsFunc(owners, func(o string) bool { return running[o] }) {
			continue
		}
		level.Warn(logger).Log("msg", "flag has no effect: no collector it configures is running", "flag", "--"+f, "collectors", strings.Join(owners, ","))
	}
}

// unavailable marks a factory error meaning "the source this collector reads
// is not there" (no Kubernetes cluster).
type unavailable struct{ error }

func (u unavailable) Unwrap() error { return u.error }

// Unavailable wraps err, which says what is missing and how to provide it.
// Build then skips a collector that was on only by default (one info line
// for all collectors with the same reason) and fails for one named with
// --collector.<name>.
func Unavailable(err error) error { return unavailable{err} }

// IsUnavailable reports whether err was made by Unavailable.
func IsUnavailable(err error) bool {
	var u unavailable
	return errors.As(err, &u)
}

// skips groups skipped collectors by reason, so that one missing source
// (the cluster) gives one log line, not one per collector.
type skips struct {
	reasons []string
	names   map[string][]string
}

func (s *skips) add(name string, err error) {
	if s.names == nil {
		s.names = map[string][]string{}
	}
	// The sentinel's own text adds nothing to the reason a factory gave.
	r := strings.TrimSuffix(err.Error(), ": "+ErrDisabled.Error())
	if _, ok := s.names[r]; !ok {
		s.reasons = append(s.reasons, r)
	}
	s.names[r] = append(s.names[r], name)
}

func (s *skips) log(logger log.Logger) {
	for _, r := range s.reasons {
		level.Info(logger).Log("msg", "collectors stepped aside", "collectors", strings.Join(s.names[r], ","), "reason", r)
	}
}

// noneEnabled is the start-up error when nothing would be collected: it says
// why the default collectors are not running and which flags enable others.
func noneEnabled(s skips) error {
	var b strings.Builder
	b.WriteString("no collector is enabled")
	for _, r := range s.reasons {
		fmt.Fprintf(&b, " (%s stepped aside: %s)", strings.Join(s.names[r], ","), r)
	}
	regMu.Lock()
	var ins []string
	for name, fs := range inputFlags {
		for _, f := range fs {
			ins = append(ins, fmt.Sprintf("--%s (%s)", f, name))
		}
	}
	names := sortedNames()
	regMu.Unlock()
	sort.Strings(ins)
	b.WriteString("; give an input flag")
	if len(ins) > 0 {
		b.WriteString(" such as " + strings.Join(ins, ", "))
	}
	fmt.Fprintf(&b, ", or --collector.<name> (one of %s)", strings.Join(names, ", "))
	return errors.New(b.String())
}
