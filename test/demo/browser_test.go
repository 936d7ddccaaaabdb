package demo

import (
	"context"
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/kubepulse/kubepulse/internal/testutil"
)

// chromium finds the browser: $CHROMIUM, else Debian's package.
func chromium(t *testing.T) string {
	for _, p := range []string{os.Getenv("CHROMIUM"), "/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome"} {
		if p == "" {
			continue
		}
		if _, err := exec.LookPath(p); err == nil {
			return p
		}
	}
	// Not a skip: CI installs it (.ci/run), and a missing browser must fail.
	t.Fatal("no Chromium found: apt-get install chromium, or set CHROMIUM to the browser binary")
	return ""
}

// TestPageInBrowser loads / in headless Chromium and checks on the DOM
// that every section of the loop shows data, then saves the screenshot
// the README shows (docs/demo.png).
func TestPageInBrowser(t *testing.T) {
	base := startDemo(t)
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(chromium(t)),
		chromedp.NoSandbox, // root in CI containers
		chromedp.Headless,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1400, 1800),
	}
	actx, cancel := chromedp.NewExecAllocator(context.Background(), opts...)
	defer cancel()
	ctx, cancel := chromedp.NewContext(actx)
	defer cancel()
	ctx, cancel = context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()

	if err := chromedp.Do(ctx, chromedp.Navigate(base+"/"), chromedp.WaitVisible(chromedp.CSS("#alerts"))); err != nil {
		t.Fatal(err)
	}
	// Read the rendered DOM in one evaluation.
	type state struct {
		NodeRows, WorkloadRows, Firing, LogRows int
		CrashFiring, JobListed                  bool
		WorkerPoints, WorkerLines, LTRatePoints int
		P50, P90, P99, Rec                      string
	}
	st, err := chromedp.Run(ctx, chromedp.Evaluate[state](`(function(){
		const q = s => document.querySelector(s), n = s => document.querySelectorAll(s).length;
		const pts = s => { const e = q(s); return e ? +e.dataset.points : 0; };
		const txt = s => { const e = q(s); return e ? e.innerText : ""; };
		return {
			NodeRows: n('#node-table tr.node-row'),
			WorkloadRows: n('#workload-table tr.workload-row'),
			JobListed: !!q('#workload-table tr[data-workload$="/db-migrate"]'),
			Firing: n('#alert-table tr.alert-row[data-state="firing"]'),
			LogRows: n('#log-table tr.log-row'),
			CrashFiring: !!q('#alert-table tr[data-alert="KubePulseContainerCrashLooping"][data-state="firing"]'),
			WorkerPoints: pts('#chart-mem-shop-worker'),
			WorkerLines: n('#chart-mem-shop-worker polyline'),
			LTRatePoints: pts('#chart-lt-rate'),
			P50: txt('#lt-p50'), P90: txt('#lt-p90'), P99: txt('#lt-p99'),
			Rec: txt('#workload-table tr[data-workload="shop/api"] td.rec'),
		};
	})()`))
	if err != nil {
		t.Fatal(err)
	}
	shot, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatal(err)
	}
	nodeRows, workloadRows, firing, logRows := st.NodeRows, st.WorkloadRows, st.Firing, st.LogRows
	crashFiring, workerPoints, ltRatePoints := st.CrashFiring, st.WorkerPoints, st.LTRatePoints
	p50, p90, p99, rec := st.P50, st.P90, st.P99, st.Rec
	checks := []struct {
		what string
		ok   bool
		got  any
	}{
		{"capacity: one row per node (4)", nodeRows == 4, nodeRows},
		{"efficiency: a row per workload holding resources (5)", workloadRows == 5, workloadRows},
		{"efficiency: the completed Job holds nothing, so it has no row", !st.JobListed, st.JobListed},
		{"alerts: at least one firing", firing >= 1, firing},
		{"alerts: the crash loop fires", crashFiring, crashFiring},
		{"the leaking worker's memory chart has points", workerPoints > 10, workerPoints},
		{"the leaking worker's memory chart draws a line", st.WorkerLines > 0, st.WorkerLines},
		{"load-test throughput chart has points", ltRatePoints > 10, ltRatePoints},
		{"load-test p50 shown", isMillis(p50), p50},
		{"load-test p90 shown", isMillis(p90), p90},
		{"load-test p99 shown", isMillis(p99), p99},
		{"tune's recommendation for the over-provisioned api", strings.HasPrefix(rec, "cpu ") && strings.Contains(rec, "saving ") && !strings.Contains(rec, "saving -"), rec},
		{"log error rates per workload", logRows >= 3, logRows},
	}
	for _, c := range checks {
		if !c.ok {
			t.Errorf("%s: got %v", c.what, c.got)
		}
	}
	if t.Failed() {
		return
	}
	// The screenshot is regenerated with -update, like the golden files.
	if *update {
		p := filepath.Join(testutil.RepoRoot(t), "docs", "demo.png")
		if err := os.WriteFile(p, shot, 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("wrote %s (%d bytes)", p, len(shot))
	}
}

func isMillis(s string) bool {
	s = strings.TrimSpace(s)
	return strings.HasSuffix(s, " ms") && !strings.Contains(s, "NaN") && s != "0 ms"
}

func jsString(s string) string { return "'" + strings.ReplaceAll(s, "'", `\'`) + "'" }

var update = flag.Bool("update", false, "rewrite docs/demo.png from the browser test")
