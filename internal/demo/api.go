package demo

import (
	"encoding/json"
	"math"
	"net/http"
	"sort"
	"strconv"
	"time"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql/parser"
	"github.com/prometheus/prometheus/rules"
	"github.com/prometheus/prometheus/storage"
)

// The Prometheus HTTP API (the subset Grafana and promtool-style clients
// use), answered from the embedded TSDB, engine and rule groups. Response
// shapes follow https://prometheus.io/docs/prometheus/latest/querying/api/.

type apiResponse struct {
	Status    string `json:"status"`
	Data      any    `json:"data,omitempty"`
	ErrorType string `json:"errorType,omitempty"`
	Error     string `json:"error,omitempty"`
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

func apiOK(w http.ResponseWriter, data any) {
	writeJSON(w, http.StatusOK, apiResponse{Status: "success", Data: data})
}

func apiErr(w http.ResponseWriter, code int, typ string, err error) {
	writeJSON(w, code, apiResponse{Status: "error", ErrorType: typ, Error: err.Error()})
}

// parseTime accepts RFC 3339 or Unix seconds (with fractions), as Prometheus does.
func parseTime(s string, def time.Time) (time.Time, error) {
	if s == "" {
		return def, nil
	}
	if f, err := strconv.ParseFloat(s, 64); err == nil {
		sec, frac := math.Modf(f)
		return time.Unix(int64(sec), int64(frac*1e9)), nil
	}
	return time.Parse(time.RFC3339Nano, s)
}

func parseStep(s string) (time.Duration, error) {
	if f, err := strconv.ParseFloat(s, 64); err == nil {
		return time.Duration(f * float64(time.Second)), nil
	}
	d, err := parseDuration(s)
	return d, err
}

func parseDuration(s string) (time.Duration, error) {
	d, err := model.ParseDuration(s)
	return time.Duration(d), err
}

func fmtFloat(v float64) string {
	switch {
	case math.IsNaN(v):
		return "NaN"
	case math.IsInf(v, 1):
		return "+Inf"
	case math.IsInf(v, -1):
		return "-Inf"
	}
	return strconv.FormatFloat(v, 'f', -1, 64)
}

func pair(t int64, v float64) [2]any { return [2]any{float64(t) / 1000, fmtFloat(v)} }

func labelMap(ls labels.Labels) map[string]string {
	m := map[string]string{}
	ls.Range(func(l labels.Label) { m[l.Name] = l.Value })
	return m
}

func resultJSON(v *Value) map[string]any {
	out := map[string]any{"resultType": v.Type}
	switch v.Type {
	case "vector":
		res := []map[string]any{}
		for _, s := range v.Series {
			res = append(res, map[string]any{"metric": labelMap(s.Metric), "value": pair(s.Points[0].T, s.Points[0].V)})
		}
		out["result"] = res
	case "matrix":
		res := []map[string]any{}
		for _, s := range v.Series {
			vals := make([][2]any, len(s.Points))
			for i, p := range s.Points {
				vals[i] = pair(p.T, p.V)
			}
			res = append(res, map[string]any{"metric": labelMap(s.Metric), "values": vals})
		}
		out["result"] = res
	case "scalar":
		out["result"] = pair(v.Series[0].Points[0].T, v.Series[0].Points[0].V)
	case "string":
		out["result"] = [2]any{float64(v.T) / 1000, v.Str}
	}
	return out
}

func (d *Demo) apiQuery(w http.ResponseWriter, r *http.Request) {
	_ = r.ParseForm()
	ts, err := parseTime(r.Form.Get("time"), d.now())
	if err != nil {
		apiErr(w, http.StatusBadRequest, "bad_data", err)
		return
	}
	v, err := d.prom.instant(r.Context(), r.Form.Get("query"), ts)
	if err != nil {
		apiErr(w, http.StatusBadRequest, "bad_data", err)
		return
	}
	apiOK(w, resultJSON(v))
}

func (d *Demo) apiQueryRange(w http.ResponseWriter, r *http.Request) {
	_ = r.ParseForm()
	start, err1 := parseTime(r.Form.Get("start"), time.Time{})
	end, err2 := parseTime(r.Form.Get("end"), time.Time{})
	step, err3 := parseStep(r.Form.Get("step"))
	for _, err := range []error{err1, err2, err3} {
		if err != nil {
			apiErr(w, http.StatusBadRequest, "bad_data", err)
			return
		}
	}
	if start.IsZero() || end.IsZero() || step <= 0 || end.Before(start) {
		apiErr(w, http.StatusBadRequest, "bad_data", errString("start, end and a positive step are required, and end must not be before start"))
		return
	}
	if end.Sub(start)/step > 11000 {
		apiErr(w, http.StatusBadRequest, "bad_data", errString("exceeded maximum resolution of 11,000 points per timeseries. Try decreasing the query resolution (?step=XX)"))
		return
	}
	v, err := d.prom.ranged(r.Context(), r.Form.Get("query"), start, end, step)
	if err != nil {
		apiErr(w, http.StatusBadRequest, "bad_data", err)
		return
	}
	apiOK(w, resultJSON(v))
}

type errString string

func (e errString) Error() string { return string(e) }

// selectSets runs match[] selectors (all series when none) between start and end.
func (d *Demo) selectSets(r *http.Request, f func(storage.SeriesSet)) error {
	_ = r.ParseForm()
	start, err := parseTime(r.Form.Get("start"), time.Unix(0, 0))
	if err != nil {
		return err
	}
	end, err := parseTime(r.Form.Get("end"), d.now().Add(time.Minute))
	if err != nil {
		return err
	}
	q, err := d.prom.db.Querier(start.UnixMilli(), end.UnixMilli())
	if err != nil {
		return err
	}
	defer q.Close()
	matches := r.Form["match[]"]
	if len(matches) == 0 {
		matches = []string{`{__name__=~".+"}`}
	}
	p := parser.NewParser(parser.Options{})
	for _, m := range matches {
		ms, err := p.ParseMetricSelector(m)
		if err != nil {
			return err
		}
		f(q.Select(r.Context(), false, nil, ms...))
	}
	return nil
}

func (d *Demo) apiSeries(w http.ResponseWriter, r *http.Request) {
	seen := map[uint64]bool{}
	out := []map[string]string{}
	err := d.selectSets(r, func(ss storage.SeriesSet) {
		for ss.Next() {
			ls := ss.At().Labels()
			if h := ls.Hash(); !seen[h] {
				seen[h] = true
				out = append(out, labelMap(ls))
			}
		}
	})
	if err != nil {
		apiErr(w, http.StatusBadRequest, "bad_data", err)
		return
	}
	apiOK(w, out)
}

func (d *Demo) apiLabels(w http.ResponseWriter, r *http.Request) {
	names := map[string]bool{}
	err := d.selectSets(r, func(ss storage.SeriesSet) {
		for ss.Next() {
			ss.At().Labels().Range(func(l labels.Label) { names[l.Name] = true })
		}
	})
	if err != nil {
		apiErr(w, http.StatusBadRequest, "bad_data", err)
		return
	}
	apiOK(w, sortedKeys(names))
}

func (d *Demo) apiLabelValues(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	vals := map[string]bool{}
	err := d.selectSets(r, func(ss storage.SeriesSet) {
		for ss.Next() {
			if v := ss.At().Labels().Get(name); v != "" {
				vals[v] = true
			}
		}
	})
	if err != nil {
		apiErr(w, http.StatusBadRequest, "bad_data", err)
		return
	}
	apiOK(w, sortedKeys(vals))
}

func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func alertJSON(a *rules.Alert) map[string]any {
	return map[string]any{
		"labels": labelMap(a.Labels), "annotations": labelMap(a.Annotations), "state": a.State.String(),
		"activeAt": a.ActiveAt.UTC().Format(time.RFC3339Nano), "value": fmtFloat(a.Value),
	}
}

func (d *Demo) apiRules(w http.ResponseWriter, r *http.Request) {
	typ := r.URL.Query().Get("type")
	d.prom.mu.Lock()
	defer d.prom.mu.Unlock()
	groups := []map[string]any{}
	for _, g := range d.prom.groups {
		rs := []map[string]any{}
		for _, rl := range g.Rules() {
			var m map[string]any
			switch x := rl.(type) {
			case *rules.AlertingRule:
				if typ == "record" {
					continue
				}
				alerts := []map[string]any{}
				for _, a := range x.ActiveAlerts() {
					alerts = append(alerts, alertJSON(a))
				}
				m = map[string]any{"type": "alerting", "name": x.Name(), "query": x.Query().String(), "duration": x.HoldDuration().Seconds(),
					"labels": labelMap(x.Labels()), "annotations": labelMap(x.Annotations()), "alerts": alerts, "state": x.State().String()}
			case *rules.RecordingRule:
				if typ == "alert" {
					continue
				}
				m = map[string]any{"type": "recording", "name": x.Name(), "query": x.Query().String(), "labels": labelMap(x.Labels())}
			default:
				continue
			}
			m["health"] = string(rl.Health())
			m["lastError"] = ""
			if err := rl.LastError(); err != nil {
				m["lastError"] = err.Error()
			}
			m["evaluationTime"] = rl.GetEvaluationDuration().Seconds()
			m["lastEvaluation"] = rl.GetEvaluationTimestamp().UTC().Format(time.RFC3339Nano)
			rs = append(rs, m)
		}
		if len(rs) == 0 {
			continue
		}
		groups = append(groups, map[string]any{"name": g.Name(), "file": g.File(), "interval": g.Interval().Seconds(), "rules": rs,
			"evaluationTime": g.GetEvaluationTime().Seconds(), "lastEvaluation": g.GetLastEvaluation().UTC().Format(time.RFC3339Nano)})
	}
	apiOK(w, map[string]any{"groups": groups})
}

func (d *Demo) apiAlerts(w http.ResponseWriter, _ *http.Request) {
	out := []map[string]any{}
	for _, a := range d.activeAlerts() {
		out = append(out, alertJSON(a))
	}
	apiOK(w, map[string]any{"alerts": out})
}

// activeAlerts are the pending and firing alerts of every group.
func (d *Demo) activeAlerts() []*rules.Alert {
	d.prom.mu.Lock()
	defer d.prom.mu.Unlock()
	var out []*rules.Alert
	for _, g := range d.prom.groups {
		for _, ar := range g.AlertingRules() {
			out = append(out, ar.ActiveAlerts()...)
		}
	}
	return out
}

func (d *Demo) apiBuildInfo(w http.ResponseWriter, _ *http.Request) {
	apiOK(w, map[string]string{"version": "3.0.0", "revision": "kubepulse-demo", "branch": "", "buildUser": "", "buildDate": "", "goVersion": ""})
}

func (d *Demo) apiMetadata(w http.ResponseWriter, _ *http.Request) { apiOK(w, map[string]any{}) }

// apiExemplars: the self-scrape reads the text format, which carries none.
func (d *Demo) apiExemplars(w http.ResponseWriter, _ *http.Request) { apiOK(w, []any{}) }

// now is the query time when a request gives none: the last scrape.
func (d *Demo) now() time.Time {
	if t := d.prom.lastScrape(); !t.IsZero() {
		return t
	}
	return time.Now()
}

func (d *Demo) apiRoutes(mux *http.ServeMux) {
	for path, h := range map[string]http.HandlerFunc{
		"/api/v1/query":               d.apiQuery,
		"/api/v1/query_range":         d.apiQueryRange,
		"/api/v1/series":              d.apiSeries,
		"/api/v1/labels":              d.apiLabels,
		"/api/v1/label/{name}/values": d.apiLabelValues,
		"/api/v1/rules":               d.apiRules,
		"/api/v1/alerts":              d.apiAlerts,
		"/api/v1/status/buildinfo":    d.apiBuildInfo,
		"/api/v1/metadata":            d.apiMetadata,
	} {
		mux.HandleFunc(path, h)
	}
}
