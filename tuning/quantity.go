package tuning

import (
	"math"
	"time"

	"github.com/prometheus/common/model"
)

const (
	mi = 1 << 20
	gi = 1 << 30
)

// RoundUp rounds a recommendation up to a quantity people write by hand.
// Always up: the rounding is at most a few percent and should never be
// the thing that takes a request below usage. Steps grow with the value so
// the relative cost stays near 5% or less, and nobody reviews "137m".
func RoundUp(resource string, v float64) float64 {
	if resource == CPU {
		var step float64 // cores
		switch {
		case v <= 0.1:
			step = 0.005
		case v <= 1:
			step = 0.01
		case v <= 4:
			step = 0.05
		default:
			step = 0.1
		}
		return ceilTo(v, step)
	}
	var step float64 // bytes
	switch {
	case v <= 128*mi:
		step = 4 * mi
	case v <= gi:
		step = 16 * mi
	case v <= 8*gi:
		step = 64 * mi
	default:
		step = 256 * mi
	}
	return ceilTo(v, step)
}

// ceilTo rounds up to a multiple of step, tolerating float noise so that
// 0.25 does not become 0.255.
func ceilTo(v, step float64) float64 {
	n := math.Ceil(v/step - 1e-9)
	r := n * step
	if step < 1 {
		// Whole millicores: 0.1+0.2 style noise must not leak into output.
		r = math.Round(r*1000) / 1000
	}
	return r
}

// dur renders a duration as Prometheus does (24h, 7d, 90m).
func dur(d time.Duration) string { return model.Duration(d).String() }
