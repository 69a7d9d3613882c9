// Package lookaside reads and writes signatures in the "lookaside" (sigstore)
// directory layout that containers/image (podman, skopeo) reads:
//
//	<root>/<namespaces>/<name>@sha256=<hex>/signature-<n>
//
// where <namespaces>/<name> is the repository of the fully expanded image
// reference without its registry host, the digest's ':' is written as '=',
// and n counts from 1 with no gaps: readers stop at the first missing index.
package lookaside

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/stagex/stagex-bazel/tools/internal/regfile"
	"github.com/stagex/stagex-bazel/tools/internal/stagex"
)

// MaxSize is the largest signature file accepted. Larger files are refused
// before any of their content is parsed.
const MaxSize = 64 << 10

// ErrTooLarge marks a signature file over MaxSize.
var ErrTooLarge = fmt.Errorf("signature file is larger than %d bytes", MaxSize)

// SplitHost splits a docker reference into its registry host ("" when the
// first component is not a host) and the rest. As in docker's reference
// rules, a first component is a host when it holds '.' or ':' or is
// "localhost".
func SplitHost(ref string) (host, rest string) {
	first, after, ok := strings.Cut(ref, "/")
	if ok && (strings.ContainsAny(first, ".:") || first == "localhost") {
		return first, after
	}
	return "", ref
}

// RepoPath returns the repository path of a docker reference as used in the
// lookaside layout: the host, tag and digest are dropped, and a
// single-component name on Docker Hub gets the "library/" namespace.
func RepoPath(ref string) (string, error) {
	host, rest := SplitHost(ref)
	if i := strings.IndexByte(rest, '@'); i >= 0 {
		rest = rest[:i]
	}
	if i := strings.LastIndexByte(rest, ':'); i >= 0 && !strings.Contains(rest[i:], "/") {
		rest = rest[:i]
	}
	parts := strings.Split(rest, "/")
	for _, p := range parts {
		if !stagex.NamePattern.MatchString(p) {
			return "", fmt.Errorf("reference %q: repository component %q is not lowercase letters, digits and separators", ref, p)
		}
	}
	if len(parts) == 1 && (host == "" || host == "docker.io" || host == "index.docker.io") {
		parts = append([]string{"library"}, parts...)
	}
	return strings.Join(parts, "/"), nil
}

// Dir returns the directory holding the signatures of the image with
// manifest digest "sha256:<hex>" under reference ref.
func Dir(root, ref, digest string) (string, error) {
	repo, err := RepoPath(ref)
	if err != nil {
		return "", err
	}
	hex, err := stagex.ParseDigest(digest)
	if err != nil {
		return "", err
	}
	return filepath.Join(root, filepath.FromSlash(repo)+"@sha256="+hex), nil
}

// Signature is one stored signature file.
type Signature struct {
	Path  string
	Index int
	// Data is the file content; nil when Err is set.
	Data []byte
	// Err tells why the file could not be read (e.g. ErrTooLarge).
	Err error
}

// Read returns the signatures stored for an image, in index order, reading
// signature-1, signature-2, ... up to the first missing index. A missing
// directory means no signatures.
func Read(root, ref, digest string) ([]Signature, error) {
	dir, err := Dir(root, ref, digest)
	if err != nil {
		return nil, err
	}
	var sigs []Signature
	for n := 1; ; n++ {
		p := filepath.Join(dir, "signature-"+strconv.Itoa(n))
		data, err := readLimited(p)
		if errors.Is(err, fs.ErrNotExist) {
			return sigs, nil
		}
		sigs = append(sigs, Signature{Path: p, Index: n, Data: data, Err: err})
	}
}

func readLimited(p string) ([]byte, error) {
	f, st, err := regfile.Open(p)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if st.Size() > MaxSize {
		return nil, ErrTooLarge
	}
	data, err := io.ReadAll(io.LimitReader(f, MaxSize+1))
	if err != nil {
		return nil, err
	}
	if len(data) > MaxSize {
		return nil, ErrTooLarge
	}
	return data, nil
}

// Add stores data as the next signature of an image (the first free index)
// and returns its path. It never overwrites an existing file.
func Add(root, ref, digest string, data []byte) (string, error) {
	if len(data) > MaxSize {
		return "", ErrTooLarge
	}
	dir, err := Dir(root, ref, digest)
	if err != nil {
		return "", err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	for n := 1; ; n++ {
		p := filepath.Join(dir, "signature-"+strconv.Itoa(n))
		f, err := os.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
		if errors.Is(err, fs.ErrExist) {
			continue
		}
		if err != nil {
			return "", err
		}
		if _, err := f.Write(data); err != nil {
			f.Close()
			os.Remove(p)
			return "", err
		}
		if err := f.Close(); err != nil {
			os.Remove(p)
			return "", err
		}
		return p, nil
	}
}
