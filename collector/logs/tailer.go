package logs

import (
	"bytes"
	"context"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/fsnotify/fsnotify"
	"github.com/go-kit/log"
	"github.com/go-kit/log/level"

	"github.com/kubepulse/kubepulse/internal/tail"
)

// Config is the logs collector's configuration (its flags).
type Config struct {
	Path          string        // --logs.path: kubelet pod log root
	RulesFile     string        // --logs.rules-file; "" means the default rules
	PositionsFile string        // --logs.positions-file; "" disables persistence
	PositionsSync time.Duration // how often positions are written
	MaxLineBytes  int           // --logs.max-line-bytes
	Poll          time.Duration // full rescan interval (inotify triggers more)
	SeriesTTL     time.Duration // --logs.series-ttl
	Workers       int           // parallel readers; 0 = GOMAXPROCS
	BufferBytes   int           // read buffer per worker
	// MaxChunksPerTurn bounds how long one reader holds a file group before
	// letting others (and positions saves) go; 0 = 256 chunks.
	MaxChunksPerTurn int
}

func (c *Config) defaults() {
	if c.PositionsSync <= 0 {
		c.PositionsSync = 5 * time.Second
	}
	if c.MaxLineBytes <= 0 {
		c.MaxLineBytes = 64 << 10
	}
	if c.Poll <= 0 {
		c.Poll = 500 * time.Millisecond
	}
	if c.SeriesTTL <= 0 {
		c.SeriesTTL = 10 * time.Minute
	}
	if c.Workers <= 0 {
		c.Workers = runtime.GOMAXPROCS(0)
	}
	if c.BufferBytes <= 0 {
		c.BufferBytes = 256 << 10
	}
	if c.MaxChunksPerTurn <= 0 {
		c.MaxChunksPerTurn = 256
	}
}

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
func (f *file) intact() bool {
	st, err := f.fd.Stat()
	if err != nil {
		return true // a read error will tell
	}
	if st.Size() < f.readOff {
		return false
	}
	if f.fp.Len > 0 {
		if ok, err := f.fp.Matches(f.fd); err == nil && !ok {
			return false
		}
	}
	return true
}

// Tailer follows every container log file under a kubelet log root.
type Tailer struct {
	cfg    Config
	rules  *ruleSet
	logger log.Logger

	probs *problems

	mu         sync.Mutex
	containers map[string]*container
	badPaths   map[string]bool
	saved      *savedPositions // positions loaded at start, until the second scan ends (see scan)
	watched    map[string]bool

	queue   chan *series
	wake    chan struct{}
	watcher *fsnotify.Watcher

	lag         atomic.Int64
	openFiles   atomic.Int64
	rotations   atomic.Uint64
	truncations atomic.Uint64
	truncLines  atomic.Uint64
	errs        [numErrReasons]atomic.Uint64
	scanned     atomic.Bool
	scans       atomic.Uint64 // completed full scans (tests wait on it)

	cancel   context.CancelFunc
	wg       sync.WaitGroup
	stopOnce sync.Once
	stopErr  error
	saveMu   sync.Mutex

	readDir func(string) ([]os.DirEntry, error) // os.ReadDir; tests inject failures

	// Test hooks, to rename files at the racy points of a scan.
	afterList func(dir string)  // between a container's ReadDir and its Stats
	afterStat func(dir string)  // between a series' Stats and its Opens
	afterRead func(name string) // between a read and the fingerprint's growth
}

// NewTailer validates the configuration and loads the rules; nothing runs
// until Start.
func NewTailer(cfg Config, logger log.Logger) (*Tailer, error) {
	cfg.defaults()
	rules, err := loadRules(cfg.RulesFile)
	if err != nil {
		return nil, err
	}
	if logger == nil {
		logger = log.NewNopLogger()
	}
	return &Tailer{
		cfg:        cfg,
		rules:      rules,
		logger:     logger,
		probs:      newProblems(logger, cfg.Poll),
		readDir:    os.ReadDir,
		containers: map[string]*container{},
		badPaths:   map[string]bool{},
		watched:    map[string]bool{},
		queue:      make(chan *series, 1<<16),
		wake:       make(chan struct{}, 1),
	}, nil
}

