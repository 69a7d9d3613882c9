// Package pull writes an image named by its digest into an OCI image layout
// directory, the form stagex_stage and other Bazel rules consume. The image
// comes from a registry (Pull) or from blobs already downloaded, for
// example by Bazel's downloader (Assemble).
//
// The digest may name an image manifest or a multi-platform image index;
// from an index, the image for one platform is taken. Every manifest and
// blob is checked against its digest before it is written. The layout holds
// exactly that image, written the way package ociimage writes layouts
// (index.json lists one manifest by media type, digest and size; files
// 0644, directories 0755), so an image pulled back is byte-for-byte the
// layout that was pushed.
package pull

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/stagex/stagex-bazel/tools/internal/ociimage"
	"github.com/stagex/stagex-bazel/tools/internal/regclient"
	"github.com/stagex/stagex-bazel/tools/internal/stagex"
)

// Options configure Pull.
type Options struct {
	regclient.Options
	// Platform chooses the image of an index: "os/architecture" or
	// "os/architecture/variant", e.g. "linux/amd64". Empty accepts an index
	// only when it lists a single image.
	Platform string
	// Name is the image's name for index.json, <tier>-<name>, as a build
	// of it gives it (see ociimage.Image.Name); a registry does not know
	// it. Empty names none.
	Name string
}

// Result says what was written.
type Result struct {
	// Digest is the digest asked for: of a manifest or of an index.
	Digest string
	// ImageDigest is the manifest digest of the image in the layout; it
	// differs from Digest when Digest names an index.
	ImageDigest string
	// Platform is the platform chosen from an index, or empty.
	Platform string
}

// Pull downloads the image ref names ("HOST[:PORT]/PATH@sha256:<hex>") into
// a new OCI layout at dir, which must not exist or be empty.
func Pull(ctx context.Context, ref, dir string, opts Options) (*Result, error) {
	repo, h, err := regclient.ParseDigestReference(ref)
	if err != nil {
		return nil, err
	}
	client, err := regclient.New(opts.Options, false)
	if err != nil {
		return nil, err
	}
	ctx, cancel := opts.Deadline(ctx)
	defer cancel()
	src := &remoteSource{client: client, repo: repo, opts: opts.Options}
	res, err := write(ctx, src, h, opts.Platform, opts.Name, dir)
	if err != nil {
		return nil, err
	}
	opts.Logf("pulled %s into %s", ref, dir)
	return res, nil
}

// Assemble writes the image with digest (a manifest or index digest,
// "sha256:<hex>") into a new OCI layout at dir from blobDir, a directory
// holding blobs as sha256/<hex> (the blobs directory of a layout, or what a
// repository rule downloaded).
func Assemble(blobDir, digest, platform, dir string) (*Result, error) {
	h, err := regclient.ParseDigest(digest)
	if err != nil {
		return nil, err
	}
	return write(context.Background(), localSource(blobDir), h, platform, "", dir)
}

// source gives manifests and blobs, each checked against its digest.
type source interface {
	manifest(ctx context.Context, h v1.Hash) ([]byte, types.MediaType, error)
	blob(ctx context.Context, desc v1.Descriptor, path string) error
	begin(total int64)
}

// write resolves h to one image and writes the layout.
func write(ctx context.Context, src source, h v1.Hash, platform, name, dir string) (*Result, error) {
	if err := checkTarget(dir); err != nil {
		return nil, err
	}
	raw, mt, err := src.manifest(ctx, h)
	if err != nil {
		return nil, err
	}
	res := &Result{Digest: h.String(), ImageDigest: h.String()}
	if mt.IsIndex() {
		desc, err := choose(h, raw, platform)
		if err != nil {
			return nil, err
		}
		if raw, mt, err = src.manifest(ctx, desc.Digest); err != nil {
			return nil, err
		}
		if !mt.IsImage() {
			return nil, fmt.Errorf("index %s: entry %s is a %s, expected an image manifest", h, desc.Digest, mt)
		}
		res.ImageDigest = desc.Digest.String()
		res.Platform = desc.Platform.String()
	}
	m, err := v1.ParseManifest(bytes.NewReader(raw))
	if err != nil {
		return nil, fmt.Errorf("manifest %s: %v", res.ImageDigest, err)
	}
	var total int64
	for _, b := range append([]v1.Descriptor{m.Config}, m.Layers...) {
		if b.Digest.Algorithm != "sha256" {
			return nil, fmt.Errorf("manifest %s: blob %s: only sha256 digests are supported", res.ImageDigest, b.Digest)
		}
		total += b.Size
	}
	src.begin(total)
	fetch := func(desc v1.Descriptor, path string) error { return src.blob(ctx, desc, path) }
	if _, err := ociimage.WriteFetchedImage(dir, name, raw, fetch); err != nil {
		return nil, err
	}
	return res, nil
}

