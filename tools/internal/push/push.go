// Package push uploads the image (or multi-platform image index) of an OCI
// image layout directory, as stagex_stage builds it, to a registry, by
// digest and optionally under tags.
//
// The manifest is pushed under its digest first, so that the image is
// addressable exactly as StageX pins it; tags are added afterwards and point
// at the same manifest. Every blob is checked against its digest as it is
// read from the layout, blobs the registry already holds are skipped, and
// network behaviour is bounded as package regclient describes.
package push

import (
	"context"
	"fmt"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/stagex/stagex-bazel/tools/internal/regclient"
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

// Push uploads the image or multi-platform image index that the OCI layout
// at dir holds to repository ("HOST[:PORT]/NAMESPACE/NAME") under its
// digest, then adds opts.Tags.
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
	p, err := readPlan(dir)
	if err != nil {
		return nil, err
	}
	h := p.top.desc.Digest
	client, err := regclient.New(opts.Options, true)
	if err != nil {
		return nil, err
	}
	ref := repo.String() + "@" + h.String()
	ctx, cancel := opts.Deadline(ctx)
	defer cancel()

	res := &Result{Digest: h.String(), Reference: ref}
	var missing []v1.Descriptor
	var total int64
	for _, b := range p.blobs {
		ok, err := client.BlobExists(ctx, repo, b.Digest)
		if err != nil {
			return nil, err
		}
		if ok {
			res.Skipped++
			continue
		}
		missing = append(missing, b)
		total += b.Size
	}
	opts.Logf("pushing %s to %s: %d of %d blobs to upload (%s)", dir, ref, len(missing), len(p.blobs), regclient.Size(total))
	progress := opts.NewProgress("pushing "+repo.Path, total)
	for _, b := range missing {
		if err := p.checkBlob(b); err != nil {
			return nil, err
		}
		if err := client.PutBlob(ctx, repo, b, p.opener(b), progress); err != nil {
			return nil, err
		}
		res.Uploaded++
	}
	// Manifests by digest, each index after what it lists.
	for _, m := range p.manifests {
		if err := client.PutManifest(ctx, repo, m.desc.Digest.String(), m.desc.MediaType, m.raw); err != nil {
			return nil, err
		}
	}
	opts.Logf("pushed %s", ref)
	for _, t := range opts.Tags {
		if err := client.PutManifest(ctx, repo, t, p.top.desc.MediaType, p.top.raw); err != nil {
			return res, err
		}
		res.Tagged = append(res.Tagged, repo.String()+":"+t)
		opts.Logf("tagged %s:%s", repo, t)
	}
	return res, nil
}
