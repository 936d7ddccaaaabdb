package logs

import (
	"sync"
	"time"

	"github.com/go-kit/log"
	"github.com/go-kit/log/level"
)

// Path problems (a missing root, an unreadable directory or file) recur on
// every scan. Each distinct one is logged the first time with its path, then
// again only on a slow back-off while it lasts, so a broken node is visible
// in the log without flooding it every poll interval.
const (
	problemFirstRepeat = time.Minute
	problemMaxRepeat   = time.Hour
)

type problemKey struct {
	path, what string
}

type problemState struct {
	next     time.Time     // when it may be logged again
	every    time.Duration // current back-off
	lastSeen time.Time
	repeats  uint64 // occurrences since it was last logged
}

type problems struct {
	logger log.Logger
	now    func() time.Time
	// forget: a problem not seen for this long is over; seen again it is
	// logged at once. Longer than a few scans, so that a failure found by a
	// reader just after a scan is not taken for a fresh one each time.
	forget time.Duration

	mu sync.Mutex
	m  map[problemKey]*problemState
}

func newProblems(logger log.Logger, poll time.Duration) *problems {
	return &problems{logger: logger, now: time.Now, forget: max(10*poll, 10*time.Second), m: map[problemKey]*problemState{}}
}

// report logs problem what at path (with err and a hint for the fix) when it
// is new or its back-off has passed.
func (p *problems) report(path, what, hint string, err error) {
	now := p.now()
	p.mu.Lock()
	k := problemKey{path, what}
	st := p.m[k]
	if st != nil && now.Sub(st.lastSeen) > p.forget {
		st = nil // it had cleared up: a new occurrence
	}
	var repeats uint64
	switch {
	case st == nil:
		st = &problemState{every: problemFirstRepeat}
		p.m[k] = st
	case now.Before(st.next):
		st.lastSeen = now
		st.repeats++
		p.mu.Unlock()
		return
	default:
		repeats = st.repeats + 1
		st.every = min(2*st.every, problemMaxRepeat)
	}
	st.lastSeen, st.next, st.repeats = now, now.Add(st.every), 0
	next := st.every
	p.mu.Unlock()

	kv := []any{"msg", what, "path", path}
	if err != nil {
		kv = append(kv, "err", err)
	}
	if hint != "" {
		kv = append(kv, "fix", hint)
	}
	if repeats > 0 {
		kv = append(kv, "repeated", repeats)
	}
	kv = append(kv, "next_report_in", next)
	level.Warn(p.logger).Log(kv...)
}

// sweep forgets problems not seen for a while, logging that they cleared.
func (p *problems) sweep() {
	now := p.now()
	p.mu.Lock()
	var cleared []problemKey
	for k, st := range p.m {
		if now.Sub(st.lastSeen) > p.forget {
			cleared = append(cleared, k)
			delete(p.m, k)
		}
	}
	p.mu.Unlock()
	for _, k := range cleared {
		level.Info(p.logger).Log("msg", "problem cleared: "+k.what, "path", k.path)
	}
}
