package main

import (
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stagex/stagex-bazel/tools/internal/cli"
	"github.com/stagex/stagex-bazel/tools/internal/sandbox"
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

func TestParse(t *testing.T) {
	dir := t.TempDir()
	params := filepath.Join(dir, "params")
	if err := os.WriteFile(params, []byte("--stage\npackage\n--context\nsrc/a.txt=/x/a\n--build-arg\nV=1 2\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	args, err := cli.ExpandParams([]string{"--containerfile", "C", "@" + params, "--out", "o.oci", "--image", "stagex/core-x=dir"})
	if err != nil {
		t.Fatal(err)
	}
	o, err := parse(args, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if o.Containerfile != "C" || o.Stage != "package" || o.Out != "o.oci" || o.Platform != "linux/amd64" ||
		o.Context["src/a.txt"] != "/x/a" || o.BuildArgs["V"] != "1 2" || o.Images["stagex/core-x"] != "dir" ||
		o.MaxProcesses != sandbox.DefaultMaxProcesses {
		t.Errorf("parse(%q) = %+v", args, o)
	}
	for _, tt := range []struct {
		args []string
		err  string
	}{
		{[]string{"--stage", "s", "--out", "o"}, "--containerfile is required"},
		{[]string{"--containerfile", "c", "--out", "o"}, "--stage is required"},
		{[]string{"--containerfile", "c", "--stage", "s"}, "--out is required"},
		{[]string{"--containerfile", "c", "--stage", "s", "--out", "o", "--context", "novalue"}, `invalid value "novalue" for flag -context: expected PATH=FILE`},
		{[]string{"--containerfile", "c", "--stage", "s", "--out", "o", "--build-arg", "A=1", "--build-arg", "A=2"}, `invalid value "A=2" for flag -build-arg: A given twice`},
		{[]string{"--containerfile", "c", "--stage", "s", "--out", "o", "extra"}, `unexpected argument "extra"`},
		{[]string{"--containerfile", "c", "--stage", "s", "--out", "o", "--max-processes", "299"}, "--max-processes 299: expected at least 300"},
		{[]string{"--containerfile", "c", "--stage", "s", "--out", "o", "--max-processes", "0"}, "--max-processes 0: expected at least 300"},
	} {
		if _, err := parse(tt.args, io.Discard); err == nil || !strings.Contains(err.Error(), tt.err) {
			t.Errorf("parse(%q) error = %v, want %q", tt.args, err, tt.err)
		}
	}
	if o, err := parse([]string{"--containerfile", "c", "--stage", "s", "--out", "o", "--max-processes", "500"}, io.Discard); err != nil || o.MaxProcesses != 500 {
		t.Errorf("--max-processes 500: %d, %v", o.MaxProcesses, err)
	}
	if _, err := cli.ExpandParams([]string{"@" + filepath.Join(dir, "missing")}); err == nil {
		t.Error("ExpandParams of a missing parameter file succeeded")
	}
}