// Start loads the positions file and starts the scanner and readers.
func (t *Tailer) Start(ctx context.Context) error {
	saved, err := loadPositions(t.cfg.PositionsFile)
	if err != nil {
		// A corrupt positions file must not stop log counting; start over.
		t.errs[errPositions].Add(1)
		level.Error(t.logger).Log("msg", "ignoring unreadable positions file; reading all logs from the start", "file", t.cfg.PositionsFile, "err", err)
		saved = &savedPositions{}
	}
	t.saved = saved.index()
	ctx, t.cancel = context.WithCancel(ctx)
	if w, err := fsnotify.NewWatcher(); err == nil {
		t.watcher = w
		t.wg.Add(1)
		go t.pump(ctx, w)
	} else {
		t.errs[errWatch].Add(1)
		level.Warn(t.logger).Log("msg", "inotify unavailable, polling only", "err", err)
	}
	t.wg.Add(1 + t.cfg.Workers)
	go t.manage(ctx)
	for i := 0; i < t.cfg.Workers; i++ {
		go t.work(ctx)
	}
	return nil
}

// Stop stops reading and writes the positions file. Counters are final at
// that point, so the positions match what was counted exactly.
func (t *Tailer) Stop() error {
	t.stopOnce.Do(func() {
		if t.cancel != nil {
			t.cancel()
		}
		t.wg.Wait()
		if t.watcher != nil {
			_ = t.watcher.Close()
		}
		t.stopErr = t.savePositions()
		t.mu.Lock()
		for _, c := range t.containers {
			for _, s := range c.series {
				s.mu.Lock()
				for _, f := range s.files {
					t.closeFile(f)
				}
				s.mu.Unlock()
			}
		}
		t.mu.Unlock()
	})
	return t.stopErr
}

// Ready is true after the first full scan.
func (t *Tailer) Ready() bool { return t.scanned.Load() }

func (t *Tailer) pump(ctx context.Context, w *fsnotify.Watcher) {
	defer t.wg.Done()
	for {
		select {
		case <-ctx.Done():
			return
		case _, ok := <-w.Events:
			if !ok {
				return
			}
			select {
			case t.wake <- struct{}{}:
			default:
			}
		case err, ok := <-w.Errors:
			if !ok {
				return
			}
			t.errs[errWatch].Add(1)
			level.Debug(t.logger).Log("msg", "inotify error; polling covers it", "err", err)
			select {
			case t.wake <- struct{}{}:
			default:
			}
		}
	}
}

func (t *Tailer) manage(ctx context.Context) {
	defer t.wg.Done()
	tick := time.NewTicker(t.cfg.Poll)
	defer tick.Stop()
	save := time.NewTicker(t.cfg.PositionsSync)
	defer save.Stop()
	// After an inotify event (a new pod or container directory) scan again
	// shortly: the runtime creates N.log just after kubelet makes the directory.
	followUp := time.NewTimer(time.Hour)
	followUp.Stop()
	defer followUp.Stop()
	t.scan()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		case <-followUp.C:
		case <-t.wake:
			followUp.Reset(100 * time.Millisecond)
		case <-save.C:
			if err := t.savePositions(); err != nil {
				level.Warn(t.logger).Log("msg", "cannot write positions file", "file", t.cfg.PositionsFile, "err", err)
			}
			continue
		}
		t.scan()
	}
}

func (t *Tailer) watch(dir string) {
	if t.watcher == nil || t.watched[dir] {
		return
	}
	if err := t.watcher.Add(dir); err != nil {
		t.errs[errWatch].Add(1)
		level.Debug(t.logger).Log("msg", "cannot watch directory; polling covers it", "dir", dir, "err", err)
		return
	}
	t.watched[dir] = true
}

