package layer

import (
	"bufio"
	"bytes"
	"compress/bzip2"
	"fmt"
	"io"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
	"github.com/ulikunitz/xz"
)

// Compression names the compression of a stream as recognised from its
// first bytes.
type Compression int

// The compressions that Detect recognises.
const (
	Uncompressed Compression = iota
	Gzip
	Bzip2
	XZ
	Zstd
)

func (c Compression) String() string {
	switch c {
	case Uncompressed:
		return "uncompressed"
	case Gzip:
		return "gzip"
	case Bzip2:
		return "bzip2"
	case XZ:
		return "xz"
	case Zstd:
		return "zstd"
	}
	return fmt.Sprintf("Compression(%d)", int(c))
}

// magic numbers, from the formats' specifications.
var (
	gzipMagic  = []byte{0x1f, 0x8b}
	bzip2Magic = []byte("BZh")
	xzMagic    = []byte{0xfd, '7', 'z', 'X', 'Z', 0x00}
	zstdMagic  = []byte{0x28, 0xb5, 0x2f, 0xfd}
)

// Detect reports the compression of a stream whose first bytes are head.
// Six bytes are enough to tell every known format apart.
func Detect(head []byte) Compression {
	switch {
	case bytes.HasPrefix(head, gzipMagic):
		return Gzip
	case bytes.HasPrefix(head, xzMagic):
		return XZ
	case bytes.HasPrefix(head, zstdMagic):
		return Zstd
	case len(head) >= 4 && bytes.HasPrefix(head, bzip2Magic) && head[3] >= '1' && head[3] <= '9':
		return Bzip2
	}
	return Uncompressed
}

// peek wraps r in a buffered reader and returns the compression its first
// bytes announce.
func peek(r io.Reader) (*bufio.Reader, Compression, error) {
	br := bufio.NewReaderSize(r, 64<<10)
	head, err := br.Peek(len(xzMagic))
	if err != nil && err != io.EOF {
		return nil, Uncompressed, err
	}
	return br, Detect(head), nil
}

// OpenArchive returns a reader of the decompressed contents of r, whose
// compression (gzip, bzip2, xz, zstd or none) is recognised from its magic
// bytes, as BuildKit's ADD recognises it.
func OpenArchive(r io.Reader) (io.Reader, error) {
	br, c, err := peek(r)
	if err != nil {
		return nil, err
	}
	return decompress(br, c)
}

func decompress(r io.Reader, c Compression) (io.Reader, error) {
	switch c {
	case Gzip:
		zr, err := gzip.NewReader(r)
		if err != nil {
			return nil, fmt.Errorf("gzip stream: %w", err)
		}
		return zr, nil
	case Bzip2:
		return bzip2.NewReader(r), nil
	case XZ:
		zr, err := xz.NewReader(r)
		if err != nil {
			return nil, fmt.Errorf("xz stream: %w", err)
		}
		return zr, nil
	case Zstd:
		// One decoder goroutine: streams are decoded in the caller's
		// goroutine and nothing is left running after the end.
		zr, err := zstd.NewReader(r, zstd.WithDecoderConcurrency(1))
		if err != nil {
			return nil, fmt.Errorf("zstd stream: %w", err)
		}
		return &zstdReader{d: zr}, nil
	}
	return r, nil
}

// zstdReader releases its decoder once the stream ends or fails.
type zstdReader struct {
	d   *zstd.Decoder
	err error
}

func (z *zstdReader) Read(p []byte) (int, error) {
	if z.d == nil {
		return 0, z.err
	}
	n, err := z.d.Read(p)
	if err != nil {
		z.d.Close()
		z.d, z.err = nil, err
	}
	return n, err
}
