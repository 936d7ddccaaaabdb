// Package memlimit sets the Go runtime's soft memory limit from the
// container's cgroup limit, as Prometheus does with --auto-gomemlimit: the
// garbage collector then works harder as the heap nears the limit instead of
// letting the kernel OOM-kill the exporter.
package memlimit

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime/debug"
	"strconv"
	"strings"
)

// Files are the cgroup files read, v2 first; tests point them elsewhere.
type Files struct {
	V2, V1 string
}

// DefaultFiles are the paths inside a container.
var DefaultFiles = Files{V2: "/sys/fs/cgroup/memory.max", V1: "/sys/fs/cgroup/memory/memory.limit_in_bytes"}

// ErrNoLimit means the cgroup sets no memory limit (or there is no cgroup).
var ErrNoLimit = errors.New("no cgroup memory limit")

// v1Unlimited is what cgroup v1 reports without a limit (a page-rounded
// maximum); anything that large is no limit.
const v1Unlimited = 1 << 62

// CgroupLimit returns the memory limit in bytes and the file it came from.
func CgroupLimit(f Files) (int64, string, error) {
	for _, p := range []string{f.V2, f.V1} {
		if p == "" {
			continue
		}
		b, err := os.ReadFile(p)
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			return 0, p, err
		}
		s := strings.TrimSpace(string(b))
		if s == "max" {
			return 0, p, ErrNoLimit
		}
		v, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return 0, p, fmt.Errorf("%s: %q is not a byte count", filepath.Clean(p), s)
		}
		if v <= 0 || v >= v1Unlimited {
			return 0, p, ErrNoLimit
		}
		return v, p, nil
	}
	return 0, "", ErrNoLimit
}

// Apply sets the soft limit to ratio of the cgroup limit unless GOMEMLIMIT
// is set in the environment (the user's value wins). It returns the limit
// set, 0 when none was.
func Apply(f Files, ratio float64) (int64, string, error) {
	if ratio <= 0 || ratio > 1 {
		return 0, "", fmt.Errorf("--auto-gomemlimit.ratio must be in (0, 1], got %g", ratio)
	}
	if os.Getenv("GOMEMLIMIT") != "" {
		return 0, "GOMEMLIMIT", nil
	}
	limit, src, err := CgroupLimit(f)
	if err != nil {
		return 0, src, err
	}
	v := int64(float64(limit) * ratio)
	debug.SetMemoryLimit(v)
	return v, src, nil
}
