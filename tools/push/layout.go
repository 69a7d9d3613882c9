package push

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"hash"
	"io"
	"os"
	"path/filepath"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// A layout is read here rather than with ociimage.ReadImage so that a
// multi-platform image index pushes as well as a single image. Blob files
// may be symbolic links (Bazel's runfiles); every blob is checked against
// its digest and size as it is read.

// manifestEntry is one manifest or index to upload.
type manifestEntry struct {
	desc v1.Descriptor
	raw  []byte
}

// plan is everything a push uploads: blobs first, then manifests, each
// index after the manifests it lists.
type plan struct {
	dir       string
	top       manifestEntry
	blobs     []v1.Descriptor
	manifests []manifestEntry
	seen      map[v1.Hash]bool
}

// readPlan reads the layout at dir, whose index.json must list exactly one
// image manifest or image index.
func readPlan(dir string) (*plan, error) {
	name := filepath.Join(dir, "index.json")
	data, err := os.ReadFile(name)
	if err != nil {
		return nil, fmt.Errorf("reading OCI layout %s: %w", dir, err)
	}
	im, err := v1.ParseIndexManifest(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	if len(im.Manifests) != 1 {
		return nil, fmt.Errorf("%s lists %d manifests; expected exactly one image or index", name, len(im.Manifests))
	}
	p := &plan{dir: dir, seen: map[v1.Hash]bool{}}
	if err := p.add(im.Manifests[0], 0); err != nil {
		return nil, err
	}
	p.top = p.manifests[len(p.manifests)-1]
	return p, nil
}

func (p *plan) blobPath(h v1.Hash) string {
	return filepath.Join(p.dir, "blobs", h.Algorithm, h.Hex)
}

// add plans the manifest or index desc and what it refers to.
func (p *plan) add(desc v1.Descriptor, depth int) error {
	if depth > 2 {
		return fmt.Errorf("%s: manifest %s: indexes nested too deep", p.dir, desc.Digest)
	}
	raw, err := p.readSmall(desc)
	if err != nil {
		return err
	}
	mt := desc.MediaType
	if mt == "" {
		var probe struct {
			MediaType types.MediaType `json:"mediaType"`
		}
		if err := json.Unmarshal(raw, &probe); err != nil {
			return fmt.Errorf("%s: manifest %s is not JSON: %v", p.dir, desc.Digest, err)
		}
		mt = probe.MediaType
	}
	switch {
	case mt.IsIndex():
		im, err := v1.ParseIndexManifest(bytes.NewReader(raw))
		if err != nil {
			return fmt.Errorf("%s: index %s: %w", p.dir, desc.Digest, err)
		}
		for _, child := range im.Manifests {
			if p.seen[child.Digest] {
				continue
			}
			if err := p.add(child, depth+1); err != nil {
				return err
			}
		}
	case mt.IsImage():
		m, err := v1.ParseManifest(bytes.NewReader(raw))
		if err != nil {
			return fmt.Errorf("%s: manifest %s: %w", p.dir, desc.Digest, err)
		}
		for _, b := range append([]v1.Descriptor{m.Config}, m.Layers...) {
			if b.Digest.Algorithm != "sha256" {
				return fmt.Errorf("%s: manifest %s: blob %s: only sha256 digests are supported", p.dir, desc.Digest, b.Digest)
			}
			if !p.seen[b.Digest] {
				p.seen[b.Digest] = true
				p.blobs = append(p.blobs, b)
			}
		}
	default:
		return fmt.Errorf("%s: %s has media type %q, not an image manifest or index", p.dir, desc.Digest, mt)
	}
	desc.MediaType = mt
	p.seen[desc.Digest] = true
	p.manifests = append(p.manifests, manifestEntry{desc: desc, raw: raw})
	return nil
}

// readSmall reads a manifest blob, checking size and digest.
func (p *plan) readSmall(desc v1.Descriptor) ([]byte, error) {
	if desc.Digest.Algorithm != "sha256" {
		return nil, fmt.Errorf("%s: %s: only sha256 digests are supported", p.dir, desc.Digest)
	}
	path := p.blobPath(desc.Digest)
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("%s: manifest %s: %w", p.dir, desc.Digest, err)
	}
	sum := sha256.Sum256(raw)
	if got := hex.EncodeToString(sum[:]); got != desc.Digest.Hex {
		return nil, fmt.Errorf("%s: content does not match its name: expected %s, got sha256:%s", path, desc.Digest, got)
	}
	if desc.Size != 0 && int64(len(raw)) != desc.Size {
		return nil, fmt.Errorf("%s: %d bytes, its descriptor says %d", path, len(raw), desc.Size)
	}
	return raw, nil
}

// checkBlob reads the blob desc names through sha256 before it is sent,
// so that a corrupt file is reported as such and not as whatever the
// registry answers to an upload it rejects.
func (p *plan) checkBlob(desc v1.Descriptor) error {
	open := p.opener(desc)
	r, err := open()
	if err != nil {
		return err
	}
	defer r.Close()
	_, err = io.Copy(io.Discard, r)
	return err
}

// opener returns a function that opens the blob desc names for reading,
// failing the read that ends with other content than the digest names.
func (p *plan) opener(desc v1.Descriptor) func() (io.ReadCloser, error) {
	return func() (io.ReadCloser, error) {
		path := p.blobPath(desc.Digest)
		f, err := os.Open(path)
		if err != nil {
			return nil, fmt.Errorf("%s: blob %s: %w", p.dir, desc.Digest, err)
		}
		return &verifyingReader{f: f, path: path, desc: desc, h: sha256.New()}, nil
	}
}

// verifyingReader hashes what it reads and, at the end, turns a size or
// digest mismatch into a read error, so a corrupt blob is never completed
// on the registry.
type verifyingReader struct {
	f    *os.File
	path string
	desc v1.Descriptor
	h    hash.Hash
	n    int64
}

func (r *verifyingReader) Read(b []byte) (int, error) {
	n, err := r.f.Read(b)
	r.n += int64(n)
	r.h.Write(b[:n])
	if r.n > r.desc.Size {
		return n, fmt.Errorf("%s: longer than the %d bytes its descriptor says", r.path, r.desc.Size)
	}
	// The digest is checked as soon as the last byte is read: an HTTP
	// client that knows the length stops there and never asks for EOF.
	if r.n == r.desc.Size && (n > 0 || err == io.EOF) {
		if got := hex.EncodeToString(r.h.Sum(nil)); got != r.desc.Digest.Hex {
			return n, fmt.Errorf("%s: content does not match its name: expected %s, got sha256:%s", r.path, r.desc.Digest, got)
		}
	}
	if err == io.EOF && r.n != r.desc.Size {
		return n, fmt.Errorf("%s: %d bytes, its descriptor says %d", r.path, r.n, r.desc.Size)
	}
	return n, err
}

func (r *verifyingReader) Close() error { return r.f.Close() }
