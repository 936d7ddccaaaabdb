package loadtest

import (
	"fmt"
	"regexp"
	"time"

	"github.com/kubepulse/kubepulse/collector"
	"github.com/kubepulse/kubepulse/loadtest/parse"
)

const name = "loadtest"

// Config is the collector's configuration; flags fill it.
type Config struct {
	Files []string // glob patterns
	// RunLabel labels every file's samples; empty derives the run from the
	// file (Gatling's RUN record, else the file name).
	RunLabel         string
	Transactions     parse.TransactionMode
	TransactionLabel *regexp.Regexp
	Location         *time.Location // of JMeter formatted timestamps
	Rescan           time.Duration  // how often the globs are expanded again
	Poll             time.Duration  // tail poll interval (inotify wakes it earlier)
}

// flagValues holds the flags as typed; configFromFlags parses them into Config.
var flagValues struct {
	files        []string
	runLabel     string
	transactions string
	txnLabel     string
	timezone     string
	rescan, poll time.Duration
}

func init() {
	collector.Register(collector.Spec{
		Name:  name,
		Flags: flags,
		// --loadtest.file says what to read, so giving it enables the collector.
		EnabledBy: []string{"loadtest.file"},
		New: func(env collector.Env) (collector.Collector, error) {
			cfg, err := configFromFlags()
			if err != nil {
				return nil, err
			}
			return New(env.Logger, cfg)
		},
	})
}

func flags(f collector.Flagger) {
	// kingpin appends repeated values and leaves flags without a default
	// alone, so a second parse in one process (tests) starts clean here.
	v := &flagValues
	v.files, v.runLabel, v.txnLabel, v.timezone = nil, "", "", ""
	f.Flag("loadtest.file", "Load-test result file glob to tail (JMeter .jtl/.csv/.xml, Gatling simulation.log text or >=3.13 binary, k6 --out json/csv, .gz too); repeatable. Files appearing later are picked up.").StringsVar(&v.files)
	f.Flag("loadtest.run-label", "Value of the run label for every file. Default: Gatling's run (simulation id and start), else the file name without extensions.").StringVar(&v.runLabel)
	f.Flag("loadtest.jmeter-transactions", "JMeter transaction-controller rows and Gatling groups: exclude (count each request once), include (also count transactions under their own label) or only.").Default("exclude").EnumVar(&v.transactions, "exclude", "include", "only")
	f.Flag("loadtest.jmeter-transaction-label", "Regular expression: JMeter rows whose label matches are transactions too (besides those with JMeter's 'Number of samples in transaction' message).").StringVar(&v.txnLabel)
	f.Flag("loadtest.jmeter-timezone", "Time zone of JMeter timeStamp values written as dates (they carry none), e.g. UTC or Europe/Berlin. Default: the exporter's local zone.").StringVar(&v.timezone)
	f.Flag("loadtest.rescan-interval", "How often the --loadtest.file globs are expanded to find new files.").Default("5s").DurationVar(&v.rescan)
	f.Flag("loadtest.poll-interval", "How often a tailed file is checked for new data when no inotify event arrives.").Default("250ms").DurationVar(&v.poll)
}

// configFromFlags decides each setting once; errors name the flag. New
// checks the globs.
func configFromFlags() (Config, error) {
	v := &flagValues
	cfg := Config{Files: v.files, RunLabel: v.runLabel, Rescan: v.rescan, Poll: v.poll}
	var err error
	if cfg.Transactions, err = parse.ParseTransactionMode(v.transactions); err != nil {
		return cfg, fmt.Errorf("--loadtest.jmeter-transactions: %w", err)
	}
	if v.txnLabel != "" {
		if cfg.TransactionLabel, err = regexp.Compile(v.txnLabel); err != nil {
			return cfg, fmt.Errorf("--loadtest.jmeter-transaction-label: %w", err)
		}
	}
	if v.timezone != "" {
		if cfg.Location, err = time.LoadLocation(v.timezone); err != nil {
			return cfg, fmt.Errorf("--loadtest.jmeter-timezone: %w", err)
		}
	}
	return cfg, nil
}
