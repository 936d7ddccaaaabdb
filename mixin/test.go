package mixin

import (
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"

	"golang.org/x/sync/errgroup"

	"github.com/kubepulse/kubepulse/mixin/promtest"
)

// RunTests runs every tests/*.yaml under dir against the rule files there,
// in process. It returns the number of test files run and the failures.
func RunTests(dir string) (int, []promtest.Failure, error) {
	files, err := filepath.Glob(filepath.Join(dir, DirTests, "*.yaml"))
	if err != nil {
		return 0, nil, err
	}
	sort.Strings(files)
	// Files are independent (each has its own storage): run them on every
	// CPU, and report in file order.
	res := make([][]promtest.Failure, len(files))
	var g errgroup.Group
	g.SetLimit(runtime.GOMAXPROCS(0))
	for i, f := range files {
		g.Go(func() error {
			res[i] = promtest.RunFile(f)
			return nil
		})
	}
	_ = g.Wait()
	var fails []promtest.Failure
	for _, r := range res {
		fails = append(fails, r...)
	}
	return len(files), fails, nil
}

// RunGeneratedTests writes out to a temporary directory and runs its tests,
// so --test checks what would be generated whatever DIR holds.
func RunGeneratedTests(out *Output) (int, []promtest.Failure, error) {
	tmp, err := os.MkdirTemp("", "kubepulse-generate-test-")
	if err != nil {
		return 0, nil, err
	}
	defer os.RemoveAll(tmp)
	if err := Write(out, tmp); err != nil {
		return 0, nil, err
	}
	n, fails, err := RunTests(tmp)
	for i := range fails {
		if rel, rerr := filepath.Rel(tmp, fails[i].File); rerr == nil {
			fails[i].File = filepath.ToSlash(rel)
		}
		fails[i].File = strings.TrimPrefix(fails[i].File, "./")
	}
	return n, fails, err
}
