package collector

import (
	"bytes"
	"encoding/binary"
	"hash/crc32"
	"io"
	"runtime"
	"sync"

	"github.com/klauspost/compress/flate"
)

// A scrape of a large cluster is hundreds of MB of text, and compressing it
// on one core is most of a gzip scrape. parallelGzip compresses 1 MiB chunks
// on every core and writes them, in order, as one gzip member: each chunk's
// deflate output ends with a sync flush (byte-aligned, not final), so the
// outputs concatenate into one valid deflate stream, closed by the last
// chunk's final block. Chunks lose the previous chunk as dictionary, which
// costs well under 1% of size at this chunk size.
const gzipChunk = 1 << 20

var gzipHeader = []byte{0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff} // no name or mtime, OS unknown

type gzChunk struct {
	in    []byte
	out   bytes.Buffer
	last  bool
	ready chan struct{}
}

type parallelGzip struct {
	level int
	cur   *gzChunk
	crc   uint32
	size  uint32 // modulo 2^32, as gzip's ISIZE
	jobs  chan *gzChunk
	order chan *gzChunk
	done  chan error
}

var (
	flatePool sync.Pool
	// Chunks are recycled: a fresh 1 MiB per chunk would be hundreds of MB
	// of garbage per scrape.
	chunkPool = sync.Pool{New: func() any { return &gzChunk{in: make([]byte, 0, gzipChunk)} }}
)

func getChunk() *gzChunk {
	c := chunkPool.Get().(*gzChunk)
	c.in, c.last, c.ready = c.in[:0], false, make(chan struct{})
	c.out.Reset()
	return c
}

func newParallelGzip(w io.Writer, level int) *parallelGzip {
	workers := runtime.GOMAXPROCS(0)
	z := &parallelGzip{level: level, cur: getChunk(),
		jobs: make(chan *gzChunk), order: make(chan *gzChunk, 2*workers), done: make(chan error, 1)}
	for range workers {
		go z.compress()
	}
	go z.write(w)
	return z
}

func (z *parallelGzip) compress() {
	for c := range z.jobs {
		fw, _ := flatePool.Get().(*flate.Writer)
		if fw == nil {
			fw, _ = flate.NewWriter(&c.out, z.level)
		} else {
			fw.Reset(&c.out)
		}
		_, _ = fw.Write(c.in) // writes to a bytes.Buffer do not fail
		if c.last {
			_ = fw.Close()
		} else {
			_ = fw.Flush()
		}
		flatePool.Put(fw)
		close(c.ready)
	}
}

// write emits the header and the chunks in order; after a write error it
// keeps draining so the compressors never block.
func (z *parallelGzip) write(w io.Writer) {
	_, err := w.Write(gzipHeader)
	for c := range z.order {
		<-c.ready
		if err == nil {
			_, err = w.Write(c.out.Bytes())
		}
		chunkPool.Put(c)
	}
	if err == nil {
		var t [8]byte
		binary.LittleEndian.PutUint32(t[:4], z.crc)
		binary.LittleEndian.PutUint32(t[4:], z.size)
		_, err = w.Write(t[:])
	}
	z.done <- err
}

func (z *parallelGzip) Write(p []byte) (int, error) {
	n := len(p)
	for len(p) > 0 {
		k := min(len(p), gzipChunk-len(z.cur.in))
		z.cur.in = append(z.cur.in, p[:k]...)
		p = p[k:]
		if len(z.cur.in) == gzipChunk {
			z.submit(false)
		}
	}
	return n, nil
}

func (z *parallelGzip) submit(last bool) {
	c := z.cur
	z.crc = crc32.Update(z.crc, crc32.IEEETable, c.in)
	z.size += uint32(len(c.in))
	c.last = last
	z.order <- c
	z.jobs <- c
	if !last {
		z.cur = getChunk()
	}
}

// Close compresses what is buffered, writes the trailer and returns the
// first error writing to the underlying writer.
func (z *parallelGzip) Close() error {
	z.submit(true)
	close(z.order)
	close(z.jobs)
	return <-z.done
}
