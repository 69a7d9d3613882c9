// Package digestfile reads StageX digest files: one image per line,
// "<sha256 hex> <stage>-<name>", sorted by image name.
package digestfile

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"os"
	"regexp"
	"strings"

	"github.com/stagex/stagex-bazel/tools/diag"
)

// Entry is one pinned image.
type Entry struct {
	// Name is the image name as written in the file, e.g. "core-busybox".
	Name string
	// Stage is the part of Name before the first '-', e.g. "core".
	Stage string
	// Digest is the manifest digest in "sha256:<hex>" form.
	Digest string
	// Line is the 1-based line of the entry in its file (0 when built in code).
	Line int
}

// Hex returns the hex part of the digest.
func (e Entry) Hex() string { return strings.TrimPrefix(e.Digest, "sha256:") }

// File is a parsed digest file.
type File struct {
	// Path is the name the file was read under, used in messages.
	Path    string
	Entries []Entry
}

// Lookup returns the entry for image name.
func (f *File) Lookup(name string) (Entry, bool) {
	for _, e := range f.Entries {
		if e.Name == name {
			return e, true
		}
	}
	return Entry{}, false
}

var (
	hexRE = regexp.MustCompile(`^[0-9a-f]{64}$`)
	// A repository path component as container registries accept it.
	nameRE = regexp.MustCompile(`^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$`)
)

// Load reads and parses the digest file at path.
func Load(path string) (*File, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return Parse(path, bytes.NewReader(data))
}

// Parse reads a digest file; name is used in error messages. Empty lines are
// skipped; any other line must be "<64 lowercase hex> <stage>-<name>", and
// names must be strictly increasing.
func Parse(name string, r io.Reader) (*File, error) {
	f := &File{Path: name, Entries: []Entry{}}
	sc := bufio.NewScanner(r)
	line := 0
	prev := ""
	for sc.Scan() {
		line++
		text := sc.Text()
		if strings.TrimSpace(text) == "" {
			continue
		}
		fields := strings.Fields(text)
		if len(fields) != 2 {
			return nil, diag.Errorf(name, line, "expected \"<sha256 hex> <stage>-<name>\", got %d fields", len(fields))
		}
		hex, img := fields[0], fields[1]
		if !hexRE.MatchString(hex) {
			return nil, diag.Errorf(name, line, "expected 64 lowercase hex digits as the digest, got %q", hex)
		}
		e, err := ParseName(img)
		if err != nil {
			return nil, diag.Errorf(name, line, "%v", err)
		}
		if prev != "" && img <= prev {
			if img == prev {
				return nil, diag.Errorf(name, line, "image %s is listed twice", img)
			}
			return nil, diag.Errorf(name, line, "not sorted: %s comes after %s", img, prev)
		}
		prev = img
		e.Digest = "sha256:" + hex
		e.Line = line
		f.Entries = append(f.Entries, e)
	}
	if err := sc.Err(); err != nil {
		return nil, diag.Errorf(name, line+1, "%v", err)
	}
	return f, nil
}

// ParseName splits an image name "<stage>-<name>" into an Entry with Name
// and Stage set.
func ParseName(img string) (Entry, error) {
	stage, rest, ok := strings.Cut(img, "-")
	if !ok || stage == "" || rest == "" || !nameRE.MatchString(img) {
		return Entry{}, fmt.Errorf("expected an image name \"<stage>-<name>\" of lowercase letters, digits and . _ -, got %q", img)
	}
	return Entry{Name: img, Stage: stage}, nil
}

// ParseDigest checks a "sha256:<hex>" digest and returns it unchanged.
func ParseDigest(d string) (string, error) {
	hex, ok := strings.CutPrefix(d, "sha256:")
	if !ok || !hexRE.MatchString(hex) {
		return "", fmt.Errorf("expected a digest \"sha256:<64 lowercase hex>\", got %q", d)
	}
	return d, nil
}
