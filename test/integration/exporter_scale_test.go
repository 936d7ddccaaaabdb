package integration

import (
	"bufio"
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"

	"github.com/kubepulse/kubepulse/internal/testenv"
)

// BenchmarkExporterAtScale measures the exporter as users meet it: a
// running `kubepulse exporter` process on a real kube-apiserver holding
// KUBEPULSE_SCALE_NODES nodes and KUBEPULSE_SCALE_PODS pods (default 5,000
// and 150,000; two containers each, Deployment-owned through ReplicaSets),
// scraped over HTTP with curl, plain and with Accept-Encoding: gzip as
// Prometheus asks. It reports the time from process start to ready (every
// list handled), the median scrape time and size of each, and the
// process's RSS after the scrapes and its peak. Each KUBEPULSE_SCALE_GOMEMLIMIT
// value (comma-separated, "off" for none) runs a fresh exporter on the same
// apiserver, so the variants are measured side by side. With
// KUBEPULSE_SCALE_BASELINE_BIN set to another kubepulse binary (an older
// build), that binary runs first as the "baseline" variant. Run with
// -benchtime 1x (hack/bench/exporter-scale.sh).
func BenchmarkExporterAtScale(b *testing.B) {
	nodes, pods := envInt(b, "KUBEPULSE_SCALE_NODES", 5000), envInt(b, "KUBEPULSE_SCALE_PODS", 150000)
	scrapes := envInt(b, "KUBEPULSE_SCALE_SCRAPES", 7)
	variants := strings.Split(envStr("KUBEPULSE_SCALE_GOMEMLIMIT", "off,768MiB"), ",")
	env := testenv.Start(b, testenv.Options{})
	cfg := env.AdminConfig()
	cfg.QPS, cfg.Burst = 1e6, 1e6 // the client-side limiter would be the bottleneck, not the apiserver
	cfg.ContentType = "application/vnd.kubernetes.protobuf"
	c, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		b.Fatal(err)
	}
	start := time.Now()
	loadCluster(b, c, nodes, pods)
	b.Logf("exporter scale: %d nodes and %d pods loaded through the API in %v", nodes, pods, time.Since(start).Round(time.Second))
	bin := testenv.ExporterBinary(b)
	kc := filepath.Join(b.TempDir(), "kubeconfig")
	if err := env.WriteKubeconfig(kc, env.AdminToken); err != nil {
		b.Fatal(err)
	}
	if base := os.Getenv("KUBEPULSE_SCALE_BASELINE_BIN"); base != "" {
		b.Run("baseline", func(b *testing.B) {
			for range b.N {
				measureExporter(b, base, kc, "off", scrapes)
			}
		})
	}
	for _, v := range variants {
		b.Run("gomemlimit="+v, func(b *testing.B) {
			for range b.N {
				measureExporter(b, bin, kc, v, scrapes)
			}
		})
	}
}

func measureExporter(b *testing.B, bin, kubeconfig, memlimit string, scrapes int) {
	port, err := testenv.FreePort()
	if err != nil {
		b.Fatal(err)
	}
	url := fmt.Sprintf("http://127.0.0.1:%d", port)
	args := []string{"exporter", "--web.listen-address=127.0.0.1:" + strconv.Itoa(port), "--kubeconfig=" + kubeconfig, "--usage.source=none"}
	profDir := os.Getenv("KUBEPULSE_SCALE_PPROF_DIR")
	if profDir != "" {
		args = append(args, "--web.enable-pprof")
	}
	cmd := exec.Command(bin, args...)
	cmd.Env = os.Environ()
	if memlimit != "off" {
		cmd.Env = append(cmd.Env, "GOMEMLIMIT="+memlimit)
	}
	logf, err := os.Create(filepath.Join(b.TempDir(), "exporter.log"))
	if err != nil {
		b.Fatal(err)
	}
	defer logf.Close()
	cmd.Stdout, cmd.Stderr = logf, logf
	t0 := time.Now()
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	defer func() {
		_ = cmd.Process.Signal(os.Interrupt)
		done := make(chan struct{})
		go func() { _ = cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(15 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
	}()
	hc := &http.Client{Timeout: 5 * time.Second}
	deadline := time.Now().Add(15 * time.Minute)
	for {
		resp, err := hc.Get(url + "/-/ready")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				break
			}
		}
		if time.Now().After(deadline) {
			b.Fatalf("exporter not ready after 15 minutes; log in %s", logf.Name())
		}
		time.Sleep(100 * time.Millisecond)
	}
	sync := time.Since(t0)
	plainT, plainB := curlScrapes(b, url, false, scrapes)
	gzipT, gzipB := curlScrapes(b, url, true, scrapes)
	rss, peak := procMiB(b, cmd.Process.Pid, "VmRSS"), procMiB(b, cmd.Process.Pid, "VmHWM")
	if profDir != "" {
		// The heap after the scrapes, for go tool pprof (inuse and alloc).
		name := filepath.Join(profDir, fmt.Sprintf("heap-%s-%s.pb.gz", filepath.Base(bin), memlimit))
		if out, err := exec.Command("curl", "-sS", "-o", name, url+"/debug/pprof/heap").CombinedOutput(); err != nil {
			b.Errorf("saving the heap profile: %v: %s", err, out)
		}
	}
	b.ReportMetric(sync.Seconds(), "sync-s")
	b.ReportMetric(plainT, "plain-p50-s")
	b.ReportMetric(plainB/1e6, "plain-MB")
	b.ReportMetric(gzipT, "gzip-p50-s")
	b.ReportMetric(gzipB/1e6, "gzip-MB")
	b.ReportMetric(rss, "rss-MiB")
	b.ReportMetric(peak, "peak-rss-MiB")
	b.Logf("exporter scale (%s, GOMEMLIMIT=%s): sync %.1fs; plain p50 %.3fs %.1f MB; gzip p50 %.3fs %.1f MB; RSS %.0f MiB (peak %.0f MiB)",
		filepath.Base(bin), memlimit, sync.Seconds(), plainT, plainB/1e6, gzipT, gzipB/1e6, rss, peak)
}

