// Command logbench generates kubelet-style log trees and measures the logs
// collector on them; hack/bench/logs.sh drives it next to grep.
//
//	logbench gen -dir D -bytes N -containers C   write C containers, N bytes in total
//	logbench run -dir D -rules F                 time from Start until lag is 0
//	logbench live -dir D -rules F -containers C  C writers appending while the tailer follows
package main

import (
	"bufio"
	"bytes"
	"context"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/pprof"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/go-kit/log"

	"github.com/kubepulse/kubepulse/collector/logs"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: logbench gen|run|live [flags]")
		os.Exit(2)
	}
	fs := flag.NewFlagSet(os.Args[1], flag.ExitOnError)
	dir := fs.String("dir", "", "log root")
	size := fs.Int64("bytes", 256<<20, "total bytes to generate")
	containers := fs.Int("containers", 1, "containers")
	rules := fs.String("rules", "", "rules file")
	dur := fs.Duration("duration", 10*time.Second, "live: how long writers write")
	rate := fs.Int("rate", 100, "live: lines per second per container")
	shape := fs.String("shape", "sparse", "gen: sparse (~140-byte lines, 1% ERROR/EXCEPTION) or dense (88-byte lines, JSON/logfmt/plain, 22% ERROR/EXCEPTION)")
	_ = fs.Parse(os.Args[2:])
	if *dir == "" {
		fmt.Fprintln(os.Stderr, "-dir is required")
		os.Exit(2)
	}
	var err error
	switch os.Args[1] {
	case "gen":
		switch *shape {
		case "sparse":
			err = gen(*dir, *size, *containers, line)
		case "dense":
			err = gen(*dir, *size, *containers, denseLine)
		default:
			err = fmt.Errorf("unknown -shape %q", *shape)
		}
	case "run":
		if p := os.Getenv("LOGBENCH_CPUPROFILE"); p != "" {
			f, _ := os.Create(p)
			_ = pprof.StartCPUProfile(f)
			defer pprof.StopCPUProfile()
		}
		err = run(*dir, *rules)
	case "live":
		if p := os.Getenv("LOGBENCH_CPUPROFILE"); p != "" {
			f, _ := os.Create(p)
			_ = pprof.StartCPUProfile(f)
			defer pprof.StopCPUProfile()
		}
		err = live(*dir, *rules, *containers, *dur, *rate)
	case "write":
		err = write(*dir, *containers, *dur, *rate)
	default:
		err = fmt.Errorf("unknown mode %q", os.Args[1])
	}
	if err != nil {
		pprof.StopCPUProfile()
		fmt.Fprintln(os.Stderr, "logbench:", err)
		os.Exit(1)
	}
}

func ctrPath(dir string, i int) string {
	return filepath.Join(dir, fmt.Sprintf("bench_pod%d_uid%d", i, i), "app", "0.log")
}

var words = strings.Fields(`GET POST /api/v1/orders /api/v1/users /healthz user=alice user=bob status=200 status=404
latency_ms=3 latency_ms=12 db=primary cache=hit cache=miss msg="request served" region=eu-west-1 trace=4bf92f3577b34da6`)

// line renders one CRI record; about 1% carry ERROR or EXCEPTION and 0.5% a
// timeout, as in a busy but mostly healthy service.
func line(r *rand.Rand, ts time.Time, b []byte) []byte {
	b = ts.AppendFormat(b, time.RFC3339Nano)
	if r.IntN(4) == 0 {
		b = append(b, " stderr F "...)
	} else {
		b = append(b, " stdout F "...)
	}
	switch n := r.IntN(1000); {
	case n < 7:
		b = append(b, "level=error ERROR upstream refused connection "...)
	case n < 10:
		b = append(b, "java.lang.IllegalStateException EXCEPTION in handler "...)
	case n < 15:
		b = append(b, "level=warn upstream Timed Out after 30s "...)
	default:
		b = append(b, "level=info "...)
	}
	for i := 0; i < 8; i++ {
		b = append(b, words[r.IntN(len(words))]...)
		b = append(b, ' ')
	}
	return append(b, '\n')
}

