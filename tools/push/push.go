// Package push uploads the image of an OCI image layout directory (as
// stagex_stage builds it) to a registry, by digest and optionally under
// tags.
//
// The manifest is pushed under its digest first, so that the image is
// addressable exactly as StageX pins it; tags are added afterwards and point
// at the same manifest. Every blob is checked against its digest as it is
// read from the layout, blobs the registry already holds are skipped, and
// network behaviour is bounded as package regclient describes.
package push

import (
	"bytes"
	"context"
	"fmt"
	"io"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/stagex/stagex-bazel/tools/ociimage"
	"github.com/stagex/stagex-bazel/tools/regclient"
)

// Options configure Push.
type Options struct {
	regclient.Options
	// Tags are added to the pushed manifest, e.g. "latest" or "1.2.3".
	Tags []string
}

// Result says what Push did.
type Result struct {
	// Digest is the manifest digest, "sha256:<hex>".
	Digest string
	// Reference is the pushed image by digest, "HOST/PATH@sha256:<hex>".
	Reference string
	// Uploaded and Skipped count the blobs sent and those the registry
	// already had.
	Uploaded, Skipped int
	// Tagged lists the tag references added, "HOST/PATH:TAG".
	Tagged []string
}

// Push uploads the single image of the OCI layout at dir to repository
// ("HOST[:PORT]/NAMESPACE/NAME") under its digest, then adds opts.Tags.
func Push(ctx context.Context, dir, repository string, opts Options) (*Result, error) {
	repo, err := regclient.ParseRepository(repository)
	if err != nil {
		return nil, err
	}
	for _, t := range opts.Tags {
		if !regclient.ValidTag(t) {
			return nil, fmt.Errorf("tag %q: expected up to 128 of A-Z a-z 0-9 _ . -, not starting with . or -", t)
		}
	}
	img, err := ociimage.ReadImage(dir)
	if err != nil {
		return nil, err
	}
	h, err := img.Digest()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", dir, err)
	}
	mt, err := img.MediaType()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", dir, err)
	}
	raw, err := img.RawManifest()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", dir, err)
	}
	blobs, err := imageBlobs(img)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", dir, err)
	}
	client, err := regclient.New(opts.Options, true)
	if err != nil {
		return nil, err
	}
	ref := repo.String() + "@" + h.String()
	ctx, cancel := opts.Deadline(ctx)
	defer cancel()

	res := &Result{Digest: h.String(), Reference: ref}
	var missing []blob
	var total int64
	for _, b := range blobs {
		ok, err := client.BlobExists(ctx, repo, b.desc.Digest)
		if err != nil {
			return nil, err
		}
		if ok {
			res.Skipped++
			continue
		}
		missing = append(missing, b)
		total += b.desc.Size
	}
	opts.Logf("pushing %s to %s: %d of %d blobs to upload (%s)", dir, ref, len(missing), len(blobs), regclient.Size(total))
	progress := opts.NewProgress("pushing "+repo.Path, total)
	for _, b := range missing {
		if err := client.PutBlob(ctx, repo, b.desc, b.open, progress); err != nil {
			return nil, err
		}
		res.Uploaded++
	}
	if err := client.PutManifest(ctx, repo, h.String(), mt, raw); err != nil {
		return nil, err
	}
	opts.Logf("pushed %s", ref)
	for _, t := range opts.Tags {
		if err := client.PutManifest(ctx, repo, t, mt, raw); err != nil {
			return res, err
		}
		res.Tagged = append(res.Tagged, repo.String()+":"+t)
		opts.Logf("tagged %s:%s", repo, t)
	}
	return res, nil
}

// blob is one blob of an image and a way to read it.
type blob struct {
	desc v1.Descriptor
	open func() (io.ReadCloser, error)
}

// imageBlobs lists the config and layer blobs of img. Each layer is
// checked against its digest as it is read.
func imageBlobs(img v1.Image) ([]blob, error) {
	m, err := img.Manifest()
	if err != nil {
		return nil, err
	}
	config, err := img.RawConfigFile()
	if err != nil {
		return nil, err
	}
	blobs := []blob{{desc: m.Config, open: func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(config)), nil
	}}}
	for _, d := range m.Layers {
		l, err := img.LayerByDigest(d.Digest)
		if err != nil {
			return nil, err
		}
		blobs = append(blobs, blob{desc: d, open: l.Compressed})
	}
	return blobs, nil
}
