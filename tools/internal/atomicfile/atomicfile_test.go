package atomicfile

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestWriteFile(t *testing.T) {
	tests := []struct {
		name    string
		prepare func(t *testing.T, dir string) string // returns the file to write
		perm    os.FileMode
		wantErr string
	}{{
		name:    "new file in a new directory",
		prepare: func(t *testing.T, dir string) string { return filepath.Join(dir, "a", "b", "f.txt") },
		perm:    0o644,
	}, {
		name: "replaces an existing file and its mode",
		prepare: func(t *testing.T, dir string) string {
			p := filepath.Join(dir, "f.txt")
			if err := os.WriteFile(p, []byte("old contents, longer than the new"), 0o600); err != nil {
				t.Fatal(err)
			}
			return p
		},
		perm: 0o755,
	}, {
		name: "a directory in the way fails and leaves nothing",
		prepare: func(t *testing.T, dir string) string {
			p := filepath.Join(dir, "d")
			if err := os.MkdirAll(filepath.Join(p, "child"), 0o755); err != nil {
				t.Fatal(err)
			}
			return p
		},
		perm:    0o644,
		wantErr: "file exists",
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			name := tt.prepare(t, dir)
			err := WriteFile(name, []byte("new\n"), tt.perm)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("WriteFile: %v, want an error containing %q", err, tt.wantErr)
				}
			} else {
				if err != nil {
					t.Fatal(err)
				}
				got, err := os.ReadFile(name)
				if err != nil || string(got) != "new\n" {
					t.Fatalf("contents %q, %v; want %q", got, err, "new\n")
				}
				fi, _ := os.Stat(name)
				if fi.Mode().Perm() != tt.perm {
					t.Errorf("mode %v, want %v", fi.Mode().Perm(), tt.perm)
				}
			}
			// No temporary file is left beside it.
			des, err := os.ReadDir(filepath.Dir(name))
			if err != nil {
				t.Fatal(err)
			}
			for _, de := range des {
				if strings.Contains(de.Name(), ".tmp") {
					t.Errorf("temporary file %s left behind", de.Name())
				}
			}
		})
	}
}
