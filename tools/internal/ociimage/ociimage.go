// Package ociimage writes and reads OCI image layout directories made of
// precomputed layer files.
//
// Layers come as files that are already compressed, with their digests known
// (see Layer); they are copied into the layout unchanged and checked against
// those digests while they are copied. Output is deterministic: the same
// layers, config and annotations give a byte-identical layout (file names,
// contents and modes: 0755 directories, 0644 files).
//
// The bytes of an image are the ones BuildKit's OCI exporter writes with
// StageX's options (type=oci, multi-platform, the three manifest
// annotations, SOURCE_DATE_EPOCH=1): the config is compact JSON with its
// top-level keys sorted and BuildKit's history; manifest and image index
// are indented by two spaces; index.json is compact and points at the
// image index. StageX pins the manifest (LayoutDigest).
//
// Writes are atomic: a layout is built in a temporary directory next to the
// destination and renamed into place; on error nothing is left behind.
package ociimage

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/stagex/stagex-bazel/tools/internal/stagex"
)

// Annotation keys and values that StageX's images carry.
const (
	AnnotationVersion = "org.opencontainers.image.version"
	AnnotationCreated = "org.opencontainers.image.created"
	// AnnotationSource names the image's repository on Docker Hub, as
	// StageX's exporter options write it.
	AnnotationSource = "containerd.io/distribution.source.docker.io"
	// AnnotationRewritten marks a layer whose times BuildKit clamped to
	// SOURCE_DATE_EPOCH; its value is the epoch in seconds.
	AnnotationRewritten = "buildkit/rewritten-timestamp"
	annotationImageName = "io.containerd.image.name"
	// The name BuildKit's exporter gives name=<tier>-<name>.
	imageNamePrefix, imageNameSuffix = "docker.io/library/", ":latest"
	annotationRefName                = "org.opencontainers.image.ref.name"
)

// Created is the creation time of every image and history entry:
// SOURCE_DATE_EPOCH=1.
var Created = stagex.Epoch

// CreatedText is Created as the JSON documents write it.
var CreatedText = Created.Format(time.RFC3339)

// HistoryComment is the comment of every history entry BuildKit's
// Dockerfile frontend writes.
const HistoryComment = "buildkit.dockerfile.v0"

// Config is the runtime configuration, platform and history of an image.
type Config struct {
	OS, Architecture, Variant string
	User                      string
	ExposedPorts              []string
	Env, Entrypoint, Cmd      []string
	Volumes                   []string
	WorkingDir                string
	Labels                    map[string]string
	StopSignal                string
	ArgsEscaped               bool
	OnBuild                   []string
	Shell                     []string
	// History has one entry per instruction that BuildKit records,
	// the base image's first; entries that are not EmptyLayer match the
	// layers in order.
	History []History
}

// History is one entry of an image's history, with the keys in the order
// BuildKit writes them.
type History struct {
	Created    string `json:"created,omitempty"`
	CreatedBy  string `json:"created_by,omitempty"`
	Author     string `json:"author,omitempty"`
	Comment    string `json:"comment,omitempty"`
	EmptyLayer bool   `json:"empty_layer,omitempty"`
}

// Image is what WriteImage writes.
type Image struct {
	// Layers are the image's layers, bottom first.
	Layers []Layer
	Config Config
	// Annotations go on the manifest.
	Annotations map[string]string
	// Name is the image's name, <tier>-<name>; index.json names it as
	// BuildKit's exporter does when given name=<tier>-<name>.
	Name string
}

