package logs

import (
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/kubepulse/kubepulse/internal/tail"
)

// Error reasons of kubepulse_log_errors_total.
const (
	errMalformedCRI = iota
	errMalformedDocker
	errRecordTooLong
	errRead
	errOpen
	errStat
	errBadPath
	errPositions
	errWatch
	numErrReasons
)

var errReasonNames = [numErrReasons]string{
	"malformed_cri", "malformed_docker", "record_too_long", "read", "open", "stat", "bad_path", "positions", "watch",
}

// container holds the counters of one <ns>_<pod>_<uid>/<container> directory.
type container struct {
	dir                  string
	namespace, pod, name string
	lines                [numStreams]atomic.Uint64
	matches              []atomic.Uint64
	bytes                atomic.Uint64

	// guarded by Tailer.mu
	series map[int]*series
	goneAt time.Time
	maxN   int
}

// series is one N.log with its rotated files N.log.<suffix>, read in order.
type series struct {
	c   *container
	n   int
	key string // dir/N.log

	mu      sync.Mutex
	files   []*file // rotated (by name), then the current N.log
	join    [2]joiner
	emitted []emittedRec // records counted while a P join is pending (for exact resume)
	queued  bool
	active  bool // the newest restart of its container: keeps its fd open
	// Counts not yet added to the container's atomics: batched per chunk so a
	// line costs no atomic operation.
	pendLines   [numStreams]uint64
	pendBytes   uint64
	pendMatches []uint64 // by rule
	// open[stream][rule]: the last line of the stream was counted by a rule
	// with a continuation, so the next may continue its event.
	open [numStreams][]uint8
	gone bool
}

// file is one physical file; all fields are guarded by its series' mu.
type file struct {
	name    string
	id      tail.FileID
	fp      tail.Fingerprint
	fd      *os.File
	current bool // named N.log (not rotated)
	gone    bool // no longer in the directory
	format  format
	size    int64 // last known size
	readOff int64 // bytes parsed
	commit  int64 // bytes fully accounted: the resume point
	skip    map[int64]bool
	// skipToNL: inside a record longer than the read buffer; its head was
	// counted, the rest up to the newline is passed over.
	skipToNL bool

	missed     int   // consecutive scans that did not list it
	lagContrib int64 // this file's part of Tailer.lag
	dropped    bool
	truncSeen  bool // a reader found it truncated; the scan restarts it
}

// intact reports whether the open file still holds what was read: not
// shorter than the offset and starting with the fingerprinted bytes.
func (f *file) intact() bool { return tail.Intact(f.fd, f.readOff, f.fp) }
