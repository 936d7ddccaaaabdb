package cluster

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"sort"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/scheme"
	"sigs.k8s.io/yaml"

	"github.com/kubepulse/kubepulse/internal/testutil"
)

var repoRoot = testutil.RepoRoot

// docs splits a file into JSON documents: multi-document YAML, a YAML or
// JSON List, or a single object.
func docs(t testing.TB, path string) [][]byte {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var out [][]byte
	for _, d := range strings.Split("\n"+string(raw), "\n---") {
		j, err := yaml.YAMLToJSON([]byte(d))
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		if string(j) == "null" {
			continue
		}
		var list struct {
			Kind  string            `json:"kind"`
			Items []json.RawMessage `json:"items"`
		}
		if err := json.Unmarshal(j, &list); err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		if strings.HasSuffix(list.Kind, "List") {
			for _, it := range list.Items {
				out = append(out, it)
			}
			continue
		}
		out = append(out, j)
	}
	return out
}

// loadObjects decodes typed objects; items of a List lack kind in some
// dumps, so defaultKind fills it in.
func loadObjects(t testing.TB, path, defaultKind string) []runtime.Object {
	t.Helper()
	var out []runtime.Object
	for _, d := range docs(t, path) {
		var tm metav1.TypeMeta
		_ = json.Unmarshal(d, &tm)
		if tm.Kind == "" && defaultKind != "" {
			var m map[string]any
			_ = json.Unmarshal(d, &m)
			m["kind"], m["apiVersion"] = defaultKind, "v1"
			d, _ = json.Marshal(m)
		}
		obj, _, err := scheme.Codecs.UniversalDeserializer().Decode(d, nil, nil)
		if err != nil {
			t.Fatalf("%s: decode: %v", path, err)
		}
		out = append(out, obj)
	}
	return out
}

func loadMeta(t testing.TB, path string) []runtime.Object {
	t.Helper()
	var out []runtime.Object
	for _, d := range docs(t, path) {
		m := &metav1.PartialObjectMetadata{}
		if err := json.Unmarshal(d, m); err != nil {
			t.Fatal(err)
		}
		out = append(out, m)
	}
	return out
}

// parse checks the text is valid exposition where each family appears once
// (the parser rejects a second TYPE line), and returns samples keyed by
// name{sorted labels}.
func parse(t testing.TB, text []byte) (map[string]*dto.MetricFamily, map[string]float64) {
	t.Helper()
	seen := map[string]bool{}
	for _, line := range bytes.Split(text, []byte("\n")) {
		if f := bytes.Fields(line); len(f) >= 3 && string(f[1]) == "TYPE" {
			if seen[string(f[2])] {
				t.Fatalf("family %s written twice", f[2])
			}
			seen[string(f[2])] = true
		}
	}
	p := expfmt.NewTextParser(model.LegacyValidation)
	mfs, err := p.TextToMetricFamilies(bytes.NewReader(text))
	if err != nil {
		t.Fatalf("exposition does not parse: %v\n%s", err, text)
	}
	samples := map[string]float64{}
	for name, mf := range mfs {
		for _, m := range mf.GetMetric() {
			kv := []string{}
			for _, l := range m.GetLabel() {
				kv = append(kv, l.GetName(), l.GetValue())
			}
			var v float64
			switch {
			case m.Gauge != nil:
				v = m.GetGauge().GetValue()
			case m.Counter != nil:
				v = m.GetCounter().GetValue()
			case m.Untyped != nil:
				v = m.GetUntyped().GetValue()
			}
			k := key(name, kv...)
			if _, dup := samples[k]; dup {
				t.Fatalf("duplicate series %s", k)
			}
			samples[k] = v
		}
	}
	return mfs, samples
}

func key(name string, kv ...string) string {
	type pair struct{ k, v string }
	ps := make([]pair, 0, len(kv)/2)
	for i := 0; i+1 < len(kv); i += 2 {
		ps = append(ps, pair{kv[i], kv[i+1]})
	}
	sort.Slice(ps, func(i, j int) bool { return ps[i].k < ps[j].k })
	var b strings.Builder
	b.WriteString(name)
	b.WriteByte('{')
	for i, p := range ps {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(p.k + "=" + p.v)
	}
	b.WriteByte('}')
	return b.String()
}

// eventually polls cond; the deadline is a hang guard, not a timing assertion.
func eventually(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func testContext(t testing.TB) context.Context {
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	return ctx
}
