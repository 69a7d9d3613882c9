package main

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/stagex/stagex-bazel/tools/internal/ociimage"
)

func TestRun(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "layout")
	d, err := ociimage.WriteImage(dir, ociimage.Image{Config: ociimage.Config{OS: "linux", Architecture: "amd64"}})
	if err != nil {
		t.Fatal(err)
	}
	root := t.TempDir()
	pins := filepath.Join(root, "digests", "bootstrap.txt")
	// update's --root defaults to the workspace `bazel run` names.
	t.Setenv("BUILD_WORKSPACE_DIRECTORY", root)
	steps := []struct {
		name     string
		args     []string
		code     int
		contains string // in stdout or stderr
	}{
		{"no args", nil, 2, "usage"},
		{"unknown", []string{"frob"}, 2, `unknown subcommand "frob"`},
		{"check missing flag", []string{"check", "--pins", pins}, 2, "check needs --pins, --image and --layout"},
		{"check stray argument", []string{"check", "--pins", pins, "--image", "core-make", "--layout", dir, "x"}, 2, `unexpected argument "x"`},
		{"update without layouts", []string{"update"}, 2, "update needs at least one --layout"},
		{"update bad layout flag", []string{"update", "--layout", "core-make"}, 2, "NAME=DIR"},
		{"update layout twice", []string{"update", "--layout", "core-make=a", "--layout", "core-make=b"}, 2, "core-make given twice"},
		{"update from the environment's root", []string{"update", "--layout", "bootstrap-stage0=" + dir}, 0, "bootstrap-stage0: pinned " + d},
		{"check matches", []string{"check", "--pins", pins, "--image", "bootstrap-stage0", "--layout", dir}, 0, "matches"},
		{"check unpinned", []string{"check", "--pins", pins, "--image", "bootstrap-stage1", "--layout", dir}, 1, "stagex-digests: " + pins},
	}
	for _, s := range steps {
		var stdout, stderr bytes.Buffer
		code := run(s.args, &stdout, &stderr)
		out := stdout.String() + stderr.String()
		if code != s.code || !strings.Contains(out, s.contains) {
			t.Errorf("%s: exit %d, output %q; want exit %d and %q", s.name, code, out, s.code, s.contains)
		}
	}
	got, err := os.ReadFile(pins)
	if err != nil || string(got) != strings.TrimPrefix(d, "sha256:")+" bootstrap-stage0\n" {
		t.Errorf("bootstrap.txt = %q, %v", got, err)
	}
}

func TestParseRepin(t *testing.T) {
	t.Setenv("BUILD_WORKSPACE_DIRECTORY", "/ws")
	tests := []struct {
		name     string
		args     []string
		root     string
		patterns []string
		wantErr  string
	}{
		{"defaults", nil, "/ws", nil, ""},
		{"root and patterns", []string{"--root", "/r", "//packages/core/...", "@tree//packages/..."}, "/r", []string{"//packages/core/...", "@tree//packages/..."}, ""},
		{"not a pattern", []string{"packages/core"}, "", nil, `target pattern "packages/core"`},
		{"flag after a pattern", []string{"//packages/...", "--root", "/r"}, "", nil, `target pattern "--root"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			o, err := parseRepin(tc.args, io.Discard)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("parseRepin(%q) = %v; want an error saying %q", tc.args, err, tc.wantErr)
				}
				return
			}
			if err != nil || o.Root != tc.root || !slices.Equal(o.Patterns, tc.patterns) {
				t.Errorf("parseRepin(%q) = %+v, %v; want root %q, patterns %q", tc.args, o, err, tc.root, tc.patterns)
			}
		})
	}
}
