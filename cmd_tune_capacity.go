package main

import (
	"context"
	"fmt"

	"github.com/alecthomas/kingpin/v2"
	"github.com/go-kit/log"
)

type tuneCapacityFlags struct{}

func (f *tuneCapacityFlags) flags(cmd *kingpin.CmdClause) {}

func (f *tuneCapacityFlags) run(context.Context, log.Logger) int {
	fmt.Fprintln(tuneStderr, "kubepulse tune capacity: not implemented yet")
	return 1
}
