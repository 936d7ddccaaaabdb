package tuning

import (
	"errors"
	"fmt"
	"io"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/textparse"
)

// ParseOpenMetrics reads a history in the OpenMetrics text that `promtool
// tsdb dump-openmetrics` writes (one sample per line, timestamps in
// seconds, `# EOF` last) with Prometheus' own parser, so whatever promtool
// can backfill, tune can read. name is used in errors, which carry the line.
func ParseOpenMetrics(name string, data []byte, src Source) (*History, error) {
	b := NewBuilder(src)
	if err := FeedOpenMetrics(name, data, b); err != nil {
		return nil, err
	}
	h, err := b.History()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return h, nil
}

// FeedOpenMetrics adds every float sample of data to b.
func FeedOpenMetrics(name string, data []byte, b *Builder) error {
	p := textparse.NewOpenMetricsParser(data, labels.NewSymbolTable())
	var ls labels.Labels
	// Every OpenMetrics entry is one line, so counting entries gives the
	// line the parser stopped at.
	line := 0
	for {
		e, err := p.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		line++
		if err != nil {
			return fmt.Errorf("%s:%d: %w (want OpenMetrics text as `promtool tsdb dump-openmetrics` writes it, ending in \"# EOF\")", name, line, err)
		}
		if e != textparse.EntrySeries {
			continue
		}
		_, ts, v := p.Series()
		if ts == nil {
			return fmt.Errorf("%s:%d: sample without a timestamp (a history needs one on every sample)", name, line)
		}
		p.Labels(&ls)
		b.Add(ls, *ts, v)
	}
}
