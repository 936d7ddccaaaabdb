package logs

func (t *Tailer) snapshot() []*container {
	t.mu.Lock()
	defer t.mu.Unlock()
	out := make([]*container, 0, len(t.containers))
	for _, c := range t.containers {
		out = append(out, c)
	}
	return out
}

// Health is the tailer's own state.
type Health struct {
	FilesOpen      int64
	LagBytes       int64
	Rotations      uint64
	Truncations    uint64
	TruncatedLines uint64
	Errors         map[string]uint64
}

// Health returns the tailer health counters.
func (t *Tailer) Health() Health {
	h := Health{
		FilesOpen:      t.openFiles.Load(),
		LagBytes:       t.lag.Load(),
		Rotations:      t.rotations.Load(),
		Truncations:    t.truncations.Load(),
		TruncatedLines: t.truncLines.Load(),
		Errors:         map[string]uint64{},
	}
	for i := range t.errs {
		h.Errors[errReasonNames[i]] = t.errs[i].Load()
	}
	return h
}

// Counts is one container's counters, for tests and benchmarks.
type Counts struct {
	Lines   map[string]uint64 // by stream
	Matches map[string]uint64 // by rule
	Bytes   uint64
}

// Counts returns the counters keyed by "namespace/pod/container".
func (t *Tailer) Counts() map[string]Counts {
	out := map[string]Counts{}
	for _, c := range t.snapshot() {
		cc := Counts{Lines: map[string]uint64{}, Matches: map[string]uint64{}, Bytes: c.bytes.Load()}
		for st := range c.lines {
			cc.Lines[streamNames[st]] = c.lines[st].Load()
		}
		for i, r := range t.rules.rules {
			cc.Matches[r.name] = c.matches[i].Load()
		}
		out[c.namespace+"/"+c.pod+"/"+c.name] = cc
	}
	return out
}
