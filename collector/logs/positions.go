package logs

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/kubepulse/kubepulse/internal/tail"
)

// positionsVersion guards the file format.
const positionsVersion = 1

type positionsFile struct {
	Version int             `json:"version"`
	Files   []positionEntry `json:"files"`
}

// positionEntry is one file's resume point. Offset is where reading resumes;
// Skip lists records after Offset that were already counted (they completed
// while another stream's partial line, which starts before them, was pending).
type positionEntry struct {
	Path   string  `json:"path"`
	Dev    uint64  `json:"dev"`
	Ino    uint64  `json:"ino"`
	FPLen  int     `json:"fp_len"`
	FPHash uint64  `json:"fp_hash"`
	Offset int64   `json:"offset"`
	Skip   []int64 `json:"skip,omitempty"`

	claimed bool
}

type savedPositions struct {
	entries []*positionEntry
	byID    map[tail.FileID]*positionEntry
	byDir   map[string][]*positionEntry
}

func loadPositions(path string) (*savedPositions, error) {
	if path == "" {
		return &savedPositions{}, nil
	}
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return &savedPositions{}, nil
	}
	if err != nil {
		return nil, err
	}
	var pf positionsFile
	if err := json.Unmarshal(b, &pf); err != nil {
		return nil, fmt.Errorf("%s: %v; delete the file to start over (logs are then read again from their start)", path, err)
	}
	if pf.Version != positionsVersion {
		return nil, fmt.Errorf("%s: version %d, want %d", path, pf.Version, positionsVersion)
	}
	sp := &savedPositions{}
	for i := range pf.Files {
		e := pf.Files[i]
		if e.Offset < 0 {
			continue
		}
		sp.entries = append(sp.entries, &e)
	}
	return sp, nil
}

func (sp *savedPositions) index() *savedPositions {
	sp.byID = map[tail.FileID]*positionEntry{}
	sp.byDir = map[string][]*positionEntry{}
	for _, e := range sp.entries {
		sp.byID[tail.FileID{Dev: e.Dev, Ino: e.Ino}] = e
		d := filepath.Dir(e.Path)
		sp.byDir[d] = append(sp.byDir[d], e)
	}
	return sp
}

// claim finds the saved entry of the file open as fd in dir: same inode and
// same first bytes, or (the file was moved or copied while we were down) the
// same first bytes alone. A claimed entry is not handed out again.
func (sp *savedPositions) claim(dir string, id tail.FileID, fd *os.File) *positionEntry {
	if e := sp.byID[id]; e != nil && !e.claimed && filepath.Dir(e.Path) == dir {
		fp := tail.Fingerprint{Len: e.FPLen, Hash: e.FPHash}
		if ok, _ := fp.Matches(fd); ok {
			e.claimed = true
			return e
		}
		// Inode reused by a new file: fall through, it may still be a moved one.
	}
	for _, e := range sp.byDir[dir] {
		if e.claimed || e.FPLen == 0 {
			continue
		}
		fp := tail.Fingerprint{Len: e.FPLen, Hash: e.FPHash}
		if ok, _ := fp.Matches(fd); ok {
			e.claimed = true
			return e
		}
	}
	return nil
}

// has reports whether an unclaimed entry for inode id in dir exists: such a
// file resumes from its saved position rather than being taken for a copy.
func (sp *savedPositions) has(dir string, id tail.FileID) bool {
	e := sp.byID[id]
	return e != nil && !e.claimed && filepath.Dir(e.Path) == dir
}

func (sp *savedPositions) unclaimed() []string {
	var out []string
	for _, e := range sp.entries {
		if !e.claimed {
			out = append(out, fmt.Sprintf("%s@%d(ino %d)", e.Path, e.Offset, e.Ino))
		}
	}
	return out
}

func writeAtomic(path string, b []byte) error {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name()) // no-op after a successful rename
	if _, err := tmp.Write(b); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return err
	}
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync()
		d.Close()
	}
	return nil
}
