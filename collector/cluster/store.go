package cluster

import (
	"bytes"
	"io"
	"math"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/kubepulse/kubepulse/internal/catalog"
)

// maxFamilies bounds the families one store renders per object, so an
// entry's offsets fit in a fixed array instead of a separate allocation.
const maxFamilies = 12

// storeShards splits the store's lock so informer updates rarely wait for a
// scrape in progress and vice versa.
const storeShards = 64

// Store keeps the pre-rendered exposition lines of every object, grouped by
// family (the kube-state-metrics metrics_store idea, with one buffer per
// object and family offsets into it). A scrape writes each family's header
// once and then copies the bytes of every object for that family, so families
// stay contiguous and nothing is rendered at scrape time.
type Store struct {
	fams    []*catalog.Family
	headers [][]byte
	shards  [storeShards]storeShard
}

type storeShard struct {
	mu   sync.RWMutex
	idx  map[string]int32
	ents []storeEntry
}

type storeEntry struct {
	key string
	buf []byte
	off [maxFamilies + 1]uint32
}

// NewStore returns a store for the given families, in exposition order.
func NewStore(fams ...*catalog.Family) *Store {
	if len(fams) > maxFamilies {
		panic("cluster: too many families for one store")
	}
	s := &Store{fams: fams}
	for _, f := range fams {
		s.headers = append(s.headers, []byte(f.Header()))
	}
	for i := range s.shards {
		s.shards[i].idx = map[string]int32{}
	}
	return s
}

func shardIndex(key string) int {
	h := uint32(2166136261)
	for i := 0; i < len(key); i++ {
		h ^= uint32(key[i])
		h *= 16777619
	}
	return int(h % storeShards)
}

// Set replaces the lines of key with what b rendered.
func (s *Store) Set(key string, b *builder) {
	b.finish(len(s.fams))
	sh := &s.shards[shardIndex(key)]
	sh.mu.Lock()
	if i, ok := sh.idx[key]; ok {
		e := &sh.ents[i]
		if cap(e.buf) >= len(b.buf) && cap(e.buf) <= 2*len(b.buf)+64 {
			e.buf = append(e.buf[:0], b.buf...)
		} else {
			e.buf = append(make([]byte, 0, len(b.buf)), b.buf...)
		}
		e.off = b.off
	} else {
		sh.idx[key] = int32(len(sh.ents))
		sh.ents = append(sh.ents, storeEntry{key: key, buf: append(make([]byte, 0, len(b.buf)), b.buf...), off: b.off})
	}
	sh.mu.Unlock()
}

// Replace rewrites every occurrence of old with new in the lines of key,
// family by family (a pod whose workload changes keeps its other labels).
// It reports whether key exists.
func (s *Store) Replace(key string, old, new []byte) bool {
	sh := &s.shards[shardIndex(key)]
	sh.mu.Lock()
	defer sh.mu.Unlock()
	i, ok := sh.idx[key]
	if !ok {
		return false
	}
	e := &sh.ents[i]
	if !bytes.Contains(e.buf, old) {
		return true
	}
	buf := make([]byte, 0, len(e.buf)+len(new)-len(old))
	var off [maxFamilies + 1]uint32
	for f := range s.fams {
		off[f] = uint32(len(buf))
		lo, hi := e.off[f], e.off[f+1]
		buf = appendReplaced(buf, e.buf[lo:hi], old, new)
	}
	for f := len(s.fams); f <= maxFamilies; f++ {
		off[f] = uint32(len(buf))
	}
	e.buf, e.off = buf, off
	return true
}

func appendReplaced(dst, src, old, new []byte) []byte {
	for {
		i := bytes.Index(src, old)
		if i < 0 {
			return append(dst, src...)
		}
		dst = append(append(dst, src[:i]...), new...)
		src = src[i+len(old):]
	}
}

// Delete drops every line of key.
func (s *Store) Delete(key string) {
	sh := &s.shards[shardIndex(key)]
	sh.mu.Lock()
	if i, ok := sh.idx[key]; ok {
		last := int32(len(sh.ents) - 1)
		if i != last {
			sh.ents[i] = sh.ents[last]
			sh.idx[sh.ents[i].key] = i
		}
		sh.ents[last] = storeEntry{}
		sh.ents = sh.ents[:last]
		delete(sh.idx, key)
	}
	sh.mu.Unlock()
}

// Len is the number of objects in the store.
func (s *Store) Len() int {
	n := 0
	for i := range s.shards {
		s.shards[i].mu.RLock()
		n += len(s.shards[i].ents)
		s.shards[i].mu.RUnlock()
	}
	return n
}

// WriteRaw writes every family: header once, then each object's lines.
func (s *Store) WriteRaw(w io.Writer) error {
	for f := range s.fams {
		if _, err := w.Write(s.headers[f]); err != nil {
			return err
		}
		for i := range s.shards {
			sh := &s.shards[i]
			sh.mu.RLock()
			for j := range sh.ents {
				e := &sh.ents[j]
				if lo, hi := e.off[f], e.off[f+1]; hi > lo {
					if _, err := w.Write(e.buf[lo:hi]); err != nil {
						sh.mu.RUnlock()
						return err
					}
				}
			}
			sh.mu.RUnlock()
		}
	}
	return nil
}

// builder renders one object's lines family by family. It is reused across
// objects by one goroutine at a time (callers hold their own lock).
type builder struct {
	buf []byte
	off [maxFamilies + 1]uint32
	fam int
}

func (b *builder) reset() {
	b.buf = b.buf[:0]
	b.off = [maxFamilies + 1]uint32{}
	b.fam = 0
}

// family starts family i; families must be started in increasing order, and
// skipped ones are empty.
func (b *builder) family(i int) {
	for b.fam <= i {
		b.off[b.fam] = uint32(len(b.buf))
		b.fam++
	}
}

func (b *builder) finish(n int) {
	b.family(n)
}

// sample appends one line: name{k1="v1",...} value. kv holds label name and
// value pairs.
func (b *builder) sample(name string, v float64, kv ...string) {
	b.buf = append(b.buf, name...)
	if len(kv) > 0 {
		b.buf = append(b.buf, '{')
		for i := 0; i+1 < len(kv); i += 2 {
			if i > 0 {
				b.buf = append(b.buf, ',')
			}
			b.buf = append(b.buf, kv[i]...)
			b.buf = append(b.buf, '=', '"')
			b.buf = appendEscaped(b.buf, kv[i+1])
			b.buf = append(b.buf, '"')
		}
		b.buf = append(b.buf, '}')
	}
	b.buf = append(b.buf, ' ')
	b.buf = appendFloat(b.buf, v)
	b.buf = append(b.buf, '\n')
}

func appendEscaped(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf && !utf8.ValidString(s) {
			// Exposition must be UTF-8; API strings nearly always are.
			s = strings.ToValidUTF8(s, "\uFFFD")
			break
		}
	}
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '\\':
			b = append(b, '\\', '\\')
		case '"':
			b = append(b, '\\', '"')
		case '\n':
			b = append(b, '\\', 'n')
		default:
			b = append(b, c)
		}
	}
	return b
}

func appendFloat(b []byte, v float64) []byte {
	switch {
	case math.IsInf(v, 1):
		return append(b, "+Inf"...)
	case math.IsInf(v, -1):
		return append(b, "-Inf"...)
	case math.IsNaN(v):
		return append(b, "NaN"...)
	case v == math.Trunc(v) && math.Abs(v) < 1e15:
		return strconv.AppendInt(b, int64(v), 10)
	}
	return strconv.AppendFloat(b, v, 'g', -1, 64)
}
