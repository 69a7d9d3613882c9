package ociimage

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"path/filepath"
	"slices"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/partial"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/stagex/stagex-bazel/tools/internal/regfile"
)

// Layouts are read here rather than with go-containerregistry's layout
// package (see OpenBlob). Each blob is checked against its digest and size
// as it is read.

// TopDescriptor returns the one descriptor (of an image manifest or an
// image index) that dir/index.json lists, as StageX layouts hold exactly
// one.
func TopDescriptor(dir string) (v1.Descriptor, error) {
	name := filepath.Join(dir, "index.json")
	data, err := regfile.ReadFile(name, MaxJSONBlobSize)
	if err != nil {
		return v1.Descriptor{}, fmt.Errorf("reading OCI layout %s: %w", dir, err)
	}
	im, err := v1.ParseIndexManifest(bytes.NewReader(data))
	if err != nil {
		return v1.Descriptor{}, fmt.Errorf("%s: %w", name, err)
	}
	if len(im.Manifests) != 1 {
		return v1.Descriptor{}, fmt.Errorf("%s lists %d manifests; expected exactly one", name, len(im.Manifests))
	}
	return im.Manifests[0], nil
}

// topIndex returns the descriptor index.json lists and, when it is an
// image index, the index itself (nil otherwise).
func topIndex(dir string) (v1.Descriptor, *v1.IndexManifest, error) {
	desc, err := TopDescriptor(dir)
	if err != nil || !desc.MediaType.IsIndex() {
		return desc, nil, err
	}
	raw, err := ReadBlob(BlobPath(dir, desc.Digest), desc.Digest, desc.Size)
	if err != nil {
		return v1.Descriptor{}, nil, err
	}
	im, err := v1.ParseIndexManifest(bytes.NewReader(raw))
	if err != nil {
		return v1.Descriptor{}, nil, fmt.Errorf("%s: image index %s: %w", dir, desc.Digest, err)
	}
	return desc, im, nil
}

// LayoutName returns the image name index.json gives the layout at dir
// (Image.Name), or "" when it names none.
func LayoutName(dir string) (string, error) {
	desc, err := TopDescriptor(dir)
	if err != nil {
		return "", err
	}
	ref := desc.Annotations[annotationImageName]
	name := strings.TrimSuffix(strings.TrimPrefix(ref, imageNamePrefix), imageNameSuffix)
	if ref != "" && imageNamePrefix+name+imageNameSuffix != ref {
		return "", fmt.Errorf("%s: index.json names %q, not %s<name>%s", dir, ref, imageNamePrefix, imageNameSuffix)
	}
	return name, nil
}

// ManifestDescriptor returns the descriptor of the image manifest of the
// layout at dir: the one index.json lists or, when that is an image index
// (as BuildKit writes even for one platform), the index's first manifest.
func ManifestDescriptor(dir string) (v1.Descriptor, error) {
	desc, im, err := topIndex(dir)
	if err != nil || im == nil {
		return desc, err
	}
	if len(im.Manifests) == 0 {
		return v1.Descriptor{}, fmt.Errorf("%s: image index %s lists no manifests", dir, desc.Digest)
	}
	return im.Manifests[0], nil
}

// manifestCount returns how many image manifests the layout at dir holds:
// 1 for an image, or the length of its image index.
func manifestCount(dir string) (int, error) {
	desc, im, err := topIndex(dir)
	if err != nil || im == nil {
		return 1, err
	}
	for _, m := range im.Manifests {
		if !m.MediaType.IsImage() {
			return 0, fmt.Errorf("%s: image index %s lists a %s; expected image manifests", dir, desc.Digest, m.MediaType)
		}
	}
	return len(im.Manifests), nil
}

// LayoutDigest returns the digest ("sha256:<hex>") that StageX pins for the
// layout at dir: its image manifest's (the first platform's, for a
// multi-platform index), as StageX's release script reads it.
func LayoutDigest(dir string) (string, error) {
	desc, err := ManifestDescriptor(dir)
	if err != nil {
		return "", err
	}
	return desc.Digest.String(), nil
}

