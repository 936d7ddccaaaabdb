package mixin

import (
	"bytes"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
)

// Diff is one way DIR differs from what would be generated.
type Diff struct {
	Path string
	Kind string // "differs", "missing" or "extra"
}

func (d Diff) String() string { return d.Kind + ": " + d.Path }

// isGenerated reports whether an existing file is ours: it lives in one of
// our subdirectories, or carries the generated marker.
func isGenerated(rel string, b []byte) bool {
	if strings.HasPrefix(rel, DirDashboards+"/") && strings.HasSuffix(rel, ".json") {
		return true
	}
	if strings.HasPrefix(rel, DirTests+"/") && strings.HasSuffix(rel, ".yaml") {
		return true
	}
	head := b
	if len(head) > 200 {
		head = head[:200]
	}
	return bytes.Contains(head, []byte(generatedMarker))
}

// versionRE matches the generated marker with its version, in YAML
// headers, dashboard JSON and the dashboards embedded in ConfigMaps.
var versionRE = regexp.MustCompile(generatedMarker + ` [^ "\n]+\. DO NOT EDIT\.`)

// sameContent reports whether two generated files differ at most in the
// version their markers carry: a new release that generates the same
// rules is not drift.
func sameContent(a, b []byte) bool {
	if bytes.Equal(a, b) {
		return true
	}
	norm := []byte(generatedMarker + " VERSION. DO NOT EDIT.")
	return bytes.Equal(versionRE.ReplaceAll(a, norm), versionRE.ReplaceAll(b, norm))
}

// existing lists the generated-looking files under dir (relative, slash paths).
func existing(dir string) (map[string][]byte, error) {
	out := map[string][]byte{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if os.IsNotExist(err) && p == dir {
				return filepath.SkipDir
			}
			return err
		}
		if d.IsDir() {
			return nil
		}
		rel, _ := filepath.Rel(dir, p)
		rel = filepath.ToSlash(rel)
		// Only our three levels: top, dashboards_out/, tests/.
		if strings.Count(rel, "/") > 1 {
			return nil
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		if isGenerated(rel, b) {
			out[rel] = b
		}
		return nil
	})
	return out, err
}

// Compare lists the files of dir that differ from out, are missing, or
// are generated leftovers that out no longer has.
func Compare(out *Output, dir string) ([]Diff, error) {
	have, err := existing(dir)
	if err != nil {
		return nil, err
	}
	var ds []Diff
	for _, p := range out.Paths() {
		b, ok := have[p]
		switch {
		case !ok:
			if _, err := os.Stat(filepath.Join(dir, filepath.FromSlash(p))); err == nil {
				ds = append(ds, Diff{p, "differs"}) // present but lost its marker
			} else {
				ds = append(ds, Diff{p, "missing"})
			}
		case !sameContent(b, out.Files[p]):
			ds = append(ds, Diff{p, "differs"})
		}
	}
	for p := range have {
		if _, ok := out.Files[p]; !ok {
			ds = append(ds, Diff{p, "extra"})
		}
	}
	sort.Slice(ds, func(i, j int) bool { return ds[i].Path < ds[j].Path })
	return ds, nil
}

// Write writes out into dir and removes generated files out no longer has.
// Files are written to a temporary name and renamed, so a reader never
// sees half a file.
func Write(out *Output, dir string) error {
	have, err := existing(dir)
	if err != nil {
		return err
	}
	for _, p := range out.Paths() {
		// Same content under another version's marker: left alone, so a
		// release that changes no rule changes no file.
		if b, ok := have[p]; ok && sameContent(b, out.Files[p]) {
			continue
		}
		full := filepath.Join(dir, filepath.FromSlash(p))
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			return err
		}
		tmp := full + ".tmp"
		if err := os.WriteFile(tmp, out.Files[p], 0o644); err != nil {
			return err
		}
		if err := os.Rename(tmp, full); err != nil {
			return err
		}
	}
	for p := range have {
		if _, ok := out.Files[p]; !ok {
			if err := os.Remove(filepath.Join(dir, filepath.FromSlash(p))); err != nil {
				return fmt.Errorf("removing stale %s: %w", p, err)
			}
		}
	}
	return nil
}
