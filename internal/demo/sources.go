package demo

import (
	"bufio"
	"fmt"
	"math"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"github.com/kubepulse/kubepulse/collector/usage/kubelettest"
	"github.com/kubepulse/kubepulse/loadtest/gen"
)

// kubeletContainers is what each node's fake kubelet reports now.
func kubeletContainers(s *Sim) map[string][]kubelettest.Container {
	out := map[string][]kubelettest.Container{}
	for _, p := range s.pods {
		if p.phase != "Running" || p.node == "" {
			continue
		}
		out[p.node] = append(out[p.node], kubelettest.Container{
			Namespace: p.w.ns, Pod: p.name, Name: p.w.container,
			CPUSeconds: p.cpuSec, MemoryBytes: p.mem, StartTime: p.started,
		})
	}
	return out
}

// logWriter writes CRI-format container logs the way the kubelet lays them
// out: <root>/<ns>_<pod>_<uid>/<container>/<restart>.log.
type logWriter struct {
	root  string
	rng   *rand.Rand
	files map[string]*os.File
	lines uint64 // lines written, to wait for the tailer
	owed  map[string]float64
}

func newLogWriter(root string, seed int64) *logWriter {
	return &logWriter{root: root, rng: rand.New(rand.NewPCG(uint64(seed), 0x1095)), files: map[string]*os.File{}, owed: map[string]float64{}}
}

func (l *logWriter) file(p *simPod) (*os.File, error) {
	dir := filepath.Join(l.root, p.w.ns+"_"+p.name+"_"+p.uid, p.w.container)
	path := filepath.Join(dir, strconv.Itoa(p.logIdx)+".log")
	if f := l.files[path]; f != nil {
		return f, nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, err
	}
	// The previous restart's file is finished: close it.
	old := filepath.Join(dir, strconv.Itoa(p.logIdx-1)+".log")
	if f := l.files[old]; f != nil {
		_ = f.Close()
		delete(l.files, old)
	}
	l.files[path] = f
	return f, nil
}

var (
	infoMsgs = []string{
		`level=info msg="GET /api/cart 200" duration_ms=%d`,
		`level=info msg="GET /healthz 200" duration_ms=%d`,
		`level=info msg="POST /api/checkout 201" duration_ms=%d`,
		`level=info msg="cache refreshed" entries=%d`,
	}
	errMsgs = []string{
		`level=error msg="ERROR upstream timed out" upstream=api:8080 after_ms=%d`,
		`level=error msg="ERROR payment declined by gateway" code=%d`,
		`EXCEPTION java.net.SocketTimeoutException: Read timed out after %dms`,
	}
)

// write appends the lines the pods logged during (t-dt, t].
func (l *logWriter) write(s *Sim, t time.Time, dt time.Duration) error {
	for _, p := range s.pods {
		if p.phase != "Running" {
			continue
		}
		var info, errs float64
		var panics int
		switch p.w.name {
		case WebName:
			info = p.w.logPerSec * (0.5 + dayFactor(t))
			if errorBurst(t) {
				errs = 1.5
			} else {
				errs = 0.01
			}
		case CrashName:
			// A crash-looping container logs its start, an error and a panic
			// each time it comes up.
			if p.started.After(t.Add(-dt)) {
				info, errs, panics = 2/dt.Seconds(), 1/dt.Seconds(), 1
			}
		default:
			info = p.w.logPerSec
			errs = 0.002
		}
		key := p.uid
		n := l.owed[key+"i"] + info*dt.Seconds()
		e := l.owed[key+"e"] + errs*dt.Seconds()
		ni, ne := int(n), int(e)
		l.owed[key+"i"], l.owed[key+"e"] = n-float64(ni), e-float64(ne)
		if ni+ne+panics == 0 {
			continue
		}
		f, err := l.file(p)
		if err != nil {
			return err
		}
		w := bufio.NewWriter(f)
		span := dt.Nanoseconds()
		for i := 0; i < ni+ne+panics; i++ {
			ts := t.Add(-time.Duration(span - span*int64(i+1)/int64(ni+ne+panics+1))).UTC().Format(time.RFC3339Nano)
			stream, msg := "stdout", ""
			switch {
			case i < ni:
				msg = fmt.Sprintf(infoMsgs[l.rng.IntN(len(infoMsgs))], 5+l.rng.IntN(80))
			case i < ni+ne:
				stream = "stderr"
				msg = fmt.Sprintf(errMsgs[l.rng.IntN(len(errMsgs))], 100+l.rng.IntN(4900))
			default:
				stream = "stderr"
				msg = "panic: dial tcp 10.96.0.12:5432: connect: connection refused"
			}
			fmt.Fprintf(w, "%s %s F %s\n", ts, stream, msg)
			l.lines++
		}
		if err := w.Flush(); err != nil {
			return err
		}
	}
	return nil
}