// scan lists the log tree, updates every file group and queues those with
// unread bytes.
func (t *Tailer) scan() {
	root := t.cfg.Path
	pods, err := t.readDir(root)
	if err != nil {
		t.errs[errStat].Add(1)
		switch {
		case errors.Is(err, fs.ErrNotExist):
			t.probs.report(root, "log path does not exist; nothing to read until it appears", "set --logs.path to the kubelet pod log root (usually /var/log/pods) and mount it into the container", nil)
		case errors.Is(err, syscall.ENOTDIR):
			t.probs.report(root, "log path is not a directory", "--logs.path takes the kubelet pod log root, the directory holding <namespace>_<pod>_<uid>/<container>/<N>.log, not a log file", nil)
		default:
			t.probs.report(root, "cannot list log path", "kubepulse needs read and execute permission on --logs.path", err)
		}
	}
	t.mu.Lock()
	t.watch(root)
	t.mu.Unlock()
	seen := map[string]bool{}
	for _, pe := range pods {
		if !pe.IsDir() {
			continue
		}
		podDir := filepath.Join(root, pe.Name())
		ns, pod, ok := parsePodDir(pe.Name())
		if !ok {
			t.badPath(podDir, "expected <namespace>_<pod>_<uid>")
			continue
		}
		t.mu.Lock()
		t.watch(podDir)
		t.mu.Unlock()
		cents, err := t.readDir(podDir)
		if err != nil {
			if !errors.Is(err, fs.ErrNotExist) { // else removed while listing
				t.errs[errOpen].Add(1)
				t.probs.report(podDir, "cannot list pod log directory; its containers are not counted", permHint, err)
			}
			continue
		}
		for _, ce := range cents {
			if !ce.IsDir() {
				continue
			}
			dir := filepath.Join(podDir, ce.Name())
			seen[dir] = true
			t.scanContainer(dir, ns, pod, ce.Name())
		}
	}
	now := time.Now()
	t.mu.Lock()
	var gone []*container
	for dir, c := range t.containers {
		if seen[dir] {
			continue
		}
		if c.goneAt.IsZero() {
			c.goneAt = now
			gone = append(gone, c)
		} else if now.Sub(c.goneAt) > t.cfg.SeriesTTL {
			delete(t.containers, dir)
		}
	}
	for dir := range t.watched {
		if dir != root && !seen[dir] {
			if _, err := os.Stat(dir); err != nil {
				delete(t.watched, dir) // inotify drops watches of removed dirs itself
			}
		}
	}
	// Unclaimed positions are kept through the second scan, not just the
	// first: a file renamed between a scan's ReadDir and its Stat (kubelet
	// rotating while we start) is missed by that scan and found under its
	// new name by the next, which must still resume it from its offset.
	if t.scans.Load() >= 1 && t.saved != nil {
		if paths := t.saved.unclaimed(); len(paths) > 0 {
			level.Info(t.logger).Log("msg", "positions of files deleted while stopped were dropped", "count", len(paths), "files", strings.Join(paths, ","))
		}
		t.saved = nil
	}
	t.mu.Unlock()
	for _, c := range gone {
		t.mu.Lock()
		ss := make([]*series, 0, len(c.series))
		for _, s := range c.series {
			ss = append(ss, s)
		}
		t.mu.Unlock()
		for _, s := range ss {
			t.scanSeries(s, nil)
		}
	}
	t.probs.sweep()
	t.scanned.Store(true)
	t.scans.Add(1)
}

const permHint = "kubepulse needs read permission on the log files and read+execute on their directories (the DaemonSet runs as root with /var/log/pods mounted read-only)"

func (t *Tailer) badPath(path, why string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.badPaths[path] {
		return
	}
	t.badPaths[path] = true
	t.errs[errBadPath].Add(1)
	level.Warn(t.logger).Log("msg", "skipping directory that is not in the kubelet log layout", "dir", path, "want", why)
}

// parsePodDir splits "<namespace>_<pod>_<uid>". Kubernetes names cannot
// contain '_', so the split is unambiguous.
func parsePodDir(name string) (ns, pod string, ok bool) {
	parts := strings.Split(name, "_")
	if len(parts) != 3 || parts[0] == "" || parts[1] == "" || parts[2] == "" {
		return "", "", false
	}
	return parts[0], parts[1], true
}

