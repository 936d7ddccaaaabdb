package logs

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const key = "shop/web/app"

// TestTailerScenarios runs one tailer over a live tree while the test writes,
// rotates, truncates and deletes files; counters are compared with ground
// truth computed by the test.
func TestTailerScenarios(t *testing.T) {
	type scenario struct {
		name string
		cfg  func(*Config)
		// run writes files (the tailer is already running) and returns the
		// expected counters.
		run         func(e *env, g *criGen) Counts
		rotations   uint64
		truncations uint64
		truncLines  uint64
		errs        map[string]uint64
	}
	log0 := func(e *env) string { return e.path("shop", "web", "app", "0.log") }
	scenarios := []scenario{
		{
			name: "a pod appearing",
			run: func(e *env, g *criGen) Counts {
				txt, errs := g.lines(30, 3)
				e.write(log0(e), txt)
				return Counts{Lines: map[string]uint64{"stdout": 30}, Matches: map[string]uint64{"error": uint64(errs)}, Bytes: uint64(len(txt))}
			},
		},
		{
			name: "P/F joining with a line over 16 KiB in several P records",
			run: func(e *env, g *criGen) Counts {
				chunk := strings.Repeat("x", 16<<10)
				var b strings.Builder
				b.WriteString(g.rec("stdout", "P", chunk))
				b.WriteString(g.rec("stderr", "P", "half a stderr line, time")) // interleaved stream
				b.WriteString(g.rec("stdout", "P", chunk+"ERR"))
				b.WriteString(g.rec("stdout", "P", "OR"+chunk)) // ERROR only exists joined
				b.WriteString(g.rec("stderr", "F", "d out"))    // "timed out" only exists joined
				b.WriteString(g.rec("stdout", "F", "end"))
				b.WriteString(g.rec("stdout", "F:extra", "tagged EXCEPTION"))
				e.write(log0(e), b.String())
				return Counts{Lines: map[string]uint64{"stdout": 2, "stderr": 1, "unknown": 0},
					Matches: map[string]uint64{"error": 2, "timeout": 1}}
			},
		},
		{
			name: "docker json with escapes and split lines",
			run: func(e *env, g *criGen) Counts {
				recs := []string{
					`{"log":"plain line\n","stream":"stdout","time":"2018-10-03T05:25:08.921074351Z"}`,
					`{"log":"\u0045RROR escaped \"quotes\" \\ and \u0026\n","stream":"stderr","time":"2018-10-03T05:25:08.92991723Z"}`,
					`{"log":"split first half ERR","stream":"stdout","time":"2018-10-03T05:25:09Z"}`,
					`{"log":"OR second half\n","stream":"stdout","time":"2018-10-03T05:25:09Z"}`,
					`{"stream":"stdout","log":"keys in another order, Timeout\n","time":"2018-10-03T05:25:09Z","attrs":{"a":[1,true,null]}}`,
					`{"log":"truncated json`,
				}
				e.write(log0(e), strings.Join(recs, "\n")+"\n")
				return Counts{Lines: map[string]uint64{"stdout": 3, "stderr": 1, "unknown": 1},
					Matches: map[string]uint64{"error": 2, "timeout": 1}}
			},
			errs: map[string]uint64{"malformed_docker": 1},
		},
		{
			name: "rotation while running",
			run: func(e *env, g *criGen) Counts {
				a, ea := g.lines(20, 2)
				e.write(log0(e), a)
				waitCounts(e.t, []*Tailer{e.tl}, key, Counts{Lines: map[string]uint64{"stdout": 20}})
				if err := os.Rename(log0(e), log0(e)+".20250321-140000"); err != nil {
					e.t.Fatal(err)
				}
				b, eb := g.lines(5, 1) // the runtime still writes to the renamed file
				e.write(log0(e)+".20250321-140000", b)
				c, ec := g.lines(7, 7)
				e.write(log0(e), c)
				return Counts{Lines: map[string]uint64{"stdout": 32}, Matches: map[string]uint64{"error": uint64(ea + eb + ec)},
					Bytes: uint64(len(a) + len(b) + len(c))}
			},
			rotations: 1,
		},
		{
			name: "copytruncate",
			run: func(e *env, g *criGen) Counts {
				a, ea := g.lines(10, 2)
				e.write(log0(e), a)
				waitCounts(e.t, []*Tailer{e.tl}, key, Counts{Lines: map[string]uint64{"stdout": 10}})
				e.write(log0(e)+".1", a) // the copy: not read again
				if err := os.Truncate(log0(e), 0); err != nil {
					e.t.Fatal(err)
				}
				eventually(e.t, func() string {
					if n := e.tl.Health().Truncations; n != 1 {
						return fmt.Sprintf("truncations = %d", n)
					}
					return ""
				})
				b, eb := g.lines(4, 1)
				e.write(log0(e), b)
				return Counts{Lines: map[string]uint64{"stdout": 14}, Matches: map[string]uint64{"error": uint64(ea + eb)}}
			},
			truncations: 1,
		},
		{
			name: "deletion closes the file",
			run: func(e *env, g *criGen) Counts {
				a, ea := g.lines(10, 5)
				e.write(log0(e), a)
				waitCounts(e.t, []*Tailer{e.tl}, key, Counts{Lines: map[string]uint64{"stdout": 10}})
				eventually(e.t, func() string {
					if n := e.tl.Health().FilesOpen; n != 1 {
						return fmt.Sprintf("files open = %d, want 1", n)
					}
					return ""
				})
				if err := os.Remove(log0(e)); err != nil {
					e.t.Fatal(err)
				}
				eventually(e.t, func() string {
					if n := e.tl.Health().FilesOpen; n != 0 {
						return fmt.Sprintf("files open after delete = %d, want 0", n)
					}
					return ""
				})
				return Counts{Lines: map[string]uint64{"stdout": 10}, Matches: map[string]uint64{"error": uint64(ea)}}
			},
		},
		{
			name: "invalid UTF-8 and binary garbage",
			run: func(e *env, g *criGen) Counts {
				var b strings.Builder
				b.WriteString(g.rec("stdout", "F", "bad utf8 \xff\xfe ERROR \xc3"))
				b.WriteString(g.rec("stderr", "F", "nul \x00 bytes \x00 time out"))
				b.WriteString("\x00\x01\x02\xff garbage without header ERROR\n")
				b.WriteString("\n")
				b.WriteString(g.rec("stdout", "X", "unknown tag"))
				e.write(log0(e), b.String())
				return Counts{Lines: map[string]uint64{"stdout": 1, "stderr": 1, "unknown": 3},
					Matches: map[string]uint64{"error": 2, "timeout": 1}}
			},
			errs: map[string]uint64{"malformed_cri": 3},
		},
		{
			name: "max-line-bytes cut",
			cfg:  func(c *Config) { c.MaxLineBytes = 100 },
			run: func(e *env, g *criGen) Counts {
				var b strings.Builder
				b.WriteString(g.rec("stdout", "F", strings.Repeat("a", 50)+"ERROR"+strings.Repeat("b", 200)))
				b.WriteString(g.rec("stdout", "F", strings.Repeat("a", 200)+"ERROR"))    // cut before the match
				b.WriteString(g.rec("stdout", "P", strings.Repeat("c", 80)))             // joined line cut too
				b.WriteString(g.rec("stdout", "F", strings.Repeat("d", 80)+"EXCEPTION")) //
				b.WriteString(g.rec("stdout", "F", strings.Repeat("e", 100)))            // exactly the limit: kept
				e.write(log0(e), b.String())
				return Counts{Lines: map[string]uint64{"stdout": 4}, Matches: map[string]uint64{"error": 1}}
			},
			truncLines: 3,
		},
	}
	for _, sc := range scenarios {
		t.Run(sc.name, func(t *testing.T) {
			e := newEnv(t, sc.cfg)
			e.start()
			want := sc.run(e, &criGen{})
			waitCounts(t, []*Tailer{e.tl}, key, want)
			h := e.tl.Health()
			if h.Rotations != sc.rotations {
				t.Errorf("rotations = %d, want %d", h.Rotations, sc.rotations)
			}
			if h.Truncations != sc.truncations {
				t.Errorf("truncations = %d, want %d", h.Truncations, sc.truncations)
			}
			if h.TruncatedLines != sc.truncLines {
				t.Errorf("truncated lines = %d, want %d", h.TruncatedLines, sc.truncLines)
			}
			for r, n := range sc.errs {
				if h.Errors[r] != n {
					t.Errorf("errors[%s] = %d, want %d", r, h.Errors[r], n)
				}
			}
			eventually(t, func() string {
				if l := e.tl.Health().LagBytes; l != 0 {
					return fmt.Sprintf("lag = %d", l)
				}
				return ""
			})
		})
	}
}

