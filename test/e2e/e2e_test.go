// Package e2e is the end-to-end tier: the generated rules loaded into a real
// Prometheus that scrapes the real kubepulse exporter, which reads a real
// kube-apiserver (internal/testenv), a fake kubelet over TLS and a kubelet
// log directory. Assertions go through the Prometheus HTTP API.
package e2e

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/kubepulse/kubepulse/collector/usage/kubelettest"
	"github.com/kubepulse/kubepulse/internal/testenv"
	"github.com/kubepulse/kubepulse/test/e2e/harness"
)

const (
	ns          = "e2e"
	nodeName    = "e2e-node-1"
	memLimit    = 200 << 20
	kubeletTok  = "kubelet-reader-token"
	exporterJob = "kubepulse" // the mixin's default selector is job="kubepulse"
)

// workloadPod is one pod the scenario creates, with what the fake kubelet
// reports for its only container "app".
type workloadPod struct {
	name, workload, kind string
	memBytes, cpuCores   float64
	uid                  string
}

func TestE2E(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancel()
	// Fail fast on missing tools, before starting anything.
	harness.Tool(t, "prometheus")
	bin := testenv.ExporterBinary(t)
	env := testenv.Start(t, testenv.Options{})
	client, err := env.AdminClient()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()

	// The fake kubelet of the only node, over TLS with a bearer token.
	kubelet := kubelettest.New(kubeletTok)
	t.Cleanup(kubelet.Close)
	caFile, err := kubelet.CAFile(dir)
	if err != nil {
		t.Fatal(err)
	}
	tokenFile := filepath.Join(dir, "kubelet-token")
	if err := os.WriteFile(tokenFile, []byte(kubeletTok), 0o600); err != nil {
		t.Fatal(err)
	}

	pods := []*workloadPod{
		// At 95% of its memory limit: KubePulseContainerMemoryNearLimit fires.
		{name: "web-6d4cf56db6-hot", workload: "web", kind: "Deployment", memBytes: 0.95 * memLimit, cpuCores: 0.05},
		// At 25%: the control that must not fire.
		{name: "web-6d4cf56db6-cool", workload: "web", kind: "Deployment", memBytes: 0.25 * memLimit, cpuCores: 0.02},
		// Its log gets the error burst.
		{name: "worker-0", workload: "worker", kind: "StatefulSet", memBytes: 0.3 * memLimit, cpuCores: 0.01},
	}
	createCluster(ctx, t, client, kubelet, pods)

	// Usage: the counter grows at each container's rate, refreshed twice a
	// second as a kubelet's cAdvisor would.
	stopUsage := feedKubelet(kubelet, pods)
	t.Cleanup(stopUsage)

	// Logs in the kubelet layout, and a live JMeter CSV for the load-test rules.
	logs := harness.NewLogDir(t)
	for _, p := range pods {
		if err := logs.Append(ns, p.name, p.uid, "app", 0, "stdout", "started", "listening on :8080"); err != nil {
			t.Fatal(err)
		}
	}
	jtl := filepath.Join(dir, "results.jtl")
	stopJTL := feedJMeter(t, jtl)
	t.Cleanup(stopJTL)

	gen := generate(t, bin, filepath.Join("testdata", "mixin-e2e.yaml"))
	kubeconfig := filepath.Join(dir, "kubeconfig")
	if err := env.WriteKubeconfig(kubeconfig, env.AdminToken); err != nil {
		t.Fatal(err)
	}
	exp := testenv.StartExporter(t, bin,
		"--kubeconfig="+kubeconfig,
		"--usage.source=kubelet",
		"--usage.interval=1s",
		"--usage.kubelet-ca-file="+caFile,
		"--usage.kubelet-token-file="+tokenFile,
		"--collector.loadtest",
		"--loadtest.file="+jtl,
		"--loadtest.run-label=e2e",
		"--log.level=debug",
	)
	if err := exp.WaitReady(ctx); err != nil {
		t.Fatalf("exporter not ready: %v", err)
	}
	// The log counters come from the per-node agent, as deploy/base runs it:
	// with --node it looks the node's pods up, so the counters carry the
	// workload labels the log rules and the HPA-backing series sum by.
	agent := testenv.StartExporter(t, bin,
		"--kubeconfig="+kubeconfig,
		"--node="+nodeName,
		"--collector.disable-defaults",
		"--logs.path="+logs.Root,
		"--logs.positions-file=",
		"--log.level=debug",
	)
	if err := agent.WaitReady(ctx); err != nil {
		t.Fatalf("per-node agent not ready: %v", err)
	}

	prom := harness.StartPrometheus(ctx, t, harness.PromConfig{
		Targets: []harness.ScrapeTarget{
			{Job: exporterJob, Address: strings.TrimPrefix(exp.URL, "http://")},
			{Job: exporterJob, Address: strings.TrimPrefix(agent.URL, "http://")},
		},
		RuleFiles: []string{
			filepath.Join(gen, "prometheus_rules.yaml"),
			filepath.Join(gen, "prometheus_alerts.yaml"),
		},
	})
	api := prom.API
	if err := api.WaitTargetsUp(ctx, 2); err != nil {
		t.Fatalf("Prometheus cannot scrape the exporter: %v", err)
	}

	// Each assertion gets its own deadline so that a failure is reported in
	// minutes, with what was still missing.
	step := func(d time.Duration) (context.Context, context.CancelFunc) { return context.WithTimeout(ctx, d) }

	t.Run("every recording rule returns data", func(t *testing.T) {
		ctx, cancel := step(2 * time.Minute)
		defer cancel()
		waitAllRecordingRules(ctx, t, api)
	})

	t.Run("memory at 95% of the limit fires KubePulseContainerMemoryNearLimit", func(t *testing.T) {
		ctx, cancel := step(2 * time.Minute)
		defer cancel()
		alerts := waitFiring(ctx, t, api, "KubePulseContainerMemoryNearLimit", map[string]string{"namespace": ns, "pod": pods[0].name, "container": "app"})
		for _, a := range alerts {
			if a.Labels["pod"] == pods[1].name {
				t.Errorf("alert fired for %s at 25%% of its limit: %v", pods[1].name, a.Labels)
			}
		}
	})

	t.Run("an error burst in a log fires KubePulseLogErrorRateHigh", func(t *testing.T) {
		ctx, cancel := step(2 * time.Minute)
		defer cancel()
		target := map[string]string{"namespace": ns, "workload_kind": pods[2].kind, "workload": pods[2].workload}
		if a := firingMatching(ctx, t, api, "KubePulseLogErrorRateHigh", target); len(a) > 0 {
			t.Fatalf("alert already firing before the burst: %v", a)
		}
		// 40 error lines every 200 ms: 200 errors/s against a threshold of 1/s.
		burstCtx, stopBurst := context.WithCancel(ctx)
		done := make(chan error, 1)
		go func() {
			tick := time.NewTicker(200 * time.Millisecond)
			defer tick.Stop()
			for {
				msgs := make([]string, 40)
				for i := range msgs {
					msgs[i] = fmt.Sprintf("ERROR payment %d failed: upstream connect error", i)
				}
				if err := logs.Append(ns, pods[2].name, pods[2].uid, "app", 0, "stderr", msgs...); err != nil {
					done <- err
					return
				}
				select {
				case <-burstCtx.Done():
					done <- nil
					return
				case <-tick.C:
				}
			}
		}()
		waitFiring(ctx, t, api, "KubePulseLogErrorRateHigh", target)
		stopBurst()
		if err := <-done; err != nil {
			t.Errorf("writing the burst: %v", err)
		}
	})

	t.Run("every rule evaluates without error", func(t *testing.T) {
		groups, err := api.Rules(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, g := range groups {
			for _, r := range g.Rules {
				if r.Health == "err" || r.LastError != "" {
					t.Errorf("%s/%s: health %q: %s", g.Name, r.Name, r.Health, r.LastError)
				}
			}
		}
	})
}

// waitAllRecordingRules enumerates the recording rules Prometheus loaded and
// polls until each one has produced at least one series.
func waitAllRecordingRules(ctx context.Context, t *testing.T, api *harness.PromAPI) {
	t.Helper()
	groups, err := api.Rules(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	seen := map[string]bool{}
	for _, g := range groups {
		for _, r := range g.Rules {
			if r.Type == "recording" && !seen[r.Name] {
				seen[r.Name] = true
				names = append(names, r.Name)
			}
		}
	}
	if len(names) == 0 {
		t.Fatal("Prometheus loaded no recording rules from the generated prometheus_rules.yaml")
	}
	t.Logf("%d recording rules loaded", len(names))
	pending := map[string]bool{}
	for _, n := range names {
		pending[n] = true
	}
	err = harness.Poll(ctx, time.Second, func() (bool, string) {
		for n := range pending {
			v, err := api.Query(ctx, fmt.Sprintf("{__name__=%q}", n))
			if err != nil {
				return false, err.Error()
			}
			if len(v) > 0 {
				delete(pending, n)
			}
		}
		if len(pending) == 0 {
			return true, ""
		}
		left := make([]string, 0, len(pending))
		for n := range pending {
			left = append(left, n)
		}
		sort.Strings(left)
		return false, fmt.Sprintf("%d of %d recording rules still return no data: %s", len(left), len(names), strings.Join(left, ", "))
	})
	if err != nil {
		t.Fatal(err)
	}
}

func firingMatching(ctx context.Context, t *testing.T, api *harness.PromAPI, name string, want map[string]string) []harness.Alert {
	t.Helper()
	all, err := api.FiringAlert(ctx, name)
	if err != nil {
		t.Fatal(err)
	}
	var out []harness.Alert
	for _, a := range all {
		ok := true
		for k, v := range want {
			if a.Labels[k] != v {
				ok = false
			}
		}
		if ok {
			out = append(out, a)
		}
	}
	return out
}

// waitFiring polls until alert name fires with the wanted labels and returns
// every firing instance of it.
func waitFiring(ctx context.Context, t *testing.T, api *harness.PromAPI, name string, want map[string]string) []harness.Alert {
	t.Helper()
	var all []harness.Alert
	err := harness.Poll(ctx, 500*time.Millisecond, func() (bool, string) {
		var err error
		all, err = api.FiringAlert(ctx, name)
		if err != nil {
			return false, err.Error()
		}
		if len(firingMatching(ctx, t, api, name, want)) > 0 {
			return true, ""
		}
		active, _ := api.Alerts(ctx)
		var states []string
		for _, a := range active {
			if a.Labels["alertname"] == name {
				states = append(states, a.State+" "+fmt.Sprint(a.Labels))
			}
		}
		return false, fmt.Sprintf("%s not firing for %v; instances: %v", name, want, states)
	})
	if err != nil {
		t.Fatal(err)
	}
	return all
}

// createCluster creates what a scheduler, controllers and a kubelet would
// have left: a Ready node whose kubelet endpoint is the fake, owners
// (Deployment → ReplicaSet, StatefulSet), running pods, and an HPA with status.
func createCluster(ctx context.Context, t *testing.T, c kubernetes.Interface, k *kubelettest.Kubelet, pods []*workloadPod) {
	t.Helper()
	must := func(what string, err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("create %s: %v", what, err)
		}
	}
	_, err := c.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{})
	must("namespace", err)

	node, err := c.CoreV1().Nodes().Create(ctx, &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: nodeName}}, metav1.CreateOptions{})
	must("node", err)
	node.Status = corev1.NodeStatus{
		Capacity:        rl("cpu", "4", "memory", "8Gi", "pods", "110"),
		Allocatable:     rl("cpu", "3800m", "memory", "7Gi", "pods", "110"),
		Conditions:      []corev1.NodeCondition{{Type: corev1.NodeReady, Status: corev1.ConditionTrue, LastHeartbeatTime: metav1.Now(), LastTransitionTime: metav1.Now()}},
		Addresses:       []corev1.NodeAddress{{Type: corev1.NodeInternalIP, Address: k.Host()}},
		DaemonEndpoints: corev1.NodeDaemonEndpoints{KubeletEndpoint: corev1.DaemonEndpoint{Port: k.Port()}},
		NodeInfo:        corev1.NodeSystemInfo{KubeletVersion: "v1.37.2", ContainerRuntimeVersion: "containerd://2.1.0", OSImage: "e2e"},
	}
	_, err = c.CoreV1().Nodes().UpdateStatus(ctx, node, metav1.UpdateOptions{})
	must("node status", err)

	labels := map[string]string{"app": "web"}
	tmpl := corev1.PodTemplateSpec{
		ObjectMeta: metav1.ObjectMeta{Labels: labels},
		Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: "registry.example/web:1"}}},
	}
	two := int32(2)
	dep, err := c.AppsV1().Deployments(ns).Create(ctx, appsDeployment(labels, tmpl, two), metav1.CreateOptions{})
	must("deployment", err)
	rs, err := c.AppsV1().ReplicaSets(ns).Create(ctx, appsReplicaSet("web-6d4cf56db6", dep, labels, tmpl, two), metav1.CreateOptions{})
	must("replicaset", err)
	wlabels := map[string]string{"app": "worker"}
	wtmpl := tmpl
	wtmpl.ObjectMeta = metav1.ObjectMeta{Labels: wlabels}
	sts, err := c.AppsV1().StatefulSets(ns).Create(ctx, appsStatefulSet("worker", wlabels, wtmpl), metav1.CreateOptions{})
	must("statefulset", err)

	for _, p := range pods {
		owner := metav1.OwnerReference{APIVersion: "apps/v1", Kind: "ReplicaSet", Name: rs.Name, UID: rs.UID, Controller: ptr(true)}
		if p.kind == "StatefulSet" {
			owner = metav1.OwnerReference{APIVersion: "apps/v1", Kind: "StatefulSet", Name: sts.Name, UID: sts.UID, Controller: ptr(true)}
		}
		pod := &corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{Name: p.name, Namespace: ns, Labels: map[string]string{"app": p.workload}, OwnerReferences: []metav1.OwnerReference{owner}},
			Spec: corev1.PodSpec{NodeName: nodeName, Containers: []corev1.Container{{
				Name: "app", Image: "registry.example/" + p.workload + ":1",
				Resources: corev1.ResourceRequirements{
					Requests: rl("cpu", "100m", "memory", "100Mi"),
					Limits:   corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("200m"), corev1.ResourceMemory: *resource.NewQuantity(memLimit, resource.BinarySI)},
				},
			}}},
		}
		created, err := c.CoreV1().Pods(ns).Create(ctx, pod, metav1.CreateOptions{})
		must("pod "+p.name, err)
		p.uid = string(created.UID)
		created.Status = corev1.PodStatus{
			Phase:      corev1.PodRunning,
			Conditions: []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue}},
			ContainerStatuses: []corev1.ContainerStatus{{
				Name: "app", Ready: true, Image: "registry.example/" + p.workload + ":1",
				State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{StartedAt: metav1.Now()}},
			}},
		}
		_, err = c.CoreV1().Pods(ns).UpdateStatus(ctx, created, metav1.UpdateOptions{})
		must("pod status "+p.name, err)
	}

	hpa := &autoscalingv2.HorizontalPodAutoscaler{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: ns},
		Spec: autoscalingv2.HorizontalPodAutoscalerSpec{
			ScaleTargetRef: autoscalingv2.CrossVersionObjectReference{APIVersion: "apps/v1", Kind: "Deployment", Name: "web"},
			MinReplicas:    ptr(int32(1)),
			MaxReplicas:    4,
			Metrics: []autoscalingv2.MetricSpec{{
				Type: autoscalingv2.ResourceMetricSourceType,
				Resource: &autoscalingv2.ResourceMetricSource{Name: corev1.ResourceCPU, Target: autoscalingv2.MetricTarget{
					Type: autoscalingv2.UtilizationMetricType, AverageUtilization: ptr(int32(70)),
				}},
			}},
		},
	}
	createdHPA, err := c.AutoscalingV2().HorizontalPodAutoscalers(ns).Create(ctx, hpa, metav1.CreateOptions{})
	must("hpa", err)
	createdHPA.Status = autoscalingv2.HorizontalPodAutoscalerStatus{
		CurrentReplicas: 2, DesiredReplicas: 2,
		CurrentMetrics: []autoscalingv2.MetricStatus{{
			Type:     autoscalingv2.ResourceMetricSourceType,
			Resource: &autoscalingv2.ResourceMetricStatus{Name: corev1.ResourceCPU, Current: autoscalingv2.MetricValueStatus{AverageUtilization: ptr(int32(35))}},
		}},
		Conditions: []autoscalingv2.HorizontalPodAutoscalerCondition{
			{Type: autoscalingv2.AbleToScale, Status: corev1.ConditionTrue, LastTransitionTime: metav1.Now(), Reason: "ReadyForNewScale"},
			{Type: autoscalingv2.ScalingActive, Status: corev1.ConditionTrue, LastTransitionTime: metav1.Now(), Reason: "ValidMetricFound"},
			{Type: autoscalingv2.ScalingLimited, Status: corev1.ConditionFalse, LastTransitionTime: metav1.Now(), Reason: "DesiredWithinRange"},
		},
	}
	_, err = c.AutoscalingV2().HorizontalPodAutoscalers(ns).UpdateStatus(ctx, createdHPA, metav1.UpdateOptions{})
	must("hpa status", err)
}

