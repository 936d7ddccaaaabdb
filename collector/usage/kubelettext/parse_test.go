package kubelettext

import (
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/kubepulse/kubepulse/internal/testutil"
)

var repoRoot = testutil.RepoRoot

func readFile(t testing.TB, parts ...string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(append([]string{repoRoot(t)}, parts...)...))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// got is a parsed sample as strings, for comparisons.
type got struct {
	kind                      Kind
	namespace, pod, container string
	value                     float64
	ts                        string
}

func collect(data []byte) ([]got, ParseStats) {
	var out []got
	st := Parse(data, func(s *Sample) {
		v, _ := strconv.ParseFloat(string(s.Value), 64)
		out = append(out, got{s.Kind, string(s.Namespace), string(s.Pod), string(s.Container), v, string(s.Timestamp)})
	})
	return out, st
}

func TestParseFiles(t *testing.T) {
	tests := []struct {
		name        string
		file        []string
		lines       int
		ignored     int
		bad         int
		want        []got // checked as a subset, in order
		wantSamples int
	}{
		{
			name:        "kubelet /metrics/resource of a kind node",
			file:        []string{"testdata", "usage", "kind-control-plane.metrics-resource.txt"},
			lines:       72,
			ignored:     50,
			wantSamples: 22,
			want: []got{
				{KindCPU, "kube-system", "coredns-7db6d8ff4d-5xk2p", "coredns", 213.764512, "1764208512345"},
				{KindCPU, "shop", "redis-0", "redis", 0.000123, "1764208512345"},
				{KindMemory, "kube-system", "kube-apiserver-kind-control-plane", "kube-apiserver", 409612288, "1764208512345"},
				{KindMemory, "shop", "redis-0", "redis", 0, "1764208512345"},
			},
		},
		{
			name:        "kubelet /metrics/cadvisor: pod cgroup, root cgroup, pause and per-cpu rows skipped",
			file:        []string{"testdata", "usage", "kubelet-metrics-cadvisor.txt"},
			lines:       10,
			ignored:     6,
			wantSamples: 4,
			want: []got{
				{KindCPU, "shop", "checkout-5d9c7b8f6-abcde", "app", 1523.000417, "1764208510011"},
				{KindCPU, "shop", "checkout-5d9c7b8f6-abcde", "istio-proxy", 402.77, "1764208510011"},
				{KindMemory, "shop", "checkout-5d9c7b8f6-abcde", "app", 268435456, "1764208510011"},
				{KindMemory, "shop", "checkout-5d9c7b8f6-abcde", "istio-proxy", 52428800, "1764208510011"},
			},
		},
		{
			name:    "real cAdvisor test data: many labels, no pod labels, nothing malformed",
			file:    []string{"testdata", "realworld", "kubelet", "cadvisor-testdata-prometheus-metrics.txt"},
			lines:   287,
			ignored: 287,
		},
		{
			name:    "real cAdvisor scrape failure output",
			file:    []string{"testdata", "realworld", "kubelet", "cadvisor-testdata-scrape-failure.txt"},
			lines:   1,
			ignored: 1,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			samples, st := collect(readFile(t, tt.file...))
			if st.Lines != tt.lines || st.Ignored != tt.ignored || st.Bad != tt.bad || st.Samples != tt.wantSamples {
				t.Fatalf("stats = lines %d ignored %d bad %d samples %d (errors %v), want %d %d %d %d",
					st.Lines, st.Ignored, st.Bad, st.Samples, st.Errors, tt.lines, tt.ignored, tt.bad, tt.wantSamples)
			}
			if len(samples) != st.Samples {
				t.Fatalf("callback saw %d samples, stats say %d", len(samples), st.Samples)
			}
			j := 0
			for _, s := range samples {
				if j < len(tt.want) && s == tt.want[j] {
					j++
				}
			}
			if j != len(tt.want) {
				t.Errorf("sample %+v not found in order in %+v", tt.want[j], samples)
			}
		})
	}
}

