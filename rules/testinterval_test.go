package rules

import (
	"testing"
	"time"
)

func TestTestStepsPerMinute(t *testing.T) {
	for _, tc := range []struct {
		rate, rec time.Duration
		want      int
	}{
		{5 * time.Minute, time.Minute, 1},
		{10 * time.Second, time.Second, 60},
		{10 * time.Second, time.Minute, 12},
		{90 * time.Second, time.Minute, 2},
		{45 * time.Second, time.Minute, 3}, // 22.5s rounds down to 20s
		{5 * time.Minute, 30 * time.Second, 2},
	} {
		if got := testStepsPerMinute(tc.rate, tc.rec); got != tc.want {
			t.Errorf("testStepsPerMinute(%v, %v) = %d, want %d", tc.rate, tc.rec, got, tc.want)
		}
	}
}

func TestResampleValues(t *testing.T) {
	for _, tc := range []struct {
		in   string
		m    int
		want string
	}{
		{"0+60x40", 1, "0+60x40"},
		{"0+60x40", 12, "0+5x480"},
		{"5+0x40", 2, "5+0x80"},
		// The second segment starts a minute after the first ends: at 2
		// steps per minute it begins half a minute after, half-way along.
		{"0+6x120 840+120x40", 2, "0+3x240 780+60x81"},
		{"0+0x10 1+0x20", 4, "0+0x40 1+0x83"},
		{"1-2x3", 2, "1+-1x6"},
	} {
		got, err := resampleValues(tc.in, tc.m)
		if err != nil {
			t.Fatalf("resampleValues(%q, %d): %v", tc.in, tc.m, err)
		}
		if got != tc.want {
			t.Errorf("resampleValues(%q, %d) = %q, want %q", tc.in, tc.m, got, tc.want)
		}
	}
	for _, bad := range []string{"1 2 3", "x5", "1+2", "a+1x3"} {
		if _, err := resampleValues(bad, 2); err == nil {
			t.Errorf("resampleValues(%q): no error", bad)
		}
	}
}
