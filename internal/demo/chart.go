package demo

import (
	"fmt"
	"html/template"
	"io/fs"
	"math"
	"strings"
	"time"
)

var palette = []string{"#2563eb", "#dc2626", "#16a34a", "#d97706", "#7c3aed", "#0891b2", "#db2777", "#4b5563"}

const chartW, chartH, padL, padB = 420.0, 110.0, 46.0, 16.0

// svgChart draws series as polylines in an inline SVG, with the y range,
// the time range and a legend from one label. Gaps (missing steps) break
// the line, as in Grafana.
func svgChart(id string, series []Series, legend, unit string, start, end time.Time) template.HTML {
	var b strings.Builder
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, s := range series {
		for _, p := range s.Points {
			if !math.IsNaN(p.V) && !math.IsInf(p.V, 0) {
				lo, hi = math.Min(lo, p.V), math.Max(hi, p.V)
			}
		}
	}
	n := 0
	for _, s := range series {
		n += len(s.Points)
	}
	fmt.Fprintf(&b, `<svg id="%s" class="chart" data-series="%d" data-points="%d" viewBox="0 0 %.0f %.0f" role="img" xmlns="http://www.w3.org/2000/svg">`,
		template.HTMLEscapeString(id), len(series), n, chartW, chartH+padB+4)
	if n == 0 {
		fmt.Fprintf(&b, `<text x="%.0f" y="%.0f" class="nodata">no data</text></svg>`, chartW/2-25, chartH/2)
		return template.HTML(b.String())
	}
	if lo > 0 {
		lo = 0
	}
	if hi <= lo {
		hi = lo + 1
	}
	x := func(t int64) float64 {
		return padL + (chartW-padL-4)*float64(t-start.UnixMilli())/float64(max(end.UnixMilli()-start.UnixMilli(), 1))
	}
	y := func(v float64) float64 { return 4 + (chartH-4)*(1-(v-lo)/(hi-lo)) }
	fmt.Fprintf(&b, `<line x1="%.0f" y1="%.0f" x2="%.0f" y2="%.0f" class="axis"/>`, padL, chartH, chartW-4, chartH)
	fmt.Fprintf(&b, `<text x="2" y="12" class="tick">%s</text><text x="2" y="%.0f" class="tick">%s</text>`,
		template.HTMLEscapeString(fmtUnit(hi, unit)), chartH, template.HTMLEscapeString(fmtUnit(lo, unit)))
	fmt.Fprintf(&b, `<text x="%.0f" y="%.0f" class="tick">-%s</text><text x="%.0f" y="%.0f" class="tick" text-anchor="end">now</text>`,
		padL, chartH+padB, end.Sub(start).String(), chartW-4, chartH+padB)
	step := int64(0)
	for _, s := range series {
		if len(s.Points) > 1 {
			step = s.Points[1].T - s.Points[0].T
			break
		}
	}
	for i, s := range series {
		color := palette[i%len(palette)]
		var pts []string
		flush := func() {
			if len(pts) > 0 {
				fmt.Fprintf(&b, `<polyline fill="none" stroke="%s" stroke-width="1.5" points="%s"><title>%s</title></polyline>`,
					color, strings.Join(pts, " "), template.HTMLEscapeString(s.Metric.Get(legend)))
			}
			pts = pts[:0]
		}
		for j, p := range s.Points {
			if j > 0 && step > 0 && p.T-s.Points[j-1].T > step {
				flush()
			}
			pts = append(pts, fmt.Sprintf("%.1f,%.1f", x(p.T), y(p.V)))
		}
		flush()
	}
	b.WriteString(`</svg><div class="legend">`)
	for i, s := range series {
		if i == len(palette) {
			break
		}
		fmt.Fprintf(&b, `<span><i style="background:%s"></i>%s</span>`, palette[i%len(palette)], template.HTMLEscapeString(s.Metric.Get(legend)))
	}
	b.WriteString(`</div>`)
	return template.HTML(b.String())
}

func fmtUnit(v float64, unit string) string {
	switch unit {
	case "bytes":
		return humanBytes(v)
	case "ratio":
		return fmt.Sprintf("%.0f%%", v*100)
	case "s":
		return fmt.Sprintf("%.0f ms", v*1000)
	}
	return fmt.Sprintf("%.2g %s", v, unit)
}

func mustSub(f fs.FS, dir string) fs.FS {
	s, err := fs.Sub(f, dir)
	if err != nil {
		panic(err)
	}
	return s
}
