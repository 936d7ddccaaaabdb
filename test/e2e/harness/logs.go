package harness

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// LogDir is a directory in the kubelet layout
// <namespace>_<pod>_<uid>/<container>/<restart>.log, as --logs.path reads it.
type LogDir struct {
	Root string
}

// NewLogDir creates an empty log root in the test's temp directory.
func NewLogDir(t testing.TB) *LogDir {
	return &LogDir{Root: t.TempDir()}
}

// Path returns the file of a container's restart.
func (d *LogDir) Path(namespace, pod, uid, container string, restart int) string {
	return filepath.Join(d.Root, namespace+"_"+pod+"_"+uid, container, fmt.Sprintf("%d.log", restart))
}

// CRILine formats one full (F) CRI log record.
func CRILine(ts time.Time, stream, msg string) string {
	return ts.UTC().Format(time.RFC3339Nano) + " " + stream + " F " + msg + "\n"
}

// Append writes messages as CRI records to a container's log, creating the
// directories as the kubelet does. One write per call, like a runtime flush.
func (d *LogDir) Append(namespace, pod, uid, container string, restart int, stream string, msgs ...string) error {
	p := d.Path(namespace, pod, uid, container, restart)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return err
	}
	var b strings.Builder
	now := time.Now()
	for i, m := range msgs {
		b.WriteString(CRILine(now.Add(time.Duration(i)*time.Microsecond), stream, m))
	}
	f, err := os.OpenFile(p, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	if _, err := f.WriteString(b.String()); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
