// Package treearchive packs the end-to-end StageX tree (e2e/tree) as the
// release archives the e2e consumer imports with the stagex_tree extension,
// and checks the committed archives against the tree.
//
// An archive is a tar in GNU format holding the tree's directory, the same
// bytes on every run: names sorted, each directory followed by its
// contents; modification time 1; owner and group 0 with no names; mode 0755
// for directories and for files executable by anyone, 0644 for the other
// files; the end padded to a 10240-byte record. These are the bytes
// `tar --sort=name --mtime=@1 --owner=0 --group=0 --numeric-owner
// --mode=a+rX,u+w,go-w --format=gnu` writes, which made the committed
// archives. The archives are compared by their tar bytes, so a committed
// archive whose tar is unchanged is kept as it is, and its sha256 pin with
// it; a changed one is written again with compress/gzip.
package treearchive

import (
	"bytes"
	"compress/gzip"
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

// Tar returns the tar bytes of a's variant of t.
func (a Archive) Tar(t *Tree) ([]byte, error) {
	v := t.clone()
	if err := a.edit(v); err != nil {
		return nil, fmt.Errorf("%s: %w", a.Name, err)
	}
	return v.tar()
}

// tar writes the entries as GNU tar does (see the package comment).
func (t *Tree) tar() ([]byte, error) {
	var b bytes.Buffer
	for _, e := range t.entries {
		typ := byte('0')
		if strings.HasSuffix(e.name, "/") {
			typ = '5'
		}
		h, err := header(e.name, e.mode, int64(len(e.data)), typ)
		if err != nil {
			return nil, err
		}
		b.Write(h)
		b.Write(e.data)
		if r := len(e.data) % blockSize; r != 0 {
			b.Write(make([]byte, blockSize-r))
		}
	}
	b.Write(make([]byte, 2*blockSize))
	if r := b.Len() % recordSize; r != 0 {
		b.Write(make([]byte, recordSize-r))
	}
	return b.Bytes(), nil
}

const (
	blockSize  = 512
	recordSize = 20 * blockSize
)

// header returns the GNU tar header of a file or directory owned by 0:0
// with no owner names, modified at time 1.
func header(name string, mode, size int64, typ byte) ([]byte, error) {
	if len(name) > 100 {
		return nil, fmt.Errorf("%s: name longer than 100 bytes; the e2e tree's archives have no long-name records", name)
	}
	h := make([]byte, blockSize)
	copy(h[0:100], name)
	octal := func(field []byte, v int64) { copy(field, fmt.Sprintf("%0*o\x00", len(field)-1, v)) }
	octal(h[100:108], mode)
	octal(h[108:116], 0) // uid
	octal(h[116:124], 0) // gid
	octal(h[124:136], size)
	octal(h[136:148], 1) // mtime
	h[156] = typ
	copy(h[257:265], "ustar  \x00")
	copy(h[148:156], "        ") // the checksum counts its own field as spaces
	var sum int64
	for _, c := range h {
		sum += int64(c)
	}
	copy(h[148:156], fmt.Sprintf("%06o\x00 ", sum))
	return h, nil
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
	return each(dir, func(a Archive, file string, want []byte, have []byte) (Result, error) {
		res := Result{Name: a.Name}
		if have == nil || !bytes.Equal(have, want) {
			var gz bytes.Buffer
			zw, err := gzip.NewWriterLevel(&gz, gzip.BestCompression)
			if err != nil {
				return res, err
			}
			zw.Write(want)
			if err := zw.Close(); err != nil {
				return res, err
			}
			if err := os.WriteFile(file, gz.Bytes(), 0o644); err != nil {
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
	return each(dir, func(a Archive, file string, want []byte, have []byte) (Result, error) {
		res := Result{Name: a.Name}
		if have == nil {
			return res, fmt.Errorf("%s is missing; run stagex-tree-archive to write it", file)
		}
		if !bytes.Equal(have, want) {
			return res, fmt.Errorf("%s is stale: it holds a tar with sha256 %s, the tree gives sha256 %s; run stagex-tree-archive and put the sha256 it prints in e2e/consumer/MODULE.bazel",
				file, hexSum(have), hexSum(want))
		}
		sum, err := fileSum(file)
		res.Sha256 = sum
		return res, err
	})
}

// each reads the tree in dir and calls f for each archive with its file,
// the tar the tree gives and the tar the file holds (nil when missing).
func each(dir string, f func(a Archive, file string, want, have []byte) (Result, error)) ([]Result, error) {
	t, err := Read(dir)
	if err != nil {
		return nil, err
	}
	var out []Result
	for _, a := range Archives {
		want, err := a.Tar(t)
		if err != nil {
			return out, err
		}
		file := filepath.Join(dir, "distdir", a.Name)
		have, err := readTar(file)
		if err != nil {
			return out, err
		}
		res, err := f(a, file, want, have)
		if err != nil {
			return out, err
		}
		out = append(out, res)
	}
	return out, nil
}

// readTar returns the decompressed contents of the archive file, or nil
// when there is no such file.
func readTar(file string) ([]byte, error) {
	f, err := os.Open(file)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	r, err := layer.OpenArchive(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	return data, nil
}

func fileSum(file string) (string, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return "", err
	}
	return hexSum(data), nil
}

func hexSum(data []byte) string {
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:])
}
