package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"sigs.k8s.io/yaml"
)

// knee model of the synthetic service: two pods, p99 within 100ms up to
// 70 rps per pod, 300ms at 80, 900ms at 90 (and errors above), CPU
// 0.05 + 0.005 per rps per pod on a 500m request.
const (
	kneePods    = 2
	kneeRequest = 0.5
)

func latencyAt(perPod float64, i int) (time.Duration, bool) {
	switch {
	case perPod <= 70:
		return time.Duration(50+i%50) * time.Millisecond, true
	case perPod <= 80:
		return time.Duration(200+i%100) * time.Millisecond, true
	case perPod <= 90:
		return time.Duration(600+i%300) * time.Millisecond, true
	}
	return 1500 * time.Millisecond, i%10 != 0
}

func cpuAt(perPod float64) float64 { return 0.05 + 0.005*perPod }

// writeKneeFiles writes a JMeter CSV of a step load (10 to 100 rps per pod,
// 3 minutes a step) and the pods' CPU during it.
func writeKneeFiles(t *testing.T, dir string) (string, string) {
	start := time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)
	var jtl, om strings.Builder
	jtl.WriteString("timeStamp,elapsed,label,responseCode,responseMessage,threadName,dataType,success,failureMessage,bytes,sentBytes,grpThreads,allThreads,URL,Latency,IdleTime,Connect\n")
	counters := make([]float64, kneePods)
	var cpu [kneePods][]string
	stepLen := 3 * time.Minute
	for s := 0; s < 10; s++ {
		perPod := float64(10 * (s + 1))
		rps := perPod * kneePods
		stepStart := start.Add(time.Duration(s) * stepLen)
		n := int(rps * stepLen.Seconds())
		for i := 0; i < n; i++ {
			at := stepStart.Add(time.Duration(float64(i) / rps * float64(time.Second)))
			d, ok := latencyAt(perPod, i)
			code := "200"
			if !ok {
				code = "503"
			}
			fmt.Fprintf(&jtl, "%d,%d,GET /,%s,OK,t 1-1,text,%v,,100,50,1,1,http://127.0.0.1/,%d,0,0\n", at.UnixMilli(), d.Milliseconds(), code, ok, d.Milliseconds())
		}
		for ts := time.Duration(0); ts < stepLen; ts += 15 * time.Second {
			at := stepStart.Add(ts + 15*time.Second)
			for p := range counters {
				counters[p] += cpuAt(perPod) * 15
				cpu[p] = append(cpu[p], fmt.Sprintf("kubepulse_container_cpu_usage_seconds_total{container=\"app\",namespace=\"shop\",pod=\"api-%d\"} %g %d", p, counters[p], at.Unix()))
			}
		}
	}
	for p := range counters {
		fmt.Fprintf(&om, "kubepulse_container_cpu_usage_seconds_total{container=\"app\",namespace=\"shop\",pod=\"api-%d\"} 0 %d\n", p, start.Unix())
		om.WriteString(strings.Join(cpu[p], "\n") + "\n")
		fmt.Fprintf(&om, "kubepulse_container_resource_requests{container=\"app\",namespace=\"shop\",pod=\"api-%d\",resource=\"cpu\",unit=\"core\"} %g %d\n", p, kneeRequest, start.Unix())
		fmt.Fprintf(&om, "kubepulse_pod_owner{namespace=\"shop\",owner_kind=\"ReplicaSet\",owner_name=\"api-5d8f\",pod=\"api-%d\",workload=\"api\",workload_kind=\"Deployment\"} 1 %d\n", p, start.Unix())
	}
	om.WriteString("# EOF\n")
	results, usage := filepath.Join(dir, "results.jtl"), filepath.Join(dir, "cpu.om")
	os.WriteFile(results, []byte(jtl.String()), 0o644)
	os.WriteFile(usage, []byte(om.String()), 0o644)
	return results, usage
}