// choose picks the entry of index h (raw) for platform.
func choose(h v1.Hash, raw []byte, platform string) (v1.Descriptor, error) {
	im, err := v1.ParseIndexManifest(bytes.NewReader(raw))
	if err != nil {
		return v1.Descriptor{}, fmt.Errorf("index %s: %v", h, err)
	}
	var images []v1.Descriptor
	for _, d := range im.Manifests {
		if d.MediaType.IsImage() {
			images = append(images, d)
		}
	}
	if platform == "" {
		if len(images) == 1 {
			return images[0], nil
		}
		return v1.Descriptor{}, fmt.Errorf("index %s lists %d images (%s): choose one with a platform", h, len(images), platforms(images))
	}
	want, err := stagex.ParsePlatform(platform)
	if err != nil {
		return v1.Descriptor{}, err
	}
	for _, d := range images {
		if d.Platform != nil && d.Platform.OS == want.OS && d.Platform.Architecture == want.Arch &&
			(want.Variant == "" || d.Platform.Variant == want.Variant) {
			return d, nil
		}
	}
	return v1.Descriptor{}, fmt.Errorf("index %s has no image for platform %s; it has: %s", h, platform, platforms(images))
}

func platforms(ds []v1.Descriptor) string {
	var out []string
	for _, d := range ds {
		if d.Platform != nil {
			out = append(out, d.Platform.String())
		} else {
			out = append(out, "(unnamed platform) "+d.Digest.String())
		}
	}
	sort.Strings(out)
	if len(out) == 0 {
		return "none"
	}
	return strings.Join(out, ", ")
}

// remoteSource reads from a registry.
type remoteSource struct {
	client   *regclient.Client
	repo     regclient.Repository
	opts     regclient.Options
	progress *regclient.Progress
}

func (s *remoteSource) manifest(ctx context.Context, h v1.Hash) ([]byte, types.MediaType, error) {
	return s.client.GetManifest(ctx, s.repo, h)
}

func (s *remoteSource) begin(total int64) {
	s.opts.Logf("pulling %s: %s in blobs", s.repo, regclient.Size(total))
	s.progress = s.opts.NewProgress("pulling "+s.repo.Path, total)
}

func (s *remoteSource) blob(ctx context.Context, desc v1.Descriptor, path string) error {
	return s.client.GetBlob(ctx, s.repo, desc, path, s.progress)
}

// localSource reads blobs from <dir>/sha256/<hex>.
type localSource string

func (s localSource) path(h v1.Hash) string { return filepath.Join(string(s), h.Algorithm, h.Hex) }

func (s localSource) begin(int64) {}

func (s localSource) manifest(_ context.Context, h v1.Hash) ([]byte, types.MediaType, error) {
	p := s.path(h)
	raw, err := ociimage.ReadBlob(p, h, ociimage.UnknownSize)
	if err != nil {
		return nil, "", err
	}
	var probe struct {
		MediaType types.MediaType `json:"mediaType"`
	}
	if err := json.Unmarshal(raw, &probe); err != nil {
		return nil, "", fmt.Errorf("%s: manifest is not JSON: %v", p, err)
	}
	if !probe.MediaType.IsImage() && !probe.MediaType.IsIndex() {
		return nil, "", fmt.Errorf("%s: mediaType %q is not an image manifest or index", p, probe.MediaType)
	}
	return raw, probe.MediaType, nil
}

// blob copies the blob desc names to a new file at path, checking it on the
// way (see ociimage.OpenBlob).
func (s localSource) blob(_ context.Context, desc v1.Descriptor, path string) (err error) {
	in, err := ociimage.OpenBlob(s.path(desc.Digest), desc.Digest, desc.Size)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.Create(path)
	if err != nil {
		return err
	}
	defer func() {
		if cerr := out.Close(); err == nil {
			err = cerr
		}
	}()
	_, err = io.Copy(out, in)
	return err
}
