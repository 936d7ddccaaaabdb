package parse

import (
	"bufio"
	"compress/gzip"
	"fmt"
	"io"
)

// gzipMembers decompresses a gzip stream one member at a time. A file being
// written with gzip (or grown with `gzip -c part >> file`) is a series of
// members. compress/gzip's multistream mode reads the next member's header
// before it returns the last bytes of the current one; on a tailed file that
// read waits for the writer, holding back up to 32 KiB of decompressed rows
// (a small file: all of them) with no error. Here every member is returned
// in full before the next header is read, so a growing file is read to its
// last complete member and goes on when another one arrives.
type gzipMembers struct {
	src *bufio.Reader
	zr  *gzip.Reader
	end bool  // the current member is finished
	err error // sticky
}

func newGzipMembers(src *bufio.Reader) (*gzipMembers, error) {
	zr, err := gzip.NewReader(src)
	if err != nil {
		return nil, fmt.Errorf("gzip: %w", err)
	}
	zr.Multistream(false)
	return &gzipMembers{src: src, zr: zr}, nil
}

func (g *gzipMembers) Read(p []byte) (int, error) {
	for g.err == nil {
		if g.end {
			// io.EOF here is the clean end: no byte of another member.
			if err := g.zr.Reset(g.src); err != nil {
				g.fail(err)
				break
			}
			g.zr.Multistream(false)
			g.end = false
		}
		n, err := g.zr.Read(p)
		switch {
		case err == io.EOF:
			g.end = true
		case err != nil:
			g.fail(err)
		}
		if n > 0 || len(p) == 0 {
			return n, nil
		}
	}
	return 0, g.err
}

func (g *gzipMembers) fail(err error) {
	if err == io.EOF {
		g.err = io.EOF
		return
	}
	g.err = fmt.Errorf("gzip: %w", err)
}
