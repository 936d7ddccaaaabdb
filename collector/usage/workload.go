package usage

import (
	"hash/maphash"
	"strconv"

	"github.com/kubepulse/kubepulse/collector/usage/kubelettext"

	"github.com/kubepulse/kubepulse/internal/catalog"
)

// The ratios are computed here, from the usage just read and the limits the
// cluster source holds in the same process, so a per-container alert is a
// threshold on one series instead of a per-pod join in Prometheus. See
// docs/usage.md for the trade-off with the naming conventions.
var (
	memRatioDef = catalog.ContainerMemoryWorkingSetLimitRatio
	cpuRatioDef = catalog.ContainerCPUUsageLimitRatio
)

var memRatioHeader, cpuRatioHeader = memRatioDef.Header(), cpuRatioDef.Header()

// ContainerInfo is what the cluster source knows of a container: its
// workload and its limits (0 when unset).
type ContainerInfo struct {
	WorkloadKind, Workload string
	CPULimit, MemoryLimit  float64 // cores, bytes
}

// LookupFunc returns a container's info; ok is false when the pod is not
// known (not listed yet, or outside what the exporter watches).
type LookupFunc func(namespace, pod, container string) (ContainerInfo, bool)

// cpuPoint is a container's CPU counter at one read, kept to compute the
// rate at the next one.
type cpuPoint struct {
	seconds float64
	ms      int64 // sample time, milliseconds since the epoch
}

// info looks up the container of s. An unknown pod gets no workload labels
// (to Prometheus the same as empty ones) and no ratios.
func (r *renderer) info(s *kubelettext.Sample) (ContainerInfo, bool) {
	if r.lookup == nil {
		return ContainerInfo{}, false
	}
	return r.lookup(string(s.Namespace), string(s.Pod), string(s.Container))
}

// appendWorkload appends the workload labels, values escaped.
func appendWorkload(b []byte, ci *ContainerInfo) []byte {
	b = append(b, `",workload_kind="`...)
	b = appendEscaped(b, ci.WorkloadKind)
	b = append(b, `",workload="`...)
	return appendEscaped(b, ci.Workload)
}

func appendRatio(b []byte, name string, s *kubelettext.Sample, ci *ContainerInfo, v float64) []byte {
	b = append(b, name...)
	b = append(b, `{namespace="`...)
	b = append(b, s.Namespace...)
	b = append(b, `",pod="`...)
	b = append(b, s.Pod...)
	b = append(b, `",container="`...)
	b = append(b, s.Container...)
	b = appendWorkload(b, ci)
	b = append(b, `"} `...)
	b = strconv.AppendFloat(b, v, 'g', -1, 64)
	return append(b, '\n')
}

// ratios appends the limit ratios of one sample. The CPU rate needs the
// previous read of the same container (prev); a counter that went down
// (container restarted) or a sample not newer than the last one gives no
// ratio this round.
func (r *renderer) ratios(s *kubelettext.Sample, ci *ContainerInfo) {
	v, err := strconv.ParseFloat(string(s.Value), 64)
	if err != nil {
		return
	}
	if s.Kind == kubelettext.KindMemory {
		if ci.MemoryLimit > 0 {
			r.memRatio = appendRatio(r.memRatio, memRatioDef.Name, s, ci, v/ci.MemoryLimit)
		}
		return
	}
	ms := r.readMs
	if len(s.Timestamp) > 0 {
		if t, err := strconv.ParseInt(string(s.Timestamp), 10, 64); err == nil {
			ms = t
		}
	}
	h := maphash.Bytes(hashSeed, r.key[1:]) // namespace, pod, container
	if r.cur == nil {
		r.cur = map[uint64]cpuPoint{}
	}
	r.cur[h] = cpuPoint{v, ms}
	if ci.CPULimit <= 0 {
		return
	}
	p, ok := r.prev[h]
	if !ok || ms <= p.ms || v < p.seconds {
		return
	}
	rate := (v - p.seconds) / (float64(ms-p.ms) / 1e3)
	r.cpuRatio = appendRatio(r.cpuRatio, cpuRatioDef.Name, s, ci, rate/ci.CPULimit)
}
