// Command logsamples writes testdata/logs/formats: container logs in CRI
// form holding the real output of common loggers and crashes (Go slog JSON
// and text, klog, Go panics, a JVM's exceptions, Python's logging and
// tracebacks), and EXPECTED.tsv, the number of error events each holds, as
// known from how they were produced. The default log rules are tested on
// them (collector/logs/formats_test.go).
//
//	go run -trimpath ./hack/logsamples -out testdata/logs/formats
//
// It needs java (17+) and python3 on PATH.
package main

import (
	"bufio"
	"bytes"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"k8s.io/klog/v2"
)

func main() {
	if len(os.Args) > 1 && os.Args[1] == "child" {
		child(os.Args[2])
		return
	}
	out := flag.String("out", "testdata/logs/formats", "output directory")
	flag.Parse()
	if err := run(*out); err != nil {
		fmt.Fprintln(os.Stderr, "logsamples:", err)
		os.Exit(1)
	}
}

// sample is one output file: the child's stdout and stderr, and the error
// events it holds.
type sample struct {
	name   string
	cmd    []string
	events int
}

func run(out string) error {
	tmp, err := os.MkdirTemp("", "logsamples")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	if err := os.WriteFile(filepath.Join(tmp, "Main.java"), []byte(javaSrc), 0o644); err != nil {
		return err
	}
	self := os.Args[0]
	samples := []sample{
		{"go-slog-json", []string{self, "child", "slog-json"}, 2},
		{"go-slog-text", []string{self, "child", "slog-text"}, 2},
		{"klog", []string{self, "child", "klog"}, 2},
		{"go-panic-runtime-error", []string{self, "child", "panic-index"}, 1},
		{"go-panic-value", []string{self, "child", "panic-value"}, 1},
		{"go-panic-in-goroutine", []string{self, "child", "panic-goroutine"}, 1},
		{"java", []string{"java", "Main.java"}, 4},
		{"python", []string{"python3", "-c", pythonSrc}, 3},
	}
	if err := os.MkdirAll(out, 0o755); err != nil {
		return err
	}
	var tsv strings.Builder
	tsv.WriteString("file\terror_events\tproduced_by\n")
	base := time.Date(2026, 12, 4, 7, 0, 0, 0, time.UTC)
	for _, s := range samples {
		var stdout, stderr bytes.Buffer
		c := exec.Command(s.cmd[0], s.cmd[1:]...)
		c.Dir = tmp // relative source paths in the traces
		c.Stdout, c.Stderr = &stdout, &stderr
		var ee *exec.ExitError
		if err := c.Run(); err != nil && !errors.As(err, &ee) {
			return fmt.Errorf("%s: %w", s.name, err)
		}
		// stdout then stderr: the rules' state is per stream, so the
		// interleaving does not change what is counted.
		var b strings.Builder
		n := 0
		for _, part := range []struct {
			stream string
			text   []byte
		}{{"stdout", stdout.Bytes()}, {"stderr", stderr.Bytes()}} {
			sc := bufio.NewScanner(bytes.NewReader(part.text))
			for sc.Scan() {
				n++
				fmt.Fprintf(&b, "%s %s F %s\n", base.Add(time.Duration(n)*time.Millisecond).Format(time.RFC3339Nano), part.stream, sc.Text())
			}
		}
		if err := os.WriteFile(filepath.Join(out, s.name+".log"), []byte(b.String()), 0o644); err != nil {
			return err
		}
		by := "logsamples " + s.cmd[len(s.cmd)-1]
		if s.cmd[0] != self {
			by = s.cmd[0] + " (source in hack/logsamples)"
		}
		fmt.Fprintf(&tsv, "%s.log\t%d\t%s\n", s.name, s.events, by)
	}
	return os.WriteFile(filepath.Join(out, "EXPECTED.tsv"), []byte(tsv.String()), 0o644)
}

// child produces one sample's output; the number of error events is in the
// samples table above.
func child(kind string) {
	switch kind {
	case "slog-json", "slog-text":
		var h slog.Handler = slog.NewJSONHandler(os.Stdout, &slog.HandlerOptions{Level: slog.LevelDebug})
		if kind == "slog-text" {
			h = slog.NewTextHandler(os.Stdout, &slog.HandlerOptions{Level: slog.LevelDebug})
		}
		l := slog.New(h)
		l.Debug("cache warm", "entries", 1024)
		l.Info("serving", "addr", ":8080", "errors_total", 0)
		l.Warn("slow request", "path", "/api/orders", "ms", 950)
		l.Error("request failed", "path", "/api/orders", "err", "upstream refused connection")
		l.Info("retry scheduled", "error_count", 1)
		l.Error("giving up", "attempts", 3)
	case "klog":
		klog.InitFlags(nil)
		klog.Info("Version: v1.31.0")
		klog.Warning("Authorization is disabled")
		klog.Errorf("Failed to list *v1.Pod: %v", errors.New("connection refused"))
		klog.InfoS("Starting controller", "errors", 0)
		klog.ErrorS(errors.New("timeout"), "Sync failed", "pod", "web-0")
		klog.Flush()
	case "panic-index":
		fmt.Println("starting")
		idx := len(os.Args) + 5
		fmt.Println([]int{1, 2, 3}[idx])
	case "panic-value":
		fmt.Println("starting")
		panic(fmt.Errorf("config: %w", errors.New("missing key")))
	case "panic-goroutine":
		fmt.Println("starting")
		done := make(chan struct{})
		go func() {
			var m map[string]int
			m["x"] = 1
			close(done)
		}()
		<-done
	}
}

const javaSrc = `import java.util.logging.*;

public class Main {
    static void load(String path) throws java.io.IOException {
        throw new java.io.FileNotFoundException(path + " (No such file or directory)");
    }
    static void handle() {
        try {
            load("/etc/app/config.yaml");
        } catch (java.io.IOException e) {
            throw new IllegalStateException("cannot start", e);
        }
    }
    public static void main(String[] args) throws Exception {
        Logger log = Logger.getLogger("app");
        log.info("starting with 0 errors");
        log.warning("slow disk");
        try {
            handle();
        } catch (IllegalStateException e) {
            log.log(Level.SEVERE, "request failed", e);
        }
        try {
            Object o = null;
            o.toString();
        } catch (NullPointerException e) {
            e.printStackTrace();
        }
        log.severe("shutting down");
        handle();
    }
}
`

const pythonSrc = `import logging
logging.basicConfig(level=logging.INFO)
log = logging.getLogger("app")
log.info("starting, errors=0")
log.warning("slow disk")
try:
    try:
        {}["key"]
    except KeyError as e:
        raise ValueError("bad config") from e
except ValueError:
    log.exception("request failed")
log.error("retrying")
log.info("loading config")
def load():
    try:
        open("/nonexistent/config.yaml")
    except OSError:
        raise RuntimeError("cannot start")
load()
`