// layoutImage is an image read from a layout directory.
type layoutImage struct {
	dir       string
	mediaType types.MediaType
	manifest  []byte
	config    []byte
	layers    map[v1.Hash]v1.Descriptor
}

func (i *layoutImage) MediaType() (types.MediaType, error) { return i.mediaType, nil }
func (i *layoutImage) RawManifest() ([]byte, error)        { return i.manifest, nil }
func (i *layoutImage) RawConfigFile() ([]byte, error)      { return i.config, nil }

func (i *layoutImage) LayerByDigest(h v1.Hash) (partial.CompressedLayer, error) {
	d, ok := i.layers[h]
	if !ok {
		return nil, fmt.Errorf("%s: image has no layer %s", i.dir, h)
	}
	return &layoutLayer{path: BlobPath(i.dir, h), desc: d}, nil
}

// layoutLayer is a layer blob of a layout; its digest is checked while it
// is read.
type layoutLayer struct {
	path string
	desc v1.Descriptor
}

func (l *layoutLayer) Digest() (v1.Hash, error)            { return l.desc.Digest, nil }
func (l *layoutLayer) Size() (int64, error)                { return l.desc.Size, nil }
func (l *layoutLayer) MediaType() (types.MediaType, error) { return l.desc.MediaType, nil }
func (l *layoutLayer) Compressed() (io.ReadCloser, error) {
	return OpenBlob(l.path, l.desc.Digest, l.desc.Size)
}

// ReadImage returns the image of the OCI layout at dir (see
// ManifestDescriptor).
func ReadImage(dir string) (v1.Image, error) {
	desc, err := ManifestDescriptor(dir)
	if err != nil {
		return nil, err
	}
	switch desc.MediaType {
	case types.OCIManifestSchema1, types.DockerManifestSchema2:
	default:
		return nil, fmt.Errorf("%s: index.json lists a %s; expected an image manifest", filepath.Join(dir, "index.json"), desc.MediaType)
	}
	raw, err := ReadBlob(BlobPath(dir, desc.Digest), desc.Digest, desc.Size)
	if err != nil {
		return nil, err
	}
	m, err := v1.ParseManifest(bytes.NewReader(raw))
	if err != nil {
		return nil, fmt.Errorf("%s: manifest %s: %w", dir, desc.Digest, err)
	}
	config, err := ReadBlob(BlobPath(dir, m.Config.Digest), m.Config.Digest, m.Config.Size)
	if err != nil {
		return nil, err
	}
	img := &layoutImage{dir: dir, mediaType: desc.MediaType, manifest: raw, config: config, layers: map[v1.Hash]v1.Descriptor{}}
	for _, l := range m.Layers {
		img.layers[l.Digest] = l
	}
	out, err := partial.CompressedToImage(img)
	if err != nil {
		return nil, fmt.Errorf("reading OCI layout %s: %w", dir, err)
	}
	return out, nil
}

// BaseLayers returns the layers of the single image in the layout at dir, as
// files under dir/blobs with the digests, sizes and media types its manifest
// and config give. They can be unpacked, or passed to WriteImage below new
// layers to build a child image that reuses them unchanged.
func BaseLayers(dir string) ([]Layer, error) {
	img, err := ReadImage(dir)
	if err != nil {
		return nil, err
	}
	m, err := img.Manifest()
	if err != nil {
		return nil, fmt.Errorf("%s: manifest: %w", dir, err)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, fmt.Errorf("%s: config: %w", dir, err)
	}
	if len(cf.RootFS.DiffIDs) != len(m.Layers) {
		return nil, fmt.Errorf("%s: manifest lists %d layers but config has %d diff IDs", dir, len(m.Layers), len(cf.RootFS.DiffIDs))
	}
	layers := make([]Layer, len(m.Layers))
	for i, d := range m.Layers {
		if !d.MediaType.IsLayer() {
			return nil, fmt.Errorf("%s: layer %d has media type %s, not a layer type", dir, i, d.MediaType)
		}
		layers[i] = Layer{
			Path:        BlobPath(dir, d.Digest),
			Digest:      d.Digest.String(),
			DiffID:      cf.RootFS.DiffIDs[i].String(),
			Size:        d.Size,
			MediaType:   string(d.MediaType),
			Annotations: maps.Clone(d.Annotations),
		}
	}
	return layers, nil
}

