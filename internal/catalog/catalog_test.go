package catalog

import (
	"bytes"
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

var update = flag.Bool("update", false, "rewrite docs/metrics.md")

func TestFamiliesAreValid(t *testing.T) {
	all := All()
	if len(all) < 50 {
		t.Fatalf("only %d families: the collectors' files are not all here", len(all))
	}
	for _, f := range all {
		if !model.LegacyValidation.IsValidMetricName(f.Name) || !strings.HasPrefix(f.Name, "kubepulse_") {
			t.Errorf("%q: not a valid kubepulse_ metric name", f.Name)
		}
		if f.Help == "" || f.Collector == "" {
			t.Errorf("%s: help and collector are required", f.Name)
		}
		switch f.Type {
		case Gauge, Histogram, Summary:
		case Counter:
			if !strings.HasSuffix(f.Name, "_total") {
				t.Errorf("%s: a counter's name ends in _total", f.Name)
			}
		default:
			t.Errorf("%s: unknown type %q", f.Name, f.Type)
		}
		seen := map[string]bool{}
		for _, l := range f.Labels {
			if !model.LegacyValidation.IsValidLabelName(l) || strings.HasPrefix(l, "__") || l == "job" || l == "instance" || seen[l] {
				t.Errorf("%s: label %q is invalid, reserved, a target label or repeated", f.Name, l)
			}
			seen[l] = true
		}
		if g, ok := Lookup(f.Name); !ok || g != f {
			t.Errorf("Lookup(%s) = %v, %v", f.Name, g, ok)
		}
	}
}

func TestDefRejectsDuplicates(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Fatal("defining a metric twice did not panic")
		}
	}()
	def("test", ContainerRestartsTotal.Name, "dup", Counter)
}

func TestHeaderEscapes(t *testing.T) {
	f := Family{Name: "m", Help: "a\\b\nc", Type: Counter}
	want := "# HELP m a\\\\b\\nc\n# TYPE m counter\n"
	if got := f.Header(); got != want {
		t.Fatalf("Header() = %q, want %q", got, want)
	}
	p := expfmt.NewTextParser(model.LegacyValidation)
	if _, err := p.TextToMetricFamilies(strings.NewReader(f.Header() + "m 1\n")); err != nil {
		t.Fatalf("header does not parse: %v", err)
	}
}

func TestSeriesNames(t *testing.T) {
	for _, tt := range []struct {
		typ  Type
		want int
	}{{Gauge, 1}, {Counter, 1}, {Histogram, 4}, {Summary, 3}} {
		f := Family{Name: "x", Type: tt.typ}
		if got := len(f.SeriesNames()); got != tt.want {
			t.Errorf("%s: %d series names, want %d", tt.typ, got, tt.want)
		}
	}
}

// deps lists the kubepulse packages pkg depends on.
func deps(t *testing.T, pkg string) []string {
	t.Helper()
	out, err := exec.Command("go", "list", "-deps", pkg).CombinedOutput()
	if err != nil {
		t.Fatalf("go list -deps %s: %v\n%s", pkg, err, out)
	}
	var ours []string
	for _, p := range strings.Fields(string(out)) {
		if strings.HasPrefix(p, "github.com/kubepulse/kubepulse") {
			ours = append(ours, p)
		}
	}
	return ours
}

// The catalogue is a leaf, and the generator reads it without linking the
// collectors.
func TestImports(t *testing.T) {
	const mod = "github.com/kubepulse/kubepulse/"
	if ds := deps(t, mod+"internal/catalog"); len(ds) != 1 {
		t.Errorf("internal/catalog imports kubepulse packages: %v", ds)
	}
	for _, pkg := range []string{"mixin", "rules", "dashboards", "loadtest", "loadtest/gen"} {
		for _, d := range deps(t, mod+pkg) {
			if strings.HasPrefix(d, mod+"collector") {
				t.Errorf("%s depends on %s: it must read the catalogue, not the collectors", pkg, d)
			}
		}
	}
}

func TestMetricsDoc(t *testing.T) {
	path := filepath.Join("..", "..", "docs", "metrics.md")
	want := Markdown()
	if *update {
		if err := os.WriteFile(path, want, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("%s is stale: run go test ./internal/catalog -update", path)
	}
	for _, f := range All() {
		if !bytes.Contains(got, []byte("`"+f.Name+"`")) {
			t.Errorf("%s is not in docs/metrics.md", f.Name)
		}
	}
}
