package digests

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stagex/stagex-bazel/tools/internal/ociimage"
)

// writeLayout writes an OCI layout with no layers for arch and returns its
// directory and manifest digest.
func writeLayout(t *testing.T, arch string) (string, string) {
	t.Helper()
	dir := filepath.Join(t.TempDir(), arch)
	d, err := ociimage.WriteImage(dir, ociimage.Image{Config: ociimage.Config{OS: "linux", Architecture: arch}})
	if err != nil {
		t.Fatal(err)
	}
	return dir, d
}

func TestCheckAndUpdateLayouts(t *testing.T) {
	amd, amdDigest := writeLayout(t, "amd64")
	arm, armDigest := writeLayout(t, "arm64")
	root := t.TempDir()
	pins := filepath.Join(root, "digests", "core.txt")
	check := func(image, layout string) func(io.Writer) error {
		return func(out io.Writer) error {
			return CheckLayout(CheckOptions{Pins: pins, Image: image, Layout: layout, Out: out})
		}
	}
	update := func(layouts map[string]string) func(io.Writer) error {
		return func(out io.Writer) error { return UpdateLayouts(UpdateOptions{Root: root, Layouts: layouts, Out: out}) }
	}

	steps := []struct {
		name     string
		run      func(io.Writer) error
		ok       bool
		contains string // in the output or the error
	}{
		{"check without pin file", check("core-make", amd), false, "core.txt"},
		{"update pins", update(map[string]string{"core-make": amd}), true, "core-make: pinned " + amdDigest},
		{"check matches", check("core-make", amd), true, "core-make: " + amdDigest + " matches " + pins},
		{"check changed", check("core-make", arm), false, "digest of core-make changed: pinned " + amdDigest + ", built " + armDigest},
		{"check unpinned", check("core-zlib", amd), false, "no pinned digest for core-zlib"},
		{"update re-pins", update(map[string]string{"core-make": arm, "core-acl": amd}), true, "core-make: " + amdDigest + " -> " + armDigest},
		{"update unchanged", update(map[string]string{"core-make": arm}), true, "core-make: unchanged"},
		{"update not a layout", update(map[string]string{"core-make": root}), false, "core-make:"},
	}
	for _, s := range steps {
		var out bytes.Buffer
		err := s.run(&out)
		text := out.String()
		if err != nil {
			text += err.Error()
		}
		if (err == nil) != s.ok || !strings.Contains(text, s.contains) {
			t.Errorf("%s: error %v, output %q; want ok=%v and %q", s.name, err, out.String(), s.ok, s.contains)
		}
	}
	got, err := os.ReadFile(pins)
	if err != nil {
		t.Fatal(err)
	}
	want := strings.TrimPrefix(amdDigest, "sha256:") + " core-acl\n" + strings.TrimPrefix(armDigest, "sha256:") + " core-make\n"
	if string(got) != want {
		t.Errorf("core.txt =\n%s\nwant\n%s", got, want)
	}
	if err := UpdateLayouts(UpdateOptions{Layouts: map[string]string{"core-make": arm}, Out: io.Discard}); err == nil || !strings.Contains(err.Error(), "no workspace root") {
		t.Errorf("update without a root: %v", err)
	}
}
