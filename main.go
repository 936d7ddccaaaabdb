// Command kubepulse answers "are our workloads sized, scaled and alerting
// right?". One binary, four jobs, one subcommand each:
//
//	exporter  cmd_exporter.go  Prometheus exporter; collectors in collector/
//	generate  cmd_generate.go  monitoring mixin; mixin/, rules/, dashboards/
//	tune      cmd_tune.go      sizing recommendations; tuning/
//	loadtest  cmd_loadtest.go  open-model HTTP load generator; loadtest/
//	demo      cmd_demo.go      a self-contained demo
//
// Logging (internal/logging) and --version are shared by all of them.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/alecthomas/kingpin/v2"
	"github.com/go-kit/log"
	"github.com/prometheus/common/version"

	"github.com/kubepulse/kubepulse/internal/logging"
)

// runFunc runs a parsed subcommand and returns the process exit code.
type runFunc func(ctx context.Context, logger log.Logger) int

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Stderr))
}

// kingpin would read an argument "@FILE" as a file of more arguments; `loadtest --body @FILE` means the value.
func init() { kingpin.EnableFileExpansion = false }

func run(ctx context.Context, args []string, stderr io.Writer) int {
	app := kingpin.New("kubepulse", "Are our workloads sized, scaled and alerting right? Exporter, mixin generator, tuner and load generator for Kubernetes.")
	app.Version(version.Print("kubepulse"))
	app.HelpFlag.Short('h')
	app.UsageWriter(stderr)
	app.ErrorWriter(stderr)
	logCfg := logging.AddFlags(app)

	cmds := map[string]runFunc{
		"exporter": exporterCommand(app),
		"generate": generateCommand(app),
		"tune":     tuneCommand(app),
		"loadtest": loadtestCommand(app),
		"demo":     demoCommand(app),
	}
	selected, err := app.Parse(args)
	if err != nil {
		fmt.Fprintf(stderr, "kubepulse: error: %v, try --help\n", namedFlagError(app, args, negativeValueError(args, err)))
		return 2
	}
	logger := logging.NewWriter(logCfg, stderr)
	// A command with subcommands ("tune resources") is run by its
	// top-level runFunc, which knows which subcommand was chosen.
	top, _, _ := strings.Cut(selected, " ")
	return cmds[top](ctx, logger)
}

// namedFlagError adds the flag's name to kingpin's value errors ("enum value
// must be one of ...") by replaying the parsed flags, so the one-line error
// says which flag was wrong. The process exits right after, so re-setting
// values has no effect that matters.
func namedFlagError(app *kingpin.Application, args []string, err error) error {
	pc, perr := app.ParseContext(args)
	if perr != nil {
		return err
	}
	for _, el := range pc.Elements {
		fc, ok := el.Clause.(*kingpin.FlagClause)
		if !ok || el.Value == nil {
			continue
		}
		m := fc.Model()
		if m.Value.Set(*el.Value) != nil {
			return fmt.Errorf("--%s=%s: %w", m.Name, *el.Value, err)
		}
	}
	return err
}
