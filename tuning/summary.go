package tuning

import (
	"fmt"
	"slices"
	"strings"
)

// Trim keeps samples after from (Unix ms) and, when namespaces is not
// empty, only those namespaces. Containers left without samples go.
func (h *History) Trim(from int64, namespaces []string) *History {
	out := &History{Start: h.End, End: h.End, Step: h.Step}
	for _, c := range h.Containers {
		if len(namespaces) > 0 && !slices.Contains(namespaces, c.Namespace) {
			continue
		}
		cc := *c
		cc.Streams = nil
		for _, s := range c.Streams {
			ns := &Stream{Pod: s.Pod, CPU: Window(s.CPU, from, h.End), Memory: Window(s.Memory, from, h.End), OOMs: Window(s.OOMs, from, h.End)}
			if len(ns.CPU)+len(ns.Memory) == 0 {
				continue
			}
			for _, x := range [][]Sample{ns.CPU, ns.Memory} {
				if len(x) > 0 && x[0].T < out.Start {
					out.Start = x[0].T
				}
			}
			cc.Streams = append(cc.Streams, ns)
		}
		if len(cc.Streams) > 0 {
			out.Containers = append(out.Containers, &cc)
		}
	}
	return out
}

// Saved is the request the recommendation frees for the whole workload
// (current minus recommended, times pods; negative when it asks for
// more). ok is false without both numbers.
func (r Recommendation) Saved() (float64, bool) {
	if r.CurrentRequest == nil || r.RecommendedRequest == nil {
		return 0, false
	}
	return (*r.CurrentRequest - *r.RecommendedRequest) * r.Pods, true
}

// Summary is the expected change in requests and in the utilization of
// requests (usage / requests) over all containers with a recommendation.
type Summary struct {
	CurrentCPU, RecommendedCPU, UsageCPU float64 // cores
	CurrentMem, RecommendedMem, UsageMem float64 // bytes
	Containers, Held, Insufficient       int
}

// Summarize adds up recommendations. A container without a current
// request counts its recommendation on both sides, so adding a missing
// request does not read as growth.
func Summarize(recs []Recommendation) Summary {
	var s Summary
	seen := map[string]bool{}
	for _, r := range recs {
		id := r.Namespace + "/" + r.WorkloadKind + "/" + r.Workload + "/" + r.Container
		if !seen[id] {
			seen[id] = true
			s.Containers++
		}
		if r.RecommendedRequest == nil {
			s.Insufficient++
			continue
		}
		if strings.HasPrefix(r.Reason, "kept: HPA") {
			s.Held++
		}
		cur := *r.RecommendedRequest
		if r.CurrentRequest != nil {
			cur = *r.CurrentRequest
		}
		if r.Resource == CPU {
			s.CurrentCPU += cur * r.Pods
			s.RecommendedCPU += *r.RecommendedRequest * r.Pods
			s.UsageCPU += r.Usage * r.Pods
		} else {
			s.CurrentMem += cur * r.Pods
			s.RecommendedMem += *r.RecommendedRequest * r.Pods
			s.UsageMem += r.Usage * r.Pods
		}
	}
	return s
}

func pctOf(a, b float64) float64 {
	if b == 0 {
		return 0
	}
	return 100 * a / b
}

// String is the one-line summary.
func (s Summary) String() string {
	return fmt.Sprintf("requests: CPU %.2f → %.2f cores (%+.0f%%), memory %.2f → %.2f GiB (%+.0f%%); utilization of requests: CPU %.0f%% → %.0f%%, memory %.0f%% → %.0f%% (%d containers; %d resources held for an HPA, %d with insufficient data)",
		s.CurrentCPU, s.RecommendedCPU, pctOf(s.RecommendedCPU-s.CurrentCPU, s.CurrentCPU),
		s.CurrentMem/gi, s.RecommendedMem/gi, pctOf(s.RecommendedMem-s.CurrentMem, s.CurrentMem),
		pctOf(s.UsageCPU, s.CurrentCPU), pctOf(s.UsageCPU, s.RecommendedCPU),
		pctOf(s.UsageMem, s.CurrentMem), pctOf(s.UsageMem, s.RecommendedMem),
		s.Containers, s.Held, s.Insufficient)
}