// The JSON documents of an image, with their keys in BuildKit's order
// (the order of the OCI specification's Go types; the config's top level
// is written from a map, so its keys are sorted).
type (
	descriptor struct {
		MediaType   string            `json:"mediaType"`
		Digest      string            `json:"digest"`
		Size        int64             `json:"size"`
		Annotations map[string]string `json:"annotations,omitempty"`
		Platform    *platform         `json:"platform,omitempty"`
	}
	platform struct {
		Architecture string `json:"architecture"`
		OS           string `json:"os"`
		Variant      string `json:"variant,omitempty"`
	}
	manifestDoc struct {
		SchemaVersion int               `json:"schemaVersion"`
		MediaType     string            `json:"mediaType"`
		Config        descriptor        `json:"config"`
		Layers        []descriptor      `json:"layers"`
		Annotations   map[string]string `json:"annotations,omitempty"`
	}
	indexDoc struct {
		SchemaVersion int          `json:"schemaVersion"`
		MediaType     string       `json:"mediaType"`
		Manifests     []descriptor `json:"manifests"`
	}
	runConfig struct {
		User         string              `json:"User,omitempty"`
		ExposedPorts map[string]struct{} `json:"ExposedPorts,omitempty"`
		Env          []string            `json:"Env,omitempty"`
		Entrypoint   []string            `json:"Entrypoint,omitempty"`
		Cmd          []string            `json:"Cmd,omitempty"`
		Volumes      map[string]struct{} `json:"Volumes,omitempty"`
		WorkingDir   string              `json:"WorkingDir,omitempty"`
		Labels       map[string]string   `json:"Labels,omitempty"`
		StopSignal   string              `json:"StopSignal,omitempty"`
		ArgsEscaped  bool                `json:"ArgsEscaped,omitempty"`
		OnBuild      []string            `json:"OnBuild,omitempty"`
		Shell        []string            `json:"Shell,omitempty"`
	}
	rootFS struct {
		Type    string   `json:"type"`
		DiffIDs []string `json:"diff_ids"`
	}
)

func set(keys []string) map[string]struct{} {
	if len(keys) == 0 {
		return nil
	}
	m := make(map[string]struct{}, len(keys))
	for _, k := range keys {
		m[k] = struct{}{}
	}
	return m
}

// configJSON is the image config as BuildKit writes it: compact JSON.
func configJSON(cfg Config, diffIDs []string) ([]byte, error) {
	top := map[string]any{
		"architecture": cfg.Architecture,
		"os":           cfg.OS,
		"created":      CreatedText,
		"config": runConfig{
			User: cfg.User, ExposedPorts: set(cfg.ExposedPorts), Env: cfg.Env,
			Entrypoint: cfg.Entrypoint, Cmd: cfg.Cmd, Volumes: set(cfg.Volumes),
			WorkingDir: cfg.WorkingDir, Labels: cfg.Labels, StopSignal: cfg.StopSignal,
			ArgsEscaped: cfg.ArgsEscaped, OnBuild: cfg.OnBuild, Shell: cfg.Shell,
		},
		"rootfs": rootFS{Type: "layers", DiffIDs: diffIDs},
	}
	if cfg.Variant != "" {
		top["variant"] = cfg.Variant
	}
	if len(cfg.History) > 0 {
		top["history"] = cfg.History
	}
	return json.Marshal(top)
}

// blob is a JSON document or a layer file of a layout, with its digest.
type blob struct {
	digest v1.Hash
	size   int64
	data   []byte // JSON documents
	layer  *Layer // layer files, copied and checked
}

func jsonBlob(data []byte) blob {
	h, n, _ := v1.SHA256(bytes.NewReader(data))
	return blob{digest: h, size: n, data: data}
}

