package rules

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/common/model"

	"github.com/kubepulse/kubepulse/mixin/promtest"
)

// The test inputs are written for 1m samples. rate() needs two samples in
// its window, and a recording rule needs a fresh sample at each
// evaluation, so the series interval of every generated test is at most
// min(1m, rateWindow/2, recording interval), rounded down to a whole
// fraction of a minute; the inputs are resampled to it (same values at
// every whole minute, linear in between), and eval times stay the same.

// testStepsPerMinute returns m: the test series interval is 1m/m.
func testStepsPerMinute(rateWindow, recInterval time.Duration) int {
	iv := time.Minute
	if rateWindow > 0 && rateWindow/2 < iv {
		iv = rateWindow / 2
	}
	if recInterval > 0 && recInterval < iv {
		iv = recInterval
	}
	if iv <= 0 {
		return 1
	}
	m := int(time.Minute / iv)
	if time.Duration(m)*iv < time.Minute {
		m++
	}
	return max(m, 1)
}

// testInterval is the series interval of the generated tests.
func (s *Set) testInterval() model.Duration {
	return model.Duration(time.Minute / time.Duration(s.testSteps))
}

// resample rewrites input series written for 1m samples for 1m/m samples.
func resample(in []promtest.Series, m int) []promtest.Series {
	if m <= 1 {
		return in
	}
	out := make([]promtest.Series, len(in))
	for i, se := range in {
		v, err := resampleValues(se.Values, m)
		if err != nil {
			panic(fmt.Sprintf("rules: test series %s: %v", se.Series, err))
		}
		out[i] = promtest.Series{Series: se.Series, Values: v}
	}
	return out
}

// resampleValues handles the "a+bxn" segments the generator writes. The
// first segment covers minutes 0..n; a later one starts a minute after the
// previous one ends, so at the finer step it begins at a-b+b/m (the same
// line, one minute earlier, plus one fine step).
func resampleValues(values string, m int) (string, error) {
	segs := strings.Fields(values)
	out := make([]string, len(segs))
	f := float64(m)
	for i, seg := range segs {
		a, b, n, err := parseSeg(seg)
		if err != nil {
			return "", err
		}
		bs := b / f
		if i == 0 {
			out[i] = fmt.Sprintf("%s+%sx%d", fmtNum(a), fmtNum(bs), n*m)
			continue
		}
		out[i] = fmt.Sprintf("%s+%sx%d", fmtNum(a-b+bs), fmtNum(bs), (n+1)*m-1)
	}
	return strings.Join(out, " "), nil
}

func parseSeg(seg string) (a, b float64, n int, err error) {
	x := strings.LastIndexByte(seg, 'x')
	// The sign of b: the first '+' or '-' after the leading character.
	p := strings.IndexAny(seg[1:], "+-") + 1
	if x < 0 || p <= 0 || p > x {
		return 0, 0, 0, fmt.Errorf("segment %q is not a+bxn", seg)
	}
	if a, err = strconv.ParseFloat(seg[:p], 64); err != nil {
		return 0, 0, 0, fmt.Errorf("segment %q: %w", seg, err)
	}
	if b, err = strconv.ParseFloat(seg[p:x], 64); err != nil {
		return 0, 0, 0, fmt.Errorf("segment %q: %w", seg, err)
	}
	if n, err = strconv.Atoi(seg[x+1:]); err != nil {
		return 0, 0, 0, fmt.Errorf("segment %q: %w", seg, err)
	}
	return a, b, n, nil
}
