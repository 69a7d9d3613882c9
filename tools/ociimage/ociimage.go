// Package ociimage writes and reads OCI image layout directories made of
// precomputed layer files.
//
// Layers come as files that are already compressed, with their digests known
// (see Layer); they are copied into the layout unchanged and checked against
// those digests while they are copied. Output is deterministic: the same
// layers, config and annotations give a byte-identical layout (file names,
// contents and modes: 0755 directories, 0644 files).
//
// Decisions that fix the bytes of an image:
//   - Media types are OCI: image manifest, image config, gzip layers (a base
//     layer keeps the media type it had).
//   - The config's created time is Created (SOURCE_DATE_EPOCH=1), and the
//     config has no history: history would only repeat the layer list, and
//     leaving it out lets a child image reuse base layers without carrying
//     the base's history along.
//   - Manifest and config are compact JSON with sorted map keys.
//   - index.json lists the one manifest (or image index) with media type,
//     digest and size only; it carries no org.opencontainers.image.ref.name,
//     so a layout is addressed as the whole directory (skopeo's oci:DIR).
//
// Writes are atomic: a layout is built in a temporary directory next to the
// destination and renamed into place; on error nothing is left behind.
package ociimage

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/partial"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// Well-known annotation keys.
const (
	AnnotationVersion = "org.opencontainers.image.version"
	AnnotationTitle   = "org.opencontainers.image.title"
)

// Created is the creation time written into every image config:
// SOURCE_DATE_EPOCH=1.
var Created = time.Unix(1, 0).UTC()

// Config is the runtime configuration and platform of an image.
type Config struct {
	OS, Architecture, Variant string
	Env, Entrypoint, Cmd      []string
	User, WorkingDir          string
	Labels                    map[string]string
}

// image is a v1.Image assembled from precomputed parts.
type image struct {
	rawConfig   []byte
	rawManifest []byte
	layers      map[v1.Hash]*fileLayer
}

func (i *image) MediaType() (types.MediaType, error) { return types.OCIManifestSchema1, nil }
func (i *image) RawConfigFile() ([]byte, error)      { return i.rawConfig, nil }
func (i *image) RawManifest() ([]byte, error)        { return i.rawManifest, nil }

func (i *image) LayerByDigest(h v1.Hash) (partial.CompressedLayer, error) {
	if l, ok := i.layers[h]; ok {
		return l, nil
	}
	return nil, fmt.Errorf("image has no layer %s", h)
}

// NewImage returns the image made of layers (bottom first), config and
// manifest annotations, without writing anything. Layer files are read only
// when the image's layers are.
func NewImage(layers []Layer, cfg Config, annotations map[string]string) (v1.Image, error) {
	if cfg.OS == "" || cfg.Architecture == "" {
		return nil, fmt.Errorf("image config: OS and Architecture are required (got %q, %q)", cfg.OS, cfg.Architecture)
	}
	for _, e := range cfg.Env {
		if k, _, ok := strings.Cut(e, "="); !ok || k == "" {
			return nil, fmt.Errorf("image config: env entry %q: expected KEY=VALUE", e)
		}
	}
	for k := range annotations {
		if k == "" {
			return nil, fmt.Errorf("manifest annotations: empty key")
		}
	}

	img := &image{layers: map[v1.Hash]*fileLayer{}}
	diffIDs := make([]v1.Hash, 0, len(layers))
	descs := make([]v1.Descriptor, 0, len(layers))
	for _, l := range layers {
		fl, err := newFileLayer(l)
		if err != nil {
			return nil, err
		}
		if prev, ok := img.layers[fl.digest]; ok && (prev.diffID != fl.diffID || prev.size != fl.size) {
			return nil, fmt.Errorf("layers %s and %s share digest %s but differ in diff ID or size", prev.path, fl.path, fl.digest)
		}
		img.layers[fl.digest] = fl
		diffIDs = append(diffIDs, fl.diffID)
		descs = append(descs, v1.Descriptor{MediaType: fl.mediaType, Size: fl.size, Digest: fl.digest})
	}

	cf := v1.ConfigFile{
		Architecture: cfg.Architecture,
		Created:      v1.Time{Time: Created},
		OS:           cfg.OS,
		Variant:      cfg.Variant,
		RootFS:       v1.RootFS{Type: "layers", DiffIDs: diffIDs},
		Config: v1.Config{
			Env:        cfg.Env,
			Entrypoint: cfg.Entrypoint,
			Cmd:        cfg.Cmd,
			User:       cfg.User,
			WorkingDir: cfg.WorkingDir,
			Labels:     cfg.Labels,
		},
	}
	var err error
	if img.rawConfig, err = json.Marshal(cf); err != nil {
		return nil, err
	}
	cfgHash, cfgSize, err := v1.SHA256(bytes.NewReader(img.rawConfig))
	if err != nil {
		return nil, err
	}
	m := v1.Manifest{
		SchemaVersion: 2,
		MediaType:     types.OCIManifestSchema1,
		Config:        v1.Descriptor{MediaType: types.OCIConfigJSON, Size: cfgSize, Digest: cfgHash},
		Layers:        descs,
		Annotations:   annotations,
	}
	if len(annotations) == 0 {
		m.Annotations = nil
	}
	if img.rawManifest, err = json.Marshal(m); err != nil {
		return nil, err
	}
	return partial.CompressedToImage(img)
}

