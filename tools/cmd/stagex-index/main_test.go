package main

import (
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stagex/stagex-bazel/tools/internal/cli"
	"github.com/stagex/stagex-bazel/tools/internal/ociimage"
)

func TestRun(t *testing.T) {
	dir := t.TempDir()
	var images []string
	for _, arch := range []string{"amd64", "arm64"} {
		p := filepath.Join(dir, arch)
		if _, err := ociimage.WriteImage(p, ociimage.Image{Config: ociimage.Config{OS: "linux", Architecture: arch}}); err != nil {
			t.Fatal(err)
		}
		images = append(images, p)
	}
	out, digestOut := filepath.Join(dir, "index"), filepath.Join(dir, "digest")
	tests := []struct {
		name string
		args []string
		code int
		want string // in the error
	}{
		{"no image", []string{"--out", out}, cli.ExitUsage, "at least one --image"},
		{"stray argument", []string{"--out", out, "--image", images[0], "x"}, cli.ExitUsage, `unexpected argument "x"`},
		{"not a layout", []string{"--out", filepath.Join(dir, "bad"), "--image", dir}, cli.ExitFailed, dir},
		{"two platforms", []string{"--out", out, "--digest-out", digestOut, "--name", "core-x", "--image", images[0], "--image", images[1]}, cli.ExitOK, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := run(tc.args, io.Discard)
			if code := cli.Exit("stagex-index", err, io.Discard); code != tc.code || (err != nil && !strings.Contains(err.Error(), tc.want)) {
				t.Errorf("run(%q) = %v (exit %d); want exit %d and %q", tc.args, err, code, tc.code, tc.want)
			}
		})
	}
	top, err := ociimage.TopDescriptor(out)
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(digestOut); string(got) != top.Digest.String()+"\n" {
		t.Errorf("digest file %q; index.json names %s", got, top.Digest)
	}
}
