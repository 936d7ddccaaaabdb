package logs

import (
	"bytes"
	"context"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/kubepulse/kubepulse/internal/tail"
)

// lag bookkeeping: the sum over files of size-readOff, kept incrementally;
// every change of size or readOff goes through relag.
func (t *Tailer) setSize(f *file, n int64) {
	if n > f.size || n >= f.readOff {
		f.size = n
	}
	t.relag(f)
}

func (t *Tailer) setReadOff(f *file, n int64) {
	f.readOff = n
	t.relag(f)
}

func (t *Tailer) relag(f *file) {
	c := f.size - f.readOff
	if c < 0 || f.dropped {
		c = 0
	}
	t.lag.Add(c - f.lagContrib)
	f.lagContrib = c
}

func (t *Tailer) closeFile(f *file) {
	if f.fd != nil {
		_ = f.fd.Close()
		f.fd = nil
		t.openFiles.Add(-1)
	}
}

func (t *Tailer) work(ctx context.Context) {
	defer t.wg.Done()
	w := newWorker(t.cfg.BufferBytes, t.rules.numLits)
	for {
		select {
		case <-ctx.Done():
			return
		case s := <-t.queue:
			t.process(ctx, w, s)
		}
	}
}

func newWorker(bufSize, numLits int) *worker {
	return &worker{buf: make([]byte, bufSize), next: make([]int, numLits), lo: make([]int, numLits), up: make([]int, numLits)}
}

type worker struct {
	buf     []byte
	scratch []byte
	// Chunk-wide literal search: next[k] is the next occurrence of literal
	// k (numbered across rules) in chunk at or after some earlier line, or
	// len(chunk) when there is none. Searching the chunk once instead of
	// every line separately is what makes non-matching lines cheap.
	fpBuf [tail.FingerprintSize]byte
	chunk []byte
	next  []int
	lo    []int // fold literals: cached next lower/upper-case rare byte
	up    []int
}

// process reads a file group: rotated files to their end first, then the
// current one.
func (t *Tailer) process(ctx context.Context, w *worker, s *series) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.queued = false
	budget := t.cfg.MaxChunksPerTurn
	for _, f := range s.files {
		if budget <= 0 || ctx.Err() != nil {
			break
		}
		var atEOF bool
		budget, atEOF = t.readFile(ctx, w, s, f, budget)
		if atEOF && (f.gone || !f.current || !s.active) {
			t.closeFile(f) // rotated, deleted or superseded, and drained: free the descriptor
		}
	}
	t.pruneLocked(s)
	if budget <= 0 && ctx.Err() == nil {
		t.enqueue(s) // more to read: go to the back of the queue
	}
}

// enqueue queues s for a reader unless it is queued already; with the queue
// full it is left to the next scan.
func (t *Tailer) enqueue(s *series) {
	if s.queued {
		return
	}
	select {
	case t.queue <- s:
		s.queued = true
	default:
	}
}

// readFile reads f from its offset until EOF or the budget of chunks is
// spent; atEOF reports that everything on disk was read.
func (t *Tailer) readFile(ctx context.Context, w *worker, s *series, f *file, budget int) (left int, atEOF bool) {
	if f.fd == nil {
		if f.gone || f.size <= f.readOff {
			return budget, true
		}
		if !t.open(s, f) {
			return budget, false
		}
	}
	for budget > 0 && ctx.Err() == nil {
		budget--
		// The file must still be the one we read: a truncation (copytruncate)
		// makes our offset point into new content. Checked before and after
		// the read, so a chunk read across a truncation is discarded; the
		// scan then restarts the file at 0.
		if !f.intact() {
			f.truncSeen = true
			return budget, false
		}
		n, err := f.fd.ReadAt(w.buf, f.readOff)
		if err != nil && err != io.EOF {
			t.errs[errRead].Add(1)
			t.probs.report(filepath.Join(s.c.dir, f.name), "cannot read log file", "", err)
			return budget, false
		}
		if n == 0 {
			return budget, true
		}
		if !f.intact() {
			f.truncSeen = true
			return budget, false
		}
		full := n == len(w.buf)
		final := !full && (f.gone || !f.current)
		off := f.readOff
		consumed := t.consume(w, s, f, w.buf[:n], full, final)
		t.setReadOff(f, off+int64(consumed))
		if t.afterRead != nil {
			t.afterRead(f.name)
		}
		if f.fp.Len < tail.FingerprintSize {
			t.growFingerprint(w, f, off, w.buf[:n])
		}
		if !full {
			return budget, true
		}
	}
	return budget, false
}

