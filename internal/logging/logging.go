// Package logging builds the go-kit logger from the Prometheus-style
// --log.level/--log.format flags, and bridges it to *slog.Logger for the
// libraries (exporter-toolkit, rulefmt) that only accept slog.
package logging

import (
	"io"
	"log/slog"
	"os"
	"sync"

	"github.com/alecthomas/kingpin/v2"
	"github.com/go-kit/log"
	"github.com/go-kit/log/level"
	slogkit "github.com/tjhop/slog-gokit"
)

// Config holds the values of the logging flags.
type Config struct {
	Level  string
	Format string
}

// AddFlags registers --log.level and --log.format on the application, so every subcommand shares them.
func AddFlags(app *kingpin.Application) *Config {
	c := &Config{}
	app.Flag("log.level", "Only log messages with the given severity or above. One of: [debug, info, warn, error]").
		Default("info").EnumVar(&c.Level, "debug", "info", "warn", "error")
	app.Flag("log.format", "Output format of log messages. One of: [logfmt, json]").
		Default("logfmt").EnumVar(&c.Format, "logfmt", "json")
	return c
}

// New returns a go-kit logger writing to stderr.
func New(c *Config) log.Logger { return NewWriter(c, os.Stderr) }

// NewWriter returns a go-kit logger writing to w; tests use it to capture output.
func NewWriter(c *Config, w io.Writer) log.Logger {
	var l log.Logger
	sw := log.NewSyncWriter(w)
	if c.Format == "json" {
		l = log.NewJSONLogger(sw)
	} else {
		l = foldLines{log.NewLogfmtLogger(sw)}
	}
	l = level.NewFilter(l, levelOption(c.Level))
	root := log.With(l, "ts", log.DefaultTimestampUTC, "caller", log.DefaultCaller)
	bridges.Store(root, log.With(dropTime{l}, "ts", log.DefaultTimestampUTC))
	return root
}

// bridges maps each root logger to the logger its slog bridge writes to:
// slog records carry their own caller and time, so the bridge adds neither a
// second caller nor a second timestamp. A side table rather than a wrapper
// type, because a wrapper would shift go-kit's caller depth.
var bridges sync.Map

// dropTime removes slog's "time" key; "ts" is the project's timestamp key.
type dropTime struct{ next log.Logger }

func (d dropTime) Log(kv ...any) error {
	out := kv[:0:0]
	for i := 0; i+1 < len(kv); i += 2 {
		if k, ok := kv[i].(string); ok && k == "time" {
			continue
		}
		out = append(out, kv[i], kv[i+1])
	}
	return d.next.Log(out...)
}

func levelOption(s string) level.Option {
	switch s {
	case "debug":
		return level.AllowDebug()
	case "warn":
		return level.AllowWarn()
	case "error":
		return level.AllowError()
	default:
		return level.AllowInfo()
	}
}

// Slog bridges a go-kit logger to slog. Filtering stays in the go-kit logger,
// so the bridge passes every level through.
func Slog(l log.Logger) *slog.Logger {
	if b, ok := bridges.Load(l); ok {
		l = b.(log.Logger)
	}
	lv := &slog.LevelVar{}
	lv.Set(slog.LevelDebug)
	return slog.New(slogkit.NewGoKitHandler(l, lv))
}

// Nop is a logger that discards everything; for tests and benchmarks.
func Nop() log.Logger { return log.NewNopLogger() }

// Fatal logs err as a single line and returns the exit code, so main can say
// which flag or file was wrong and stop.
func Fatal(l log.Logger, msg string, err error) int {
	level.Error(l).Log("msg", msg, "err", err)
	return 1
}
