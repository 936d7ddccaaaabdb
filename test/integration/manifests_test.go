package integration

import (
	"bufio"
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"k8s.io/apimachinery/pkg/util/yaml"
	sigsyaml "sigs.k8s.io/yaml"

	"github.com/kubepulse/kubepulse/internal/testenv"
)

// deployPath is a file under deploy/ at the repository root.
func deployPath(t *testing.T, name string) string {
	t.Helper()
	root, err := testenv.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	return filepath.Join(root, "deploy", name)
}

// readDocs splits a manifest file into its YAML documents.
func readDocs(t *testing.T, name string) [][]byte {
	t.Helper()
	b, err := os.ReadFile(deployPath(t, name))
	if err != nil {
		t.Fatal(err)
	}
	r := yaml.NewYAMLReader(bufioReader(b))
	var out [][]byte
	for {
		doc, err := r.Read()
		if err != nil {
			break
		}
		if len(bytes.TrimSpace(doc)) > 0 {
			out = append(out, doc)
		}
	}
	if len(out) == 0 {
		t.Fatalf("%s: no YAML documents", name)
	}
	return out
}

// decodeOne strictly decodes the single document of a manifest file into obj:
// a misspelt field fails the test instead of being dropped.
func decodeOne(t *testing.T, name string, obj any) {
	t.Helper()
	docs := readDocs(t, name)
	if len(docs) != 1 {
		t.Fatalf("deploy/%s: %d documents, want 1", name, len(docs))
	}
	if err := sigsyaml.UnmarshalStrict(docs[0], obj); err != nil {
		t.Fatalf("deploy/%s: %v", name, err)
	}
}

func bufioReader(b []byte) *bufio.Reader { return bufio.NewReader(bytes.NewReader(b)) }
