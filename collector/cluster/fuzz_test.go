package cluster

import (
	"bytes"
	"math"
	"testing"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	v1 "k8s.io/api/core/v1"
)

// FuzzRender checks that any label values and resource names the API could
// hand us render to exposition that parses back to the same values.
func FuzzRender(f *testing.F) {
	f.Add("shop", "web-5d8f-abcde", "app", "nvidia.com/gpu", "OOMKilled", 0.25)
	f.Add("a\"b", "new\nline", `back\slash`, "hugepages-2Mi", "", 1e300)
	f.Add("\xff\xfe", "ünïcode", "", "", "x", -0.0)
	f.Fuzz(func(t *testing.T, ns, pod, container, res, reason string, v float64) {
		if math.IsNaN(v) {
			v = 0
		}
		st := NewStore(containerRequests, containerLastTerminated)
		var b builder
		b.reset()
		b.family(0)
		rn, unit := resourceLabels(v1.ResourceName(res))
		b.sample(containerRequests.Name, v, "namespace", ns, "pod", pod, "container", container, "node", "n", "resource", rn, "unit", unit)
		b.family(1)
		b.sample(containerLastTerminated.Name, 1, "namespace", ns, "pod", pod, "container", container, "reason", reason)
		st.Set("k", &b)
		var buf bytes.Buffer
		if err := st.WriteRaw(&buf); err != nil {
			t.Fatal(err)
		}
		p := expfmt.NewTextParser(model.LegacyValidation)
		mfs, err := p.TextToMetricFamilies(bytes.NewReader(buf.Bytes()))
		if err != nil {
			t.Fatalf("does not parse: %v\n%q", err, buf.String())
		}
		m := mfs[containerRequests.Name].GetMetric()
		if len(m) != 1 {
			t.Fatalf("got %d samples", len(m))
		}
		if got := m[0].GetGauge().GetValue(); got != v && !(math.IsInf(v, 0) && got == v) {
			t.Fatalf("value %v, want %v", got, v)
		}
		for _, l := range m[0].GetLabel() {
			if l.GetName() == "namespace" && l.GetValue() != toValid(ns) {
				t.Fatalf("namespace %q, want %q", l.GetValue(), toValid(ns))
			}
		}
	})
}

func toValid(s string) string {
	var b []byte
	return string(appendEscapedPlain(b, s))
}

// appendEscapedPlain is the unescaped form of what appendEscaped writes.
func appendEscapedPlain(b []byte, s string) []byte {
	esc := appendEscaped(nil, s)
	for i := 0; i < len(esc); i++ {
		if esc[i] == '\\' && i+1 < len(esc) {
			i++
			switch esc[i] {
			case 'n':
				b = append(b, '\n')
			default:
				b = append(b, esc[i])
			}
			continue
		}
		b = append(b, esc[i])
	}
	return b
}
