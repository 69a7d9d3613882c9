package ociimage

import (
	"fmt"
	"os"
)

// WriteIndex writes an OCI image layout at dir holding a multi-platform
// image index over the single images of the layouts in images, in the order
// given, each listed with the platform its config names, as BuildKit writes
// a build for several platforms. Two images for the same platform are an
// error. name is the image's name for index.json (see Image.Name). It
// returns the index digest, "sha256:<hex>".
func WriteIndex(dir string, images []string, name string) (indexDigest string, err error) {
	if len(images) == 0 {
		return "", fmt.Errorf("image index %s: no images", dir)
	}
	var blobs []blob
	var manifests []descriptor
	seen := map[string]string{}
	for _, src := range images {
		img, err := readLayoutImage(src)
		if err != nil {
			return "", err
		}
		p := img.platform
		if p.OS == "" || p.Architecture == "" {
			return "", fmt.Errorf("%s: config names no os and architecture", src)
		}
		key := p.OS + "/" + p.Architecture + "/" + p.Variant
		if prev, ok := seen[key]; ok {
			return "", fmt.Errorf("image index %s: %s and %s are both for platform %s", dir, prev, src, key)
		}
		seen[key] = src
		blobs = append(blobs, img.blobs...)
		manifests = append(manifests, img.desc)
	}
	if err := writeIndexLayout(dir, blobs, manifests, name); err != nil {
		return "", err
	}
	top, err := TopDescriptor(dir)
	if err != nil {
		os.RemoveAll(dir)
		return "", err
	}
	return top.Digest.String(), nil
}