// TestCopytruncateRace does a copytruncate at the racy points: between a
// scan's directory listing and its stat (the scan sees the truncation but
// not the copy), and between a read and the growth of the file's fingerprint
// (the head is gone when it is hashed). Either way the copy must take over
// the read state, not be read again (both were failures of TestRandomHistory).
func TestCopytruncateRace(t *testing.T) {
	tests := []struct {
		name    string
		atRead  bool // after the first read, else after a listing
		pending bool // the copied data ends in a P record completed after the truncation
	}{
		{"after listing", false, false},
		{"after listing, pending partial line", false, true},
		{"after the first read", true, false},
		{"after the first read, pending partial line", true, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, nil)
			g := &criGen{}
			path := e.path("shop", "web", "app", "0.log")
			copytruncate := &oneShot{do: func() {
				data, err := os.ReadFile(path)
				if err != nil {
					t.Error(err)
					return
				}
				e.write(path+".20250321-140000", string(data))
				if err := os.Truncate(path, 0); err != nil {
					t.Error(err)
				}
			}}
			e.startWith(func(tl *Tailer) {
				if tc.atRead {
					tl.afterRead = copytruncate.hook
				} else {
					tl.afterList = copytruncate.hook
				}
			})
			if tc.atRead {
				copytruncate.arm() // the hook fires on the first read
			}
			a, ea := g.lines(10, 2)
			lines := 10
			if tc.pending {
				a += g.rec("stdout", "P", "a line cut by the rotation, ERR")
			}
			e.write(path, a)
			if !tc.atRead {
				waitLag(t, e.tl)
				copytruncate.fire(t)
			}
			eventually(t, func() string {
				if n := e.tl.Health().Truncations; n != 1 || copytruncate.armed.Load() {
					return fmt.Sprintf("truncations = %d", n)
				}
				return ""
			})
			b, eb := g.lines(4, 1)
			if tc.pending {
				// The runtime ends the line in the new N.log: one line, and
				// its ERROR exists only joined.
				b = g.rec("stdout", "F", "OR in the new file") + b
				lines++
				eb++
			}
			e.write(path, b)
			lines += 4
			var size int64
			for _, p := range []string{path, path + ".20250321-140000"} {
				st, err := os.Stat(p)
				if err != nil {
					t.Fatal(err)
				}
				size += st.Size()
			}
			waitCounts(t, []*Tailer{e.tl}, key, Counts{Lines: map[string]uint64{"stdout": uint64(lines), "unknown": 0},
				Matches: map[string]uint64{"error": uint64(ea + eb)}, Bytes: uint64(size)})
			if h := e.tl.Health(); h.Truncations != 1 {
				t.Errorf("truncations = %d, want 1", h.Truncations)
			}
		})
	}
}

