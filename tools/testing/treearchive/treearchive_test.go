package treearchive

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const (
	pin  = "4444444444444444444444444444444444444444444444444444444444444444"
	hash = "5555555555555555555555555555555555555555555555555555555555555555"
)

// writeTree writes a small e2e tree under a new directory and returns it.
func writeTree(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	files := map[string]string{
		"README.md":                              "the e2e tree\n",
		"digests/core.txt":                       pin + " core-hello\n" + pin + " core-other\n",
		"packages/core/hello/Containerfile":      "FROM scratch\n",
		"packages/core/hello/package.toml":       "[package]\nname = \"hello\"\n",
		"packages/bootstrap/stage0/package.toml": "[sources.seed]\nhash = \"" + hash + "\"\n",
		"packages/bootstrap/stage0/run.sh":       "#!/bin/sh\n",
		"packages/core/a-b/package.toml":         "",
		"packages/core/a/package.toml":           "",
	}
	for rel, text := range files {
		p := filepath.Join(dir, TreeName, rel)
		if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
			t.Fatal(err)
		}
		mode := os.FileMode(0o600)
		if strings.HasSuffix(rel, ".sh") {
			mode = 0o700
		}
		if err := os.WriteFile(p, []byte(text), mode); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Mkdir(filepath.Join(dir, "distdir"), 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// TestArchiveForm checks the headers of an archive: the tree's own
// directory first, parents before their contents, modes that do not
// depend on the checkout's (writeTree makes 0600 and 0700 files), owner
// 0:0 without names, times at 1.
func TestArchiveForm(t *testing.T) {
	dir := writeTree(t)
	tr, err := Read(dir)
	if err != nil {
		t.Fatal(err)
	}
	archive, sum, err := Archives[0].build(tr)
	if err != nil {
		t.Fatal(err)
	}
	zr, err := gzip.NewReader(bytes.NewReader(archive))
	if err != nil {
		t.Fatal(err)
	}
	raw, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	if got := fmt.Sprintf("%x", sha256.Sum256(raw)); got != sum {
		t.Errorf("tar sha256 %s, build says %s", got, sum)
	}
	want := []struct {
		name string
		mode int64
	}{
		{TreeName + "/", 0o755},
		{TreeName + "/README.md", 0o644},
		{TreeName + "/digests/", 0o755},
		{TreeName + "/digests/core.txt", 0o644},
		{TreeName + "/packages/", 0o755},
		{TreeName + "/packages/bootstrap/", 0o755},
		{TreeName + "/packages/bootstrap/stage0/", 0o755},
		{TreeName + "/packages/bootstrap/stage0/package.toml", 0o644},
		{TreeName + "/packages/bootstrap/stage0/run.sh", 0o755},
		{TreeName + "/packages/core/", 0o755},
		{TreeName + "/packages/core/a/", 0o755},
		{TreeName + "/packages/core/a/package.toml", 0o644},
		{TreeName + "/packages/core/a-b/", 0o755},
		{TreeName + "/packages/core/a-b/package.toml", 0o644},
		{TreeName + "/packages/core/hello/", 0o755},
		{TreeName + "/packages/core/hello/Containerfile", 0o644},
		{TreeName + "/packages/core/hello/package.toml", 0o644},
	}
	r := tar.NewReader(bytes.NewReader(raw))
	for i := 0; ; i++ {
		h, err := r.Next()
		if err == io.EOF {
			if i != len(want) {
				t.Errorf("%d entries, want %d", i, len(want))
			}
			return
		}
		if err != nil {
			t.Fatal(err)
		}
		if i >= len(want) {
			t.Fatalf("entry %d %s: more entries than the tree has", i, h.Name)
		}
		w := want[i]
		if h.Name != w.name || h.Mode != w.mode || h.Uid != 0 || h.Gid != 0 || h.Uname != "" || h.Gname != "" || h.ModTime.Unix() != 1 {
			t.Errorf("entry %d: %s mode %o owner %d:%d (%q:%q) mtime %d; want %s mode %o owner 0:0 without names, mtime 1",
				i, h.Name, h.Mode, h.Uid, h.Gid, h.Uname, h.Gname, h.ModTime.Unix(), w.name, w.mode)
		}
	}
}

// files returns the regular files of a gzipped tar, by name.
func files(t *testing.T, file string) map[string]string {
	t.Helper()
	f, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	r := tar.NewReader(zr)
	for {
		h, err := r.Next()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		data, _ := io.ReadAll(r)
		if h.Typeflag == tar.TypeReg {
			out[strings.TrimPrefix(h.Name, TreeName+"/")] = string(data)
		}
	}
}

func TestWriteAndCheck(t *testing.T) {
	dir := writeTree(t)
	if _, err := Check(dir); err == nil || !strings.Contains(err.Error(), "stagex-tree-e2e.tar.gz is missing") {
		t.Fatalf("Check with no archives: %v", err)
	}
	res, err := Write(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(res) != len(Archives) {
		t.Fatalf("Write: %d results, want %d", len(res), len(Archives))
	}
	for _, r := range res {
		if !r.Written || len(r.Sha256) != 64 {
			t.Errorf("first Write: %+v; want written with a sha256", r)
		}
	}

	// What each variant changes, and nothing else.
	base := files(t, filepath.Join(dir, "distdir", Archives[0].Name))
	changed := map[string]struct{ file, text string }{
		"stagex-tree-e2e-mispinned.tar.gz":   {"digests/core.txt", strings.Repeat("0", 64) + " core-hello\n" + pin + " core-other\n"},
		"stagex-tree-e2e-broken.tar.gz":      {"packages/core/hello/Containerfile", "FROM scratch\nFROBNICATE the build\n"},
		"stagex-tree-e2e-unfetchable.tar.gz": {"packages/bootstrap/stage0/package.toml", "[sources.seed]\nhash = \"" + strings.Repeat("1", 64) + "\"\n"},
	}
	for name, c := range changed {
		got := files(t, filepath.Join(dir, "distdir", name))
		for f, text := range base {
			want := text
			if f == c.file {
				want = c.text
			}
			if got[f] != want {
				t.Errorf("%s: %s = %q, want %q", name, f, got[f], want)
			}
		}
	}

	// Unchanged archives are kept, bytes and pins.
	again, err := Write(dir)
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range again {
		if r.Written || r.Sha256 != res[i].Sha256 {
			t.Errorf("second Write: %+v; want %s kept", r, res[i].Sha256)
		}
	}
	if _, err := Check(dir); err != nil {
		t.Errorf("Check after Write: %v", err)
	}

	// A changed tree makes the archives stale.
	if err := os.WriteFile(filepath.Join(dir, TreeName, "README.md"), []byte("changed\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err = Check(dir)
	if err == nil || !strings.Contains(err.Error(), "stagex-tree-e2e.tar.gz is stale: it holds a tar with sha256 ") || !strings.Contains(err.Error(), "the tree gives sha256 ") {
		t.Errorf("Check of a changed tree: %v", err)
	}
}

func TestTreeErrors(t *testing.T) {
	tests := []struct {
		name    string
		prepare func(t *testing.T, tree string)
		want    string
	}{
		{"no pin for core-hello", func(t *testing.T, tree string) {
			os.WriteFile(filepath.Join(tree, "digests/core.txt"), []byte(pin+" core-other\n"), 0o644)
		}, "digests/core.txt has no pin for core-hello"},
		{"no source hash", func(t *testing.T, tree string) {
			os.WriteFile(filepath.Join(tree, "packages/bootstrap/stage0/package.toml"), []byte("[package]\n"), 0o644)
		}, "packages/bootstrap/stage0/package.toml has no source hash"},
		{"no Containerfile", func(t *testing.T, tree string) {
			os.Remove(filepath.Join(tree, "packages/core/hello/Containerfile"))
		}, "packages/core/hello/Containerfile: no such file"},
		{"a symbolic link", func(t *testing.T, tree string) {
			os.Symlink("README.md", filepath.Join(tree, "link"))
		}, "expected only directories and regular files"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := writeTree(t)
			tc.prepare(t, filepath.Join(dir, TreeName))
			if _, err := Write(dir); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Write: %v; want %q", err, tc.want)
			}
		})
	}
}

// TestCommittedArchives checks e2e/tree/distdir against e2e/tree, as
// tools/scripts/e2e.sh does, when the source tree is at hand (go test).
func TestCommittedArchives(t *testing.T) {
	dir := filepath.Join("..", "..", "..", "e2e", "tree")
	if _, err := os.Stat(filepath.Join(dir, TreeName)); err != nil {
		t.Skipf("no e2e tree at %s (Bazel runs this test without it): %v", dir, err)
	}
	if _, err := Check(dir); err != nil {
		t.Error(err)
	}
}