// feedKubelet publishes each container's usage every 500 ms: memory as set,
// CPU as a counter growing at the container's rate.
func feedKubelet(k *kubelettest.Kubelet, pods []*workloadPod) (stop func()) {
	start := time.Now()
	publish := func() {
		el := time.Since(start).Seconds()
		cs := make([]kubelettest.Container, 0, len(pods))
		for _, p := range pods {
			cs = append(cs, kubelettest.Container{
				Namespace: ns, Pod: p.name, Name: "app",
				CPUSeconds: 10 + p.cpuCores*el, MemoryBytes: p.memBytes, StartTime: start.Add(-time.Minute),
			})
		}
		k.SetContainers(cs...)
	}
	publish()
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		tick := time.NewTicker(500 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-done:
				return
			case <-tick.C:
				publish()
			}
		}
	}()
	return func() { close(done); wg.Wait() }
}

// feedJMeter writes a JMeter CSV result file and appends rows to it every
// 250 ms (a load test in progress): mostly 200s, some 500s, for the
// load-test recording rules.
func feedJMeter(t *testing.T, path string) (stop func()) {
	t.Helper()
	header := "timeStamp,elapsed,label,responseCode,responseMessage,threadName,dataType,success,failureMessage,bytes,sentBytes,grpThreads,allThreads,URL,Latency,IdleTime,Connect\n"
	if err := os.WriteFile(path, []byte(header), 0o644); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		tick := time.NewTicker(250 * time.Millisecond)
		defer tick.Stop()
		for n := 0; ; n++ {
			var b strings.Builder
			now := time.Now().UnixMilli()
			for i := 0; i < 10; i++ {
				code, ok, msg := "200", "true", "OK"
				if (n*10+i)%20 == 0 {
					code, ok, msg = "500", "false", "Internal Server Error"
				}
				fmt.Fprintf(&b, "%d,%d,GET /cart,%s,%s,users 1-%d,text,%s,,512,128,4,4,http://127.0.0.1/cart,%d,0,1\n",
					now, 20+(i*37)%180, code, msg, i%4+1, ok, 10+i)
			}
			f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
			if err == nil {
				_, _ = f.WriteString(b.String())
				f.Close()
			}
			select {
			case <-done:
				return
			case <-tick.C:
			}
		}
	}()
	return func() { close(done); wg.Wait() }
}

func rl(kv ...string) corev1.ResourceList {
	out := corev1.ResourceList{}
	for i := 0; i+1 < len(kv); i += 2 {
		out[corev1.ResourceName(kv[i])] = resource.MustParse(kv[i+1])
	}
	return out
}

func ptr[T any](v T) *T { return &v }
