package cluster

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"runtime"
	"runtime/debug"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/go-kit/log"
	"github.com/kubepulse/kubepulse/collector"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/common/expfmt"
	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/cache"
)

// synthNode and synthPod build a cluster of nodes and pods (2 containers
// each) shaped like a real one: Deployment-owned pods in 200 namespaces,
// cpu/memory requests and limits, some restarts. Objects are made one at a
// time, as list pages and watch events deliver them, so the generator does
// not inflate the measured peak memory.
func synthNodeName(i int) string {
	return fmt.Sprintf("ip-10-%d-%d-%d.eu-west-1.compute.internal", i/65536, i/256%256, i%256)
}

func synthNode(i int) *v1.Node {
	return &v1.Node{
		ObjectMeta: metav1.ObjectMeta{Name: synthNodeName(i), UID: types.UID(fmt.Sprintf("node-%08d", i)),
			Labels: map[string]string{v1.LabelTopologyZone: fmt.Sprintf("eu-west-1%c", 'a'+i%3), v1.LabelInstanceTypeStable: "m6i.4xlarge"}},
		Status: v1.NodeStatus{
			Capacity:    rl("cpu", "16", "memory", "64Gi", "pods", "110", "ephemeral-storage", "200Gi"),
			Allocatable: rl("cpu", "15890m", "memory", "62Gi", "pods", "110", "ephemeral-storage", "180Gi"),
			Conditions: []v1.NodeCondition{{Type: v1.NodeReady, Status: v1.ConditionTrue}, {Type: v1.NodeMemoryPressure, Status: v1.ConditionFalse},
				{Type: v1.NodeDiskPressure, Status: v1.ConditionFalse}, {Type: v1.NodePIDPressure, Status: v1.ConditionFalse}},
			NodeInfo: v1.NodeSystemInfo{KubeletVersion: "v1.34.1", ContainerRuntimeVersion: "containerd://2.0.4", OSImage: "Amazon Linux 2023"},
		},
	}
}

func synthPod(i, nodes int) *v1.Pod {
	ctrl := true
	deploy := fmt.Sprintf("service-%d", i/10)
	rs := deploy + "-7c9d8f6b5"
	p := &v1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("%s-%05x", rs, i), Namespace: fmt.Sprintf("team-%d", i%200),
			UID:             types.UID(fmt.Sprintf("0b6e3c1a-4d2f-4c1e-9a7b-%012d", i)),
			OwnerReferences: []metav1.OwnerReference{{Kind: "ReplicaSet", Name: rs, Controller: &ctrl}}},
		Spec: v1.PodSpec{NodeName: synthNodeName(i % nodes), Containers: []v1.Container{
			ctr("app", rl("cpu", "250m", "memory", "512Mi"), rl("cpu", "1", "memory", "1Gi"), false),
			ctr("istio-proxy", rl("cpu", "100m", "memory", "128Mi"), rl("memory", "256Mi"), false)}},
		Status: v1.PodStatus{Phase: v1.PodRunning, ContainerStatuses: []v1.ContainerStatus{
			{Name: "app", RestartCount: int32(i % 3)}, {Name: "istio-proxy"}}},
	}
	if i%50 == 0 {
		p.Status.ContainerStatuses[0].LastTerminationState.Terminated = &v1.ContainerStateTerminated{Reason: "OOMKilled"}
	}
	return p
}

type benchCluster struct {
	src         *Source
	node, pod   *Collector
	nodeCache   cache.Store
	podCache    cache.Store
	loadTime    time.Duration
	heap, rss   float64
	peakRSS     float64
	nodes, pods int
}

var (
	benchMu     sync.Mutex
	benchLoaded string
	benchC      *benchCluster
)

func procStatus(field string) float64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, l := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(l, field+":") {
			f := strings.Fields(l)
			kb, _ := strconv.ParseFloat(f[1], 64)
			return kb * 1024
		}
	}
	return 0
}

