package tuning

import (
	"bytes"
	"fmt"
	"html/template"
	"math"
	"strings"
	"time"
)

// Report renders one self-contained HTML page: the summary, then per
// workload one chart per container and resource of usage over the window
// (mean and max across pods) with the current and recommended request and
// limit as lines. Inline SVG, no script, no CDN: it opens from a mail
// attachment or a CI artifact.
func Report(h *History, recs []Recommendation, o Options) ([]byte, error) {
	byKey := map[string]Recommendation{}
	for _, r := range recs {
		byKey[r.Namespace+"/"+r.WorkloadKind+"/"+r.Workload+"/"+r.Container+"/"+r.Resource] = r
	}
	type chart struct {
		Title, Reason, Risk string
		SVG                 template.HTML
	}
	type workload struct {
		Name   string
		Charts []chart
	}
	var wls []*workload
	idx := map[string]*workload{}
	for _, c := range h.Containers {
		key := c.Namespace + "/" + c.WorkloadKind + "/" + c.Workload
		w := idx[key]
		if w == nil {
			w = &workload{Name: key}
			idx[key] = w
			wls = append(wls, w)
		}
		for _, res := range []string{CPU, Memory} {
			r := byKey[c.ID()+"/"+res]
			w.Charts = append(w.Charts, chart{
				Title:  fmt.Sprintf("%s: %s", c.Name, res),
				Reason: r.Reason, Risk: r.Risk,
				SVG: template.HTML(svgChart(c, res, r, h.Start, h.End)),
			})
		}
	}
	var b bytes.Buffer
	err := reportTmpl.Execute(&b, map[string]any{
		"Summary":   Summarize(recs).String(),
		"Workloads": wls,
		"From":      time.UnixMilli(h.Start).UTC().Format(time.RFC3339),
		"To":        time.UnixMilli(h.End).UTC().Format(time.RFC3339),
		"Options":   fmt.Sprintf("CPU p%g + %g%%, memory p%g of %s peaks + %g%%, half-life %s, limits cpu=%s memory=%s", o.CPUPercentile*100, o.CPUMargin*100, o.MemoryPercentile*100, dur(o.MemoryInterval), o.MemoryMargin*100, dur(o.HalfLife), o.CPULimit, o.MemoryLimit),
	})
	return b.Bytes(), err
}

const chartW, chartH, maxPoints = 640.0, 180.0, 320

// svgChart draws usage (mean and max across pods per time bucket) and the
// request/limit lines. Only numbers and fixed strings go into the SVG.
func svgChart(c *Container, res string, r Recommendation, start, end int64) string {
	span := float64(max(end-start, 1))
	bucket := int64(math.Ceil(span / maxPoints))
	type agg struct {
		sum, max float64
		n        int
	}
	aggs := make([]agg, maxPoints+1)
	for _, s := range c.Streams {
		src := s.CPU
		if res == Memory {
			src = s.Memory
		}
		for _, x := range src {
			i := int((x.T - start) / bucket)
			if i < 0 || i > maxPoints {
				continue
			}
			a := &aggs[i]
			a.sum += x.V
			a.n++
			a.max = math.Max(a.max, x.V)
		}
	}
	top := 0.0
	for _, a := range aggs {
		top = math.Max(top, a.max)
	}
	for _, v := range []*float64{r.CurrentRequest, r.CurrentLimit, r.RecommendedRequest, r.RecommendedLimit} {
		if v != nil {
			top = math.Max(top, *v)
		}
	}
	if top == 0 {
		top = 1
	}
	top *= 1.1
	y := func(v float64) float64 { return chartH - v/top*chartH }
	path := func(f func(agg) float64) string {
		var b strings.Builder
		pen := "M"
		for i, a := range aggs {
			if a.n == 0 {
				pen = "M"
				continue
			}
			fmt.Fprintf(&b, "%s%.1f,%.1f ", pen, float64(i)/maxPoints*chartW, y(f(a)))
			pen = "L"
		}
		return b.String()
	}
	var b strings.Builder
	fmt.Fprintf(&b, `<svg viewBox="-60 -10 %.0f %.0f" width="%.0f" height="%.0f" role="img">`, chartW+260, chartH+30, chartW+260, chartH+30)
	fmt.Fprintf(&b, `<rect x="0" y="0" width="%.0f" height="%.0f" fill="#fafafa" stroke="#ccc"/>`, chartW, chartH)
	for _, f := range []float64{0, 0.5, 1} {
		v := top / 1.1 * f
		fmt.Fprintf(&b, `<text x="-4" y="%.1f" font-size="10" text-anchor="end">%s</text>`, y(v)+3, FormatQuantity(res, v))
	}
	fmt.Fprintf(&b, `<path d="%s" fill="none" stroke="#9ecae1" stroke-width="1"/>`, path(func(a agg) float64 { return a.max }))
	fmt.Fprintf(&b, `<path d="%s" fill="none" stroke="#3182bd" stroke-width="1.5"/>`, path(func(a agg) float64 { return a.sum / float64(a.n) }))
	line := func(v *float64, color, dash, label string, row int) {
		if v == nil {
			return
		}
		fmt.Fprintf(&b, `<line x1="0" x2="%.0f" y1="%.1f" y2="%.1f" stroke="%s" stroke-width="1.5" stroke-dasharray="%s"/>`, chartW, y(*v), y(*v), color, dash)
		fmt.Fprintf(&b, `<text x="%.0f" y="%d" font-size="10" fill="%s">%s %s</text>`, chartW+6, 12+row*14, color, label, FormatQuantity(res, *v))
	}
	line(r.CurrentRequest, "#636363", "6 3", "current request", 0)
	line(r.CurrentLimit, "#de2d26", "6 3", "current limit", 1)
	line(r.RecommendedRequest, "#31a354", "", "recommended request", 2)
	line(r.RecommendedLimit, "#de2d26", "", "recommended limit", 3)
	fmt.Fprintf(&b, `<text x="%.0f" y="%d" font-size="10" fill="#3182bd">usage: mean</text>`, chartW+6, 12+5*14)
	fmt.Fprintf(&b, `<text x="%.0f" y="%d" font-size="10" fill="#9ecae1">usage: max of pods</text>`, chartW+6, 12+6*14)
	b.WriteString(`</svg>`)
	return b.String()
}

var reportTmpl = template.Must(template.New("report").Parse(`<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>kubepulse tune resources</title>
<style>body{font-family:sans-serif;margin:2em;max-width:72em}h2{margin-top:2em;border-bottom:1px solid #ddd}
.reason{color:#555;font-size:90%}.risk-high{color:#de2d26}.risk-medium{color:#e6550d}.risk-low{color:#31a354}</style></head>
<body><h1>kubepulse tune resources</h1>
<p><strong>{{.Summary}}</strong></p>
<p class="reason">History {{.From}} to {{.To}}; {{.Options}}.</p>
{{range .Workloads}}<h2>{{.Name}}</h2>
{{range .Charts}}<h3>{{.Title}} <span class="risk-{{.Risk}}">{{if .Risk}}risk {{.Risk}}{{end}}</span></h3>
<p class="reason">{{.Reason}}</p>
{{.SVG}}
{{end}}{{end}}</body></html>
`))