// TestParseAgreesWithExpfmt checks the scanner against the reference parser
// on the kubelet fixture: same series, same values.
func TestParseAgreesWithExpfmt(t *testing.T) {
	for _, file := range []string{"kind-control-plane.metrics-resource.txt", "kubelet-metrics-cadvisor.txt"} {
		t.Run(file, func(t *testing.T) {
			data := readFile(t, "testdata", "usage", file)
			mine, _ := collect(data)
			p := expfmt.NewTextParser(model.LegacyValidation)
			mfs, err := p.TextToMetricFamilies(bytes.NewReader(data))
			if err != nil {
				t.Fatal(err)
			}
			ref := map[string]float64{}
			for fam, kind := range map[string]Kind{"container_cpu_usage_seconds_total": KindCPU, "container_memory_working_set_bytes": KindMemory,
				"node_cpu_usage_seconds_total": KindNodeCPU, "node_memory_working_set_bytes": KindNodeMemory} {
				node := kind == KindNodeCPU || kind == KindNodeMemory
				for _, m := range mfs[fam].GetMetric() {
					l := map[string]string{}
					for _, lp := range m.GetLabel() {
						l[lp.GetName()] = lp.GetValue()
					}
					if !node && (l["namespace"] == "" || l["pod"] == "" || l["container"] == "" || l["container"] == "POD" || (l["cpu"] != "" && l["cpu"] != "total")) {
						continue
					}
					v := m.GetCounter().GetValue()
					if kind == KindMemory || kind == KindNodeMemory {
						v = m.GetGauge().GetValue()
					}
					ref[strconv.Itoa(int(kind))+"/"+l["namespace"]+"/"+l["pod"]+"/"+l["container"]] = v
				}
			}
			if len(ref) != len(mine) || len(mine) == 0 {
				t.Fatalf("expfmt found %d samples, scanner %d", len(ref), len(mine))
			}
			for _, s := range mine {
				k := strconv.Itoa(int(s.kind)) + "/" + s.namespace + "/" + s.pod + "/" + s.container
				if v, ok := ref[k]; !ok || v != s.value {
					t.Errorf("%s: scanner %v, expfmt %v (found %v)", k, s.value, v, ok)
				}
			}
		})
	}
}

func TestParseLines(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    []got
		ignored int
		bad     int
		errSub  string
	}{
		{
			name: "escaped label values stay escaped",
			in:   `container_cpu_usage_seconds_total{container="a\"b\\c\nd",namespace="ns",pod="p"} 1.5 1700000000000`,
			want: []got{{KindCPU, "ns", "p", `a\"b\\c\nd`, 1.5, "1700000000000"}},
		},
		{
			name: "no timestamp, blanks and trailing comma, CRLF",
			in:   "container_memory_working_set_bytes{ namespace = \"ns\" , pod=\"p\",container=\"c\", }\t42\r\n",
			want: []got{{KindMemory, "ns", "p", "c", 42, ""}},
		},
		{
			name: "pre-1.16 cAdvisor label names",
			in:   `container_memory_working_set_bytes{container_name="c",namespace="ns",pod_name="p"} 7`,
			want: []got{{KindMemory, "ns", "p", "c", 7, ""}},
		},
		{
			name: "special float values",
			in:   "container_cpu_usage_seconds_total{container=\"c\",namespace=\"n\",pod=\"p\"} 1e+03\ncontainer_memory_working_set_bytes{container=\"c\",namespace=\"n\",pod=\"p\"} +Inf",
			want: []got{{KindCPU, "n", "p", "c", 1000, ""}},
		},
		{name: "other families ignored", in: "node_swap_usage_bytes 12 1700000000000\npod_memory_working_set_bytes{namespace=\"n\",pod=\"p\"} 3\nresource_scrape_error 0\nscrape_error 0", ignored: 4},
		{
			name: "the node's own usage, without labels",
			in:   "node_cpu_usage_seconds_total 12.5 1700000000000\nnode_memory_working_set_bytes 1.5e+09",
			want: []got{{KindNodeCPU, "", "", "", 12.5, "1700000000000"}, {KindNodeMemory, "", "", "", 1.5e9, ""}},
		},
		{name: "node usage with a bad value", in: "node_memory_working_set_bytes x", bad: 1, errSub: "not a number"},
		{name: "comments and blanks", in: "# HELP x y\n\n   \n# TYPE x gauge\n"},
		{name: "html body", in: "<html>\n<body>Forbidden</body>\n</html>", bad: 3, errSub: "expected a metric name"},
		{name: "missing value", in: `container_cpu_usage_seconds_total{container="c",namespace="n",pod="p"}`, bad: 1, errSub: "expected a blank before the value"},
		{name: "bad value", in: `container_cpu_usage_seconds_total{container="c",namespace="n",pod="p"} 1.2.3`, bad: 1, errSub: "not a number"},
		{name: "bad timestamp", in: `container_cpu_usage_seconds_total{container="c",namespace="n",pod="p"} 1 12.5`, bad: 1, errSub: "timestamp"},
		{name: "unterminated value", in: `container_cpu_usage_seconds_total{container="c} 1`, bad: 1, errSub: "unterminated label value"},
		{name: "invalid escape", in: `container_cpu_usage_seconds_total{container="\t",namespace="n",pod="p"} 1`, bad: 1, errSub: "invalid escape"},
		{name: "missing equals", in: `container_cpu_usage_seconds_total{container "c"} 1`, bad: 1, errSub: "expected '='"},
		{name: "bad name char", in: `container-cpu 1`, bad: 1, errSub: "invalid character"},
		{name: "name only", in: `container_cpu_usage_seconds_total`, bad: 1, errSub: "without a value"},
		{name: "invalid utf-8", in: "container_cpu_usage_seconds_total{container=\"\xff\",namespace=\"n\",pod=\"p\"} 1", bad: 1, errSub: "UTF-8"},
		{name: "bad line among good ones keeps the good", in: "container_cpu_usage_seconds_total{container=\"c\",namespace=\"n\",pod=\"p\"} 2\n}}}\ncontainer_memory_working_set_bytes{container=\"c\",namespace=\"n\",pod=\"p\"} 3",
			want: []got{{KindCPU, "n", "p", "c", 2, ""}, {KindMemory, "n", "p", "c", 3, ""}}, bad: 1, errSub: "line 2"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			samples, st := collect([]byte(tt.in))
			if st.Bad != tt.bad || st.Ignored != tt.ignored {
				t.Fatalf("bad %d ignored %d (errors %v), want %d %d", st.Bad, st.Ignored, st.Errors, tt.bad, tt.ignored)
			}
			if tt.errSub != "" && (len(st.Errors) == 0 || !strings.Contains(st.Errors[0].Error(), tt.errSub)) {
				t.Errorf("errors %v, want one containing %q", st.Errors, tt.errSub)
			}
			j := 0
			for _, s := range samples {
				if j < len(tt.want) && s == tt.want[j] {
					j++
				}
			}
			if j != len(tt.want) {
				t.Errorf("want %+v in order, got %+v", tt.want, samples)
			}
			if st.Samples+st.Ignored+st.Bad != st.Lines {
				t.Errorf("samples %d + ignored %d + bad %d != lines %d", st.Samples, st.Ignored, st.Bad, st.Lines)
			}
		})
	}
}

