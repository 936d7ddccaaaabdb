package usage

import (
	"hash/maphash"
	"io"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/kubepulse/kubepulse/collector/usage/kubelettext"

	"github.com/kubepulse/kubepulse/internal/catalog"
)

const collectorName = "usage"

var (
	cpuDef            = catalog.ContainerCPUUsageSecondsTotal
	memDef            = catalog.ContainerMemoryWorkingSetBytes
	scrapeErrorsDef   = catalog.KubeletScrapeErrorsTotal
	lastSuccessDef    = catalog.KubeletLastScrapeSuccessTimestampSeconds
	scrapeDurationDef = catalog.KubeletScrapeDurationSeconds
	badLinesDef       = catalog.UsageBadSamplesTotal
	apiErrorsDef      = catalog.UsageMetricsAPIErrorsTotal
	nodeCPUDef        = catalog.NodeCPUUsageSecondsTotal
	nodeMemDef        = catalog.NodeMemoryWorkingSetBytes
)

var nodeCPUHeader, nodeMemHeader = nodeCPUDef.Header(), nodeMemDef.Header()

// nodeUsage is the pre-rendered exposition of one node's containers. It is
// immutable once stored: an update replaces the pointer.
type nodeUsage struct {
	cpu, mem           []byte
	memRatio, cpuRatio []byte
	nodeCPU, nodeMem   []byte                  // the node's own usage lines
	workloads          map[workloadKey]wlUsage // this node's part of each workload
	cpuPts             map[uint64]cpuPoint     // CPU counters of this read, for the next rate
	series             int
	at                 time.Time // when the data was read
}

// nodeStats holds the per-node health counters.
type nodeStats struct {
	errors      float64
	bad         float64
	lastSuccess time.Time
	duration    time.Duration
	tried       bool
}

// Store keeps the latest usage per node as exposition bytes, so that a
// Prometheus scrape copies bytes instead of formatting samples.
type Store struct {
	mu        sync.RWMutex
	usage     map[string]*nodeUsage
	stats     map[string]*nodeStats
	apiErrors float64
	apiMode   bool
}

// NewStore returns an empty store.
func NewStore() *Store {
	return &Store{usage: map[string]*nodeUsage{}, stats: map[string]*nodeStats{}}
}

func (s *Store) statsLocked(node string) *nodeStats {
	st := s.stats[node]
	if st == nil {
		st = &nodeStats{}
		s.stats[node] = st
	}
	return st
}

// setUsage replaces a node's usage.
func (s *Store) setUsage(node string, u *nodeUsage) {
	s.mu.Lock()
	s.usage[node] = u
	s.mu.Unlock()
}

// recordScrape updates a node's health after one read.
func (s *Store) recordScrape(node string, ok bool, bad int, d time.Duration, now time.Time) {
	s.mu.Lock()
	st := s.statsLocked(node)
	st.tried = true
	st.duration = d
	st.bad += float64(bad)
	if ok {
		st.lastSuccess = now
	} else {
		st.errors++
	}
	s.mu.Unlock()
}

// retain drops every node not in keep, and usage older than maxAge (a node
// that keeps failing), so series of gone nodes and pods disappear.
func (s *Store) retain(keep map[string]bool, now time.Time, maxAge time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for n, u := range s.usage {
		if !keep[n] || (maxAge > 0 && now.Sub(u.at) > maxAge) {
			delete(s.usage, n)
		}
	}
	for n := range s.stats {
		if !keep[n] {
			delete(s.stats, n)
		}
	}
}

// Series returns the number of usage series held, for tests and logs.
func (s *Store) Series() int {
	s.mu.RLock()
	defer s.mu.RUnlock()
	n := 0
	for _, u := range s.usage {
		n += u.series
	}
	return n
}

type namedUsage struct {
	node string
	u    *nodeUsage
}

var cpuHeader, memHeader = cpuDef.Header(), memDef.Header()

