package logs

import (
	"context"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/fsnotify/fsnotify"
	"github.com/go-kit/log"
	"github.com/go-kit/log/level"
)

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
