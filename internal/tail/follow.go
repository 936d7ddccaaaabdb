// Package tail follows files as they grow, rotate and truncate. Follow is the
// single-file reader used for load-test result files; the logs collector's
// many-file tailer uses the same identity and truncation checks (FileID,
// Fingerprint, Intact, Truncated in check.go).
package tail

import (
	"context"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/fsnotify/fsnotify"
)

// FollowOptions controls Follow. Zero values mean sensible defaults.
type FollowOptions struct {
	Offset int64         // start offset (0 = from the beginning)
	Poll   time.Duration // polling interval when inotify is unavailable or as a safety net (default 250ms)
}

// Follower is an io.ReadCloser over a file that keeps growing. It is meant
// for one reading goroutine; Close and Offset may be called from any other.
type Follower struct {
	path string
	poll time.Duration
	ctx  context.Context

	mu     sync.Mutex // guards f, id, fp, and the watcher against Close
	f      *os.File
	id     FileID
	fp     Fingerprint // first bytes of the current file, to notice truncate+rewrite
	offset atomic.Int64
	start  int64 // offset to seek to when the first file opens

	watcher *fsnotify.Watcher
	wake    chan struct{}
	closed  chan struct{}
	once    sync.Once

	rotations   atomic.Int64
	truncations atomic.Int64
}

// Follow returns a reader over the file at path that returns the bytes
// already in it from Offset, and then blocks for bytes appended later,
// following a rename+recreate rotation (finishing the old file first) and
// restarting from 0 after a truncation (the file got shorter than the offset,
// or its first bytes changed: truncated and rewritten). Read returns io.EOF
// only after ctx is done (or Close) and everything available has been
// returned. Offset() reports bytes consumed from the current file. The file
// need not exist yet: Read waits for it to appear. A path that disappears
// (renamed, not yet recreated) keeps the old file open until a new one shows
// up, because the writer may still append to it.
func Follow(ctx context.Context, path string, opts FollowOptions) (*Follower, error) {
	if opts.Poll <= 0 {
		opts.Poll = 250 * time.Millisecond
	}
	if opts.Offset < 0 {
		return nil, errors.New("tail: negative offset")
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, err
	}
	f := &Follower{
		path:   abs,
		poll:   opts.Poll,
		ctx:    ctx,
		start:  opts.Offset,
		wake:   make(chan struct{}, 1),
		closed: make(chan struct{}),
	}
	// inotify on the directory catches appends, renames and re-creation; if
	// it is unavailable (limits, network file systems) polling alone works.
	if w, err := fsnotify.NewWatcher(); err == nil {
		if err := w.Add(filepath.Dir(abs)); err == nil {
			f.watcher = w
			go f.pump(w)
		} else {
			_ = w.Close()
		}
	}
	return f, nil
}

// pump turns watcher events into a non-blocking wake-up, so that fsnotify
// never stalls while nobody is reading.
func (f *Follower) pump(w *fsnotify.Watcher) {
	for {
		select {
		case ev, ok := <-w.Events:
			if !ok {
				return
			}
			if filepath.Clean(ev.Name) != f.path && !ev.Has(fsnotify.Create) && !ev.Has(fsnotify.Rename) {
				continue
			}
			select {
			case f.wake <- struct{}{}:
			default:
			}
		case _, ok := <-w.Errors:
			if !ok {
				return
			}
		}
	}
}

// Offset reports the bytes consumed from the current file.
func (f *Follower) Offset() int64 { return f.offset.Load() }

// Rotations reports how many rename+recreate rotations were followed.
func (f *Follower) Rotations() int64 { return f.rotations.Load() }

// Truncations reports how many truncations restarted reading at 0.
func (f *Follower) Truncations() int64 { return f.truncations.Load() }

// Close stops following; a blocked Read returns io.EOF.
func (f *Follower) Close() error {
	f.once.Do(func() { close(f.closed) })
	f.mu.Lock()
	defer f.mu.Unlock()
	var err error
	if f.f != nil {
		err = f.f.Close()
		f.f = nil
	}
	if f.watcher != nil {
		_ = f.watcher.Close()
		f.watcher = nil
	}
	return err
}

func (f *Follower) isClosed() bool {
	select {
	case <-f.closed:
		return true
	default:
		return false
	}
}

