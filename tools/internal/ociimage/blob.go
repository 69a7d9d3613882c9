package ociimage

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"os"
	"path/filepath"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/stagex/stagex-bazel/tools/internal/regfile"
)

// Every blob read from disk (by this package, push and pull) goes through
// OpenBlob or ReadBlob: blob files may be symbolic links (Bazel's runfiles
// and sandboxes), so go-containerregistry's layout reader, which refuses
// them, is not used, and nothing is trusted before its digest is checked.

// UnknownSize, given to ReadBlob as the size, accepts a blob of any length
// up to MaxJSONBlobSize.
const UnknownSize = -1

// MaxJSONBlobSize is the most ReadBlob reads: manifests, indexes and
// configs are small JSON documents, and a larger file is not one of them.
const MaxJSONBlobSize = 16 << 20

// BlobPath returns the file of the blob with digest h in the OCI image
// layout at dir: dir/blobs/<algorithm>/<hex>.
func BlobPath(dir string, h v1.Hash) string {
	return filepath.Join(dir, "blobs", h.Algorithm, h.Hex)
}

// OpenBlob opens the file at path, which must hold size bytes whose sha256
// is h. The file may be a symbolic link to a regular file. Reading fails
// (and hands out none of the bytes of that read) as soon as the content
// differs from h: at the last byte, when size bytes have been read, so that
// a reader that stops there still sees the error, and at EOF. A file of
// another length fails when opened, and again while reading should it
// change, including a read past size. Every error names path; a digest
// mismatch shows both digests.
func OpenBlob(path string, h v1.Hash, size int64) (io.ReadCloser, error) {
	if size < 0 {
		return nil, fmt.Errorf("%s: negative blob size %d", path, size)
	}
	r, err := openBlob(path, h, size)
	if err != nil {
		return nil, err // not a nil *blobReader in a non-nil interface
	}
	return r, nil
}

// ReadBlob returns the content of the file at path, a small JSON blob of
// size bytes (or UnknownSize) whose sha256 is h, checked as OpenBlob
// checks. It reads at most MaxJSONBlobSize bytes.
func ReadBlob(path string, h v1.Hash, size int64) ([]byte, error) {
	if size < UnknownSize {
		return nil, fmt.Errorf("%s: negative blob size %d", path, size)
	}
	if size > MaxJSONBlobSize {
		return nil, fmt.Errorf("%s: blob of %d bytes; expected a JSON document of at most %d", path, size, MaxJSONBlobSize)
	}
	r, err := openBlob(path, h, size)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	return io.ReadAll(r)
}

func openBlob(path string, h v1.Hash, size int64) (*blobReader, error) {
	if h.Algorithm != "sha256" {
		return nil, fmt.Errorf("%s: blob %s: only sha256 digests are supported", path, h)
	}
	f, info, err := regfile.Open(path)
	if err != nil {
		return nil, fmt.Errorf("blob %s: %w", h, err)
	}
	r := &blobReader{f: f, path: path, want: h, size: size, limit: size, h: sha256.New()}
	if size == UnknownSize {
		r.limit = MaxJSONBlobSize
	} else if info.Size() != size {
		f.Close()
		return nil, fmt.Errorf("%s: size mismatch: expected %d bytes, the file has %d", path, size, info.Size())
	}
	if size == 0 {
		// Nothing is read before the end: check the empty content now.
		if err := r.verify(); err != nil {
			f.Close()
			return nil, err
		}
	}
	return r, nil
}

// blobReader reads a blob file through sha256; see OpenBlob.
type blobReader struct {
	f     *os.File
	path  string
	want  v1.Hash
	size  int64 // expected length, or UnknownSize
	limit int64 // most bytes handed out
	h     hash.Hash
	n     int64 // bytes handed out
	done  bool  // the digest was checked
	err   error // sticky error
}

func (r *blobReader) Read(p []byte) (int, error) {
	if r.err != nil {
		return 0, r.err
	}
	if len(p) == 0 {
		return 0, nil
	}
	// Never read more than is left up to the limit in one go, so a digest
	// mismatch at the last byte is found before those bytes are handed
	// out. Past the limit, any byte read is one too many.
	if left := r.limit - r.n; left > 0 && int64(len(p)) > left {
		p = p[:left]
	}
	n, err := r.f.Read(p)
	if n > 0 && r.n == r.limit {
		if r.size == UnknownSize {
			r.err = fmt.Errorf("%s: larger than %d bytes; expected a JSON document", r.path, r.limit)
		} else {
			r.err = fmt.Errorf("%s: size mismatch: expected %d bytes, the file has more", r.path, r.size)
		}
		return 0, r.err
	}
	r.h.Write(p[:n])
	r.n += int64(n)
	if err != nil && !errors.Is(err, io.EOF) {
		r.err = fmt.Errorf("%s: %w", r.path, err)
		return 0, r.err
	}
	end := errors.Is(err, io.EOF)
	if end && r.size != UnknownSize && r.n != r.size {
		r.err = fmt.Errorf("%s: size mismatch: expected %d bytes, read %d", r.path, r.size, r.n)
		return 0, r.err
	}
	if (end || r.n == r.size) && !r.done {
		if verr := r.verify(); verr != nil {
			return 0, verr
		}
	}
	return n, err
}

// verify compares the digest of what was read with the expected one.
func (r *blobReader) verify() error {
	r.done = true
	got := hex.EncodeToString(r.h.Sum(nil))
	if got != r.want.Hex {
		r.err = fmt.Errorf("%s: content does not match its digest: expected %s, got sha256:%s", r.path, r.want, got)
	}
	return r.err
}

func (r *blobReader) Close() error { return r.f.Close() }