// writeJob writes the completed Job's log once.
func (l *logWriter) writeJob(s *Sim) error {
	for _, p := range s.pods {
		if p.phase != "Succeeded" {
			continue
		}
		f, err := l.file(p)
		if err != nil {
			return err
		}
		ts := p.created.UTC()
		for i, m := range []string{"applying migration 0042_add_orders_index", "applied 1 migration in 41.7s", "done"} {
			fmt.Fprintf(f, "%s stdout F %s\n", ts.Add(time.Duration(i)*20*time.Second).Format(time.RFC3339Nano), m)
			l.lines++
		}
	}
	return nil
}

func (l *logWriter) close() {
	for _, f := range l.files {
		_ = f.Close()
	}
}

// service is the in-process HTTP service the load test hits; its latency
// and errors follow the web workload's simulated load at the wall-clock time.
type service struct {
	mu  sync.Mutex
	rng *rand.Rand
}

func (sv *service) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	now := time.Now()
	sv.mu.Lock()
	lat := noisy(sv.rng, WebLatency(now))
	fail := sv.rng.Float64() < WebErrorRatio(now)
	sv.mu.Unlock()
	time.Sleep(lat)
	if fail {
		http.Error(w, "upstream timed out", http.StatusServiceUnavailable)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write([]byte(`{"cart":"ok","items":3}` + "\n"))
}

// noisy draws a log-normal latency with median d and a long tail.
func noisy(rng *rand.Rand, d time.Duration) time.Duration {
	return time.Duration(float64(d) * math.Exp(0.45*rng.NormFloat64()))
}

// jtlWriter writes the load test's history rows in the generator's JTL
// format (JMeter CSV), so the collector reads history and live rows alike.
type jtlWriter struct {
	f    *os.File
	rng  *rand.Rand
	url  string
	rows uint64
	owed float64
	bad  bool // the one malformed row is written
}

func newJTL(path, url string, seed int64) (*jtlWriter, error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	if _, err := f.WriteString(gen.JTLHeader); err != nil {
		return nil, err
	}
	return &jtlWriter{f: f, url: url, rng: rand.New(rand.NewPCG(uint64(seed), 0x1e57))}, nil
}

// write adds the rows of rate requests per second during (t-dt, t].
func (j *jtlWriter) write(t time.Time, dt time.Duration, rate float64) error {
	n := j.owed + rate*dt.Seconds()
	rows := int(n)
	j.owed = n - float64(rows)
	w := bufio.NewWriter(j.f)
	if !j.bad {
		// A row cut short, as a load generator killed mid-write leaves
		// it: the collector counts it as a parse error and goes on.
		j.bad = true
		fmt.Fprintf(w, "%d,41,GET cart,200,OK,kubepulse 1-1,text,tr\n", t.Add(-dt).UnixMilli())
	}
	var buf []byte
	for i := 0; i < rows; i++ {
		ts := t.Add(-dt + dt*time.Duration(i)/time.Duration(max(rows, 1)))
		lat := noisy(j.rng, WebLatency(ts)).Truncate(time.Millisecond)
		row := gen.JTLRow{Time: ts, Elapsed: lat, Latency: lat, Label: "GET cart", Code: 200, Success: true, Bytes: 24, Sent: 96, URL: j.url, Run: loadTestRun}
		if j.rng.Float64() < WebErrorRatio(ts) {
			row.Code, row.Success, row.Bytes = 503, false, 20
		}
		row.Threads = int64(1 + j.rng.IntN(4))
		row.Thread = "kubepulse 1-" + strconv.FormatInt(row.Threads, 10)
		buf = gen.AppendJTLRow(buf[:0], &row)
		if _, err := w.Write(buf); err != nil {
			return err
		}
		j.rows++
	}
	return w.Flush()
}
