package main

import (
	"context"
	"fmt"
	"os"

	"github.com/alecthomas/kingpin/v2"
	"github.com/go-kit/log"
)

func generateCommand(app *kingpin.Application) runFunc {
	app.Command("generate", "Not implemented yet.")
	return func(context.Context, log.Logger) int {
		fmt.Fprintln(os.Stderr, "kubepulse generate: not implemented yet")
		return 1
	}
}
