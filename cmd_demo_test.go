package main

import (
	"bytes"
	"context"
	"os"
	"strings"
	"testing"
)

// Bad demo flags are rejected before anything starts, naming the flag.
func TestDemoFlagErrors(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--demo.history=-1h"}, "--demo.history=-1h0m0s: must not be negative"},
		{[]string{"--demo.duration=-5s"}, "--demo.duration=-5s: must not be negative"},
		{[]string{"--demo.scrape-interval=0s"}, "--demo.scrape-interval=0s: must be positive"},
		{[]string{"--demo.loadtest-rate=0"}, "--demo.loadtest-rate=0: must be positive"},
		{[]string{"--web.listen-address=127.0.0.1:0", "--web.listen-address=127.0.0.1:0"}, "--web.listen-address given 2 times"},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			var stderr bytes.Buffer
			demoStderr = &stderr
			defer func() { demoStderr = os.Stderr }()
			code := run(context.Background(), append([]string{"demo"}, tc.args...), &stderr)
			if code != 2 || !strings.Contains(stderr.String(), tc.want) {
				t.Errorf("exit %d, stderr %q; want 2 and %q", code, stderr.String(), tc.want)
			}
		})
	}
}
