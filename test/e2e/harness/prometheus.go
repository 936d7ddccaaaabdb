package harness

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"
)

// ScrapeTarget is one scrape job of the test Prometheus.
type ScrapeTarget struct {
	Job     string
	Address string // host:port
	Path    string // default /metrics
}

// PromConfig is what the test Prometheus runs with.
type PromConfig struct {
	Targets            []ScrapeTarget
	RuleFiles          []string
	ScrapeInterval     time.Duration // default 1s
	EvaluationInterval time.Duration // default 1s
	// DataDir, if set, is the TSDB to start from (e.g. blocks backfilled
	// with promtool tsdb create-blocks-from); default a new empty one.
	DataDir string
}

// promYAML is the subset of prometheus.yml the tier writes.
type promYAML struct {
	Global struct {
		ScrapeInterval     string `yaml:"scrape_interval"`
		ScrapeTimeout      string `yaml:"scrape_timeout"`
		EvaluationInterval string `yaml:"evaluation_interval"`
	} `yaml:"global"`
	RuleFiles     []string     `yaml:"rule_files,omitempty"`
	ScrapeConfigs []scrapeYAML `yaml:"scrape_configs"`
}

type scrapeYAML struct {
	JobName       string `yaml:"job_name"`
	MetricsPath   string `yaml:"metrics_path,omitempty"`
	StaticConfigs []struct {
		Targets []string `yaml:"targets"`
	} `yaml:"static_configs"`
}

// RenderConfig returns prometheus.yml for c.
func RenderConfig(c PromConfig) ([]byte, error) {
	si, ei := c.ScrapeInterval, c.EvaluationInterval
	if si == 0 {
		si = time.Second
	}
	if ei == 0 {
		ei = time.Second
	}
	var y promYAML
	y.Global.ScrapeInterval = si.String()
	y.Global.ScrapeTimeout = si.String()
	y.Global.EvaluationInterval = ei.String()
	y.RuleFiles = c.RuleFiles
	// Prometheus refuses two scrape configs with one job name: targets of
	// the same job (and path) share one, as an exporter's Deployment and its
	// per-node DaemonSet do under one ServiceMonitor job.
	byJob := map[string]int{}
	for _, tg := range c.Targets {
		if tg.Job == "" || tg.Address == "" {
			return nil, fmt.Errorf("scrape target %+v needs a job and an address", tg)
		}
		if i, ok := byJob[tg.Job]; ok {
			if y.ScrapeConfigs[i].MetricsPath != tg.Path {
				return nil, fmt.Errorf("job %s: targets with different paths (%q, %q)", tg.Job, y.ScrapeConfigs[i].MetricsPath, tg.Path)
			}
			sc := &y.ScrapeConfigs[i].StaticConfigs[0]
			sc.Targets = append(sc.Targets, tg.Address)
			continue
		}
		s := scrapeYAML{JobName: tg.Job, MetricsPath: tg.Path}
		s.StaticConfigs = append(s.StaticConfigs, struct {
			Targets []string `yaml:"targets"`
		}{Targets: []string{tg.Address}})
		byJob[tg.Job] = len(y.ScrapeConfigs)
		y.ScrapeConfigs = append(y.ScrapeConfigs, s)
	}
	return yaml.Marshal(&y)
}

// Prometheus is a real Prometheus server on loopback.
type Prometheus struct {
	URL  string
	Proc *Process
	API  *PromAPI
}

// StartPrometheus writes the config, starts the prometheus binary from
// `make tools` with a temporary TSDB, and waits for /-/ready.
func StartPrometheus(ctx context.Context, t testing.TB, c PromConfig) *Prometheus {
	t.Helper()
	bin := Tool(t, "prometheus")
	dir := t.TempDir()
	cfg, err := RenderConfig(c)
	if err != nil {
		t.Fatalf("prometheus config: %v", err)
	}
	cfgPath := filepath.Join(dir, "prometheus.yml")
	if err := os.WriteFile(cfgPath, cfg, 0o644); err != nil {
		t.Fatal(err)
	}
	// The port is chosen free, then handed over; retry if another process
	// took it in between.
	for attempt := 0; ; attempt++ {
		port := FreePort(t)
		addr := "127.0.0.1:" + strconv.Itoa(port)
		data := filepath.Join(dir, fmt.Sprintf("data-%d", attempt))
		if c.DataDir != "" {
			data = c.DataDir
		}
		p := StartProcess(t, "prometheus", bin,
			"--config.file="+cfgPath,
			"--storage.tsdb.path="+data,
			"--web.listen-address="+addr,
			"--log.level=info",
		)
		u := "http://" + addr
		err := p.WaitHTTP(ctx, u+"/-/ready")
		if err == nil {
			return &Prometheus{URL: u, Proc: p, API: &PromAPI{Base: u}}
		}
		p.Stop()
		if attempt < 2 && strings.Contains(p.Log(), "address already in use") {
			continue
		}
		t.Fatalf("prometheus did not become ready: %v", err)
	}
}

// PromAPI is a minimal client of the Prometheus HTTP API (v1).
type PromAPI struct {
	Base   string
	Client *http.Client
}

type apiResponse struct {
	Status    string          `json:"status"`
	Data      json.RawMessage `json:"data"`
	ErrorType string          `json:"errorType"`
	Error     string          `json:"error"`
	Warnings  []string        `json:"warnings"`
}

