package tuning

import (
	"fmt"
	"strconv"
	"strings"
)

// LimitPolicy says how a limit follows the recommended request.
type LimitPolicy struct {
	// Kind is "none", "request" or "ratio".
	Kind  string
	Ratio float64
}

// ParseLimitPolicy reads none | request | ratio=X (X >= 1).
func ParseLimitPolicy(s string) (LimitPolicy, error) {
	switch {
	case s == "none" || s == "request":
		return LimitPolicy{Kind: s}, nil
	case strings.HasPrefix(s, "ratio="):
		r, err := strconv.ParseFloat(strings.TrimPrefix(s, "ratio="), 64)
		if err != nil || r < 1 {
			return LimitPolicy{}, fmt.Errorf("limit policy %q: the ratio must be a number >= 1, e.g. ratio=1.5", s)
		}
		return LimitPolicy{Kind: "ratio", Ratio: r}, nil
	}
	return LimitPolicy{}, fmt.Errorf("limit policy %q: want none, request or ratio=X", s)
}

func (p LimitPolicy) String() string {
	if p.Kind == "ratio" {
		return "ratio=" + strconv.FormatFloat(p.Ratio, 'g', -1, 64)
	}
	return p.Kind
}

// Limit applies the policy to a rounded request; nil means no limit.
func (p LimitPolicy) Limit(resource string, request float64) *float64 {
	switch p.Kind {
	case "request":
		return &request
	case "ratio":
		l := RoundUp(resource, request*p.Ratio)
		return &l
	}
	return nil
}
