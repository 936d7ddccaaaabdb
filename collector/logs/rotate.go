package logs

import (
	"os"
	"path/filepath"
	"sort"

	"github.com/go-kit/log/level"

	"github.com/kubepulse/kubepulse/internal/tail"
)

// listed is one file of a series as a scan found it.
type listed struct {
	name    string
	id      tail.FileID
	size    int64
	current bool
}

// reconcile is one scan of a series: its listing against the files it
// tracks. All of it is used with the series' mu held.
type reconcile struct {
	s     *series
	dir   string
	names []string // the listed names; nil when the directory is gone
	ls    []listed
	saved *savedPositions // positions still to claim, or nil

	byID     map[tail.FileID]*file // tracked files, less recycled inodes
	cur      *file                 // the tracked N.log
	present  map[tail.FileID]bool  // tracked files still listed
	replaced map[*file]bool        // tracked files whose inode now holds a new file
	trunc    map[*file]bool        // tracked files found truncated
	copied   map[*file]bool        // truncated files whose copy took over their read state
	fresh    []listed              // listed files not tracked yet
}

// scanSeries reconciles a file group with the directory listing: renames
// (rotation), truncation (copytruncate), new files and their copies,
// deletion; then queues the group if it has bytes to read.
func (t *Tailer) scanSeries(s *series, names []string) {
	ls := t.stat(s, names)
	if t.afterStat != nil {
		t.afterStat(s.c.dir)
	}
	t.mu.Lock()
	s.mu.Lock()
	s.active = s.n == s.c.maxN
	saved := t.saved
	t.mu.Unlock()
	defer s.mu.Unlock()

	r := newReconcile(s, names, ls, saved)
	t.matchTracked(r)
	if r.cur != nil && r.trunc[r.cur] && r.cur.fp.Len > 0 {
		// copytruncate copies, then truncates. A copy made after our ReadDir
		// is on disk now that the truncation is seen: list again so that it
		// takes over the read state below instead of being read again from 0.
		r.fresh = append(r.fresh, t.relist(s, names, r.byID)...)
	}
	t.addFresh(r)
	t.restartTruncated(r)
	r.markGone()
	sort.SliceStable(s.files, func(i, j int) bool {
		a, b := s.files[i], s.files[j]
		if a.current != b.current {
			return !a.current
		}
		return a.name < b.name
	})
	t.pruneLocked(s)
	if t.needsWork(s) {
		t.enqueue(s)
	}
}

func newReconcile(s *series, names []string, ls []listed, saved *savedPositions) *reconcile {
	r := &reconcile{
		s: s, dir: s.c.dir, names: names, ls: ls, saved: saved,
		byID:     make(map[tail.FileID]*file, len(s.files)),
		present:  map[tail.FileID]bool{},
		replaced: map[*file]bool{},
		trunc:    map[*file]bool{},
		copied:   map[*file]bool{},
	}
	for _, f := range s.files {
		r.byID[f.id] = f
		if f.current {
			r.cur = f
		}
	}
	return r
}

// matchTracked follows the tracked files that are still listed, by FileID:
// N.log under a rotated name is a rotation; a shorter file or other first
// bytes a truncation. Listed files it does not know go to r.fresh.
func (t *Tailer) matchTracked(r *reconcile) {
	for i := range r.ls {
		l := &r.ls[i]
		f := r.byID[l.id]
		if f != nil && t.recycled(r, f, l) {
			f = nil
		}
		if f == nil {
			r.fresh = append(r.fresh, *l)
			continue
		}
		r.present[l.id] = true
		if f.current && !l.current {
			t.rotations.Add(1)
		}
		f.name, f.current, f.gone = l.name, l.current, false
		if t.truncated(r.dir, f, l) {
			r.trunc[f] = true
		}
	}
}

// recycled reports whether the inode of f, which is not held open, now holds
// a new file: renamed or resized, and its first bytes are not f's. It then
// forgets f's inode. The one exception is N.log itself (see below).
func (t *Tailer) recycled(r *reconcile, f *file, l *listed) bool {
	if f.fd != nil || f.fp.Len == 0 || (f.name == l.name && f.size == l.size) ||
		t.startsWith(filepath.Join(r.dir, l.name), f.fp) {
		return false
	}
	if f.current && l.current {
		// Still N.log: truncated (copytruncate) while we did not hold it
		// open, which happens when a restart resumed it at its end. As a
		// truncation its copy takes over the read state; as a new file the
		// copy would be read again.
		f.truncSeen = true
		return false
	}
	r.replaced[f] = true
	delete(r.byID, l.id)
	return true
}

// truncated reports whether f, listed as l, was truncated: a reader saw it,
// it is shorter than what was read, or (truncated and written again past
// our offset before this scan) its first bytes changed.
func (t *Tailer) truncated(dir string, f *file, l *listed) bool {
	if f.truncSeen {
		return true
	}
	if l.size < f.readOff {
		// The size was listed before s.mu was taken, and a reader may
		// have read past it since: only a size taken now tells.
		l.size = t.sizeNow(f, filepath.Join(dir, l.name), l.size)
		if l.size < f.readOff {
			return true
		}
	}
	return f.fd != nil && l.size != f.size && tail.Truncated(f.fd, l.size, f.readOff, f.fp)
}

// sizeNow returns f's size as of now, or listed when f cannot be stat'ed
// (gone: the next scan sorts it out).
func (t *Tailer) sizeNow(f *file, path string, listed int64) int64 {
	if f.fd != nil {
		if st, err := f.fd.Stat(); err == nil {
			return st.Size()
		}
		return listed
	}
	st, err := os.Stat(path)
	if err != nil {
		return listed
	}
	if id, err := tail.IDOfInfo(st); err != nil || id != f.id {
		return listed
	}
	return st.Size()
}

// restartTruncated reads truncated files again from 0, and takes the listed
// size of every tracked file.
func (t *Tailer) restartTruncated(r *reconcile) {
	for _, l := range r.ls {
		f := r.byID[l.id]
		if f == nil {
			continue
		}
		if r.trunc[f] {
			level.Debug(t.logger).Log("msg", "truncated", "file", f.name, "size", l.size, "offset", f.readOff, "copied", r.copied[f])
			t.truncations.Add(1)
			if !r.copied[f] {
				// A pending partial line of the truncated file is counted:
				// its end will never come.
				t.flushJoins(r.s)
				t.dropEmitted(r.s, f)
			}
			t.setReadOff(f, 0)
			f.commit, f.format, f.skipToNL, f.skip, f.truncSeen = 0, formatUnknown, false, nil, false
			f.fp = tail.Fingerprint{}
		}
		t.setSize(f, l.size)
	}
}

// markGone counts the scans that missed each file; a recycled inode or a
// removed directory is final at once.
func (r *reconcile) markGone() {
	for _, f := range r.s.files {
		switch {
		case r.replaced[f] || r.names == nil:
			f.gone, f.missed = true, forgetAfter
		case !r.present[f.id]:
			f.gone = true
			f.missed++
		default:
			f.missed = 0
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