// curlScrapes runs curl n times and returns the median total time and the
// bytes transferred (compressed bytes with gzip: curl does not decode
// without --compressed).
func curlScrapes(b *testing.B, url string, gzip bool, n int) (float64, float64) {
	args := []string{"-sS", "-o", "/dev/null", "-w", "%{time_total} %{size_download} %{http_code}"}
	if gzip {
		args = append(args, "-H", "Accept-Encoding: gzip")
	}
	args = append(args, url+"/metrics")
	var times []float64
	var size float64
	for range n {
		out, err := exec.Command("curl", args...).Output()
		if err != nil {
			b.Fatalf("curl %v: %v", args, err)
		}
		f := strings.Fields(string(out))
		if len(f) != 3 || f[2] != "200" {
			b.Fatalf("curl %v: unexpected %q", args, out)
		}
		t, _ := strconv.ParseFloat(f[0], 64)
		size, _ = strconv.ParseFloat(f[1], 64)
		times = append(times, t)
	}
	sort.Float64s(times)
	return times[len(times)/2], size
}

func procMiB(b *testing.B, pid int, field string) float64 {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), field+":"); ok {
			kb, _ := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 64)
			return kb / 1024
		}
	}
	b.Fatalf("no %s in /proc/%d/status", field, pid)
	return 0
}