// imageBlobs returns the blobs of img, the manifest last, and the
// manifest's descriptor with the platform.
func imageBlobs(img Image) ([]blob, descriptor, error) {
	cfg := img.Config
	if cfg.OS == "" || cfg.Architecture == "" {
		return nil, descriptor{}, fmt.Errorf("image config: OS and Architecture are required (got %q, %q)", cfg.OS, cfg.Architecture)
	}
	for _, e := range cfg.Env {
		if k, _, ok := strings.Cut(e, "="); !ok || k == "" {
			return nil, descriptor{}, fmt.Errorf("image config: env entry %q: expected KEY=VALUE", e)
		}
	}
	for k := range img.Annotations {
		if k == "" {
			return nil, descriptor{}, fmt.Errorf("manifest annotations: empty key")
		}
	}
	layered := 0
	for _, h := range cfg.History {
		if !h.EmptyLayer {
			layered++
		}
	}
	if len(cfg.History) > 0 && layered != len(img.Layers) {
		return nil, descriptor{}, fmt.Errorf("image config: %d history entries with a layer for %d layers", layered, len(img.Layers))
	}
	// No layers are null in BuildKit's documents, not [].
	var blobs []blob
	var diffIDs []string
	var descs []descriptor
	seen := map[v1.Hash]*fileLayer{}
	for i := range img.Layers {
		l := &img.Layers[i]
		fl, err := newFileLayer(*l)
		if err != nil {
			return nil, descriptor{}, err
		}
		if prev, ok := seen[fl.digest]; ok {
			if prev.diffID != fl.diffID || prev.size != fl.size {
				return nil, descriptor{}, fmt.Errorf("layers %s and %s share digest %s but differ in diff ID or size", prev.path, fl.path, fl.digest)
			}
		} else {
			seen[fl.digest] = fl
			blobs = append(blobs, blob{digest: fl.digest, size: fl.size, layer: l})
		}
		diffIDs = append(diffIDs, fl.diffID.String())
		descs = append(descs, descriptor{MediaType: string(fl.mediaType), Digest: fl.digest.String(), Size: fl.size, Annotations: l.Annotations})
	}
	rawConfig, err := configJSON(cfg, diffIDs)
	if err != nil {
		return nil, descriptor{}, err
	}
	cb := jsonBlob(rawConfig)
	m := manifestDoc{
		SchemaVersion: 2,
		MediaType:     string(types.OCIManifestSchema1),
		Config:        descriptor{MediaType: string(types.OCIConfigJSON), Digest: cb.digest.String(), Size: cb.size},
		Layers:        descs,
	}
	if len(img.Annotations) > 0 {
		m.Annotations = img.Annotations
	}
	rawManifest, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return nil, descriptor{}, err
	}
	mb := jsonBlob(rawManifest)
	blobs = append(blobs, cb, mb)
	desc := descriptor{
		MediaType: string(types.OCIManifestSchema1),
		Digest:    mb.digest.String(),
		Size:      mb.size,
		Platform:  &platform{Architecture: cfg.Architecture, OS: cfg.OS, Variant: cfg.Variant},
	}
	return blobs, desc, nil
}

// WriteImage writes an OCI image layout at dir as BuildKit's OCI exporter
// writes a multi-platform build of one platform: index.json points at an
// image index, which lists the image's manifest. Layers are copied
// unchanged and checked against their Digest and Size. It returns the
// manifest digest, "sha256:<hex>", the digest StageX pins. An existing dir
// is replaced.
func WriteImage(dir string, img Image) (manifestDigest string, err error) {
	blobs, desc, err := imageBlobs(img)
	if err != nil {
		return "", err
	}
	if err := writeIndexLayout(dir, blobs, []descriptor{desc}, img.Name); err != nil {
		return "", err
	}
	return desc.Digest, nil
}

// writeIndexLayout writes a layout of blobs plus an image index over
// manifests, which index.json points at (naming it name, if given).
func writeIndexLayout(dir string, blobs []blob, manifests []descriptor, name string) error {
	return WriteDir(dir, func(tmp string) error {
		if err := os.MkdirAll(filepath.Join(tmp, "blobs", "sha256"), 0o755); err != nil {
			return err
		}
		return writeIndexFiles(tmp, blobs, manifests, name)
	})
}

