package logs

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/go-kit/log/level"

	"github.com/kubepulse/kubepulse/internal/tail"
)

// scan lists the log tree, updates every file group and queues those with
// unread bytes. Containers no longer listed get a last look at their files
// (gone: read to the end of what is open) before their series expire.
func (t *Tailer) scan() {
	root := t.cfg.Path
	seen := map[string]bool{} // container directories listed
	for _, pe := range t.listRoot(root) {
		if pe.IsDir() {
			t.scanPod(filepath.Join(root, pe.Name()), seen)
		}
	}
	t.mu.Lock()
	gone := t.forgetContainersLocked(seen, time.Now())
	t.unwatchLocked(root, seen)
	t.dropUnclaimedLocked()
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

// listRoot lists the pod directories under --logs.path, saying what is wrong
// with the path when it cannot, and watches it.
func (t *Tailer) listRoot(root string) []os.DirEntry {
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
	return pods
}

// scanPod scans the container directories of one <namespace>_<pod>_<uid>
// directory, adding them to seen.
func (t *Tailer) scanPod(podDir string, seen map[string]bool) {
	ns, pod, ok := parsePodDir(filepath.Base(podDir))
	if !ok {
		t.badPath(podDir, "expected <namespace>_<pod>_<uid>")
		return
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
		return
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

// forgetContainersLocked marks containers not seen by this scan as gone and
// returns those newly gone; their series are dropped after --logs.series-ttl.
func (t *Tailer) forgetContainersLocked(seen map[string]bool, now time.Time) []*container {
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
	return gone
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

// unwatchLocked forgets the watches of removed directories.
func (t *Tailer) unwatchLocked(root string, seen map[string]bool) {
	for dir := range t.watched {
		if dir != root && !seen[dir] {
			if _, err := os.Stat(dir); err != nil {
				delete(t.watched, dir) // inotify drops watches of removed dirs itself
			}
		}
	}
}

// dropUnclaimedLocked drops, after the second scan, the saved positions no
// file claimed. Kept through the second scan, not just the first: a file
// renamed between a scan's ReadDir and its Stat (kubelet rotating while we
// start) is missed by that scan and found under its new name by the next,
// which must still resume it from its offset.
func (t *Tailer) dropUnclaimedLocked() {
	if t.scans.Load() >= 1 && t.saved != nil {
		if paths := t.saved.unclaimed(); len(paths) > 0 {
			level.Info(t.logger).Log("msg", "positions of files deleted while stopped were dropped", "count", len(paths), "files", strings.Join(paths, ","))
		}
		t.saved = nil
	}
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
