// Package gzipcmp compares gzip settings for layer writing. Each setting
// compresses a tar stream the way tools/internal/layer writes layers: the
// uncompressed bytes go through sha256 (the diff ID) while they are
// compressed, and the compressed bytes through another sha256 (the
// digest). A setting is usable for layers only if its output depends on
// nothing but the input bytes: not on how the input is cut into writes,
// nor on the number of processors or goroutine timing.
package gzipcmp

import (
	"archive/tar"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	kgzip "github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
	"github.com/klauspost/pgzip"

	"github.com/stagex/stagex-bazel/tools/internal/stagex"
)

// Setting is one way to compress.
type Setting struct {
	Name string
	// Kind is "pgzip" (github.com/klauspost/pgzip, blocks compressed in
	// parallel), "kgzip" (github.com/klauspost/compress/gzip, one
	// stream), "stdlib" (compress/gzip) or "zstd"
	// (github.com/klauspost/compress/zstd at the given EncoderLevel, for
	// comparison: a tar+zstd layer is another media type).
	Kind  string
	Level int
	// BlockSize and Blocks are pgzip's SetConcurrency arguments.
	BlockSize, Blocks int
}

// Settings are the candidates measured. The first is what tools/internal/layer
// uses today.
var Settings = []Setting{
	{Name: "pgzip-l1-1MiB-x4", Kind: "pgzip", Level: 1, BlockSize: 1 << 20, Blocks: 4},
	{Name: "pgzip-l1-1MiB-x16", Kind: "pgzip", Level: 1, BlockSize: 1 << 20, Blocks: 16},
	{Name: "pgzip-l1-256KiB-x16", Kind: "pgzip", Level: 1, BlockSize: 256 << 10, Blocks: 16},
	{Name: "pgzip-l1-4MiB-x4", Kind: "pgzip", Level: 1, BlockSize: 4 << 20, Blocks: 4},
	{Name: "pgzip-l1-8MiB-x2", Kind: "pgzip", Level: 1, BlockSize: 8 << 20, Blocks: 2},
	{Name: "pgzip-l2-1MiB-x4", Kind: "pgzip", Level: 2, BlockSize: 1 << 20, Blocks: 4},
	{Name: "pgzip-huffman-1MiB-x4", Kind: "pgzip", Level: pgzip.HuffmanOnly, BlockSize: 1 << 20, Blocks: 4},
	{Name: "kgzip-l1", Kind: "kgzip", Level: 1},
	{Name: "stdlib-l1", Kind: "stdlib", Level: 1},
	{Name: "zstd-fastest", Kind: "zstd", Level: int(zstd.SpeedFastest)},
}

// Result is one compression of one input.
type Result struct {
	Setting
	In, Out        int64
	Time           time.Duration
	Digest, DiffID string
}

type counter struct {
	h hash.Hash
	n int64
}

func (c *counter) Write(p []byte) (int, error) {
	c.h.Write(p)
	c.n += int64(len(p))
	return len(p), nil
}

// newWriter returns a gzip writer of setting s to w, with the fixed header
// tools/internal/layer writes (no name, time 0, OS unknown).
func newWriter(s Setting, w io.Writer) (io.WriteCloser, error) {
	switch s.Kind {
	case "pgzip":
		z, err := pgzip.NewWriterLevel(w, s.Level)
		if err != nil {
			return nil, err
		}
		z.ModTime, z.OS = time.Unix(0, 0), 255
		if err := z.SetConcurrency(s.BlockSize, s.Blocks); err != nil {
			return nil, err
		}
		return z, nil
	case "kgzip":
		z, err := kgzip.NewWriterLevel(w, s.Level)
		if err != nil {
			return nil, err
		}
		z.ModTime, z.OS = time.Unix(0, 0), 255
		return z, nil
	case "zstd":
		return zstd.NewWriter(w, zstd.WithEncoderLevel(zstd.EncoderLevel(s.Level)))
	case "stdlib":
		z, err := gzip.NewWriterLevel(w, s.Level)
		if err != nil {
			return nil, err
		}
		z.ModTime, z.OS = time.Unix(0, 0), 255
		return z, nil
	}
	return nil, fmt.Errorf("setting %s: unknown kind %q", s.Name, s.Kind)
}

// Run compresses data with s, handing it over in writes of chunk bytes,
// and returns the sizes, the time taken and both digests.
func Run(data []byte, s Setting, chunk int) (Result, error) {
	r := Result{Setting: s, In: int64(len(data))}
	out := &counter{h: sha256.New()}
	diffID := sha256.New()
	start := time.Now()
	z, err := newWriter(s, out)
	if err != nil {
		return r, err
	}
	w := io.MultiWriter(diffID, z)
	for off := 0; off < len(data); off += chunk {
		if _, err := w.Write(data[off:min(off+chunk, len(data))]); err != nil {
			return r, err
		}
	}
	if err := z.Close(); err != nil {
		return r, err
	}
	r.Time = time.Since(start)
	r.Out = out.n
	r.Digest = "sha256:" + hex.EncodeToString(out.h.Sum(nil))
	r.DiffID = "sha256:" + hex.EncodeToString(diffID.Sum(nil))
	return r, nil
}

// Compress returns data compressed with s, for checking the output.
func Compress(data []byte, s Setting) ([]byte, error) {
	var b bytesBuffer
	z, err := newWriter(s, &b)
	if err != nil {
		return nil, err
	}
	if _, err := z.Write(data); err != nil {
		return nil, err
	}
	if err := z.Close(); err != nil {
		return nil, err
	}
	return b.b, nil
}

type bytesBuffer struct{ b []byte }

func (b *bytesBuffer) Write(p []byte) (int, error) {
	b.b = append(b.b, p...)
	return len(p), nil
}

// WriteDir writes the files under root as a tar compressed with s, as
// layer.WriteFull does (files read in 1 MiB pieces, both digests computed
// on the way), and returns the result; In counts the tar's bytes.
func WriteDir(root string, s Setting) (Result, error) {
	r := Result{Setting: s}
	out := &counter{h: sha256.New()}
	diffID := &counter{h: sha256.New()}
	start := time.Now()
	z, err := newWriter(s, out)
	if err != nil {
		return r, err
	}
	tw := tar.NewWriter(io.MultiWriter(diffID, z))
	buf := make([]byte, 1<<20)
	err = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || p == root {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		link := ""
		if info.Mode()&fs.ModeSymlink != 0 {
			if link, err = os.Readlink(p); err != nil {
				return err
			}
		}
		hdr, err := tar.FileInfoHeader(info, link)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		hdr.Name = filepath.ToSlash(rel)
		hdr.ModTime, hdr.Uname, hdr.Gname, hdr.Format = stagex.Epoch, "", "", tar.FormatPAX
		hdr.AccessTime, hdr.ChangeTime = time.Time{}, time.Time{}
		if err := tw.WriteHeader(hdr); err != nil {
			return err
		}
		if !info.Mode().IsRegular() {
			return nil
		}
		f, err := os.Open(p)
		if err != nil {
			return err
		}
		defer f.Close()
		_, err = io.CopyBuffer(struct{ io.Writer }{tw}, struct{ io.Reader }{f}, buf)
		return err
	})
	if err == nil {
		err = tw.Close()
	}
	if cerr := z.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return r, err
	}
	r.Time = time.Since(start)
	r.In, r.Out = diffID.n, out.n
	r.Digest = "sha256:" + hex.EncodeToString(out.h.Sum(nil))
	r.DiffID = "sha256:" + hex.EncodeToString(diffID.h.Sum(nil))
	return r, nil
}
