package memlimit

import (
	"errors"
	"math"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"
	"testing"
)

func TestCgroupLimit(t *testing.T) {
	write := func(t *testing.T, name, s string) string {
		p := filepath.Join(t.TempDir(), name)
		if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	for _, tt := range []struct {
		name    string
		v2, v1  string // file contents; "" means absent
		want    int64
		wantErr string
	}{
		{name: "v2 limit", v2: "1073741824\n", want: 1 << 30},
		{name: "v2 max", v2: "max\n", wantErr: ErrNoLimit.Error()},
		{name: "v1 limit", v1: "536870912\n", want: 512 << 20},
		{name: "v1 unlimited", v1: "9223372036854771712\n", wantErr: ErrNoLimit.Error()},
		{name: "no cgroup", wantErr: ErrNoLimit.Error()},
		{name: "garbage", v2: "lots\n", wantErr: `"lots" is not a byte count`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			f := Files{V2: filepath.Join(t.TempDir(), "absent"), V1: filepath.Join(t.TempDir(), "absent")}
			if tt.v2 != "" {
				f.V2 = write(t, "memory.max", tt.v2)
			}
			if tt.v1 != "" {
				f.V1 = write(t, "memory.limit_in_bytes", tt.v1)
			}
			got, _, err := CgroupLimit(f)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("CgroupLimit = %d, %v; want %d", got, err, tt.want)
			}
		})
	}
}

func TestApply(t *testing.T) {
	defer debug.SetMemoryLimit(math.MaxInt64)
	p := filepath.Join(t.TempDir(), "memory.max")
	if err := os.WriteFile(p, []byte("1000000000\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Setenv("GOMEMLIMIT", "")
	got, _, err := Apply(Files{V2: p}, 0.9)
	if err != nil || got != 900000000 || debug.SetMemoryLimit(-1) != 900000000 {
		t.Fatalf("Apply = %d, %v; runtime limit %d; want 900000000", got, err, debug.SetMemoryLimit(-1))
	}
	if _, _, err := Apply(Files{V2: p}, 1.5); err == nil {
		t.Error("a ratio above 1 was accepted")
	}
	t.Setenv("GOMEMLIMIT", "512MiB")
	if got, src, err := Apply(Files{V2: p}, 0.5); err != nil || got != 0 || src != "GOMEMLIMIT" {
		t.Errorf("with GOMEMLIMIT set: %d, %q, %v; want the user's value kept", got, src, err)
	}
	t.Setenv("GOMEMLIMIT", "")
	if _, _, err := Apply(Files{V2: filepath.Join(t.TempDir(), "x")}, 0.9); !errors.Is(err, ErrNoLimit) {
		t.Errorf("no cgroup: err = %v", err)
	}
}
