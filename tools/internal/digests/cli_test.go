package digests

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stagex/stagex-bazel/tools/internal/ociimage"
	"github.com/stagex/stagex-bazel/tools/internal/pinmanifest"
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

func TestCommand(t *testing.T) {
	amd, amdDigest := writeLayout(t, "amd64")
	arm, armDigest := writeLayout(t, "arm64")
	root := t.TempDir()
	pins := filepath.Join(root, "digests", "core.txt")

	steps := []struct {
		name     string
		args     []string
		code     int
		contains string
	}{
		{"no args", nil, 2, "usage"},
		{"unknown", []string{"frob"}, 2, "unknown subcommand"},
		{"check missing flag", []string{"check", "--pins", pins}, 2, "usage"},
		{"check without pin file", []string{"check", "--pins", pins, "--image", "core-make", "--layout", amd}, 1, "core.txt"},
		{"update bad layout flag", []string{"update", "--root", root, "--layout", "core-make"}, 2, "NAME=DIR"},
		{"update pins", []string{"update", "--root", root, "--layout", "core-make=" + amd}, 0, "core-make: pinned " + amdDigest},
		{"check matches", []string{"check", "--pins", pins, "--image", "core-make", "--layout", amd}, 0, "matches"},
		{"check changed", []string{"check", "--pins", pins, "--image", "core-make", "--layout", arm}, 1,
			"digest of core-make changed: pinned " + amdDigest + ", built " + armDigest},
		{"check unpinned", []string{"check", "--pins", pins, "--image", "core-zlib", "--layout", amd}, 1, "no pinned digest for core-zlib"},
		{"update re-pins", []string{"update", "--root", root, "--layout", "core-make=" + arm, "--layout", "core-acl=" + amd}, 0,
			"core-make: " + amdDigest + " -> " + armDigest},
		{"update unchanged", []string{"update", "--root", root, "--layout", "core-make=" + arm}, 0, "core-make: unchanged"},
		{"update not a layout", []string{"update", "--root", root, "--layout", "core-make=" + root}, 1, "core-make:"},
	}
	for _, s := range steps {
		var stdout, stderr bytes.Buffer
		code := Command(s.args, &stdout, &stderr)
		out := stdout.String() + stderr.String()
		if code != s.code || !strings.Contains(out, s.contains) {
			t.Errorf("%s: exit %d, output %q; want exit %d and %q", s.name, code, out, s.code, s.contains)
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
}

func TestUpdateRootFromEnv(t *testing.T) {
	dir, d := writeLayout(t, "amd64")
	root := t.TempDir()
	t.Setenv("BUILD_WORKSPACE_DIRECTORY", root)
	var stdout, stderr bytes.Buffer
	if code := Command([]string{"update", "--layout", "bootstrap-stage0=" + dir}, &stdout, &stderr); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	got, err := os.ReadFile(filepath.Join(root, "digests", "bootstrap.txt"))
	if err != nil || string(got) != strings.TrimPrefix(d, "sha256:")+" bootstrap-stage0\n" {
		t.Errorf("bootstrap.txt = %q, %v", got, err)
	}
}

// repinTrees writes each image's pin into the file its digest test reads,
// per tree, and refuses an entry whose pin file is not where the image's
// stage puts it, or an image built twice with different digests.
func TestRepinTrees(t *testing.T) {
	amd, amdDigest := writeLayout(t, "amd64")
	arm, armDigest := writeLayout(t, "arm64")
	hexOf := func(d string) string { return strings.TrimPrefix(d, "sha256:") }
	tests := []struct {
		name      string
		trees     map[string][]pinmanifest.Entry
		wantFiles map[string]string // path under root -> content
		wantErr   string
	}{
		{
			name: "two trees",
			trees: map[string][]pinmanifest.Entry{
				".":        {{Image: "core-a", Label: "//packages/core/a:a_digest_test", Layout: amd, Pins: "digests/core.txt"}},
				"fixtures": {{Image: "user-b", Label: "//fixtures/packages/user/b:b_digest_test", Layout: arm, Pins: "fixtures/digests/user.txt"}},
			},
			wantFiles: map[string]string{
				"digests/core.txt":          hexOf(amdDigest) + " core-a\n",
				"fixtures/digests/user.txt": hexOf(armDigest) + " user-b\n",
			},
		},
		{
			name: "pin file of another stage",
			trees: map[string][]pinmanifest.Entry{
				".":   {{Image: "core-a", Label: "//packages/core/a:a_digest_test", Layout: amd, Pins: "digests/core.txt"}},
				"zzz": {{Image: "core-z", Label: "//zzz/packages/core/z:z_digest_test", Layout: amd, Pins: "zzz/digests/user.txt"}},
			},
			wantErr: "but its pins belong in",
		},
		{
			name: "built twice, differently",
			trees: map[string][]pinmanifest.Entry{
				".": {
					{Image: "core-a", Label: "//packages/core/a:a_digest_test", Layout: amd, Pins: "digests/core.txt"},
					{Image: "core-a", Label: "//packages/core/a:other_digest_test", Layout: arm, Pins: "digests/core.txt"},
				},
			},
			wantErr: "image core-a is built as " + amdDigest,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			root := t.TempDir()
			var out strings.Builder
			err := repinTrees(root, tc.trees, &out)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error %v, want one saying %q", err, tc.wantErr)
				}
				if _, statErr := os.Stat(filepath.Join(root, "digests")); statErr == nil {
					t.Errorf("a pin file was written although the run failed")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			for rel, want := range tc.wantFiles {
				got, err := os.ReadFile(filepath.Join(root, rel))
				if err != nil {
					t.Fatal(err)
				}
				if string(got) != want {
					t.Errorf("%s = %q, want %q", rel, got, want)
				}
			}
		})
	}
}