// WriteImage writes an OCI image layout at dir holding one image: layers
// (bottom first, each copied unchanged and checked against its Digest and
// Size), cfg and the manifest annotations (typically AnnotationVersion and
// AnnotationTitle). It returns the manifest digest, "sha256:<hex>". An
// existing dir is replaced.
func WriteImage(dir string, layers []Layer, cfg Config, annotations map[string]string) (manifestDigest string, err error) {
	img, err := NewImage(layers, cfg, annotations)
	if err != nil {
		return "", err
	}
	desc, err := describe(img)
	if err != nil {
		return "", err
	}
	err = WriteDir(dir, func(tmp string) error {
		p, err := layout.Write(tmp, empty.Index)
		if err != nil {
			return err
		}
		if err := p.WriteImage(img); err != nil {
			return err
		}
		return p.AppendDescriptor(desc)
	})
	if err != nil {
		return "", err
	}
	return desc.Digest.String(), nil
}

// describe returns the plain descriptor of a manifest: media type, size and
// digest. (partial.Descriptor would add an artifactType, which image
// descriptors do not usually carry.)
func describe(m interface {
	MediaType() (types.MediaType, error)
	RawManifest() ([]byte, error)
}) (v1.Descriptor, error) {
	mt, err := m.MediaType()
	if err != nil {
		return v1.Descriptor{}, err
	}
	raw, err := m.RawManifest()
	if err != nil {
		return v1.Descriptor{}, err
	}
	h, size, err := v1.SHA256(bytes.NewReader(raw))
	if err != nil {
		return v1.Descriptor{}, err
	}
	return v1.Descriptor{MediaType: mt, Size: size, Digest: h}, nil
}

// WriteDir fills a fresh directory next to dir, gives its directories mode
// 0755 and its files 0644, and renames it to dir, replacing what was there.
// On error the temporary directory is removed and dir is untouched. Every
// layout this package writes goes through it; other writers of layouts
// (package pull) use it too.
func WriteDir(dir string, fill func(tmp string) error) (err error) {
	dir = filepath.Clean(dir)
	parent := filepath.Dir(dir)
	if err := os.MkdirAll(parent, 0o755); err != nil {
		return err
	}
	tmp, err := os.MkdirTemp(parent, "."+filepath.Base(dir)+".tmp")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			os.RemoveAll(tmp)
		}
	}()
	if err := fill(tmp); err != nil {
		return fmt.Errorf("writing %s: %w", dir, err)
	}
	if err := normalizeModes(tmp); err != nil {
		return err
	}
	return replaceDir(tmp, dir)
}

// normalizeModes gives every directory under root mode 0755 and every file
// 0644, whatever the umask was.
func normalizeModes(root string) error {
	return filepath.WalkDir(root, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		mode := os.FileMode(0o644)
		if d.IsDir() {
			mode = 0o755
		}
		return os.Chmod(path, mode)
	})
}

// replaceDir renames tmp to dir. rename(2) replaces a missing or empty dir
// at once; a non-empty one is first moved aside, and moved back if the
// second rename fails.
func replaceDir(tmp, dir string) error {
	err := os.Rename(tmp, dir)
	if err == nil {
		return nil
	}
	info, statErr := os.Lstat(dir)
	if statErr != nil || !info.IsDir() {
		return err
	}
	old := tmp + ".old"
	if err := os.Rename(dir, old); err != nil {
		return err
	}
	if err := os.Rename(tmp, dir); err != nil {
		if back := os.Rename(old, dir); back != nil {
			return fmt.Errorf("%w (and restoring the old %s failed: %v)", err, dir, back)
		}
		return err
	}
	if err := os.RemoveAll(old); err != nil {
		return fmt.Errorf("%s written, but removing the previous one failed: %w", dir, err)
	}
	return nil
}
