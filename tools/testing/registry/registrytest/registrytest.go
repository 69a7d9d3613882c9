// Package registrytest helps tests of pushing and pulling: a loopback
// registry that stops with the test, small synthetic image layouts, an
// address nothing listens on, and directory snapshots to compare layouts.
package registrytest

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"io/fs"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"testing"

	"github.com/stagex/stagex-bazel/tools/internal/ociimage"
	"github.com/stagex/stagex-bazel/tools/testing/registry"
)

// Start runs a registry on loopback until the test ends. wrap, if not nil,
// wraps its handler.
func Start(t testing.TB, wrap func(http.Handler) http.Handler) *registry.Server {
	t.Helper()
	s, err := registry.Start(registry.Options{Wrap: wrap})
	if err != nil {
		t.Fatalf("starting a registry: %v", err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("stopping the registry: %v", err)
		}
	})
	return s
}

// ClosedAddr returns a loopback host:port that nothing listens on (it was
// just released), so connecting to it is refused.
func ClosedAddr(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// Layout writes an OCI layout with one linux/amd64 image at dir: a single
// layer holding a file of size pseudo-random bytes drawn from seed (so the
// layer is about size bytes and does not compress), with entrypoint
// /payload. It returns the manifest digest.
func Layout(t testing.TB, dir string, size int, seed uint64) string {
	t.Helper()
	return LayoutFor(t, dir, size, seed, "amd64")
}

// LayoutFor is Layout for a linux image of another architecture.
func LayoutFor(t testing.TB, dir string, size int, seed uint64, arch string) string {
	t.Helper()
	payload := make([]byte, size)
	r := rand.New(rand.NewPCG(seed, seed^0x5eed))
	for i := range payload {
		payload[i] = byte(r.Uint32())
	}
	var tarBuf bytes.Buffer
	tw := tar.NewWriter(&tarBuf)
	if err := tw.WriteHeader(&tar.Header{Name: "payload", Mode: 0o755, Size: int64(size), Typeflag: tar.TypeReg, Format: tar.FormatPAX}); err != nil {
		t.Fatal(err)
	}
	if _, err := tw.Write(payload); err != nil {
		t.Fatal(err)
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	var gzBuf bytes.Buffer
	zw := gzip.NewWriter(&gzBuf)
	if _, err := zw.Write(tarBuf.Bytes()); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	layerFile := filepath.Join(t.TempDir(), "layer.tar.gz")
	if err := os.WriteFile(layerFile, gzBuf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	digest, err := ociimage.WriteImage(dir, ociimage.Image{Layers: []ociimage.Layer{{
		Path:   layerFile,
		Digest: "sha256:" + sum(gzBuf.Bytes()),
		DiffID: "sha256:" + sum(tarBuf.Bytes()),
		Size:   int64(gzBuf.Len()),
	}}, Config: ociimage.Config{OS: "linux", Architecture: arch, Entrypoint: []string{"/payload"}}})
	if err != nil {
		t.Fatal(err)
	}
	return digest
}

func sum(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// Files returns every regular file under root (following symbolic links to
// files, and root itself when it is one, as in Bazel's runfiles) by slash-separated relative path, with
// its content, and every directory with the content "<dir>".
func Files(t testing.TB, root string) map[string]string {
	t.Helper()
	out := map[string]string{}
	root, err := filepath.EvalSymlinks(root)
	if err != nil {
		t.Fatalf("reading %s: %v", root, err)
	}
	err = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		rel = filepath.ToSlash(rel)
		if d.IsDir() {
			out[rel] = "<dir>"
			return nil
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		out[rel] = string(data)
		return nil
	})
	if err != nil {
		t.Fatalf("reading %s: %v", root, err)
	}
	return out
}

// SameFiles fails the test when the files under a and b differ, naming the
// first differing paths.
func SameFiles(t testing.TB, a, b string) {
	t.Helper()
	ta, tb := Files(t, a), Files(t, b)
	for p, ca := range ta {
		cb, ok := tb[p]
		switch {
		case !ok:
			t.Errorf("%s is in %s but not in %s", p, a, b)
		case ca != cb:
			t.Errorf("%s differs between %s and %s", p, a, b)
		}
	}
	for p := range tb {
		if _, ok := ta[p]; !ok {
			t.Errorf("%s is in %s but not in %s", p, b, a)
		}
	}
}
