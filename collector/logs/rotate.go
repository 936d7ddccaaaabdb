package logs

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"sort"

	"github.com/go-kit/log/level"

	"github.com/kubepulse/kubepulse/internal/tail"
)

type listed struct {
	name    string
	id      tail.FileID
	size    int64
	current bool
}

// scanSeries reconciles a file group with the directory listing: new files,
// renames (rotation), truncation (copytruncate), deletion.
func (t *Tailer) scanSeries(s *series, names []string) {
	dir := s.c.dir
	ls := t.stat(s, names)
	if t.afterStat != nil {
		t.afterStat(dir)
	}
	t.mu.Lock()
	s.mu.Lock()
	s.active = s.n == s.c.maxN
	saved := t.saved
	t.mu.Unlock()
	defer s.mu.Unlock()

	byID := make(map[tail.FileID]*file, len(s.files))
	for _, f := range s.files {
		byID[f.id] = f
	}
	var cur *file
	for _, f := range s.files {
		if f.current {
			cur = f
		}
	}
	present := map[tail.FileID]bool{}
	replaced := map[*file]bool{}
	trunc := map[*file]bool{}
	var fresh []listed
	for i := range ls {
		l := &ls[i]
		f := byID[l.id]
		if f != nil && f.fd == nil && f.fp.Len > 0 && (f.name != l.name || f.size != l.size) &&
			!t.startsWith(filepath.Join(dir, l.name), f.fp) {
			if f.current && l.current {
				// Still N.log: truncated (copytruncate) while we did not
				// hold it open, which happens when a restart resumed it at
				// its end. As a truncation its copy takes over the read
				// state; as a new file the copy would be read again.
				f.truncSeen = true
			} else {
				// Not held open, so its inode could be freed and reused: a
				// different first bytes means a new file with a recycled inode.
				replaced[f] = true
				delete(byID, l.id)
				f = nil
			}
		}
		if f == nil {
			fresh = append(fresh, *l)
			continue
		}
		present[l.id] = true
		if f.current && !l.current {
			t.rotations.Add(1)
		}
		f.name, f.current, f.gone = l.name, l.current, false
		// Truncated: shorter than what we read, or (truncated and written
		// again past our offset before this scan) its first bytes changed.
		tr := f.truncSeen
		if !tr && l.size < f.readOff {
			// The size was listed before s.mu was taken, and a reader may
			// have read past it since: only a size taken now tells.
			l.size = t.sizeNow(f, filepath.Join(dir, l.name), l.size)
			tr = l.size < f.readOff
		}
		if !tr && f.fd != nil && f.fp.Len > 0 && l.size != f.size {
			if ok, err := f.fp.Matches(f.fd); err == nil && !ok {
				tr = true
			}
		}
		if tr {
			trunc[f] = true
		}
	}
	if cur != nil && trunc[cur] && cur.fp.Len > 0 {
		// copytruncate copies, then truncates. A copy made after our ReadDir
		// is on disk now that the truncation is seen: list again so that it
		// takes over the read state below instead of being read again from 0.
		fresh = append(fresh, t.relist(s, names, byID)...)
	}
	// Saved positions match by inode first, so do those before fingerprint-only matches.
	sort.SliceStable(fresh, func(i, j int) bool {
		return saved != nil && saved.byID[fresh[i].id] != nil && saved.byID[fresh[j].id] == nil
	})
	var curL *listed
	for i := range ls {
		if ls[i].current {
			curL = &ls[i]
		}
	}
	copied := map[*file]bool{}
	for _, l := range fresh {
		p := filepath.Join(dir, l.name)
		if !l.current && l.size == 0 {
			continue // nothing to read yet; it may be a copy just being created
		}
		nf := &file{name: l.name, id: l.id, current: l.current}
		if !l.current && cur != nil && cur.fp.Len > 0 && !copied[cur] && !replaced[cur] && (saved == nil || !saved.has(s.c.dir, l.id)) {
			if l.size < int64(cur.fp.Len) && t.prefixOf(p, l.size, filepath.Join(dir, cur.name)) {
				continue // possibly a copytruncate copy still being written: decide when it is complete
			}
			if t.fpMatches(p, cur.fp) {
				// A copy of the current file (copytruncate). While the
				// original still holds the data it is a duplicate and is
				// ignored; once the original is truncated, the copy takes
				// over its read state and the original starts again at 0.
				if !trunc[cur] {
					continue
				}
				present[l.id] = true
				level.Debug(t.logger).Log("msg", "copytruncate copy found", "copy", p, "original", cur.name, "offset", cur.readOff)
				t.transfer(s, cur, nf)
				copied[cur] = true
				s.files = append(s.files, nf)
				nf.size = l.size
				t.relag(nf)
				continue
			}
		}
		if !l.current && curL != nil && curL.size >= l.size {
			n := l.size
			if n > tail.FingerprintSize {
				n = tail.FingerprintSize
			}
			if t.prefixOf(p, n, filepath.Join(dir, curL.name)) {
				continue // a copy of data the current file still holds: a duplicate for now
			}
		}
		if !t.resumeFile(s, nf, saved, p) {
			continue // renamed or replaced since the listing: the next scan finds it
		}
		present[l.id] = true
		level.Debug(t.logger).Log("msg", "new file", "file", p, "offset", nf.readOff, "ino", l.id.Ino, "size", l.size, "cur", cur != nil, "saved", saved != nil)
		s.files = append(s.files, nf)
		nf.size = l.size
		t.relag(nf)
	}
	for _, l := range ls {
		f := byID[l.id]
		if f == nil {
			continue
		}
		if trunc[f] {
			level.Debug(t.logger).Log("msg", "truncated", "file", f.name, "size", l.size, "offset", f.readOff, "copied", copied[f])
			t.truncations.Add(1)
			if !copied[f] {
				// A pending partial line of the truncated file is counted:
				// its end will never come.
				t.flushJoins(s)
				t.dropEmitted(s, f)
			}
			t.setReadOff(f, 0)
			f.commit, f.format, f.skipToNL, f.skip, f.truncSeen = 0, formatUnknown, false, nil, false
			f.fp = tail.Fingerprint{}
		}
		t.setSize(f, l.size)
	}
	for _, f := range s.files {
		switch {
		case replaced[f] || names == nil: // a recycled inode, or the directory is gone
			f.gone, f.missed = true, forgetAfter
		case !present[f.id]:
			f.gone = true
			f.missed++
		default:
			f.missed = 0
		}
	}
	sort.SliceStable(s.files, func(i, j int) bool {
		a, b := s.files[i], s.files[j]
		if a.current != b.current {
			return !a.current
		}
		return a.name < b.name
	})
	t.pruneLocked(s)
	if t.needsWork(s) && !s.queued {
		select {
		case t.queue <- s:
			s.queued = true
		default: // queue full: the next scan queues it
		}
	}
}