func TestTuneCapacityKnee(t *testing.T) {
	dir := t.TempDir()
	results, usage := writeKneeFiles(t, dir)
	// Expected from the model, not from the code: the knee is the 80 rps
	// per pod step (p99 < 300ms <= 500ms); 0.45 cores = 90% of 500m;
	// target floor(90 x 0.8 / 5) x 5 = 70%; 80 x 70/90 = 62.2 rps per pod.
	kneeUtil := 100 * cpuAt(80) / kneeRequest
	target := math.Floor(kneeUtil*0.8/5) * 5
	capacity := 80 * target / kneeUtil
	peak, trough := 1000.0, 100.0
	wantMax := int(math.Ceil(peak/capacity)) + 1
	wantMin := max(2, int(math.Ceil(trough/capacity))+1)

	out := filepath.Join(dir, "hpa.yaml")
	code, stdout, stderr := runTune(t, "tune", "capacity", "--results", results, "--input", usage, "--workload", "shop/api",
		"--slo.latency", "500ms", "--peak-rps", fmt.Sprint(peak), "--trough-rps", fmt.Sprint(trough), "--out", out)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if !strings.Contains(stdout, "knee: 80.0 rps per pod") {
		t.Errorf("reasoning does not name the 80 rps knee:\n%s", stdout)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	var hpa struct {
		APIVersion string `json:"apiVersion"`
		Kind       string `json:"kind"`
		Spec       struct {
			ScaleTargetRef struct{ Kind, Name string } `json:"scaleTargetRef"`
			MinReplicas    int                         `json:"minReplicas"`
			MaxReplicas    int                         `json:"maxReplicas"`
			Metrics        []struct {
				Resource struct {
					Name   string `json:"name"`
					Target struct {
						AverageUtilization int `json:"averageUtilization"`
					} `json:"target"`
				} `json:"resource"`
			} `json:"metrics"`
		} `json:"spec"`
	}
	if err := yaml.Unmarshal(b, &hpa); err != nil {
		t.Fatalf("manifest: %v\n%s", err, b)
	}
	if hpa.APIVersion != "autoscaling/v2" || hpa.Kind != "HorizontalPodAutoscaler" || hpa.Spec.ScaleTargetRef.Name != "api" || len(hpa.Spec.Metrics) != 1 {
		t.Fatalf("not an autoscaling/v2 HPA for api:\n%s", b)
	}
	if got := hpa.Spec.Metrics[0].Resource.Target.AverageUtilization; got != int(target) {
		t.Errorf("target utilization %d, want %g", got, target)
	}
	if hpa.Spec.MinReplicas != wantMin || hpa.Spec.MaxReplicas != wantMax {
		t.Errorf("replicas %d..%d, want %d..%d", hpa.Spec.MinReplicas, hpa.Spec.MaxReplicas, wantMin, wantMax)
	}

	// A stricter SLO moves the knee down to 70 rps per pod.
	code, stdout, stderr = runTune(t, "tune", "capacity", "--results", results, "--input", usage, "--workload", "shop/api",
		"--slo.latency", "150ms", "--peak-rps", "1000")
	if code != 0 || !strings.Contains(stdout, "# knee: 70.0 rps per pod") {
		t.Errorf("150ms SLO: exit %d, %s\n%s", code, stderr, stdout)
	}
	// Nothing meets a 10ms SLO: an error, and no manifest.
	os.Remove(out)
	code, _, stderr = runTune(t, "tune", "capacity", "--results", results, "--input", usage, "--workload", "shop/api",
		"--slo.latency", "10ms", "--peak-rps", "1000", "--out", out)
	if _, err := os.Stat(out); code != 2 || !strings.Contains(stderr, "no window of the load test met the SLO") || err == nil {
		t.Errorf("10ms SLO: exit %d, %q, manifest written: %v", code, stderr, err == nil)
	}
}

// TestTuneCapacityLoadtest runs the real generator against a loopback
// server with a stage plan, once writing its JTL with `loadtest --out` and
// once live through --target, and sizes an HPA from each.
func TestTuneCapacityLoadtest(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "ok") }))
	defer srv.Close()
	dir := t.TempDir()
	// One pod at 0.2 cores, 5s samples, around both runs.
	var om strings.Builder
	for i, at := 0, time.Now().Add(-time.Minute); at.Before(time.Now().Add(2 * time.Minute)); i, at = i+1, at.Add(5*time.Second) {
		fmt.Fprintf(&om, "kubepulse_container_cpu_usage_seconds_total{container=\"app\",namespace=\"shop\",pod=\"api-0\",workload=\"api\",workload_kind=\"Deployment\"} %g %.3f\n", float64(i)*0.2*5, float64(at.UnixMilli())/1000)
	}
	om.WriteString("# EOF\n")
	usage := filepath.Join(dir, "cpu.om")
	os.WriteFile(usage, []byte(om.String()), 0o644)

	jtl := filepath.Join(dir, "out.jtl")
	loadtestStdout = io.Discard
	defer func() { loadtestStdout = os.Stdout }()
	var lterr bytes.Buffer
	if code := run(context.Background(), []string{"loadtest", srv.URL, "--stages", "2s:100,2s:200", "--progress", "none", "--out", jtl}, &lterr); code != 0 {
		t.Fatalf("loadtest exit %d: %s", code, lterr.String())
	}
	common := []string{"tune", "capacity", "--input", usage, "--workload", "shop/api",
		"--cpu.request", "0.5", "--slo.latency", "1s", "--window", "1s", "--min-requests", "50", "--peak-rps", "1000"}
	for name, args := range map[string][]string{
		"loadtest --out": {"--results", jtl},
		"live --target":  {"--target", srv.URL, "--stages", "2s:100,2s:200"},
	} {
		t.Run(name, func(t *testing.T) {
			code, stdout, stderr := runTune(t, append(common, args...)...)
			if code != 0 {
				t.Fatalf("exit %d: %s", code, stderr)
			}
			var knee float64
			i := strings.Index(stdout, "# knee: ")
			if i < 0 {
				t.Fatalf("no knee in the output:\n%s", stdout)
			}
			if _, err := fmt.Sscanf(stdout[i+len("# knee: "):], "%g", &knee); err != nil || knee < 100 {
				t.Errorf("knee %g rps per pod (%v), want at least 100 from the 200 rps stage:\n%s", knee, err, stdout)
			}
			// 0.2 of 0.5 cores is 40% at the knee; x0.8 is 32%, 30% in 5% steps.
			if !strings.HasPrefix(stdout, "# Generated") || !strings.Contains(stdout, "averageUtilization: 30") {
				t.Errorf("stdout is not just the manifest:\n%s", stdout)
			}
		})
	}
}