// writeIndexFiles writes blobs, an image index over manifests, oci-layout
// and index.json into the directory tmp.
func writeIndexFiles(tmp string, blobs []blob, manifests []descriptor, name string) error {
	rawIndex, err := json.MarshalIndent(indexDoc{SchemaVersion: 2, MediaType: string(types.OCIImageIndex), Manifests: manifests}, "", "  ")
	if err != nil {
		return err
	}
	ib := jsonBlob(rawIndex)
	top := descriptor{
		MediaType:   string(types.OCIImageIndex),
		Digest:      ib.digest.String(),
		Size:        ib.size,
		Annotations: map[string]string{AnnotationCreated: CreatedText},
	}
	if name != "" {
		top.Annotations[annotationImageName] = imageNamePrefix + name + imageNameSuffix
		top.Annotations[annotationRefName] = "latest"
	}
	rawTop, err := json.Marshal(indexDoc{SchemaVersion: 2, MediaType: string(types.OCIImageIndex), Manifests: []descriptor{top}})
	if err != nil {
		return err
	}
	blobs = append(blobs, ib)
	if err := os.WriteFile(filepath.Join(tmp, "oci-layout"), []byte(`{"imageLayoutVersion":"1.0.0"}`), 0o644); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(tmp, "index.json"), rawTop, 0o644); err != nil {
		return err
	}
	written := map[v1.Hash]bool{}
	for _, b := range blobs {
		if written[b.digest] {
			continue
		}
		written[b.digest] = true
		if err := writeBlob(BlobPath(tmp, b.digest), b); err != nil {
			return err
		}
	}
	return nil
}

func writeBlob(path string, b blob) error {
	if b.layer == nil {
		return os.WriteFile(path, b.data, 0o644)
	}
	r, err := OpenBlob(b.layer.Path, b.digest, b.size)
	if err != nil {
		return err
	}
	defer r.Close()
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, r); err != nil {
		f.Close()
		return err
	}
	return f.Close()
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

// WriteFetchedImage writes an OCI layout at dir, as WriteImage writes one,
// for an image that is given as its manifest (rawManifest, whose digest the
// caller has checked) and whose config and layers fetch writes to the paths
// it is given (checking each against its descriptor). name is as
// Image.Name. It returns the manifest's descriptor with the platform its
// config names.
func WriteFetchedImage(dir, name string, rawManifest []byte, fetch func(desc v1.Descriptor, path string) error) (v1.Descriptor, error) {
	m, err := v1.ParseManifest(bytes.NewReader(rawManifest))
	if err != nil {
		return v1.Descriptor{}, fmt.Errorf("manifest: %w", err)
	}
	mb := jsonBlob(rawManifest)
	var out v1.Descriptor
	err = WriteDir(dir, func(tmp string) error {
		if err := os.MkdirAll(filepath.Join(tmp, "blobs", "sha256"), 0o755); err != nil {
			return err
		}
		seen := map[v1.Hash]bool{}
		for _, b := range append([]v1.Descriptor{m.Config}, m.Layers...) {
			if b.Digest.Algorithm != "sha256" {
				return fmt.Errorf("manifest %s: blob %s: only sha256 digests are supported", mb.digest, b.Digest)
			}
			if seen[b.Digest] {
				continue
			}
			seen[b.Digest] = true
			if err := fetch(b, BlobPath(tmp, b.Digest)); err != nil {
				return err
			}
		}
		rawConfig, err := ReadBlob(BlobPath(tmp, m.Config.Digest), m.Config.Digest, m.Config.Size)
		if err != nil {
			return err
		}
		var doc configDoc
		if err := json.Unmarshal(rawConfig, &doc); err != nil {
			return fmt.Errorf("config %s: %w", m.Config.Digest, err)
		}
		desc := descriptor{
			MediaType: string(types.OCIManifestSchema1), Digest: mb.digest.String(), Size: mb.size,
			Platform: &platform{Architecture: doc.Architecture, OS: doc.OS, Variant: doc.Variant},
		}
		if m.MediaType != "" {
			desc.MediaType = string(m.MediaType)
		}
		out = v1.Descriptor{MediaType: types.MediaType(desc.MediaType), Digest: mb.digest, Size: mb.size,
			Platform: &v1.Platform{Architecture: doc.Architecture, OS: doc.OS, Variant: doc.Variant}}
		return writeIndexFiles(tmp, []blob{mb}, []descriptor{desc}, name)
	})
	return out, err
}