// denseLine renders one 88-byte CRI record (with its newline): short lines
// in JSON, logfmt and plain text, 22% of them with ERROR or EXCEPTION, as in
// a service logging every request and failing often.
func denseLine(r *rand.Rand, ts time.Time, b []byte) []byte {
	const size, header = 88, 40 // 30-byte timestamp, " stdout F "
	b = ts.AppendFormat(b, "2006-01-02T15:04:05.000000000Z07:00")
	if r.IntN(4) == 0 {
		b = append(b, " stderr F "...)
	} else {
		b = append(b, " stdout F "...)
	}
	lvl := "info"
	if r.IntN(100) < 22 {
		lvl = "ERROR"
		if r.IntN(5) == 0 {
			lvl = "EXCEPTION"
		}
	}
	id := r.IntN(100000)
	form := r.IntN(3)
	render := func(path string) []byte {
		switch form {
		case 0:
			return fmt.Appendf(nil, `{"level":"%s","msg":"GET %s","id":%d}`, lvl, path, id)
		case 1:
			return fmt.Appendf(nil, `level=%s msg="GET %s" id=%d`, lvl, path, id)
		}
		return fmt.Appendf(nil, `%s GET %s id=%d`, lvl, path, id)
	}
	msg := render("/")
	msg = render("/" + strings.Repeat("x", size-header-1-len(msg)))
	b = append(b, msg...)
	return append(b, '\n')
}

func gen(dir string, total int64, containers int, line func(*rand.Rand, time.Time, []byte) []byte) error {
	per := total / int64(containers)
	r := rand.New(rand.NewPCG(1, 2))
	ts := time.Date(2025, 3, 21, 14, 0, 0, 0, time.UTC)
	var buf []byte
	for i := 0; i < containers; i++ {
		p := ctrPath(dir, i)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		f, err := os.Create(p)
		if err != nil {
			return err
		}
		w := bufio.NewWriterSize(f, 1<<20)
		var n int64
		for n < per {
			ts = ts.Add(time.Microsecond * 137)
			buf = line(r, ts, buf[:0])
			w.Write(buf)
			n += int64(len(buf))
		}
		if err := w.Flush(); err != nil {
			return err
		}
		if err := f.Close(); err != nil {
			return err
		}
	}
	return nil
}

// newTailer uses the collector's defaults (--logs.poll-interval 500ms).
func newTailer(dir, rules string) (*logs.Tailer, error) {
	return logs.NewTailer(logs.Config{Path: dir, RulesFile: rules}, log.NewNopLogger())
}

func totals(t *logs.Tailer) (lines, errs, timeouts, bytes uint64) {
	for _, c := range t.Counts() {
		for _, v := range c.Lines {
			lines += v
		}
		errs += c.Matches["error"]
		timeouts += c.Matches["timeout"]
		bytes += c.Bytes
	}
	return
}

func maxRSSMiB() float64 {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return float64(ru.Maxrss) / 1024
}

func cpuSeconds() float64 {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()).Seconds()
}

// run times the tailer from Start until it has read everything (lag 0).
func run(dir, rules string) error {
	t, err := newTailer(dir, rules)
	if err != nil {
		return err
	}
	var onDisk int64
	_ = filepath.Walk(dir, func(_ string, fi os.FileInfo, err error) error {
		if err == nil && fi.Mode().IsRegular() {
			onDisk += fi.Size()
		}
		return nil
	})
	start := time.Now()
	cpu0 := cpuSeconds()
	if err := t.Start(context.Background()); err != nil {
		return err
	}
	for !t.Ready() || t.Health().LagBytes != 0 {
		time.Sleep(2 * time.Millisecond)
	}
	el := time.Since(start)
	cpu := cpuSeconds() - cpu0
	_ = t.Stop()
	lines, errs, touts, bytes := totals(t)
	if int64(bytes) != onDisk {
		return fmt.Errorf("read %d bytes, %d on disk", bytes, onDisk)
	}
	fmt.Printf("seconds=%.3f cpu_seconds=%.3f MiB/s=%.0f lines=%d error=%d timeout=%d maxrss_mib=%.1f\n",
		el.Seconds(), cpu, float64(bytes)/(1<<20)/el.Seconds(), lines, errs, touts, maxRSSMiB())
	return nil
}

