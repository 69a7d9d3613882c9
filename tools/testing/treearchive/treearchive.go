// Package treearchive packs the end-to-end StageX tree (e2e/tree) as the
// release archives the e2e consumer imports with the stagex_tree extension,
// and checks the committed archives against the tree.
//
// An archive is the tree's directory written as an image layer is written
// (layer.WriteFull: names in walk order, PAX headers, owner 0:0 without
// names, times clamped to 1, compress/gzip), the same bytes on every run.
// Modes do not come from the checkout, which depends on the umask:
// directories and files executable by anyone are 0755, other files 0644.
// The archives are compared by their tar bytes, so a committed archive
// whose tar is unchanged is kept as it is, and its sha256 pin with it.
package treearchive

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"sort"
	"strings"

	"github.com/stagex/stagex-bazel/tools/internal/atomicfile"
	"github.com/stagex/stagex-bazel/tools/internal/layer"
)

// TreeName is the directory, under the e2e tree directory, that the
// archives hold.
const TreeName = "stagex-tree-e2e"

// entry is one file or directory of the tree, by its path in the archive.
type entry struct {
	name string // "stagex-tree-e2e/digests/core.txt"; directories end in '/'
	mode int64
	data []byte
}

// Tree is the e2e tree read into memory, in archive order.
type Tree struct {
	entries []entry
}

// Read reads the tree in dir/stagex-tree-e2e. Only directories and regular
// files may be there.
func Read(dir string) (*Tree, error) {
	t := &Tree{}
	if err := t.add(filepath.Join(dir, TreeName), TreeName); err != nil {
		return nil, err
	}
	return t, nil
}

// add appends the directory or file at p, named name in the archive, and
// the directory's contents sorted by name.
func (t *Tree) add(p, name string) error {
	fi, err := os.Lstat(p)
	if err != nil {
		return err
	}
	switch {
	case fi.Mode().IsRegular():
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		mode := int64(0o644)
		if fi.Mode().Perm()&0o111 != 0 {
			mode = 0o755
		}
		t.entries = append(t.entries, entry{name: name, mode: mode, data: data})
		return nil
	case fi.IsDir():
		t.entries = append(t.entries, entry{name: name + "/", mode: 0o755})
		des, err := os.ReadDir(p)
		if err != nil {
			return err
		}
		names := make([]string, len(des))
		for i, de := range des {
			names[i] = de.Name()
		}
		sort.Strings(names)
		for _, n := range names {
			if err := t.add(filepath.Join(p, n), name+"/"+n); err != nil {
				return err
			}
		}
		return nil
	}
	return fmt.Errorf("%s: %v: expected only directories and regular files in the e2e tree", p, fi.Mode().Type())
}

// clone returns a copy of t whose file contents may be changed.
func (t *Tree) clone() *Tree {
	c := &Tree{entries: append([]entry(nil), t.entries...)}
	return c
}

// file returns the entry of the file rel (relative to the tree's directory).
func (t *Tree) file(rel string) (*entry, error) {
	name := path.Join(TreeName, rel)
	for i := range t.entries {
		if t.entries[i].name == name {
			return &t.entries[i], nil
		}
	}
	return nil, fmt.Errorf("%s: no such file in the e2e tree", rel)
}

// replaceLines replaces every line of file rel that re matches whole by
// line, and fails when none does.
func (t *Tree) replaceLines(rel string, re *regexp.Regexp, line, what string) error {
	e, err := t.file(rel)
	if err != nil {
		return err
	}
	lines := strings.SplitAfter(string(e.data), "\n")
	n := 0
	for i, l := range lines {
		body := strings.TrimSuffix(l, "\n")
		if re.MatchString(body) {
			lines[i] = line + l[len(body):]
			n++
		}
	}
	if n == 0 {
		return fmt.Errorf("%s has no %s (a line matching %s)", rel, what, re)
	}
	e.data = []byte(strings.Join(lines, ""))
	return nil
}

// Archive is one archive the consumer imports: its file name in distdir
// and how its tree differs from the e2e tree.
type Archive struct {
	Name string
	// Why says what the consumer checks with it.
	Why  string
	edit func(*Tree) error
}

var (
	pinLine  = regexp.MustCompile(`^[0-9a-f]{64} core-hello$`)
	hashLine = regexp.MustCompile(`^hash = "[0-9a-f]{64}"$`)
)

// Archives are the archives of the e2e tree, in the order they are written.
var Archives = []Archive{
	{Name: "stagex-tree-e2e.tar.gz", Why: "the tree as it is",
		edit: func(*Tree) error { return nil }},
	{Name: "stagex-tree-e2e-mispinned.tar.gz", Why: "a wrong pin for core-hello: its digest test must fail",
		edit: func(t *Tree) error {
			return t.replaceLines("digests/core.txt", pinLine, strings.Repeat("0", 64)+" core-hello", "pin for core-hello")
		}},
	{Name: "stagex-tree-e2e-broken.tar.gz", Why: "a Containerfile line the translator rejects: using the tree must fail naming the file and line",
		edit: func(t *Tree) error {
			e, err := t.file("packages/core/hello/Containerfile")
			if err != nil {
				return err
			}
			e.data = append(append([]byte(nil), e.data...), "FROBNICATE the build\n"...)
			return nil
		}},
	{Name: "stagex-tree-e2e-unfetchable.tar.gz", Why: "the seed download pinned to a sha256 no file has: building stage0 must fail naming the file, package and sums",
		edit: func(t *Tree) error {
			return t.replaceLines("packages/bootstrap/stage0/package.toml", hashLine, `hash = "`+strings.Repeat("1", 64)+`"`, "source hash")
		}},
}