// logNameRE matches N.log and its rotated N.log.<suffix>; compressed
// rotations (.gz) and kubelet's temporary files are not read.
var logNameRE = regexp.MustCompile(`^(\d+)\.log(\.[^/]+)?$`)

// logSeries returns N of a directory entry named N.log or N.log.<suffix>.
func logSeries(e fs.DirEntry) (int, bool) {
	if e.IsDir() {
		return 0, false
	}
	m := logNameRE.FindStringSubmatch(e.Name())
	if m == nil || strings.HasSuffix(m[2], ".gz") || strings.HasSuffix(m[2], ".tmp") {
		return 0, false
	}
	n, err := strconv.Atoi(m[1])
	return n, err == nil
}

func (t *Tailer) scanContainer(dir, ns, pod, name string) {
	ents, err := t.readDir(dir)
	if err != nil {
		if !errors.Is(err, fs.ErrNotExist) {
			t.errs[errOpen].Add(1)
			t.probs.report(dir, "cannot list container log directory; its files are not counted", permHint, err)
		}
		return
	}
	if t.afterList != nil {
		t.afterList(dir)
	}
	groups := map[int][]string{}
	maxN := -1
	for _, e := range ents {
		n, ok := logSeries(e)
		if !ok {
			continue
		}
		groups[n] = append(groups[n], e.Name())
		if n > maxN {
			maxN = n
		}
	}
	t.mu.Lock()
	c := t.containers[dir]
	if c == nil {
		c = &container{dir: dir, namespace: ns, pod: pod, name: name, series: map[int]*series{},
			matches: make([]atomic.Uint64, len(t.rules.rules))}
		t.containers[dir] = c
	}
	c.goneAt = time.Time{}
	c.maxN = maxN
	for n := range groups {
		if c.series[n] == nil {
			c.series[n] = &series{c: c, n: n, key: filepath.Join(dir, strconv.Itoa(n)+".log")}
		}
	}
	ss := make([]*series, 0, len(c.series))
	for _, s := range c.series {
		ss = append(ss, s)
	}
	t.mu.Unlock()
	for _, s := range ss {
		t.scanSeries(s, groups[s.n])
	}
}

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

// stat lists the files of s named in names; files gone meanwhile are left out.
func (t *Tailer) stat(s *series, names []string) []listed {
	var ls []listed
	for _, name := range names {
		p := filepath.Join(s.c.dir, name)
		st, err := os.Stat(p)
		if err != nil {
			if !errors.Is(err, fs.ErrNotExist) {
				t.errs[errStat].Add(1)
				t.probs.report(p, "cannot stat log file", permHint, err)
			}
			continue
		}
		id, err := tail.IDOfInfo(st)
		if err != nil {
			continue
		}
		ls = append(ls, listed{name: name, id: id, size: st.Size(), current: !strings.Contains(name[len(strconv.Itoa(s.n))+4:], ".")})
	}
	return ls
}

// relist returns the rotated files of s that appeared since names was
// listed and are not tracked yet.
func (t *Tailer) relist(s *series, names []string, tracked map[tail.FileID]*file) []listed {
	ents, err := os.ReadDir(s.c.dir)
	if err != nil {
		return nil
	}
	known := make(map[string]bool, len(names))
	for _, n := range names {
		known[n] = true
	}
	var extra []string
	for _, e := range ents {
		if n, ok := logSeries(e); ok && n == s.n && !known[e.Name()] {
			extra = append(extra, e.Name())
		}
	}
	var out []listed
	for _, l := range t.stat(s, extra) {
		if !l.current && tracked[l.id] == nil {
			out = append(out, l)
		}
	}
	return out
}

