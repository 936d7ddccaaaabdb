package manifests

import (
	"bufio"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"sigs.k8s.io/kustomize/api/types"
	sigsyaml "sigs.k8s.io/yaml"

	"github.com/kubepulse/kubepulse/internal/testutil"
)

// pinned reports whether an image reference names a fixed version: a digest,
// or a tag other than latest. The error says what is wrong.
func pinned(ref string) (tag string, ok bool) {
	if i := strings.Index(ref, "@sha256:"); i >= 0 {
		return ref[i+1:], len(ref[i+len("@sha256:"):]) == 64
	}
	name := ref[strings.LastIndex(ref, "/")+1:]
	i := strings.LastIndex(name, ":")
	if i < 0 {
		return "", false
	}
	tag = name[i+1:]
	return tag, tag != "" && tag != "latest"
}

func TestPinned(t *testing.T) {
	for _, tc := range []struct {
		ref, tag string
		ok       bool
	}{
		{"ghcr.io/kubepulse/kubepulse:v0.1.0", "v0.1.0", true},
		{"ghcr.io/kubepulse/kubepulse:latest", "latest", false},
		{"ghcr.io/kubepulse/kubepulse", "", false},
		{"localhost:5000/kubepulse", "", false},
		{"localhost:5000/kubepulse:v1", "v1", true},
		{"gcr.io/distroless/static@sha256:" + strings.Repeat("a", 64), "sha256:" + strings.Repeat("a", 64), true},
		{"gcr.io/distroless/static@sha256:abc", "sha256:abc", false},
	} {
		if tag, ok := pinned(tc.ref); tag != tc.tag || ok != tc.ok {
			t.Errorf("pinned(%q) = %q, %v; want %q, %v", tc.ref, tag, ok, tc.tag, tc.ok)
		}
	}
}

// baseTag is the version deploy/base pins kubepulse's image to.
func baseTag(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(testutil.RepoRoot(t), "deploy/base/kustomization.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var k types.Kustomization
	if err := sigsyaml.Unmarshal(b, &k); err != nil {
		t.Fatal(err)
	}
	for _, im := range k.Images {
		if im.Name == Image {
			if _, ok := pinned(Image + ":" + im.NewTag); !ok {
				t.Fatalf("deploy/base/kustomization.yaml: images[%s].newTag %q is not a pinned version", Image, im.NewTag)
			}
			return im.NewTag
		}
	}
	t.Fatalf("deploy/base/kustomization.yaml: no images entry for %s", Image)
	return ""
}

// TestImagesPinned: every rendered container image is pinned, and every
// kubepulse image, rendered or in a raw file (`kubectl apply -f`), is the
// base's version, so an upgrade is one edit the tests then follow.
func TestImagesPinned(t *testing.T) {
	want := Image + ":" + baseTag(t)
	for _, k := range Kustomizations {
		for _, o := range renderAll(t)[k] {
			tpl, ok := PodTemplate(o.Typed)
			if !ok {
				continue
			}
			for _, c := range append(tpl.Spec.InitContainers, tpl.Spec.Containers...) {
				if _, ok := pinned(c.Image); !ok {
					t.Errorf("%s container %s: image %q has no version (a tag other than latest, or a digest)", o, c.Name, c.Image)
				}
				if strings.HasPrefix(c.Image, Image) && c.Image != want {
					t.Errorf("%s container %s: image %q, want %q as deploy/base pins it", o, c.Name, c.Image, want)
				}
			}
		}
	}
	root := testutil.RepoRoot(t)
	imageLine := regexp.MustCompile(`^\s*(?:-\s+)?image:\s*"?([^"\s]+)`)
	files, _ := filepath.Glob(filepath.Join(root, "deploy/*/*.yaml"))
	more, _ := filepath.Glob(filepath.Join(root, "deploy/overlays/*/*.yaml"))
	for _, f := range append(files, more...) {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for i, line := range strings.Split(string(b), "\n") {
			if m := imageLine.FindStringSubmatch(line); m != nil && strings.HasPrefix(m[1], Image) && m[1] != want {
				rel, _ := filepath.Rel(root, f)
				t.Errorf("%s:%d: image %q, want %q as deploy/base pins it", rel, i+1, m[1], want)
			}
		}
	}
}

// TestDockerfile checks the image build: pinned base images, a static
// binary, and a distroless nonroot runtime stage that runs as a numeric
// non-zero uid (so runAsNonRoot can verify it).
func TestDockerfile(t *testing.T) {
	f, err := os.Open(filepath.Join(testutil.RepoRoot(t), "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var froms []string
	var user string
	cgoOff := false
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		fields := strings.Fields(sc.Text())
		if len(fields) < 2 {
			continue
		}
		switch strings.ToUpper(fields[0]) {
		case "FROM":
			img := fields[1]
			for _, f := range fields[1:] {
				if !strings.HasPrefix(f, "--") {
					img = f
					break
				}
			}
			froms = append(froms, img)
			if _, ok := pinned(img); !ok {
				t.Errorf("Dockerfile:%d: base image %q is not pinned to a tag or digest", n, img)
			}
		case "USER":
			user = fields[1]
		case "RUN":
			cgoOff = cgoOff || strings.Contains(sc.Text(), "CGO_ENABLED=0")
		}
	}
	if len(froms) < 2 {
		t.Fatalf("Dockerfile: %d stages, want a build stage and a runtime stage", len(froms))
	}
	if last := froms[len(froms)-1]; !strings.HasPrefix(last, "gcr.io/distroless/static") || !strings.Contains(last, "nonroot") {
		t.Errorf("Dockerfile: runtime stage %q, want gcr.io/distroless/static…:nonroot", last)
	}
	if !cgoOff {
		t.Error("Dockerfile: no CGO_ENABLED=0 build: the distroless static image has no libc")
	}
	if uid, _, _ := strings.Cut(user, ":"); uid == "" || uid == "0" || strings.Trim(uid, "0123456789") != "" {
		t.Errorf("Dockerfile: USER %q, want a numeric non-zero uid", user)
	}
}