// transfer hands the read state of a file to its copytruncate copy, which
// holds the same bytes at the same offsets.
func (t *Tailer) transfer(s *series, from, to *file) {
	to.readOff, to.commit, to.fp, to.format, to.skip, to.skipToNL = from.readOff, from.commit, from.fp, from.format, from.skip, from.skipToNL
	from.skip = nil
	for i := range s.join {
		if s.join[i].f == from {
			s.join[i].f = to
		}
	}
	for i := range s.emitted {
		if s.emitted[i].f == from {
			s.emitted[i].f = to
		}
	}
}

// dropEmitted forgets resume bookkeeping that points into f's old content.
func (t *Tailer) dropEmitted(s *series, f *file) {
	kept := s.emitted[:0]
	for _, r := range s.emitted {
		if r.f != f {
			kept = append(kept, r)
		}
	}
	s.emitted = kept
}

// fpMatches reports whether the file at path begins with fp's bytes.
func (t *Tailer) fpMatches(path string, fp tail.Fingerprint) bool {
	f, err := os.Open(path)
	if err != nil {
		return false
	}
	defer f.Close()
	ok, err := fp.Matches(f)
	return ok && err == nil
}

// startsWith reports whether the file at path begins with the bytes fp was
// taken from.
func (t *Tailer) startsWith(path string, fp tail.Fingerprint) bool {
	f, err := os.Open(path)
	if err != nil {
		return true // gone meanwhile: the next scan decides
	}
	defer f.Close()
	ok, err := fp.Matches(f)
	return ok || err != nil
}

// prefixOf reports whether the first n bytes of a and b are equal.
func (t *Tailer) prefixOf(a string, n int64, b string) bool {
	read := func(p string) []byte {
		f, err := os.Open(p)
		if err != nil {
			return nil
		}
		defer f.Close()
		buf := make([]byte, n)
		if _, err := f.ReadAt(buf, 0); err != nil && err != io.EOF {
			return nil
		}
		return buf
	}
	x, y := read(a), read(b)
	return x != nil && y != nil && bytes.Equal(x, y)
}

// forgetAfter is how many scans in a row must miss a file before it is
// forgotten. One is not enough: a file renamed while a scan lists the
// directory is missed by that scan and found under its new name by the
// next, which must still know what was read of it.
const forgetAfter = 2

// pruneLocked drops gone files that are fully read and closed.
func (t *Tailer) pruneLocked(s *series) {
	kept := s.files[:0]
	for _, f := range s.files {
		if f.gone && f.missed >= forgetAfter && f.fd == nil && !t.fileHasWork(s, f) {
			f.dropped = true
			t.relag(f) // leaves the lag sum
			continue
		}
		kept = append(kept, f)
	}
	for i := len(kept); i < len(s.files); i++ {
		s.files[i] = nil
	}
	s.files = kept
	if len(s.files) == 0 {
		t.flushJoins(s)
	}
}

func (t *Tailer) fileHasWork(s *series, f *file) bool {
	if f.gone {
		return f.fd != nil // drain what the open descriptor still holds
	}
	return f.size > f.readOff
}

func (t *Tailer) needsWork(s *series) bool {
	for _, f := range s.files {
		if t.fileHasWork(s, f) {
			return true
		}
	}
	return false
}
