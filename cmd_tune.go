package main

import (
	"context"
	"fmt"
	"os"

	"github.com/alecthomas/kingpin/v2"
	"github.com/go-kit/log"
)

func tuneCommand(app *kingpin.Application) runFunc {
	app.Command("tune", "Not implemented yet.")
	return func(context.Context, log.Logger) int {
		fmt.Fprintln(os.Stderr, "kubepulse tune: not implemented yet")
		return 1
	}
}
