package ociimage

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// WriteIndex writes an OCI image layout at dir holding a multi-platform
// image index over the single images of the layouts in images, in the order
// given, each listed with the platform its config names. Two images for the
// same platform are an error. annotations go on the index. It returns the
// index digest, "sha256:<hex>". An existing dir is replaced.
func WriteIndex(dir string, images []string, annotations map[string]string) (indexDigest string, err error) {
	if len(images) == 0 {
		return "", fmt.Errorf("image index %s: no images", dir)
	}
	im := v1.IndexManifest{
		SchemaVersion: 2,
		MediaType:     types.OCIImageIndex,
		Manifests:     make([]v1.Descriptor, 0, len(images)),
	}
	if len(annotations) > 0 {
		im.Annotations = annotations
	}
	imgs := make([]v1.Image, 0, len(images))
	seen := map[string]string{}
	for _, src := range images {
		img, err := ReadImage(src)
		if err != nil {
			return "", err
		}
		cf, err := img.ConfigFile()
		if err != nil {
			return "", fmt.Errorf("%s: config: %w", src, err)
		}
		p := cf.Platform()
		if p == nil || p.OS == "" || p.Architecture == "" {
			return "", fmt.Errorf("%s: config names no os and architecture", src)
		}
		key := p.String()
		if prev, ok := seen[key]; ok {
			return "", fmt.Errorf("image index %s: %s and %s are both for platform %s", dir, prev, src, key)
		}
		seen[key] = src
		desc, err := describe(img)
		if err != nil {
			return "", fmt.Errorf("%s: %w", src, err)
		}
		desc.Platform = p
		im.Manifests = append(im.Manifests, desc)
		imgs = append(imgs, img)
	}
	raw, err := json.Marshal(im)
	if err != nil {
		return "", err
	}
	h, size, err := v1.SHA256(bytes.NewReader(raw))
	if err != nil {
		return "", err
	}
	err = WriteDir(dir, func(tmp string) error {
		p, err := layout.Write(tmp, empty.Index)
		if err != nil {
			return err
		}
		for _, img := range imgs {
			if err := p.WriteImage(img); err != nil {
				return err
			}
		}
		if err := p.WriteBlob(h, io.NopCloser(bytes.NewReader(raw))); err != nil {
			return err
		}
		return p.AppendDescriptor(v1.Descriptor{MediaType: types.OCIImageIndex, Size: size, Digest: h})
	})
	if err != nil {
		return "", err
	}
	return h.String(), nil
}