// WriteRaw writes every family of the store. The lock is held only to copy
// the node pointers; the bytes are immutable, so a slow client never blocks
// the scrape loop.
func (s *Store) WriteRaw(w io.Writer) error {
	s.mu.RLock()
	nodes := make([]namedUsage, 0, len(s.usage))
	for n, u := range s.usage {
		nodes = append(nodes, namedUsage{n, u})
	}
	health := s.renderHealthLocked()
	s.mu.RUnlock()
	sort.Slice(nodes, func(i, j int) bool { return nodes[i].node < nodes[j].node })

	// A family without samples is left out entirely: some consumers of the
	// protobuf format reject empty families.
	for _, fam := range []struct {
		header string
		body   func(*nodeUsage) []byte
	}{
		{cpuHeader, func(u *nodeUsage) []byte { return u.cpu }},
		{memHeader, func(u *nodeUsage) []byte { return u.mem }},
		{memRatioHeader, func(u *nodeUsage) []byte { return u.memRatio }},
		{cpuRatioHeader, func(u *nodeUsage) []byte { return u.cpuRatio }},
		{nodeCPUHeader, func(u *nodeUsage) []byte { return u.nodeCPU }},
		{nodeMemHeader, func(u *nodeUsage) []byte { return u.nodeMem }},
	} {
		headerDone := false
		for _, n := range nodes {
			b := fam.body(n.u)
			if len(b) == 0 {
				continue
			}
			if !headerDone {
				if _, err := io.WriteString(w, fam.header); err != nil {
					return err
				}
				headerDone = true
			}
			if _, err := w.Write(b); err != nil {
				return err
			}
		}
	}
	if _, err := w.Write(renderWorkloads(nodes)); err != nil {
		return err
	}
	_, err := w.Write(health)
	return err
}

// renderHealthLocked renders the small per-node families; they change every
// round, so they are formatted per scrape (a few lines per node).
func (s *Store) renderHealthLocked() []byte {
	if s.apiMode {
		b := []byte(apiErrorsDef.Header())
		b = append(b, apiErrorsDef.Name...)
		b = append(b, ' ')
		b = strconv.AppendFloat(b, s.apiErrors, 'g', -1, 64)
		b = append(b, '\n')
		if st := s.stats[""]; st != nil {
			b = append(b, badLinesDef.Header()...)
			b = append(b, badLinesDef.Name...)
			b = append(b, ' ')
			b = strconv.AppendFloat(b, st.bad, 'g', -1, 64)
			b = append(b, '\n')
		}
		return b
	}
	names := make([]string, 0, len(s.stats))
	for n, st := range s.stats {
		if st.tried {
			names = append(names, n)
		}
	}
	if len(names) == 0 {
		return nil
	}
	sort.Strings(names)
	b := make([]byte, 0, 64+len(names)*4*80)
	fam := func(d *catalog.Family, val func(*nodeStats) (float64, bool)) {
		headerDone := false
		for _, n := range names {
			v, ok := val(s.stats[n])
			if !ok {
				continue
			}
			if !headerDone {
				b = append(b, d.Header()...)
				headerDone = true
			}
			b = append(b, d.Name...)
			b = append(b, `{node="`...)
			b = appendEscaped(b, n)
			b = append(b, `"} `...)
			b = strconv.AppendFloat(b, v, 'g', -1, 64)
			b = append(b, '\n')
		}
	}
	fam(scrapeErrorsDef, func(st *nodeStats) (float64, bool) { return st.errors, true })
	fam(lastSuccessDef, func(st *nodeStats) (float64, bool) {
		if st.lastSuccess.IsZero() {
			return 0, false
		}
		return float64(st.lastSuccess.UnixMilli()) / 1e3, true
	})
	fam(scrapeDurationDef, func(st *nodeStats) (float64, bool) { return st.duration.Seconds(), true })
	fam(badLinesDef, func(st *nodeStats) (float64, bool) { return st.bad, true })
	return b
}