// build returns a's variant of t as a compressed archive, and the hex
// sha256 of its tar.
func (a Archive) build(t *Tree) (archive []byte, tarSum string, err error) {
	v := t.clone()
	if err := a.edit(v); err != nil {
		return nil, "", fmt.Errorf("%s: %w", a.Name, err)
	}
	tmp, err := os.MkdirTemp("", "stagex-tree-archive-")
	if err != nil {
		return nil, "", err
	}
	defer os.RemoveAll(tmp)
	if err := v.writeFiles(tmp); err != nil {
		return nil, "", err
	}
	var b bytes.Buffer
	res, err := layer.WriteFull(&b, tmp, layer.WriteOptions{})
	if err != nil {
		return nil, "", fmt.Errorf("%s: %w", a.Name, err)
	}
	return b.Bytes(), strings.TrimPrefix(res.DiffID, "sha256:"), nil
}

// writeFiles writes the entries under dir, with their modes.
func (t *Tree) writeFiles(dir string) error {
	for _, e := range t.entries {
		p := filepath.Join(dir, filepath.FromSlash(strings.TrimSuffix(e.name, "/")))
		var err error
		if strings.HasSuffix(e.name, "/") {
			err = os.Mkdir(p, 0o700)
		} else {
			err = os.WriteFile(p, e.data, 0o600)
		}
		if err == nil {
			err = os.Chmod(p, fs.FileMode(e.mode))
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// Result is what Write or Check found for one archive.
type Result struct {
	Name string
	// Sha256 is the hex sha256 of the archive file in distdir (the pin in
	// e2e/consumer/MODULE.bazel).
	Sha256 string
	// Written is set when Write wrote the file: its tar had changed.
	Written bool
}

// Write brings dir/distdir's archives up to date with the tree in dir:
// an archive whose tar bytes are those the tree gives is left as it is,
// any other is written again.
func Write(dir string) ([]Result, error) {
	return each(dir, func(a Archive, file string, archive []byte, want, have string) (Result, error) {
		res := Result{Name: a.Name}
		if have != want {
			if err := atomicfile.WriteFile(file, archive, 0o644); err != nil {
				return res, err
			}
			res.Written = true
		}
		sum, err := fileSum(file)
		res.Sha256 = sum
		return res, err
	})
}

// Check fails when an archive in dir/distdir is missing or its tar bytes
// are not those the tree in dir gives, naming the archive and both sha256s
// of the tar.
func Check(dir string) ([]Result, error) {
	return each(dir, func(a Archive, file string, _ []byte, want, have string) (Result, error) {
		res := Result{Name: a.Name}
		if have == "" {
			return res, fmt.Errorf("%s is missing; run stagex-tree-archive to write it", file)
		}
		if have != want {
			return res, fmt.Errorf("%s is stale: it holds a tar with sha256 %s, the tree gives sha256 %s; run stagex-tree-archive and put the sha256 it prints in e2e/consumer/MODULE.bazel",
				file, have, want)
		}
		sum, err := fileSum(file)
		res.Sha256 = sum
		return res, err
	})
}

// each reads the tree in dir and calls f for each archive with its file,
// the archive the tree gives, the sha256 of its tar and that of the tar the
// file holds ("" when missing).
func each(dir string, f func(a Archive, file string, archive []byte, want, have string) (Result, error)) ([]Result, error) {
	t, err := Read(dir)
	if err != nil {
		return nil, err
	}
	var out []Result
	for _, a := range Archives {
		archive, want, err := a.build(t)
		if err != nil {
			return out, err
		}
		file := filepath.Join(dir, "distdir", a.Name)
		have, err := tarSum(file)
		if err != nil {
			return out, err
		}
		res, err := f(a, file, archive, want, have)
		if err != nil {
			return out, err
		}
		out = append(out, res)
	}
	return out, nil
}

// tarSum returns the hex sha256 of the archive file's decompressed
// contents, or "" when there is no such file.
func tarSum(file string) (string, error) {
	f, err := os.Open(file)
	if errors.Is(err, fs.ErrNotExist) {
		return "", nil
	}
	if err != nil {
		return "", err
	}
	defer f.Close()
	r, err := layer.OpenArchive(f)
	if err != nil {
		return "", fmt.Errorf("%s: %w", file, err)
	}
	h := sha256.New()
	if _, err := io.Copy(h, r); err != nil {
		return "", fmt.Errorf("%s: %w", file, err)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

func fileSum(file string) (string, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:]), nil
}
