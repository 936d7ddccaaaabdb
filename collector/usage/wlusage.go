package usage

import (
	"sort"
	"strconv"

	"github.com/kubepulse/kubepulse/collector/usage/kubelettext"

	"github.com/kubepulse/kubepulse/internal/catalog"
)

// Per-workload memory, summed here from the samples just read: a gauge sum
// over a workload's containers is exact, so the recording rules read 15k
// workload series instead of 300k container series. See docs/usage.md for
// the trade-off with the naming conventions.
var (
	wlMemDef    = catalog.WorkloadMemoryWorkingSetBytes
	wlPodMaxDef = catalog.WorkloadPodMaxMemoryWorkingSetBytes
)

var wlMemHeader, wlPodMaxHeader = wlMemDef.Header(), wlPodMaxDef.Header()

// workloadKey holds escaped label values, ready to render.
type workloadKey struct{ namespace, kind, name string }

// wlUsage is one node's part of a workload: its pods sit on one node, so a
// pod's sum, hence the largest pod, is complete within the node.
type wlUsage struct{ sum, podMax float64 }

type podKey struct {
	wl  workloadKey
	pod string
}

// wlAgg accumulates one node's read.
type wlAgg struct{ pods map[podKey]float64 }

func (a *wlAgg) reset() { clear(a.pods) }

// add counts a memory sample of a container whose workload is known.
// Label values of s are escaped; ci's are not.
func (a *wlAgg) add(s *kubelettext.Sample, ci *ContainerInfo) {
	v, err := strconv.ParseFloat(string(s.Value), 64)
	if err != nil {
		return
	}
	if a.pods == nil {
		a.pods = map[podKey]float64{}
	}
	k := podKey{workloadKey{string(s.Namespace), string(appendEscaped(nil, ci.WorkloadKind)), string(appendEscaped(nil, ci.Workload))}, string(s.Pod)}
	a.pods[k] += v
}

func (a *wlAgg) result() map[workloadKey]wlUsage {
	if len(a.pods) == 0 {
		return nil
	}
	out := map[workloadKey]wlUsage{}
	for k, v := range a.pods {
		u := out[k.wl]
		u.sum += v
		u.podMax = max(u.podMax, v)
		out[k.wl] = u
	}
	return out
}

// renderWorkloads merges the nodes' parts: sums add up, maxima take the max.
func renderWorkloads(nodes []namedUsage) []byte {
	all := map[workloadKey]wlUsage{}
	for _, n := range nodes {
		for k, u := range n.u.workloads {
			t, ok := all[k]
			if !ok {
				all[k] = u
				continue
			}
			t.sum += u.sum
			t.podMax = max(t.podMax, u.podMax)
			all[k] = t
		}
	}
	if len(all) == 0 {
		return nil
	}
	keys := make([]workloadKey, 0, len(all))
	for k := range all {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		a, b := keys[i], keys[j]
		if a.namespace != b.namespace {
			return a.namespace < b.namespace
		}
		if a.kind != b.kind {
			return a.kind < b.kind
		}
		return a.name < b.name
	})
	b := make([]byte, 0, len(keys)*2*140)
	for i, fam := range []struct {
		header, name string
	}{{wlMemHeader, wlMemDef.Name}, {wlPodMaxHeader, wlPodMaxDef.Name}} {
		b = append(b, fam.header...)
		for _, k := range keys {
			v := all[k].sum
			if i == 1 {
				v = all[k].podMax
			}
			b = append(b, fam.name...)
			b = append(b, `{namespace="`...)
			b = append(b, k.namespace...)
			b = append(b, `",workload_kind="`...)
			b = append(b, k.kind...)
			b = append(b, `",workload="`...)
			b = append(b, k.name...)
			b = append(b, `"} `...)
			b = strconv.AppendFloat(b, v, 'g', -1, 64)
			b = append(b, '\n')
		}
	}
	return b
}