var labelEscaper = strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`)

func appendEscaped(b []byte, s string) []byte {
	if !strings.ContainsAny(s, "\\\"\n") {
		return append(b, s...)
	}
	return append(b, labelEscaper.Replace(s)...)
}

var hashSeed = maphash.MakeSeed()

// prevCPU returns the CPU counters of a node's last read.
func (s *Store) prevCPU(node string) map[uint64]cpuPoint {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if u := s.usage[node]; u != nil {
		return u.cpuPts
	}
	return nil
}

// renderer builds one node's exposition from parsed samples. It is reused
// across nodes by one worker to keep allocations down.
type renderer struct {
	node       []byte // escaped node name
	nodeCPU    []byte // the node's own usage lines (at most one each)
	nodeMem    []byte
	agg        wlAgg // per-workload memory of this node
	timestamps bool
	cpu, mem   []byte
	lookup     LookupFunc // workload and limits; nil leaves the labels empty
	// Limit ratios, and the CPU counters of the previous (prev) and this
	// (cur) read of the node; readMs stamps samples without a timestamp.
	memRatio, cpuRatio []byte
	prev, cur          map[uint64]cpuPoint
	readMs             int64
	seen               map[uint64]struct{} // maphash of kind+labels: no string per series
	key                []byte
	dups               int
	series             int
}

func newRenderer(timestamps bool) *renderer {
	return &renderer{timestamps: timestamps, seen: map[uint64]struct{}{}}
}

func (r *renderer) reset(node string) {
	r.node = appendEscaped(r.node[:0], node)
	r.cpu, r.mem = r.cpu[:0], r.mem[:0]
	r.memRatio, r.cpuRatio = r.memRatio[:0], r.cpuRatio[:0]
	r.nodeCPU, r.nodeMem = r.nodeCPU[:0], r.nodeMem[:0]
	r.agg.reset()
	r.prev, r.cur = nil, nil
	r.readMs = 0
	clear(r.seen)
	r.dups, r.series = 0, 0
}

// add appends one sample. Label values arrive escaped and are copied as is.
// A duplicate series (cAdvisor can list a restarted container twice) keeps
// the first value, because Prometheus rejects a scrape's duplicates anyway.
func (r *renderer) add(s *kubelettext.Sample) {
	if s.Kind == kubelettext.KindNodeCPU || s.Kind == kubelettext.KindNodeMemory {
		r.addNode(s)
		return
	}
	r.key = append(r.key[:0], byte(s.Kind))
	r.key = append(r.key, s.Namespace...)
	r.key = append(r.key, 0)
	r.key = append(r.key, s.Pod...)
	r.key = append(r.key, 0)
	r.key = append(r.key, s.Container...)
	h := maphash.Bytes(hashSeed, r.key)
	if _, dup := r.seen[h]; dup {
		r.dups++
		return
	}
	r.seen[h] = struct{}{}
	r.series++
	var b []byte
	if s.Kind == kubelettext.KindCPU {
		b = append(r.cpu, cpuDef.Name...)
	} else {
		b = append(r.mem, memDef.Name...)
	}
	b = append(b, `{namespace="`...)
	b = append(b, s.Namespace...)
	b = append(b, `",pod="`...)
	b = append(b, s.Pod...)
	b = append(b, `",container="`...)
	b = append(b, s.Container...)
	b = append(b, `",node="`...)
	b = append(b, r.node...)
	ci, known := r.info(s)
	if known {
		b = appendWorkload(b, &ci)
	}
	b = append(b, `"} `...)
	b = append(b, s.Value...)
	if r.timestamps && len(s.Timestamp) > 0 {
		b = append(b, ' ')
		b = append(b, s.Timestamp...)
	}
	b = append(b, '\n')
	if s.Kind == kubelettext.KindCPU {
		r.cpu = b
	} else {
		r.mem = b
	}
	r.ratios(s, &ci)
	if known && s.Kind == kubelettext.KindMemory {
		r.agg.add(s, &ci)
	}
}

// addNode renders the node's own usage; a repeated line keeps the first.
func (r *renderer) addNode(s *kubelettext.Sample) {
	dst, def := &r.nodeCPU, nodeCPUDef
	if s.Kind == kubelettext.KindNodeMemory {
		dst, def = &r.nodeMem, nodeMemDef
	}
	if len(*dst) > 0 {
		r.dups++
		return
	}
	b := append(*dst, def.Name...)
	b = append(b, `{node="`...)
	b = append(b, r.node...)
	b = append(b, `"} `...)
	b = append(b, s.Value...)
	if r.timestamps && len(s.Timestamp) > 0 {
		b = append(b, ' ')
		b = append(b, s.Timestamp...)
	}
	*dst = append(b, '\n')
	r.series++
}

// result copies the rendered bytes into one exact-size allocation; the CPU
// counters move to the result (the renderer starts a new map next time).
func (r *renderer) result(at time.Time) *nodeUsage {
	parts := [...][]byte{r.cpu, r.mem, r.memRatio, r.cpuRatio, r.nodeCPU, r.nodeMem}
	n := 0
	for _, p := range parts {
		n += len(p)
	}
	buf := make([]byte, n)
	var out [len(parts)][]byte
	off := 0
	for i, p := range parts {
		copy(buf[off:], p)
		out[i] = buf[off : off+len(p) : off+len(p)]
		off += len(p)
	}
	u := &nodeUsage{cpu: out[0], mem: out[1], memRatio: out[2], cpuRatio: out[3], nodeCPU: out[4], nodeMem: out[5],
		workloads: r.agg.result(), cpuPts: r.cur, series: r.series, at: at}
	r.cur = nil
	return u
}
