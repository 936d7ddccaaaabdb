package logs

// flushPending adds the batched line and byte counts to the container.
func (t *Tailer) flushPending(s *series) {
	for st, n := range s.pendLines {
		if n > 0 {
			s.c.lines[st].Add(n)
			s.pendLines[st] = 0
		}
	}
	if s.pendBytes > 0 {
		s.c.bytes.Add(s.pendBytes)
		s.pendBytes = 0
	}
	for i, n := range s.pendMatches {
		if n > 0 {
			s.c.matches[i].Add(n)
			s.pendMatches[i] = 0
		}
	}
}

// emitAt counts a line that is chunk[from:from+len(line)] of the worker's
// current chunk.
func (t *Tailer) emitAt(w *worker, s *series, stream int, line []byte, from int, truncated bool) {
	s.pendLines[stream]++
	if truncated {
		t.truncLines.Add(1)
	}
	end := from + len(line)
	k := 0
	for i, r := range t.rules.rules {
		if !r.streams[stream] || t.inEvent(s, stream, i, r, line) {
			k += r.numLits
			continue
		}
		hit := false
		for a := range r.alts {
			m := &r.alts[a]
			if !hit && candidateAt(w, &m.pre, k, from, end, line) && m.confirm(line) {
				hit = true
			}
			k += len(m.pre.lits)
		}
		if hit {
			t.matched(s, stream, i, r)
		}
	}
}

// candidateAt is prefilter.candidate for a line of the worker's chunk; the
// literals' next positions are searched lazily and kept across lines.
func candidateAt(w *worker, p *prefilter, k, from, end int, line []byte) bool {
	if p.none || (p.starts != nil && len(line) > 0 && p.starts[line[0]]) {
		return p.andHolds(line)
	}
	for j := range p.lits {
		n := &w.next[k+j]
		if *n < from {
			if p.fold && len(p.lits[j]) == 1 {
				*n = indexFold(w.chunk, from, p.lits[j], p.rare[j], &w.lo[k+j], &w.up[k+j])
			} else {
				*n = p.find(w.chunk, from, j)
			}
			if *n < 0 {
				*n = len(w.chunk)
			}
		}
		if *n+len(p.lits[j]) <= end {
			return p.andHolds(line)
		}
	}
	return false
}

func (t *Tailer) emit(s *series, stream int, line []byte, truncated bool) {
	s.pendLines[stream]++
	if truncated {
		t.truncLines.Add(1)
	}
	for i, r := range t.rules.rules {
		if !r.streams[stream] || t.inEvent(s, stream, i, r, line) {
			continue
		}
		for a := range r.alts {
			m := &r.alts[a]
			if m.pre.candidate(line) && m.confirm(line) {
				t.matched(s, stream, i, r)
				break
			}
		}
	}
}

// Event states of a rule with a continuation, per stream.
const (
	evNone   = iota
	evHead   // the last line was counted
	evInside // the last line continued the event
)

// inEvent reports whether line continues an event rule i counted earlier on
// this stream (a stack trace); it ends the event if not.
func (t *Tailer) inEvent(s *series, stream, i int, r *rule, line []byte) bool {
	if s.open[stream] == nil || s.open[stream][i] == evNone {
		return false
	}
	st := &s.open[stream][i]
	if (*st == evHead && anyMatch(r.attached, line)) || anyMatch(r.cont, line) {
		*st = evInside
		return true
	}
	*st = evNone
	return false
}

// matched counts a match of rule i (batched like the line counts).
func (t *Tailer) matched(s *series, stream, i int, r *rule) {
	if s.pendMatches == nil {
		s.pendMatches = make([]uint64, len(t.rules.rules))
	}
	s.pendMatches[i]++
	if r.cont != nil || r.attached != nil {
		if s.open[stream] == nil {
			s.open[stream] = make([]uint8, len(t.rules.rules))
		}
		s.open[stream][i] = evHead
	}
}
