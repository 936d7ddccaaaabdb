package main

import (
	"context"
	"errors"
	"io"

	"github.com/kubepulse/kubepulse/tuning"
)

func loadPrometheus(ctx context.Context, in *tuneInput, src tuning.Source, stderr io.Writer) (*tuning.History, error) {
	return nil, errors.New("--prometheus.url: not implemented yet")
}
