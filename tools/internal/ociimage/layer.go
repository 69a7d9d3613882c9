package ociimage

import (
	"fmt"
	"io"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/partial"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/stagex/stagex-bazel/tools/internal/stagex"
)

// Layer is a filesystem layer already stored as a file, with its digests
// computed by whoever wrote it. The file is copied into images as it is.
type Layer struct {
	// Path is the layer file: a gzip-compressed tar unless MediaType says
	// otherwise.
	Path string
	// Digest is "sha256:<hex>" of the file's bytes.
	Digest string
	// DiffID is "sha256:<hex>" of the uncompressed tar.
	DiffID string
	// Size is the file's length in bytes.
	Size int64
	// MediaType is the layer's media type; empty means
	// application/vnd.oci.image.layer.v1.tar+gzip.
	MediaType string
	// Annotations go on the layer's descriptor in the manifest.
	Annotations map[string]string
}

// fileLayer serves a Layer to go-containerregistry. It reports the given
// digests without reading the file, and checks the file against them while
// it streams.
type fileLayer struct {
	path      string
	digest    v1.Hash
	diffID    v1.Hash
	size      int64
	mediaType types.MediaType
}

var _ partial.CompressedLayer = (*fileLayer)(nil)
var _ partial.WithDiffID = (*fileLayer)(nil)

func newFileLayer(l Layer) (*fileLayer, error) {
	digest, err := parseSHA256(l.Digest)
	if err != nil {
		return nil, fmt.Errorf("layer %s: digest: %w", l.Path, err)
	}
	diffID, err := parseSHA256(l.DiffID)
	if err != nil {
		return nil, fmt.Errorf("layer %s: diff ID: %w", l.Path, err)
	}
	if l.Size < 0 {
		return nil, fmt.Errorf("layer %s: negative size %d", l.Path, l.Size)
	}
	mt := types.OCILayer
	if l.MediaType != "" {
		mt = types.MediaType(l.MediaType)
		if !mt.IsLayer() {
			return nil, fmt.Errorf("layer %s: media type %q is not a layer type", l.Path, l.MediaType)
		}
	}
	return &fileLayer{path: l.Path, digest: digest, diffID: diffID, size: l.Size, mediaType: mt}, nil
}

func parseSHA256(s string) (v1.Hash, error) {
	hex, err := stagex.ParseDigest(s)
	if err != nil {
		return v1.Hash{}, err
	}
	return v1.Hash{Algorithm: "sha256", Hex: hex}, nil
}

// Digest implements partial.CompressedLayer.
func (l *fileLayer) Digest() (v1.Hash, error) { return l.digest, nil }

// DiffID implements partial.WithDiffID.
func (l *fileLayer) DiffID() (v1.Hash, error) { return l.diffID, nil }

// Size implements partial.CompressedLayer.
func (l *fileLayer) Size() (int64, error) { return l.size, nil }

// MediaType implements partial.CompressedLayer.
func (l *fileLayer) MediaType() (types.MediaType, error) { return l.mediaType, nil }

// Compressed implements partial.CompressedLayer: it streams the file,
// failing when its length or sha256 differ from the given ones (see
// OpenBlob).
func (l *fileLayer) Compressed() (io.ReadCloser, error) {
	return OpenBlob(l.path, l.digest, l.size)
}

// asLayer returns the v1.Layer of a fileLayer.
func (l *fileLayer) asLayer() v1.Layer {
	// CompressedToLayer never fails; it adds Uncompressed, and takes
	// DiffID from fileLayer.
	v, _ := partial.CompressedToLayer(l)
	return v
}
