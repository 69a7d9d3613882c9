package gzipcmp

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/klauspost/compress/zstd"

	"github.com/stagex/stagex-bazel/tools/bench/layerbench"
)

// sample returns n bytes that mix text-like and random runs.
func sample(n int, seed uint64) []byte {
	rng := rand.New(rand.NewPCG(seed, seed+1))
	words := []string{"static ", "int ", "return ", "\n\t", "usr/lib ", "0x00 ", "buffer ", "{ ", "} "}
	var b bytes.Buffer
	for b.Len() < n {
		if rng.IntN(4) == 0 {
			r := make([]byte, 256+rng.IntN(4096))
			for i := range r {
				r[i] = byte(rng.Uint32())
			}
			b.Write(r)
			continue
		}
		for i := rng.IntN(512); i > 0; i-- {
			b.WriteString(words[rng.IntN(len(words))])
		}
	}
	return b.Bytes()[:n]
}

// TestDeterministic checks that every setting gives the same bytes however
// the input is cut and however many processors there are, and that the
// bytes decompress to the input.
func TestDeterministic(t *testing.T) {
	data := sample(3<<20+12345, 7)
	for _, s := range Settings {
		t.Run(s.Name, func(t *testing.T) {
			var first Result
			for i, run := range []struct{ procs, chunk int }{{1, 1 << 20}, {2, 4096}, {runtime.NumCPU() + 3, 1000003}} {
				old := runtime.GOMAXPROCS(run.procs)
				r, err := Run(data, s, run.chunk)
				runtime.GOMAXPROCS(old)
				if err != nil {
					t.Fatal(err)
				}
				if i == 0 {
					first = r
					continue
				}
				if r.Digest != first.Digest || r.Out != first.Out {
					t.Errorf("GOMAXPROCS=%d, writes of %d bytes: %s (%d bytes), want %s (%d bytes)",
						run.procs, run.chunk, r.Digest, r.Out, first.Digest, first.Out)
				}
			}
			z, err := Compress(data, s)
			if err != nil {
				t.Fatal(err)
			}
			if sum := sha256.Sum256(z); first.Digest[len("sha256:"):] != hex.EncodeToString(sum[:]) {
				t.Errorf("Compress and Run disagree")
			}
			var zr io.Reader
			if s.Kind == "zstd" {
				d, err := zstd.NewReader(bytes.NewReader(z))
				if err != nil {
					t.Fatal(err)
				}
				defer d.Close()
				zr = d
			} else if zr, err = gzip.NewReader(bytes.NewReader(z)); err != nil {
				t.Fatal(err)
			}
			got, err := io.ReadAll(zr)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, data) {
				t.Errorf("round trip changed the data (%d bytes back of %d)", len(got), len(data))
			}
		})
	}
}

// TestBlocksInFlightDoNotChangeOutput checks that pgzip settings that
// differ only in the number of blocks in flight write the same bytes, so
// that tools/internal/layer may change that number without changing any digest.
func TestBlocksInFlightDoNotChangeOutput(t *testing.T) {
	data := sample(5<<20+1, 3)
	digests := map[[2]int]string{}
	for _, s := range Settings {
		if s.Kind != "pgzip" {
			continue
		}
		for _, blocks := range []int{1, 2, s.Blocks, 32} {
			s.Blocks = blocks
			r, err := Run(data, s, 1<<16)
			if err != nil {
				t.Fatal(err)
			}
			key := [2]int{s.Level, s.BlockSize}
			if d, ok := digests[key]; ok && d != r.Digest {
				t.Errorf("level %d, %d-byte blocks: %d blocks in flight give %s, others %s", s.Level, s.BlockSize, blocks, r.Digest, d)
			}
			digests[key] = r.Digest
		}
	}
}

func TestWriteTree(t *testing.T) {
	dir := t.TempDir()
	if _, err := layerbench.Generate(dir, 2<<20, 5); err != nil {
		t.Fatal(err)
	}
	a, err := WriteDir(dir, Settings[0])
	if err != nil {
		t.Fatal(err)
	}
	b, err := WriteDir(dir, Settings[1])
	if err != nil {
		t.Fatal(err)
	}
	if a.Digest != b.Digest || a.DiffID != b.DiffID || a.In < 2<<20 {
		t.Errorf("WriteTree: %+v and %+v, want equal digests over at least 2 MiB", a, b)
	}
}

// BenchmarkTree writes a generated 256 MiB tree with each setting, reading
// the files as tools/internal/layer does; x-sha256 is the ratio layerbench prints
// (throughput over that of plain sha256 over the files).
func BenchmarkTree(b *testing.B) {
	dir := b.TempDir()
	tr, err := layerbench.Generate(dir, 256<<20, 1)
	if err != nil {
		b.Fatal(err)
	}
	if _, _, err := layerbench.HashFiles(dir); err != nil { // into the page cache
		b.Fatal(err)
	}
	_, shaTime, err := layerbench.HashFiles(dir)
	if err != nil {
		b.Fatal(err)
	}
	for _, s := range Settings {
		b.Run(s.Name, func(b *testing.B) {
			b.SetBytes(tr.Bytes)
			var total time.Duration
			var r Result
			for b.Loop() {
				if r, err = WriteDir(dir, s); err != nil {
					b.Fatal(err)
				}
				total += r.Time
			}
			b.ReportMetric(100*float64(r.Out)/float64(r.In), "%size")
			b.ReportMetric(float64(shaTime)/(float64(total)/float64(b.N)), "x-sha256")
		})
	}
}

// treeTar is the generated tree layerbench uses, as one uncompressed tar.
func treeTar(b *testing.B, size int64) []byte {
	dir := b.TempDir()
	if _, err := layerbench.Generate(dir, size, 1); err != nil {
		b.Fatal(err)
	}
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || p == dir {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		link := ""
		if info.Mode()&fs.ModeSymlink != 0 {
			link, _ = os.Readlink(p)
		}
		hdr, err := tar.FileInfoHeader(info, link)
		if err != nil {
			return err
		}
		hdr.Name = filepath.ToSlash(rel)
		if err := tw.WriteHeader(hdr); err != nil {
			return err
		}
		if info.Mode().IsRegular() {
			data, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			_, err = tw.Write(data)
			return err
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	if err := tw.Close(); err != nil {
		b.Fatal(err)
	}
	return buf.Bytes()
}

// BenchmarkSettings compresses a 128 MiB generated tree (as a tar) with
// each setting. Besides MB/s it reports the compressed size (% of input)
// and x-sha256: the throughput over that of plain sha256 on the same
// bytes, the ratio layerbench prints.
func BenchmarkSettings(b *testing.B) {
	data := treeTar(b, 128<<20)
	start := time.Now()
	for range 3 {
		sha256.Sum256(data)
	}
	shaTime := time.Since(start) / 3
	for _, s := range Settings {
		b.Run(s.Name, func(b *testing.B) {
			b.SetBytes(int64(len(data)))
			var r Result
			var total time.Duration
			for b.Loop() {
				var err error
				if r, err = Run(data, s, 1<<20); err != nil {
					b.Fatal(err)
				}
				total += r.Time
			}
			b.ReportMetric(100*float64(r.Out)/float64(r.In), "%size")
			b.ReportMetric(float64(shaTime)/(float64(total)/float64(b.N)), "x-sha256")
		})
	}
}
