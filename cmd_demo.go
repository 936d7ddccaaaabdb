package main

import (
	"context"
	"fmt"
	"os"

	"github.com/alecthomas/kingpin/v2"
	"github.com/go-kit/log"
)

func demoCommand(app *kingpin.Application) runFunc {
	app.Command("demo", "Not implemented yet.")
	return func(context.Context, log.Logger) int {
		fmt.Fprintln(os.Stderr, "kubepulse demo: not implemented yet")
		return 1
	}
}
