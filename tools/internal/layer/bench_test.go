package layer_test

import (
	"io"
	"testing"

	"github.com/stagex/stagex-bazel/tools/bench/layerbench"
	"github.com/stagex/stagex-bazel/tools/internal/layer"
)

// BenchmarkWrite writes a generated 32 MiB tree as a layer; its MB/s counts
// the files' bytes.
func BenchmarkWrite(b *testing.B) {
	dir := b.TempDir()
	tr, err := layerbench.Generate(dir, 32<<20, 1)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(tr.Bytes)
	for b.Loop() {
		if _, err := layer.WriteFull(io.Discard, dir, layer.WriteOptions{}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkHashFiles is plain sha256 over the same files, for comparison.
func BenchmarkHashFiles(b *testing.B) {
	dir := b.TempDir()
	tr, err := layerbench.Generate(dir, 32<<20, 1)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(tr.Bytes)
	for b.Loop() {
		if _, _, err := layerbench.HashFiles(dir); err != nil {
			b.Fatal(err)
		}
	}
}