// live: a child process runs containers writers appending rate lines/s
// each for dur while the tailer follows; reports the tailer's catch-up time
// after the writers stop, its CPU (the writers' is not included) and RSS.
func live(dir, rules string, containers int, dur time.Duration, rate int) error {
	for i := 0; i < containers; i++ {
		if err := os.MkdirAll(filepath.Dir(ctrPath(dir, i)), 0o755); err != nil {
			return err
		}
	}
	t, err := newTailer(dir, rules)
	if err != nil {
		return err
	}
	if err := t.Start(context.Background()); err != nil {
		return err
	}
	cpu0 := cpuSeconds()
	start := time.Now()
	cmd := exec.Command(os.Args[0], "write", "-dir", dir, "-containers", strconv.Itoa(containers),
		"-duration", dur.String(), "-rate", strconv.Itoa(rate))
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	if err != nil {
		return fmt.Errorf("writers: %v", err)
	}
	var written, wantErr int64
	if _, err := fmt.Sscanf(string(out), "%d %d", &written, &wantErr); err != nil {
		return fmt.Errorf("writers output %q: %v", out, err)
	}
	done := time.Now()
	for {
		lines, errs, _, _ := totals(t)
		if int64(lines) == written && t.Health().LagBytes == 0 {
			if int64(errs) != wantErr {
				return fmt.Errorf("error matches %d, want %d", errs, wantErr)
			}
			break
		}
		if time.Since(done) > 60*time.Second {
			return fmt.Errorf("not caught up: %d of %d lines", lines, written)
		}
		time.Sleep(5 * time.Millisecond)
	}
	catch := time.Since(done)
	cpu := cpuSeconds() - cpu0
	h := t.Health()
	_ = t.Stop()
	fmt.Printf("containers=%d lines=%d lines/s=%.0f catchup_seconds=%.3f tailer_cpu_seconds=%.2f tailer_cores=%.3f files_open=%d maxrss_mib=%.1f\n",
		containers, written, float64(written)/dur.Seconds(), catch.Seconds(), cpu, cpu/time.Since(start).Seconds(), h.FilesOpen, maxRSSMiB())
	return nil
}

// write is live's child: it prints "<lines> <error lines>" when done.
func write(dir string, containers int, dur time.Duration, rate int) error {
	var wg sync.WaitGroup
	var mu sync.Mutex
	var written, wantErr int64
	var firstErr error
	stop := time.Now().Add(dur)
	for i := 0; i < containers; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			n, e, err := writeOne(ctrPath(dir, i), uint64(i), stop, rate)
			mu.Lock()
			written, wantErr = written+n, wantErr+e
			if err != nil && firstErr == nil {
				firstErr = err
			}
			mu.Unlock()
		}(i)
	}
	wg.Wait()
	if firstErr != nil {
		return firstErr
	}
	fmt.Printf("%d %d\n", written, wantErr)
	return nil
}

// writeOne appends a batch every 100 ms, one write per line as container
// runtimes do.
func writeOne(path string, seed uint64, stop time.Time, rate int) (n, e int64, err error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return 0, 0, err
	}
	defer f.Close()
	r := rand.New(rand.NewPCG(seed, 7))
	var buf []byte
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for time.Now().Before(stop) {
		for k := 0; k < rate/10; k++ {
			buf = line(r, time.Now(), buf[:0])
			if bytes.Contains(buf, []byte("ERROR")) || bytes.Contains(buf, []byte("EXCEPTION")) {
				e++
			}
			if _, err := f.Write(buf); err != nil {
				return n, e, err
			}
			n++
		}
		<-tick.C
	}
	return n, e, nil
}
