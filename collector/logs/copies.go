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

// What a listed file not tracked yet is to the current N.log.
const (
	notACopy      = iota // a file of its own: read (or resumed) as new
	copyLater            // may be a copytruncate copy still being written, or a copy of data N.log still holds: decided by a later scan
	copyTakesOver        // the copytruncate copy of N.log, now truncated: it takes over N.log's read state
)

// addFresh starts tracking the listed files that are new: copytruncate
// copies take over the read state of their original, other files resume
// from a saved position or start at 0.
func (t *Tailer) addFresh(r *reconcile) {
	// Saved positions match by inode first, so do those before fingerprint-only matches.
	saved := r.saved
	sort.SliceStable(r.fresh, func(i, j int) bool {
		return saved != nil && saved.byID[r.fresh[i].id] != nil && saved.byID[r.fresh[j].id] == nil
	})
	var curL *listed
	for i := range r.ls {
		if r.ls[i].current {
			curL = &r.ls[i]
		}
	}
	for _, l := range r.fresh {
		p := filepath.Join(r.dir, l.name)
		if !l.current && l.size == 0 {
			continue // nothing to read yet; it may be a copy just being created
		}
		nf := &file{name: l.name, id: l.id, current: l.current}
		switch t.copyOf(r, curL, l, p) {
		case copyLater:
			continue
		case copyTakesOver:
			level.Debug(t.logger).Log("msg", "copytruncate copy found", "copy", p, "original", r.cur.name, "offset", r.cur.readOff)
			t.transfer(r.s, r.cur, nf)
			r.copied[r.cur] = true
		default:
			if !t.resumeFile(r.s, nf, saved, p) {
				continue // renamed or replaced since the listing: the next scan finds it
			}
			level.Debug(t.logger).Log("msg", "new file", "file", p, "offset", nf.readOff, "ino", l.id.Ino, "size", l.size, "cur", r.cur != nil, "saved", saved != nil)
		}
		r.present[l.id] = true
		r.s.files = append(r.s.files, nf)
		nf.size = l.size
		t.relag(nf)
	}
}

// copyOf tells whether l, a new file at path p, is a copy of the current
// file (tracked as r.cur, listed as curL).
func (t *Tailer) copyOf(r *reconcile, curL *listed, l listed, p string) int {
	if l.current {
		return notACopy
	}
	cur := r.cur
	if cur != nil && cur.fp.Len > 0 && !r.copied[cur] && !r.replaced[cur] && (r.saved == nil || !r.saved.has(r.dir, l.id)) {
		if l.size < int64(cur.fp.Len) && t.prefixOf(p, l.size, filepath.Join(r.dir, cur.name)) {
			return copyLater // possibly a copytruncate copy still being written: decide when it is complete
		}
		if t.fpMatches(p, cur.fp) {
			// A copy of the current file (copytruncate). While the
			// original still holds the data it is a duplicate and is
			// ignored; once the original is truncated, the copy takes
			// over its read state and the original starts again at 0.
			if !r.trunc[cur] {
				return copyLater
			}
			return copyTakesOver
		}
	}
	if curL != nil && curL.size >= l.size && t.prefixOf(p, min(l.size, tail.FingerprintSize), filepath.Join(r.dir, curL.name)) {
		return copyLater // a copy of data the current file still holds: a duplicate for now
	}
	return notACopy
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