func (a *PromAPI) get(ctx context.Context, path string, q url.Values, out any) error {
	c := a.Client
	if c == nil {
		c = &http.Client{Timeout: 10 * time.Second}
	}
	u := a.Base + path
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return err
	}
	resp, err := c.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	var r apiResponse
	if err := json.Unmarshal(body, &r); err != nil {
		return fmt.Errorf("GET %s: status %d, undecodable body %.200q: %v", u, resp.StatusCode, body, err)
	}
	if r.Status != "success" {
		return fmt.Errorf("GET %s: %s: %s", u, r.ErrorType, r.Error)
	}
	return json.Unmarshal(r.Data, out)
}

// Sample is one element of an instant vector.
type Sample struct {
	Metric map[string]string `json:"metric"`
	Value  [2]any            `json:"value"`
}

// Float returns the sample value.
func (s Sample) Float() float64 {
	str, _ := s.Value[1].(string)
	f, err := strconv.ParseFloat(str, 64)
	if err != nil {
		return 0
	}
	return f
}

// Query runs an instant query at the current time and returns its vector
// (a scalar comes back as a one-sample vector).
func (a *PromAPI) Query(ctx context.Context, expr string) ([]Sample, error) {
	var d struct {
		ResultType string          `json:"resultType"`
		Result     json.RawMessage `json:"result"`
	}
	if err := a.get(ctx, "/api/v1/query", url.Values{"query": {expr}}, &d); err != nil {
		return nil, err
	}
	switch d.ResultType {
	case "vector":
		var v []Sample
		err := json.Unmarshal(d.Result, &v)
		return v, err
	case "scalar":
		var s [2]any
		if err := json.Unmarshal(d.Result, &s); err != nil {
			return nil, err
		}
		return []Sample{{Metric: map[string]string{}, Value: s}}, nil
	}
	return nil, fmt.Errorf("query %q: unexpected result type %q", expr, d.ResultType)
}

// Rule is a rule as /api/v1/rules reports it.
type Rule struct {
	Name      string  `json:"name"`
	Query     string  `json:"query"`
	Type      string  `json:"type"` // recording | alerting
	Health    string  `json:"health"`
	LastError string  `json:"lastError"`
	State     string  `json:"state"` // alerting rules: inactive | pending | firing
	Alerts    []Alert `json:"alerts"`
	Group     string  `json:"-"`
	File      string  `json:"-"`
}

// RuleGroup is a group as /api/v1/rules reports it.
type RuleGroup struct {
	Name           string  `json:"name"`
	File           string  `json:"file"`
	Rules          []Rule  `json:"rules"`
	LastEvaluation string  `json:"lastEvaluation"`
	EvaluationTime float64 `json:"evaluationTime"`
}

// Alert is an active alert.
type Alert struct {
	Labels      map[string]string `json:"labels"`
	Annotations map[string]string `json:"annotations"`
	State       string            `json:"state"`
	Value       string            `json:"value"`
	ActiveAt    time.Time         `json:"activeAt"`
}

// Rules returns every loaded rule group.
func (a *PromAPI) Rules(ctx context.Context) ([]RuleGroup, error) {
	var d struct {
		Groups []RuleGroup `json:"groups"`
	}
	if err := a.get(ctx, "/api/v1/rules", nil, &d); err != nil {
		return nil, err
	}
	for gi := range d.Groups {
		for ri := range d.Groups[gi].Rules {
			d.Groups[gi].Rules[ri].Group = d.Groups[gi].Name
			d.Groups[gi].Rules[ri].File = d.Groups[gi].File
		}
	}
	return d.Groups, nil
}

// Alerts returns the active (pending or firing) alerts.
func (a *PromAPI) Alerts(ctx context.Context) ([]Alert, error) {
	var d struct {
		Alerts []Alert `json:"alerts"`
	}
	err := a.get(ctx, "/api/v1/alerts", nil, &d)
	return d.Alerts, err
}

// Target is a scrape target as /api/v1/targets reports it.
type Target struct {
	Labels     map[string]string `json:"labels"`
	ScrapeURL  string            `json:"scrapeUrl"`
	Health     string            `json:"health"`
	LastError  string            `json:"lastError"`
	LastScrape string            `json:"lastScrape"`
}

// Targets returns the active scrape targets.
func (a *PromAPI) Targets(ctx context.Context) ([]Target, error) {
	var d struct {
		Active []Target `json:"activeTargets"`
	}
	err := a.get(ctx, "/api/v1/targets", url.Values{"state": {"active"}}, &d)
	return d.Active, err
}

// WaitTargetsUp polls until every target is up.
func (a *PromAPI) WaitTargetsUp(ctx context.Context, want int) error {
	return Poll(ctx, 250*time.Millisecond, func() (bool, string) {
		ts, err := a.Targets(ctx)
		if err != nil {
			return false, err.Error()
		}
		if len(ts) < want {
			return false, fmt.Sprintf("%d of %d targets known", len(ts), want)
		}
		for _, tg := range ts {
			if tg.Health != "up" {
				return false, fmt.Sprintf("target %s is %q: %s", tg.ScrapeURL, tg.Health, tg.LastError)
			}
		}
		return true, ""
	})
}

// FiringAlert returns the firing alerts named name.
func (a *PromAPI) FiringAlert(ctx context.Context, name string) ([]Alert, error) {
	all, err := a.Alerts(ctx)
	if err != nil {
		return nil, err
	}
	var out []Alert
	for _, al := range all {
		if al.Labels["alertname"] == name && al.State == "firing" {
			out = append(out, al)
		}
	}
	return out, nil
}