// loadCluster creates the nodes, one ReplicaSet (owned by a Deployment) per
// 10 pods in 200 namespaces, and the pods, bound and Running with their
// container statuses, as a control plane would leave them. 2% of the
// containers were OOM-killed once.
func loadCluster(b *testing.B, c kubernetes.Interface, nodes, pods int) {
	ctx := context.Background()
	const namespaces, podsPerRS = 200, 10
	nss := min(namespaces, max(1, pods/podsPerRS))
	nodeName := func(i int) string {
		return fmt.Sprintf("ip-10-%d-%d-%d.eu-west-1.compute.internal", i/65536, i/256%256, i%256)
	}
	parallel(b, "namespaces", nss, func(i int) error {
		_, err := c.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("team-%03d", i)}}, metav1.CreateOptions{})
		return err
	})
	parallel(b, "nodes", nodes, func(i int) error {
		n, err := c.CoreV1().Nodes().Create(ctx, &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: nodeName(i), Labels: map[string]string{
			"topology.kubernetes.io/zone": fmt.Sprintf("eu-west-1%c", 'a'+i%3), "node.kubernetes.io/instance-type": "m6i.2xlarge"}}}, metav1.CreateOptions{})
		if err != nil {
			return err
		}
		n.Status = corev1.NodeStatus{
			Capacity:    rl("cpu", "8", "memory", "32Gi", "pods", "110", "ephemeral-storage", "100Gi"),
			Allocatable: rl("cpu", "7910m", "memory", "31Gi", "pods", "110", "ephemeral-storage", "95Gi"),
			Conditions: []corev1.NodeCondition{{Type: corev1.NodeReady, Status: corev1.ConditionTrue}, {Type: corev1.NodeMemoryPressure, Status: corev1.ConditionFalse},
				{Type: corev1.NodeDiskPressure, Status: corev1.ConditionFalse}, {Type: corev1.NodePIDPressure, Status: corev1.ConditionFalse}},
			Addresses: []corev1.NodeAddress{{Type: corev1.NodeInternalIP, Address: fmt.Sprintf("10.%d.%d.%d", i/65536, i/256%256, i%256)}},
			NodeInfo:  corev1.NodeSystemInfo{KubeletVersion: "v1.34.1", ContainerRuntimeVersion: "containerd://2.0.5", OSImage: "Bottlerocket OS 1.40.0"},
		}
		_, err = c.CoreV1().Nodes().UpdateStatus(ctx, n, metav1.UpdateOptions{})
		return err
	})
	sets := (pods + podsPerRS - 1) / podsPerRS
	apps := []string{"checkout", "payments", "search", "catalog", "cart", "auth", "orders", "inventory", "shipping", "notifications"}
	rsName := func(i int) (ns, dep, rs string) {
		dep = fmt.Sprintf("%s-%d", apps[i%len(apps)], i/len(apps)/nss)
		return fmt.Sprintf("team-%03d", i%nss), dep, fmt.Sprintf("%s-%08x", dep, uint32(i)*2654435761)[:len(dep)+9]
	}
	rsUID := make([]types.UID, sets)
	parallel(b, "replicasets", sets, func(i int) error {
		ns, dep, name := rsName(i)
		labels := map[string]string{"app": dep}
		rs, err := c.AppsV1().ReplicaSets(ns).Create(ctx, &appsv1.ReplicaSet{
			ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels, OwnerReferences: []metav1.OwnerReference{{
				APIVersion: "apps/v1", Kind: "Deployment", Name: dep, UID: types.UID(fmt.Sprintf("dep-%d", i)), Controller: ptr(true)}}},
			Spec: appsv1.ReplicaSetSpec{Selector: &metav1.LabelSelector{MatchLabels: labels}, Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels}, Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: "x"}}}}},
		}, metav1.CreateOptions{})
		if err == nil {
			rsUID[i] = rs.UID
		}
		return err
	})
	parallel(b, "pods", pods, func(i int) error {
		set := i % sets
		ns, dep, rs := rsName(set)
		app := apps[set%len(apps)]
		p, err := c.CoreV1().Pods(ns).Create(ctx, &corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("%s-%05x", rs, i)[:len(rs)+6], Labels: map[string]string{"app": dep},
				OwnerReferences: []metav1.OwnerReference{{APIVersion: "apps/v1", Kind: "ReplicaSet", Name: rs, UID: rsUID[set], Controller: ptr(true)}}},
			Spec: corev1.PodSpec{NodeName: nodeName(i % nodes), Containers: []corev1.Container{
				{Name: app, Image: "registry.example/" + app + ":1.4.2", Resources: corev1.ResourceRequirements{
					Requests: rl("cpu", "100m", "memory", "256Mi"), Limits: rl("cpu", "1", "memory", "512Mi")}},
				{Name: "istio-proxy", Image: "docker.io/istio/proxyv2:1.24.0", Resources: corev1.ResourceRequirements{
					Requests: rl("cpu", "10m", "memory", "40Mi"), Limits: rl("cpu", "2", "memory", "1Gi")}},
			}},
		}, metav1.CreateOptions{})
		if err != nil {
			return err
		}
		now := metav1.Now()
		running := corev1.ContainerState{Running: &corev1.ContainerStateRunning{StartedAt: now}}
		var last corev1.ContainerState
		restarts := int32(0)
		if i%50 == 0 {
			last, restarts = corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{Reason: "OOMKilled", ExitCode: 137}}, 1
		}
		p.Status = corev1.PodStatus{Phase: corev1.PodRunning, HostIP: "10.0.0.1", PodIP: "10.1.0.1", StartTime: &now,
			Conditions: []corev1.PodCondition{{Type: corev1.PodScheduled, Status: corev1.ConditionTrue}, {Type: corev1.PodReady, Status: corev1.ConditionTrue}},
			ContainerStatuses: []corev1.ContainerStatus{
				{Name: app, Ready: true, RestartCount: restarts, State: running, LastTerminationState: last, Image: "registry.example/" + app + ":1.4.2", ImageID: "sha256:1"},
				{Name: "istio-proxy", Ready: true, State: running, Image: "docker.io/istio/proxyv2:1.24.0", ImageID: "sha256:2"},
			}}
		_, err = c.CoreV1().Pods(ns).UpdateStatus(ctx, p, metav1.UpdateOptions{})
		return err
	})
}

// parallel runs f(0..n-1) on 64 workers and fails on the first error.
func parallel(b *testing.B, what string, n int, f func(i int) error) {
	var next atomic.Int64
	var failed atomic.Int64
	var first sync.Once
	var firstErr error
	var wg sync.WaitGroup
	for range 64 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= n || failed.Load() > 0 {
					return
				}
				if err := f(i); err != nil {
					failed.Add(1)
					first.Do(func() { firstErr = err })
				}
			}
		}()
	}
	wg.Wait()
	if firstErr != nil {
		b.Fatalf("creating %s: %v", what, firstErr)
	}
}

func envInt(b *testing.B, name string, def int) int {
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 {
		b.Fatalf("%s=%q: want a positive integer", name, v)
	}
	return n
}

func envStr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}