// open opens f to read what the scan found, unless its name now leads to
// another file: renamed again since the scan, which sorts it out next time.
func (t *Tailer) open(s *series, f *file) bool {
	p := filepath.Join(s.c.dir, f.name)
	fd, err := os.Open(p)
	if err != nil {
		if !errors.Is(err, fs.ErrNotExist) {
			t.errs[errOpen].Add(1)
			t.probs.report(p, "cannot open log file", permHint, err)
		}
		return false
	}
	if id, err := tail.IDOf(fd); err != nil || id != f.id {
		fd.Close()
		return false
	}
	f.fd = fd
	t.openFiles.Add(1)
	return true
}

// growFingerprint extends a short fingerprint as the file grows, from the
// chunk just read at off. Reading the head again instead could find it
// truncated by a copytruncate right after the read, and a file left without
// a fingerprint cannot be told from its copy, which would be counted again.
func (t *Tailer) growFingerprint(w *worker, f *file, off int64, chunk []byte) {
	if fp, ok := f.fp.Grow(off, chunk); ok {
		f.fp = fp
		return
	}
	// A gap between the fingerprint and the chunk (a position saved by an
	// older version): hash the head, only if the bytes the fingerprint
	// covered are unchanged and nothing that was read has gone.
	buf := w.fpBuf[:]
	n, err := f.fd.ReadAt(buf, 0)
	if err != nil && err != io.EOF {
		return
	}
	if int64(n) < min(f.readOff, tail.FingerprintSize) || (f.fp.Len > 0 && tail.FingerprintBytes(buf[:f.fp.Len]) != f.fp) {
		f.truncSeen = true
		return
	}
	f.fp = tail.FingerprintBytes(buf[:n])
}

// consume parses the complete records in chunk and returns the bytes used.
// A trailing record without newline is left for the next read, unless final
// (a rotated or deleted file, which will not grow) or it fills the buffer.
func (t *Tailer) consume(w *worker, s *series, f *file, chunk []byte, full, final bool) int {
	defer t.flushPending(s)
	w.chunk = chunk
	for i := range w.next {
		w.next[i], w.lo[i], w.up[i] = -1, -2, -2
	}
	pos := 0
	if f.skipToNL {
		nl := bytes.IndexByte(chunk, '\n')
		if nl < 0 {
			if full || final {
				t.advanceCommit(s, f, f.readOff+int64(len(chunk)))
				return len(chunk)
			}
			return 0
		}
		f.skipToNL = false
		pos = nl + 1
		t.advanceCommit(s, f, f.readOff+int64(pos))
	}
	pos = t.lines(w, s, f, chunk, pos)
	if pos == 0 && full {
		// One record longer than the whole buffer: count its head, skip the rest.
		t.errs[errRecordTooLong].Add(1)
		t.record(w, s, f, chunk, f.readOff, f.readOff+int64(len(chunk)))
		f.skipToNL = true
		return len(chunk)
	}
	if final && pos < len(chunk) && !full {
		t.record(w, s, f, chunk[pos:], f.readOff+int64(pos), f.readOff+int64(len(chunk)))
		pos = len(chunk)
	}
	return pos
}

// lines counts the newline-terminated records of chunk from pos on and
// returns where the first incomplete one starts. The usual record, a
// complete CRI line (F) while no partial line is pending, is counted
// straight away, with the resume point moved once for the whole run instead
// of per line. Anything else goes through record.
func (t *Tailer) lines(w *worker, s *series, f *file, chunk []byte, pos int) int {
	max := t.cfg.MaxLineBytes
	commitTo := int64(-1)
	for pos < len(chunk) {
		nl := bytes.IndexByte(chunk[pos:], '\n')
		if nl < 0 {
			break
		}
		raw := chunk[pos : pos+nl]
		if f.format == formatCRI && f.skip == nil && !s.join[0].active && !s.join[1].active {
			if r := parseCRI(raw); r.ok && !r.partial {
				line, truncated := r.msg, false
				if len(line) > max {
					line, truncated = line[:max], true
				}
				t.emitAt(w, s, r.stream, line, pos+nl-len(r.msg), truncated)
				pos += nl + 1
				commitTo = f.readOff + int64(pos)
				continue
			}
		}
		if commitTo >= 0 {
			t.afterRun(s, f, commitTo)
			commitTo = -1
		}
		t.record(w, s, f, raw, f.readOff+int64(pos), f.readOff+int64(pos+nl+1))
		pos += nl + 1
	}
	if commitTo >= 0 {
		t.afterRun(s, f, commitTo)
	}
	return pos
}
