package tail

import (
	"io"
	"os"
)

// The one identity and rotation check of a file being read, shared by
// Follow and the logs collector's tailer. A file held open is still the one
// read so far while it is no shorter than the read offset and still starts
// with the fingerprinted bytes; otherwise it was truncated (copytruncate, or
// truncated and written again past the offset) and is read again from 0.
// A name that leads to another FileID was rotated by rename.

// Truncated reports whether r, now size bytes long and read up to off, no
// longer holds what was read. A head that cannot be read is not taken for
// a truncation: the next read reports the error.
func Truncated(r io.ReaderAt, size, off int64, fp Fingerprint) bool {
	if size < off {
		return true
	}
	if fp.Len > 0 {
		if ok, err := fp.Matches(r); err == nil && !ok {
			return true
		}
	}
	return false
}

// Intact reports whether the open file f, read up to off, still holds what
// was read (see Truncated), by its size now. A failed Stat counts as intact:
// the read that follows reports it.
func Intact(f *os.File, off int64, fp Fingerprint) bool {
	st, err := f.Stat()
	if err != nil {
		return true
	}
	return !Truncated(f, st.Size(), off, fp)
}

// Renamed reports whether path now names another file than id: the file
// read as id was rotated away by rename and a new one took its name. A
// missing path returns an error satisfying errors.Is(err, fs.ErrNotExist).
func Renamed(path string, id FileID) (bool, error) {
	cur, err := IDOfPath(path)
	if err != nil {
		return false, err
	}
	return cur != id, nil
}

// Grow extends fp with chunk, the bytes just read at offset off, so that a
// reader keeps the fingerprint from what it read rather than from the head
// read again (which may have been truncated meanwhile). It reports false
// when chunk starts past the bytes fp covers (a resumed offset): the caller
// must fingerprint the head itself.
func (fp Fingerprint) Grow(off int64, chunk []byte) (Fingerprint, bool) {
	covered := int64(fp.Len)
	if fp.Len >= FingerprintSize || off+int64(len(chunk)) <= covered {
		return fp, true
	}
	if off > covered {
		return fp, false
	}
	return fp.Extend(chunk[covered-off:]), true
}
