package main

import (
	"context"
	"fmt"
	"os"

	"github.com/alecthomas/kingpin/v2"
	"github.com/go-kit/log"
)

func loadtestCommand(app *kingpin.Application) runFunc {
	app.Command("loadtest", "Not implemented yet.")
	return func(context.Context, log.Logger) int {
		fmt.Fprintln(os.Stderr, "kubepulse loadtest: not implemented yet")
		return 1
	}
}
