package main

import (
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestOutDirectory checks that a build never deletes an output directory
// that held something before it: one that is not empty is refused before
// anything runs, while an empty one (as Bazel makes it) is used.
func TestOutDirectory(t *testing.T) {
	tests := []struct {
		name    string
		prepare func(t *testing.T, out string)
		wantErr string
	}{
		{
			name: "non-empty directory refused and kept",
			prepare: func(t *testing.T, out string) {
				os.Mkdir(out, 0o755)
				os.WriteFile(filepath.Join(out, "precious"), []byte("x"), 0o644)
			},
			wantErr: "not empty",
		},
		{
			name: "file refused and kept",
			prepare: func(t *testing.T, out string) {
				os.WriteFile(out, []byte("x"), 0o644)
			},
			wantErr: "not a directory",
		},
		{
			// The build then fails on the missing Containerfile.
			name:    "empty directory used",
			prepare: func(t *testing.T, out string) { os.Mkdir(out, 0o755) },
			wantErr: "no such file",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			out := filepath.Join(dir, "out")
			tc.prepare(t, out)
			before := listing(t, dir)
			err := run([]string{
				"--containerfile", filepath.Join(dir, "missing", "Containerfile"),
				"--stage", "build",
				"--out", out,
			}, io.Discard)
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("error %v, want one containing %q", err, tc.wantErr)
			}
			if tc.wantErr != "no such file" {
				if !strings.Contains(err.Error(), out) {
					t.Errorf("error %q does not name %s", err, out)
				}
				if after := listing(t, dir); after != before {
					t.Errorf("output changed:\n%s\nwas:\n%s", after, before)
				}
			}
		})
	}
}

// listing names every path under dir.
func listing(t *testing.T, dir string) string {
	t.Helper()
	var out []string
	err := filepath.Walk(dir, func(p string, fi os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		out = append(out, p)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return strings.Join(out, "\n")
}
