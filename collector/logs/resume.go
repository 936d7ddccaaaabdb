package logs

import (
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"sort"

	"github.com/kubepulse/kubepulse/internal/tail"
)

// resumeFile sets where a newly seen file starts: a saved position (found
// by inode+fingerprint, or by fingerprint after a move), or 0. It reports
// false when path no longer names the listed file (a rotation between the
// Stat and this Open): taking it as new would read it again from 0 once the
// next scan finds it under its rotated name.
func (t *Tailer) resumeFile(s *series, nf *file, saved *savedPositions, path string) bool {
	fd, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return false
	}
	if err != nil {
		t.errs[errOpen].Add(1)
		t.probs.report(path, "cannot open log file", permHint, err)
		return true // unreadable: kept, so that reads count their errors
	}
	defer fd.Close()
	if id, err := tail.IDOf(fd); err == nil && id != nf.id {
		return false
	}
	if saved != nil {
		if e := saved.claim(s.c.dir, nf.id, fd); e != nil {
			nf.readOff, nf.commit = e.Offset, e.Offset
			if len(e.Skip) > 0 {
				nf.skip = map[int64]bool{}
				for _, o := range e.Skip {
					nf.skip[o] = true
				}
			}
			nf.fp = tail.Fingerprint{Len: e.FPLen, Hash: e.FPHash}
			if st, err := fd.Stat(); err == nil && st.Size() < e.Offset {
				t.truncations.Add(1)
				nf.readOff, nf.commit, nf.skip = 0, 0, nil
			}
		}
	}
	return true
}

// savePositions writes every tracked file's resume point atomically: temp
// file, fsync, rename, fsync of the directory.
func (t *Tailer) savePositions() error {
	if t.cfg.PositionsFile == "" {
		return nil
	}
	t.saveMu.Lock()
	defer t.saveMu.Unlock()
	pf := positionsFile{Version: positionsVersion, Files: []positionEntry{}}
	t.mu.Lock()
	var all []*series
	for _, c := range t.containers {
		for _, s := range c.series {
			all = append(all, s)
		}
	}
	// Entries not yet claimed (first two scans still running) are kept as they were.
	if t.saved != nil {
		for _, e := range t.saved.entries {
			if !e.claimed {
				pf.Files = append(pf.Files, *e)
			}
		}
	}
	t.mu.Unlock()
	for _, s := range all {
		s.mu.Lock()
		for _, f := range s.files {
			e := positionEntry{
				Path: filepath.Join(s.c.dir, f.name), Dev: f.id.Dev, Ino: f.id.Ino,
				FPLen: f.fp.Len, FPHash: f.fp.Hash, Offset: f.commit,
			}
			for _, r := range s.emitted {
				if r.f == f {
					e.Skip = append(e.Skip, r.off)
				}
			}
			for off := range f.skip { // skips not reached yet stay pending
				e.Skip = append(e.Skip, off)
			}
			sort.Slice(e.Skip, func(i, j int) bool { return e.Skip[i] < e.Skip[j] })
			pf.Files = append(pf.Files, e)
		}
		s.mu.Unlock()
	}
	sort.Slice(pf.Files, func(i, j int) bool { return pf.Files[i].Path < pf.Files[j].Path })
	b, err := json.MarshalIndent(pf, "", " ")
	if err != nil {
		return err
	}
	if err := writeAtomic(t.cfg.PositionsFile, b); err != nil {
		t.errs[errPositions].Add(1)
		return err
	}
	return nil
}