// configDoc is the part of an image config that a child image inherits,
// read with history entries kept as written.
type configDoc struct {
	Architecture string    `json:"architecture"`
	OS           string    `json:"os"`
	Variant      string    `json:"variant"`
	Config       runConfig `json:"config"`
	History      []History `json:"history"`
}

func keys(m map[string]struct{}) []string {
	if len(m) == 0 {
		return nil
	}
	return slices.Sorted(maps.Keys(m))
}

// BaseConfig returns the runtime configuration, platform and history of
// the image in the layout at dir, for a child image to inherit.
func BaseConfig(dir string) (Config, error) {
	img, err := ReadImage(dir)
	if err != nil {
		return Config{}, err
	}
	raw, err := img.RawConfigFile()
	if err != nil {
		return Config{}, fmt.Errorf("%s: config: %w", dir, err)
	}
	var doc configDoc
	if err := json.Unmarshal(raw, &doc); err != nil {
		return Config{}, fmt.Errorf("%s: config: %w", dir, err)
	}
	c := doc.Config
	return Config{
		OS:           doc.OS,
		Architecture: doc.Architecture,
		Variant:      doc.Variant,
		User:         c.User,
		ExposedPorts: keys(c.ExposedPorts),
		Env:          c.Env,
		Entrypoint:   c.Entrypoint,
		Cmd:          c.Cmd,
		Volumes:      keys(c.Volumes),
		WorkingDir:   c.WorkingDir,
		Labels:       c.Labels,
		StopSignal:   c.StopSignal,
		ArgsEscaped:  c.ArgsEscaped,
		OnBuild:      c.OnBuild,
		Shell:        c.Shell,
		History:      doc.History,
	}, nil
}

// layoutImage is an image of a layout, as the blobs another layout needs
// to hold it and its manifest's descriptor.
type layoutBlobs struct {
	desc     descriptor
	platform platform
	blobs    []blob
}

// readLayoutImage reads the image of the layout at dir for WriteIndex.
func readLayoutImage(dir string) (layoutBlobs, error) {
	if n, err := manifestCount(dir); err != nil {
		return layoutBlobs{}, err
	} else if n != 1 {
		return layoutBlobs{}, fmt.Errorf("%s holds an image index of %d images; expected one image", dir, n)
	}
	md, err := ManifestDescriptor(dir)
	if err != nil {
		return layoutBlobs{}, err
	}
	rawManifest, err := ReadBlob(BlobPath(dir, md.Digest), md.Digest, md.Size)
	if err != nil {
		return layoutBlobs{}, err
	}
	m, err := v1.ParseManifest(bytes.NewReader(rawManifest))
	if err != nil {
		return layoutBlobs{}, fmt.Errorf("%s: manifest %s: %w", dir, md.Digest, err)
	}
	rawConfig, err := ReadBlob(BlobPath(dir, m.Config.Digest), m.Config.Digest, m.Config.Size)
	if err != nil {
		return layoutBlobs{}, err
	}
	var doc configDoc
	if err := json.Unmarshal(rawConfig, &doc); err != nil {
		return layoutBlobs{}, fmt.Errorf("%s: config: %w", dir, err)
	}
	out := layoutBlobs{platform: platform{Architecture: doc.Architecture, OS: doc.OS, Variant: doc.Variant}}
	for _, l := range m.Layers {
		out.blobs = append(out.blobs, blob{digest: l.Digest, size: l.Size, layer: &Layer{Path: BlobPath(dir, l.Digest)}})
	}
	out.blobs = append(out.blobs, blob{digest: m.Config.Digest, size: m.Config.Size, data: rawConfig}, blob{digest: md.Digest, size: md.Size, data: rawManifest})
	p := out.platform
	out.desc = descriptor{MediaType: string(md.MediaType), Digest: md.Digest.String(), Size: md.Size, Platform: &p}
	return out, nil
}