// resumeFile sets where a newly seen file starts: a saved position (found
// by inode+fingerprint, or by fingerprint after a move), or 0. It reports
// false when path no longer names the listed file (a rotation between the
// Stat and this Open): taking it as new would read it again from 0 once the
// next scan finds it under its rotated name.
func (t *Tailer) resumeFile(s *series, nf *file, saved *savedPositions, path string) bool {
	fd, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return false
	}
	if err != nil {
		t.errs[errOpen].Add(1)
		t.probs.report(path, "cannot open log file", permHint, err)
		return true // unreadable: kept, so that reads count their errors
	}
	defer fd.Close()
	if id, err := tail.IDOf(fd); err == nil && id != nf.id {
		return false
	}
	if saved != nil {
		if e := saved.claim(s.c.dir, nf.id, fd); e != nil {
			nf.readOff, nf.commit = e.Offset, e.Offset
			if len(e.Skip) > 0 {
				nf.skip = map[int64]bool{}
				for _, o := range e.Skip {
					nf.skip[o] = true
				}
			}
			nf.fp = tail.Fingerprint{Len: e.FPLen, Hash: e.FPHash}
			if st, err := fd.Stat(); err == nil && st.Size() < e.Offset {
				t.truncations.Add(1)
				nf.readOff, nf.commit, nf.skip = 0, 0, nil
			}
		}
	}
	return true
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
	if budget <= 0 && ctx.Err() == nil && !s.queued {
		select { // more to read: go to the back of the queue
		case t.queue <- s:
			s.queued = true
		default:
		}
	}
}

// readFile reads f from its offset until EOF or the budget of chunks is
// spent; atEOF reports that everything on disk was read.
func (t *Tailer) readFile(ctx context.Context, w *worker, s *series, f *file, budget int) (left int, atEOF bool) {
	if f.fd == nil {
		if f.gone || f.size <= f.readOff {
			return budget, true
		}
		p := filepath.Join(s.c.dir, f.name)
		fd, err := os.Open(p)
		if err != nil {
			if !errors.Is(err, fs.ErrNotExist) {
				t.errs[errOpen].Add(1)
				t.probs.report(p, "cannot open log file", permHint, err)
			}
			return budget, false
		}
		if id, err := tail.IDOf(fd); err != nil || id != f.id {
			fd.Close() // renamed again since the scan; the next scan sorts it out
			return budget, false
		}
		f.fd = fd
		t.openFiles.Add(1)
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

// growFingerprint extends a short fingerprint as the file grows, from the
// chunk just read at off. Reading the head again instead could find it
// truncated by a copytruncate right after the read, and a file left without
// a fingerprint cannot be told from its copy, which would be counted again.
func (t *Tailer) growFingerprint(w *worker, f *file, off int64, chunk []byte) {
	if covered := int64(f.fp.Len); off <= covered {
		if covered < off+int64(len(chunk)) {
			f.fp = f.fp.Extend(chunk[covered-off:])
		}
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
	// Fast path for the usual record, a complete CRI line (F) while no
	// partial line is pending: counted straight away, with the resume point
	// moved once for the whole run instead of per line. Anything else goes
	// through record.
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

// record handles one physical record spanning [start, end) of f.
func (t *Tailer) record(w *worker, s *series, f *file, raw []byte, start, end int64) {
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
	if f.skip != nil && f.skip[start] {
		// Counted before the restart, while another partial line was pending:
		// its own joined parts (re-read since) are dropped, not recounted.
		delete(f.skip, start)
		if len(f.skip) == 0 {
			f.skip = nil
		}
		if r.stream != streamUnknown {
			j := &s.join[r.stream]
			j.active, j.f, j.buf = false, nil, shrink(j.buf)
		}
		t.afterLine(s, f, start, end)
		return
	}
	max := t.cfg.MaxLineBytes
	if r.stream != streamUnknown {
		j := &s.join[r.stream]
		if r.partial {
			if !j.active {
				j.active, j.f, j.truncated, j.buf = true, f, false, j.buf[:0]
			}
			j.add(r.msg, max)
			return
		}
		if j.active {
			j.add(r.msg, max)
			t.emit(s, r.stream, j.buf, j.truncated)
			j.active, j.f, j.buf = false, nil, shrink(j.buf)
			t.afterLine(s, f, start, end)
			return
		}
	}
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