// loadCluster builds what an exporter holds for the cluster. "store": the
// node informer cache (stripped nodes) and the pre-rendered stores fed by
// the same handlers the reflectors call. "naive": informer-style caches of
// nodes and pods that the baseline walks on every scrape. Only one is kept
// in memory at a time so heap and RSS are the store's own.
func loadCluster(b *testing.B, mode string, nodes, pods int) *benchCluster {
	benchMu.Lock()
	defer benchMu.Unlock()
	id := fmt.Sprintf("%s/%d", mode, pods)
	if benchLoaded == id {
		return benchC
	}
	benchC, benchLoaded = nil, ""
	runtime.GC()
	debug.FreeOSMemory()
	c := &benchCluster{nodes: nodes, pods: pods, nodeCache: cache.NewStore(cache.MetaNamespaceKeyFunc), podCache: cache.NewStore(cache.MetaNamespaceKeyFunc)}
	c.src = NewSource(Config{TotalShards: 1}, nil, nil, nil, log.NewNopLogger())
	c.node = NewNodeCollector(c.src)
	c.pod = NewPodCollector(c.src)
	start := time.Now()
	for i := 0; i < nodes; i++ {
		so, _ := stripNode(synthNode(i))
		_ = c.nodeCache.Add(so)
		if mode == "store" {
			c.src.onNode(so, false)
		}
	}
	for i := 0; i < pods; i++ {
		if mode == "store" {
			c.src.podEvent(synthPod(i, nodes))
		} else {
			_ = c.podCache.Add(synthPod(i, nodes))
		}
	}
	c.loadTime = time.Since(start)
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	c.heap = float64(ms.HeapAlloc)
	c.peakRSS = procStatus("VmHWM")
	debug.FreeOSMemory() // what the scavenger returns over time in a long-running exporter
	c.rss = procStatus("VmRSS")
	benchC, benchLoaded = c, id
	return c
}

func threadCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

type countWriter struct{ n int64 }

func (w *countWriter) Write(p []byte) (int, error) { w.n += int64(len(p)); return len(p), nil }

