package tuning

import (
	"fmt"
	"math"
	"sort"
	"strings"
)

// Resource names as they appear in series labels and in the output.
const (
	CPU    = "cpu"
	Memory = "memory"
)

// Sample is one value at time T (Unix ms).
type Sample struct {
	T int64
	V float64
}

// Stream is the usage of one container in one pod. CPU holds rates in cores
// (from counter increases), Memory holds working-set bytes.
type Stream struct {
	Pod    string
	CPU    []Sample
	Memory []Sample
	// OOMs are the times at which the container was seen OOM-killed, with
	// the memory it held then (its limit when known).
	OOMs []Sample
}

// HPA is a HorizontalPodAutoscaler that scales a workload on CPU
// utilization.
type HPA struct {
	Name string
	// TargetCPUUtilization is the target in percent of the CPU request.
	TargetCPUUtilization float64
}

// Container is one container of one workload, with the usage of every pod
// of the workload that ran it. Recommendations are per Container: pods of a
// workload are interchangeable, so their samples are one population.
type Container struct {
	Namespace    string
	WorkloadKind string
	Workload     string
	Name         string
	Streams      []*Stream
	// Requests and Limits are the latest values seen, by resource; a
	// missing key is unset.
	Requests map[string]float64
	Limits   map[string]float64
	HPA      *HPA

	newest map[string]int64 // when each request/limit was seen, while building
}

// ID is namespace/kind/workload/container, the sort and join key.
func (c *Container) ID() string {
	return c.Namespace + "/" + c.WorkloadKind + "/" + c.Workload + "/" + c.Name
}

// History is the usage of many containers over [Start, End] (Unix ms).
type History struct {
	Containers []*Container
	Start, End int64
	// Step is the median interval between samples of a stream (ms); each
	// sample stands for this much time when slack is summed.
	Step int64
}

// Window returns the samples of s with from < T <= to (left-open, as
// Prometheus range selectors are, so windows tile without overlap).
func Window(s []Sample, from, to int64) []Sample {
	i := sort.Search(len(s), func(i int) bool { return s[i].T > from })
	j := sort.Search(len(s), func(i int) bool { return s[i].T > to })
	return s[i:j]
}

// cpuRates turns counter samples into rates in cores (see rater).
func cpuRates(counter []Sample) []Sample {
	out := make([]Sample, 0, len(counter))
	var r rater
	for _, s := range counter {
		if x, ok := r.next(s); ok {
			out = append(out, x)
		}
	}
	return out
}

// medianStep is the median spacing of the samples of the first streams.
func medianStep(cs []*Container) int64 {
	var d []int64
	for _, c := range cs {
		for _, s := range c.Streams {
			for i := 1; i < len(s.Memory) && len(d) < 10000; i++ {
				d = append(d, s.Memory[i].T-s.Memory[i-1].T)
			}
		}
		if len(d) >= 10000 {
			break
		}
	}
	if len(d) == 0 {
		return 60000
	}
	sort.Slice(d, func(i, j int) bool { return d[i] < d[j] })
	return d[len(d)/2]
}

// workloadOf derives the workload from a pod's controller when no
// workload label is present (kube_pod_owner names the ReplicaSet, whose
// Deployment is its name minus the pod-template hash).
func workloadOf(ownerKind, ownerName string) (string, string) {
	switch ownerKind {
	case "ReplicaSet":
		if i := strings.LastIndexByte(ownerName, '-'); i > 0 {
			return "Deployment", ownerName[:i]
		}
	case "Job":
		// A CronJob names its Jobs NAME-<scheduled time in minutes>.
		if i := strings.LastIndexByte(ownerName, '-'); i > 0 && len(ownerName)-i > 8 && allDigits(ownerName[i+1:]) {
			return "CronJob", ownerName[:i]
		}
	case "", "<none>":
		return "Pod", ""
	}
	return ownerKind, ownerName
}

// formatCores and formatBytes render base units as Kubernetes quantities.
func formatCores(v float64) string {
	m := math.Round(v * 1000)
	if math.Mod(m, 1000) == 0 {
		return fmt.Sprintf("%d", int64(m/1000))
	}
	return fmt.Sprintf("%dm", int64(m))
}

func formatBytes(v float64) string {
	const Mi, Gi = 1 << 20, 1 << 30
	switch {
	case v >= Gi && math.Mod(v, Gi) == 0:
		return fmt.Sprintf("%dGi", int64(v/Gi))
	case v >= Mi && math.Mod(v, Mi) == 0:
		return fmt.Sprintf("%dMi", int64(v/Mi))
	case v >= Mi:
		return fmt.Sprintf("%.0fMi", math.Ceil(v/Mi))
	}
	return fmt.Sprintf("%d", int64(math.Round(v)))
}

// FormatQuantity renders v of resource r as a Kubernetes quantity.
func FormatQuantity(r string, v float64) string {
	if r == CPU {
		return formatCores(v)
	}
	return formatBytes(v)
}

func allDigits(s string) bool {
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return s != ""
}
