package tuning

import "testing"

func TestRoundUp(t *testing.T) {
	tests := []struct {
		res  string
		in   float64
		want float64
	}{
		{CPU, 0.0031, 0.005},
		{CPU, 0.1, 0.1},
		{CPU, 0.101, 0.11},
		{CPU, 0.25, 0.25}, // exact steps stay put despite float noise
		{CPU, 0.3, 0.3},
		{CPU, 1.01, 1.05},
		{CPU, 4.01, 4.1},
		{Memory, 1, 4 * mi},
		{Memory, 100 * mi, 100 * mi},
		{Memory, 129 * mi, 144 * mi},
		{Memory, 1.01 * gi, gi + 64*mi},
		{Memory, 8.1 * gi, 8*gi + 256*mi},
	}
	for _, tt := range tests {
		if got := RoundUp(tt.res, tt.in); got != tt.want {
			t.Errorf("RoundUp(%s, %g) = %g, want %g", tt.res, tt.in, got, tt.want)
		}
		if got := RoundUp(tt.res, tt.in); got < tt.in {
			t.Errorf("RoundUp(%s, %g) = %g rounds down", tt.res, tt.in, got)
		}
	}
}

func TestFormatQuantity(t *testing.T) {
	tests := []struct {
		res  string
		in   float64
		want string
	}{
		{CPU, 0.25, "250m"}, {CPU, 2, "2"}, {CPU, 1.5, "1500m"},
		{Memory, 512 * mi, "512Mi"}, {Memory, 2 * gi, "2Gi"}, {Memory, 1000, "1000"},
	}
	for _, tt := range tests {
		if got := FormatQuantity(tt.res, tt.in); got != tt.want {
			t.Errorf("FormatQuantity(%s, %g) = %q, want %q", tt.res, tt.in, got, tt.want)
		}
	}
}

func TestLimitPolicy(t *testing.T) {
	tests := []struct {
		in      string
		req     float64
		want    float64 // -1: no limit
		wantErr bool
	}{
		{"none", 0.5, -1, false},
		{"request", 256 * mi, 256 * mi, false},
		{"ratio=2", 0.25, 0.5, false},
		{"ratio=1.5", 100 * mi, 160 * mi, false}, // 150Mi rounded up to 16Mi steps
		{"ratio=0.5", 1, 0, true},
		{"ratio=x", 1, 0, true},
		{"max", 1, 0, true},
	}
	for _, tt := range tests {
		p, err := ParseLimitPolicy(tt.in)
		if (err != nil) != tt.wantErr {
			t.Errorf("ParseLimitPolicy(%q) error %v, want error %v", tt.in, err, tt.wantErr)
			continue
		}
		if err != nil {
			continue
		}
		res := CPU
		if tt.req > 1000 {
			res = Memory
		}
		l := p.Limit(res, tt.req)
		switch {
		case tt.want < 0 && l != nil:
			t.Errorf("%s: limit %g, want none", tt.in, *l)
		case tt.want >= 0 && (l == nil || *l != tt.want):
			t.Errorf("%s: limit %v, want %g", tt.in, l, tt.want)
		}
	}
}