// FuzzParse checks that no input panics, that the counts add up, and that
// whatever the scanner accepts renders into exposition the reference parser
// accepts.
func FuzzParse(f *testing.F) {
	// Seeds are the heads of the fixtures: whole files make every
	// minimisation of an interesting input crawl.
	for _, file := range []string{"kind-control-plane.metrics-resource.txt", "kubelet-metrics-cadvisor.txt"} {
		lines := bytes.SplitAfter(readFile(f, "testdata", "usage", file), []byte("\n"))
		f.Add(bytes.Join(lines[:min(6, len(lines))], nil))
	}
	f.Add([]byte(`container_cpu_usage_seconds_total{container="a\"b\\c\nd",namespace="ns",pod="p"} 1.5 1700000000000`))
	f.Add([]byte("container_memory_working_set_bytes{ namespace = \"ns\" , pod=\"p\",container=\"c\", }\t42\r\n"))
	f.Add([]byte("<html>\n}}}\n{\"a\":1}"))
	f.Fuzz(func(t *testing.T, data []byte) {
		// Re-render every accepted sample as the usage store does (label
		// values and value text copied verbatim) and have expfmt check it.
		var cpu, mem bytes.Buffer
		seen := map[string]bool{}
		n := 0
		st := Parse(data, func(s *Sample) {
			key := string(rune('0'+s.Kind)) + string(s.Namespace) + "\x00" + string(s.Pod) + "\x00" + string(s.Container)
			if seen[key] {
				return
			}
			seen[key] = true
			n++
			b, name := &cpu, "cpu"
			if s.Kind == KindMemory {
				b, name = &mem, "mem"
			}
			b.WriteString(name + `{namespace="`)
			b.Write(s.Namespace)
			b.WriteString(`",pod="`)
			b.Write(s.Pod)
			b.WriteString(`",container="`)
			b.Write(s.Container)
			b.WriteString(`"} `)
			b.Write(s.Value)
			if len(s.Timestamp) > 0 {
				b.WriteByte(' ')
				b.Write(s.Timestamp)
			}
			b.WriteByte('\n')
		})
		if st.Samples+st.Ignored+st.Bad != st.Lines {
			t.Fatalf("samples %d + ignored %d + bad %d != lines %d", st.Samples, st.Ignored, st.Bad, st.Lines)
		}
		if st.Bad > 0 && len(st.Errors) == 0 {
			t.Fatal("bad lines without errors")
		}
		out := "# TYPE cpu counter\n" + cpu.String() + "# TYPE mem gauge\n" + mem.String()
		p := expfmt.NewTextParser(model.LegacyValidation)
		mfs, err := p.TextToMetricFamilies(strings.NewReader(out))
		if err != nil {
			t.Fatalf("re-rendered samples rejected by expfmt: %v\n%s", err, out)
		}
		if got := len(mfs["cpu"].GetMetric()) + len(mfs["mem"].GetMetric()); got != n {
			t.Fatalf("expfmt sees %d series, scanner %d", got, n)
		}
	})
}
