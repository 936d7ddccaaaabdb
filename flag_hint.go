package main

import (
	"fmt"
	"regexp"
	"strings"
)

// kingpin reads "-5" after "--rate" as a short flag and reports only
// "expected argument for flag '--rate'". negativeValueError says what went
// wrong when the value given was a negative number.
var expectedArgument = regexp.MustCompile(`^expected argument for flag '(--[a-z0-9.-]+)'$`)

// negativeHints says, per flag, which values are valid.
var negativeHints = map[string]string{
	"--rate":       "the rate is requests per second and must be >= 0 (0 runs a closed loop)",
	"--start-rate": "the rate is requests per second and must be >= 0",
	"--duration":   "the duration must be positive, like 30s",
}

func negativeValueError(args []string, err error) error {
	m := expectedArgument.FindStringSubmatch(err.Error())
	if m == nil {
		return err
	}
	for i, a := range args[:max(len(args)-1, 0)] {
		v := args[i+1]
		if a != m[1] || len(v) < 2 || v[0] != '-' || strings.IndexByte("0123456789.", v[1]) < 0 {
			continue
		}
		if hint, ok := negativeHints[a]; ok {
			return fmt.Errorf("%s %s: %s", a, v, hint)
		}
		return fmt.Errorf("%s %s: a value starting with '-' is read as a flag; write %s=%s", a, v, a, v)
	}
	return err
}