func median(d []time.Duration) float64 {
	s := append([]time.Duration(nil), d...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return s[len(s)/2].Seconds()
}

// BenchmarkScrape renders /metrics text for the node and pod families from
// the pre-rendered store, and, side by side, from a naive client_golang
// collector that walks the caches on every scrape (const metrics, a
// registry, expfmt text encoding). Run with -benchtime=Nx.
func BenchmarkScrape(b *testing.B) {
	for _, size := range []struct{ nodes, pods int }{{100, 3000}, {5000, 150000}} {
		for _, impl := range []string{"store", "naive"} {
			b.Run(fmt.Sprintf("pods=%d/%s", size.pods, impl), func(b *testing.B) {
				c := loadCluster(b, impl, size.nodes, size.pods)
				cw := &countWriter{}
				bw := bufio.NewWriterSize(cw, 256<<10)
				var naive *prometheus.Registry
				if impl == "naive" {
					naive = prometheus.NewRegistry()
					naive.MustRegister(&naiveCollector{nodes: c.nodeCache, pods: c.podCache})
				}
				var times, cpu []time.Duration
				// Process CPU time (all goroutines and the GC) per scrape: a
				// loaded machine distorts it far less than wall time.
				// One naive scrape at 150k pods takes minutes on a loaded
				// machine: cap it at 1 per run (plus go test's warm-up run)
				// so make bench stays short. The store always does b.N.
				n := b.N
				if impl == "naive" && size.pods >= 100000 && n > 1 {
					n = 1
				}
				b.ReportAllocs()
				b.ResetTimer()
				for i := 0; i < n; i++ {
					cw.n = 0
					cpu0 := threadCPU()
					start := time.Now()
					if impl == "store" {
						_ = c.node.WriteRaw(bw)
						_ = c.pod.WriteRaw(bw)
					} else {
						mfs, err := naive.Gather()
						if err != nil {
							b.Fatal(err)
						}
						enc := expfmt.NewEncoder(bw, expfmt.NewFormat(expfmt.TypeTextPlain))
						for _, mf := range mfs {
							_ = enc.Encode(mf)
						}
					}
					_ = bw.Flush()
					times = append(times, time.Since(start))
					cpu = append(cpu, threadCPU()-cpu0)
				}
				b.StopTimer()
				b.ReportMetric(median(times), "p50-s/scrape")
				b.ReportMetric(median(cpu), "p50-cpu-s/scrape")
				b.ReportMetric(float64(cw.n), "bytes/scrape")
				if impl == "store" {
					b.ReportMetric(c.heap/(1<<20), "heap-MiB")
					b.ReportMetric(c.rss/(1<<20), "rss-MiB")
					b.ReportMetric(c.peakRSS/(1<<20), "peak-rss-MiB")
					b.ReportMetric(c.loadTime.Seconds(), "load-s")
				}
			})
		}
	}
}

// naiveCollector is the baseline: what an exporter without a pre-rendered
// store does on every scrape.
type naiveCollector struct{ nodes, pods cache.Store }

func (n *naiveCollector) Describe(chan<- *prometheus.Desc) {}

func (n *naiveCollector) Collect(ch chan<- prometheus.Metric) {
	g := prometheus.GaugeValue
	reqD, limD, restD, ltD, phD, owD := collector.Desc(containerRequests), collector.Desc(containerLimits), collector.Desc(containerRestarts),
		collector.Desc(containerLastTerminated), collector.Desc(podPhase), collector.Desc(podOwner)
	capD, allocD, nreqD, nlimD := collector.Desc(nodeCapacity), collector.Desc(nodeAllocatable), collector.Desc(nodeRequests), collector.Desc(nodeLimits)
	condD, unschD, infoD := collector.Desc(nodeCondition), collector.Desc(nodeUnschedulable), collector.Desc(nodeInfo)
	sumsReq, sumsLim := map[string]resList{}, map[string]resList{}
	for _, o := range n.pods.List() {
		p := o.(*v1.Pod)
		for _, c := range p.Spec.Containers {
			for rn, q := range c.Resources.Requests {
				name, unit := resourceLabels(rn)
				ch <- prometheus.MustNewConstMetric(reqD, g, q.AsApproximateFloat64(), p.Namespace, p.Name, c.Name, p.Spec.NodeName, name, unit)
			}
			for rn, q := range c.Resources.Limits {
				name, unit := resourceLabels(rn)
				ch <- prometheus.MustNewConstMetric(limD, g, q.AsApproximateFloat64(), p.Namespace, p.Name, c.Name, p.Spec.NodeName, name, unit)
			}
		}
		for _, cs := range p.Status.ContainerStatuses {
			ch <- prometheus.MustNewConstMetric(restD, prometheus.CounterValue, float64(cs.RestartCount), p.Namespace, p.Name, cs.Name)
			if t := cs.LastTerminationState.Terminated; t != nil {
				ch <- prometheus.MustNewConstMetric(ltD, g, 1, p.Namespace, p.Name, cs.Name, t.Reason)
			}
		}
		ch <- prometheus.MustNewConstMetric(phD, g, 1, p.Namespace, p.Name, phaseOf(p))
		ref := controllerOf(p.OwnerReferences)
		ch <- prometheus.MustNewConstMetric(owD, g, 1, p.Namespace, p.Name, ref.Kind, ref.Name, ref.Kind, ref.Name)
		if p.Spec.NodeName != "" && !terminated(p) {
			if sumsReq[p.Spec.NodeName] == nil {
				sumsReq[p.Spec.NodeName], sumsLim[p.Spec.NodeName] = resList{}, resList{}
			}
			sumsReq[p.Spec.NodeName].addList(podRequests(p))
			sumsLim[p.Spec.NodeName].addList(podLimits(p))
		}
	}
	for _, o := range n.nodes.List() {
		nd := o.(*v1.Node)
		for d, l := range map[*prometheus.Desc]v1.ResourceList{capD: nd.Status.Capacity, allocD: nd.Status.Allocatable} {
			for rn, q := range l {
				name, unit := resourceLabels(rn)
				ch <- prometheus.MustNewConstMetric(d, g, q.AsApproximateFloat64(), nd.Name, name, unit)
			}
		}
		for d, l := range map[*prometheus.Desc]resList{nreqD: sumsReq[nd.Name], nlimD: sumsLim[nd.Name]} {
			for rn, v := range l {
				name, unit := resourceLabels(rn)
				ch <- prometheus.MustNewConstMetric(d, g, value(v), nd.Name, name, unit)
			}
		}
		for _, c := range nd.Status.Conditions {
			for _, s := range []v1.ConditionStatus{v1.ConditionTrue, v1.ConditionFalse, v1.ConditionUnknown} {
				ch <- prometheus.MustNewConstMetric(condD, g, boolValue(c.Status == s), nd.Name, string(c.Type), strings.ToLower(string(s)))
			}
		}
		ch <- prometheus.MustNewConstMetric(unschD, g, boolValue(nd.Spec.Unschedulable), nd.Name)
		ch <- prometheus.MustNewConstMetric(infoD, g, 1, nd.Name, nd.Status.NodeInfo.KubeletVersion, nd.Status.NodeInfo.ContainerRuntimeVersion,
			nd.Status.NodeInfo.OSImage, nd.Labels[v1.LabelTopologyZone], nd.Labels[v1.LabelInstanceTypeStable])
	}
}

var (
	_ io.Writer = (*countWriter)(nil)
	_           = resource.Quantity{}
)