// TestGrowthAfterStat lets a reader read new lines between a scan's stat of
// the file and the scan's check for truncation. The listed size is then
// below the read offset, which is growth, not a truncation: nothing may be
// read again (a failure of TestRandomHistory).
func TestGrowthAfterStat(t *testing.T) {
	e := newEnv(t, nil)
	g := &criGen{}
	path := e.path("shop", "web", "app", "0.log")
	var tl *Tailer
	b, eb := g.lines(5, 1)
	grow := &oneShot{do: func() {
		e.write(path, b)
		tl.mu.Lock()
		s := tl.containers[filepath.Dir(path)].series[0]
		tl.mu.Unlock()
		s.mu.Lock()
		if !s.queued {
			s.queued = true
			tl.queue <- s
		}
		s.mu.Unlock()
		st, err := os.Stat(path)
		if err != nil {
			t.Error(err)
			return
		}
		eventually(t, func() string {
			s.mu.Lock()
			defer s.mu.Unlock()
			if off := s.files[len(s.files)-1].readOff; off != st.Size() {
				return fmt.Sprintf("read offset %d, want %d", off, st.Size())
			}
			return ""
		})
	}}
	tl = e.startWith(func(x *Tailer) { x.afterStat = grow.hook })
	a, ea := g.lines(10, 2)
	e.write(path, a)
	waitLag(t, tl)
	grow.fire(t)
	waitLag(t, tl)
	waitCounts(t, []*Tailer{tl}, key, Counts{Lines: map[string]uint64{"stdout": 15, "unknown": 0},
		Matches: map[string]uint64{"error": uint64(ea + eb)}, Bytes: uint64(len(a) + len(b))})
	if h := tl.Health(); h.Truncations != 0 {
		t.Errorf("truncations = %d, want 0", h.Truncations)
	}
}

// TestRotationAfterListing rotates N.log (rename, new N.log) between a
// running scan's directory listing and its stats: that scan misses the
// renamed file. It must not be forgotten, or the next scan, which finds it
// under its new name, reads it again (a failure of TestRandomHistory).
func TestRotationAfterListing(t *testing.T) {
	e := newEnv(t, nil)
	g := &criGen{}
	path := e.path("shop", "web", "app", "0.log")
	b, eb := g.lines(4, 1)
	rotate := &oneShot{do: func() {
		if err := os.Rename(path, path+".20250321-140000"); err != nil {
			t.Error(err)
		}
		e.write(path, b)
	}}
	tl := e.startWith(func(x *Tailer) { x.afterList = rotate.hook })
	a, ea := g.lines(10, 2)
	e.write(path, a)
	waitLag(t, tl)
	rotate.fire(t)
	// Two more scans with nothing left to read: a file read again would
	// have been read by now, so the counters are final.
	waitLag(t, tl)
	waitLag(t, tl)
	got := tl.Counts()[key]
	if got.Lines["stdout"] != 14 || got.Matches["error"] != uint64(ea+eb) || got.Bytes != uint64(len(a)+len(b)) {
		t.Errorf("counts = %+v, want 14 stdout lines, %d errors, %d bytes", got, ea+eb, len(a)+len(b))
	}
	if h := tl.Health(); h.Rotations != 1 || h.Truncations != 0 {
		t.Errorf("rotations = %d, truncations = %d; want 1, 0", h.Rotations, h.Truncations)
	}
}
