package digests

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stagex/stagex-bazel/tools/internal/pinmanifest"
)

// repinTrees writes each image's pin into the file its digest test reads,
// per tree, and refuses an entry whose pin file is not where the image's
// tier puts it, or an image built twice with different digests.
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
			name: "pin file of another tier",
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

// Repin needs a workspace root, and fails, naming the command, when Bazel
// does; no pin file is written then.
func TestRepinErrors(t *testing.T) {
	root := t.TempDir()
	tests := []struct {
		name string
		o    RepinOptions
		want string
	}{
		{"no root", RepinOptions{}, "no workspace root"},
		{"bazel fails", RepinOptions{Root: root, Bazel: "false", Patterns: []string{"//packages/core/..."}}, "false build --output_groups=stagex_pins"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var out, log strings.Builder
			tc.o.Out, tc.o.Log = &out, &log
			err := Repin(tc.o)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Repin: %v; want an error saying %q", err, tc.want)
			}
			if _, statErr := os.Stat(filepath.Join(root, "digests")); statErr == nil {
				t.Errorf("a pin file was written although the run failed")
			}
		})
	}
}