// Read implements io.Reader.
func (f *Follower) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	for {
		done := f.ctx.Err() != nil // sampled before reading so nothing written before cancel is missed
		n, err := f.step(p)
		if n > 0 || err != nil {
			return n, err
		}
		if done || f.isClosed() {
			return 0, io.EOF
		}
		f.wait()
	}
}

// step makes one attempt: open the file if needed, read, or handle rotation
// and truncation. It returns 0, nil when there is nothing to read right now.
func (f *Follower) step(p []byte) (int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.isClosed() {
		return 0, io.EOF
	}
	if f.f == nil {
		if opened, err := f.open(); !opened {
			return 0, err
		}
	}
	// Checked before and after the read: bytes read across a truncation
	// come from the new content at the old offset and are discarded.
	if !f.intact() {
		return 0, f.restart()
	}
	n, err := f.f.Read(p)
	if n > 0 && !f.intact() {
		return 0, f.restart()
	}
	if n > 0 {
		start := f.offset.Add(int64(n)) - int64(n)
		if fp, ok := f.fp.Grow(start, p[:n]); ok {
			f.fp = fp
		} else if start <= FingerprintSize { // started past the fingerprint (a resume offset)
			if fp, err := FingerprintOf(f.f); err == nil {
				f.fp = fp
			}
		}
		return n, nil
	}
	if err != nil && err != io.EOF {
		return 0, err
	}
	return f.atEOF(p)
}

// open opens the file at the path, at the start offset for the first file
// and at 0 for later ones; opened is false while there is no file yet.
func (f *Follower) open() (opened bool, err error) {
	file, err := os.Open(f.path)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	id, err := IDOf(file)
	if err != nil {
		file.Close()
		return false, err
	}
	off := f.start
	f.start = 0 // a later file (after rotation) starts at 0
	if st, err := file.Stat(); err == nil && st.Size() < off {
		off = 0 // the file is shorter than the requested offset: it was replaced
		f.truncations.Add(1)
	}
	if _, err := file.Seek(off, io.SeekStart); err != nil {
		file.Close()
		return false, err
	}
	f.f, f.id, f.fp = file, id, Fingerprint{}
	f.offset.Store(off)
	return true, nil
}

// atEOF handles the end of the current file: truncated, it is read again
// from 0; rotated away by rename, it is drained and closed so that the next
// step opens the new file.
func (f *Follower) atEOF(p []byte) (int, error) {
	st, err := f.f.Stat()
	if err != nil {
		return 0, err
	}
	if Truncated(f.f, st.Size(), f.offset.Load(), f.fp) {
		f.fp = Fingerprint{}
		if _, err := f.f.Seek(0, io.SeekStart); err != nil {
			return 0, err
		}
		f.offset.Store(0)
		f.truncations.Add(1)
		n, err := f.f.Read(p)
		f.offset.Add(int64(n))
		if err == io.EOF {
			err = nil
		}
		return n, err
	}
	renamed, err := Renamed(f.path, f.id)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return 0, err
	}
	// A missing path means renamed-not-yet-recreated (or deleted): keep the old
	// file open, the writer may still append to it, until a new file appears.
	if renamed {
		// Rotated: the writer may still have appended to the old file between
		// our EOF and the rename, so drain it once more before switching.
		n, rerr := f.f.Read(p)
		if n > 0 {
			f.offset.Add(int64(n))
			return n, nil
		}
		if rerr != nil && rerr != io.EOF {
			return 0, rerr
		}
		f.f.Close()
		f.f = nil
		f.rotations.Add(1)
	}
	return 0, nil
}

// intact reports whether the current file still holds what was read.
func (f *Follower) intact() bool { return Intact(f.f, f.offset.Load(), f.fp) }

// restart reads the current file again from 0 after a truncation.
func (f *Follower) restart() error {
	if _, err := f.f.Seek(0, io.SeekStart); err != nil {
		return err
	}
	f.offset.Store(0)
	f.fp = Fingerprint{}
	f.truncations.Add(1)
	return nil
}

func (f *Follower) wait() {
	t := time.NewTimer(f.poll)
	defer t.Stop()
	select {
	case <-f.ctx.Done():
	case <-f.closed:
	case <-f.wake:
	case <-t.C:
	}
}