func TestTuneCapacityBadInput(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "hpa.yaml")
	empty := filepath.Join(dir, "empty.jtl")
	os.WriteFile(empty, []byte("timeStamp,elapsed,label,responseCode,success\n"), 0o644)
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"no results", []string{"--workload", "a/b", "--peak-rps", "10"}, "give either --results FILE or --target URL"},
		{"both", []string{"--workload", "a/b", "--peak-rps", "10", "--results", empty, "--target", "http://127.0.0.1:1"}, "give either"},
		{"target without stages", []string{"--workload", "a/b", "--peak-rps", "10", "--target", "http://127.0.0.1:1"}, "--target needs --stages"},
		{"bad workload", []string{"--workload", "b", "--peak-rps", "10", "--results", empty}, "want NAMESPACE/NAME"},
		{"empty results", []string{"--workload", "a/b", "--peak-rps", "10", "--results", empty, "--input", cadvisorTrace}, "no requests"},
		{"missing results", []string{"--workload", "a/b", "--peak-rps", "10", "--results", filepath.Join(dir, "nope")}, "no such file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, _, stderr := runTune(t, append([]string{"tune", "capacity", "--out", out}, tt.args...)...)
			if code != 2 || !strings.Contains(stderr, tt.want) {
				t.Errorf("exit %d, %q; want 2 and %q", code, stderr, tt.want)
			}
			if _, err := os.Stat(out); err == nil {
				t.Error("a manifest was written despite the error")
			}
		})
	}
}
