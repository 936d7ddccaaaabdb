package tail

import (
	"errors"
	"io"
	"os"
	"syscall"
)

// FileID identifies a file independently of its name, so that a renamed file
// is recognised as the same one.
type FileID struct {
	Dev uint64
	Ino uint64
}

// IDOf returns the identity of an open file.
func IDOf(f *os.File) (FileID, error) {
	st, err := f.Stat()
	if err != nil {
		return FileID{}, err
	}
	return idOfInfo(st)
}

// IDOfPath returns the identity of the file at path (following symlinks).
func IDOfPath(path string) (FileID, error) {
	st, err := os.Stat(path)
	if err != nil {
		return FileID{}, err
	}
	return idOfInfo(st)
}

// IDOfInfo returns the identity carried by a FileInfo from os.Stat/Lstat/File.Stat.
func IDOfInfo(fi os.FileInfo) (FileID, error) { return idOfInfo(fi) }

func idOfInfo(fi os.FileInfo) (FileID, error) {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return FileID{}, errors.New("tail: no device/inode on this platform")
	}
	return FileID{Dev: uint64(st.Dev), Ino: uint64(st.Ino)}, nil //nolint:unconvert // Dev is int32 on some platforms
}

// FingerprintSize is how many leading bytes a Fingerprint covers at most.
const FingerprintSize = 1024

// Fingerprint is a hash of a file's first bytes. Inode numbers are reused
// after deletion; the first bytes of a log file (timestamps) practically never
// are, so (FileID, Fingerprint) tells "same file" from "new file, same inode",
// and the fingerprint alone finds a file that was renamed while we were down.
type Fingerprint struct {
	Len  int    `json:"len"`
	Hash uint64 `json:"hash"`
}

// FingerprintOf hashes the first min(size, FingerprintSize) bytes of f
// without moving its offset.
func FingerprintOf(f io.ReaderAt) (Fingerprint, error) {
	var buf [FingerprintSize]byte
	n, err := f.ReadAt(buf[:], 0)
	if err != nil && err != io.EOF {
		return Fingerprint{}, err
	}
	return FingerprintBytes(buf[:n]), nil
}

// FingerprintBytes hashes the first FingerprintSize bytes of b (FNV-1a 64,
// the values of hash/fnv's New64a).
func FingerprintBytes(b []byte) Fingerprint { return Fingerprint{}.Extend(b) }

// FNV-1a 64 constants, as in hash/fnv.
const (
	fnvOffset64 = 14695981039346656037
	fnvPrime64  = 1099511628211
)

// Extend returns the fingerprint of the covered bytes followed by b, cut so
// that it covers at most FingerprintSize bytes. FNV-1a is a running hash, so
// a reader can grow a fingerprint from the bytes it has just read instead of
// reading the file's head again (which may have been truncated meanwhile).
func (fp Fingerprint) Extend(b []byte) Fingerprint {
	if room := FingerprintSize - fp.Len; len(b) > room {
		b = b[:max(room, 0)]
	}
	if len(b) == 0 {
		return fp
	}
	h := fp.Hash
	if fp.Len == 0 {
		h = fnvOffset64
	}
	for _, c := range b {
		h ^= uint64(c)
		h *= fnvPrime64
	}
	return Fingerprint{Len: fp.Len + len(b), Hash: h}
}

// Matches reports whether the file f starts with the bytes fp was taken
// from. A fingerprint of 0 bytes matches any file.
func (fp Fingerprint) Matches(f io.ReaderAt) (bool, error) {
	if fp.Len == 0 {
		return true, nil
	}
	buf := make([]byte, fp.Len)
	n, err := f.ReadAt(buf, 0)
	if err != nil && err != io.EOF {
		return false, err
	}
	if n < fp.Len {
		return false, nil
	}
	return FingerprintBytes(buf) == fp, nil
}
