package logs

type emittedRec struct {
	f   *file
	off int64
}

type joiner struct {
	active    bool
	truncated bool
	buf       []byte
	f         *file // where the pending logical line started
}

// record handles one physical record spanning [start, end) of f.
func (t *Tailer) record(w *worker, s *series, f *file, raw []byte, start, end int64) {
	r := t.parseRecord(w, f, raw)
	if f.skip != nil && f.skip[start] {
		t.skipCounted(s, f, r, start, end)
		return
	}
	if r.stream != streamUnknown && t.join(s, f, r, start, end) {
		return
	}
	max := t.cfg.MaxLineBytes
	line, truncated := r.msg, false
	if len(line) > max {
		line, truncated = line[:max], true
	}
	if f.format == formatCRI && r.ok && w.chunk != nil {
		// line lies in the chunk: use the chunk-wide literal search
		from := int(start-f.readOff) + len(raw) - len(r.msg)
		t.emitAt(w, s, r.stream, line, from, truncated)
	} else {
		t.emit(s, r.stream, line, truncated)
	}
	t.afterLine(s, f, start, end)
}

// parseRecord parses raw in f's format, detected from its first record. A
// malformed record is counted as an error and kept whole, as a line of
// stream "unknown".
func (t *Tailer) parseRecord(w *worker, f *file, raw []byte) record {
	if n := len(raw); n > 0 && raw[n-1] == '\r' && f.format == formatDocker {
		raw = raw[:n-1]
	}
	if f.format == formatUnknown {
		f.format = detectFormat(raw)
	}
	var r record
	if f.format == formatDocker {
		r, w.scratch = parseDocker(raw, w.scratch)
		if !r.ok {
			t.errs[errMalformedDocker].Add(1)
		}
	} else {
		r = parseCRI(raw)
		if !r.ok {
			t.errs[errMalformedCRI].Add(1)
		}
	}
	if !r.ok {
		r = record{stream: streamUnknown, msg: raw}
	}
	return r
}

// skipCounted passes over a record counted before the restart, while
// another partial line was pending: its own joined parts (re-read since)
// are dropped, not recounted.
func (t *Tailer) skipCounted(s *series, f *file, r record, start, end int64) {
	delete(f.skip, start)
	if len(f.skip) == 0 {
		f.skip = nil
	}
	if r.stream != streamUnknown {
		j := &s.join[r.stream]
		j.active, j.f, j.buf = false, nil, shrink(j.buf)
	}
	t.afterLine(s, f, start, end)
}

// join takes r into its stream's pending logical line, and reports whether
// it did: a partial record (CRI P, a docker record whose log has no final
// newline) opens or extends it, and the next full one ends and counts it.
func (t *Tailer) join(s *series, f *file, r record, start, end int64) bool {
	max := t.cfg.MaxLineBytes
	j := &s.join[r.stream]
	if r.partial {
		if !j.active {
			j.active, j.f, j.truncated, j.buf = true, f, false, j.buf[:0]
		}
		j.add(r.msg, max)
		return true
	}
	if !j.active {
		return false
	}
	j.add(r.msg, max)
	t.emit(s, r.stream, j.buf, j.truncated)
	j.active, j.f, j.buf = false, nil, shrink(j.buf)
	t.afterLine(s, f, start, end)
	return true
}

// afterRun moves the resume point after a run of complete lines counted
// while no partial line was pending (what afterLine does for each).
func (t *Tailer) afterRun(s *series, f *file, end int64) {
	s.emitted = s.emitted[:0]
	t.advanceCommit(s, f, end)
}

// afterLine moves the resume point after a counted line; while another
// stream's partial line is pending it instead remembers the record, so a
// restart from the pending line's start does not count it twice.
func (t *Tailer) afterLine(s *series, f *file, start, end int64) {
	if s.join[0].active || s.join[1].active {
		s.emitted = append(s.emitted, emittedRec{f: f, off: start})
		return
	}
	s.emitted = s.emitted[:0]
	t.advanceCommit(s, f, end)
}

// advanceCommit sets f's resume point to off, and closes out earlier files
// of the group, which are read to their end by now.
func (t *Tailer) advanceCommit(s *series, f *file, off int64) {
	if s.join[0].active || s.join[1].active {
		return
	}
	for _, g := range s.files {
		if g == f {
			break
		}
		if g.commit < g.readOff {
			s.pendBytes += uint64(g.readOff - g.commit)
			g.commit = g.readOff
		}
	}
	if off > f.commit {
		s.pendBytes += uint64(off - f.commit)
		f.commit = off
	}
}

func (j *joiner) add(msg []byte, max int) {
	room := max - len(j.buf)
	if len(msg) > room {
		if room > 0 {
			j.buf = append(j.buf, msg[:room]...)
		}
		j.truncated = true
		return
	}
	j.buf = append(j.buf, msg...)
}

// shrink keeps join buffers from pinning a max-line-sized array per file.
func shrink(b []byte) []byte {
	if cap(b) > 64<<10 {
		return nil
	}
	return b[:0]
}

// flushJoins counts pending partial lines when their file group ends or is
// truncated: a line never finished is still a line.
func (t *Tailer) flushJoins(s *series) {
	for st := range s.join {
		j := &s.join[st]
		if j.active {
			t.emit(s, st, j.buf, j.truncated)
			j.active, j.f, j.buf = false, nil, shrink(j.buf)
		}
	}
	s.emitted = s.emitted[:0]
	t.flushPending(s)
}
