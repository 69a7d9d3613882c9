package push

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/stagex/stagex-bazel/tools/internal/ociimage"
)

// A layout is read here rather than with ociimage.ReadImage so that a
// multi-platform image index pushes as well as a single image. Every blob
// is read with ociimage.OpenBlob or ReadBlob, which check it against its
// digest and size.

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
// image manifest or image index. An image index of one manifest (what
// BuildKit writes for one platform) pushes as that image alone, under the
// digest StageX pins.
func readPlan(dir string) (*plan, error) {
	top, err := ociimage.TopDescriptor(dir)
	if err != nil {
		return nil, err
	}
	if top.MediaType.IsIndex() {
		raw, err := ociimage.ReadBlob(ociimage.BlobPath(dir, top.Digest), top.Digest, top.Size)
		if err != nil {
			return nil, err
		}
		im, err := v1.ParseIndexManifest(bytes.NewReader(raw))
		if err != nil {
			return nil, fmt.Errorf("%s: index %s: %w", dir, top.Digest, err)
		}
		if len(im.Manifests) == 1 && im.Manifests[0].MediaType.IsImage() {
			top = im.Manifests[0]
			top.Platform = nil
		}
	}
	p := &plan{dir: dir, seen: map[v1.Hash]bool{}}
	if err := p.add(top, 0); err != nil {
		return nil, err
	}
	p.top = p.manifests[len(p.manifests)-1]
	return p, nil
}

// add plans the manifest or index desc and what it refers to.
func (p *plan) add(desc v1.Descriptor, depth int) error {
	if depth > 2 {
		return fmt.Errorf("%s: manifest %s: indexes nested too deep", p.dir, desc.Digest)
	}
	raw, err := ociimage.ReadBlob(ociimage.BlobPath(p.dir, desc.Digest), desc.Digest, desc.Size)
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
// failing the read that ends with other content than the digest names
// (see ociimage.OpenBlob), so a corrupt blob is never completed on the
// registry.
func (p *plan) opener(desc v1.Descriptor) func() (io.ReadCloser, error) {
	return func() (io.ReadCloser, error) {
		return ociimage.OpenBlob(ociimage.BlobPath(p.dir, desc.Digest), desc.Digest, desc.Size)
	}
}
