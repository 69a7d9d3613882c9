package signing

import (
	"fmt"
	"sort"
	"strings"

	"github.com/stagex/stagex-bazel/tools/internal/diag"
	"github.com/stagex/stagex-bazel/tools/internal/digests"
	"github.com/stagex/stagex-bazel/tools/internal/ociimage"
)

// Image is one image to sign or verify: its published name, its tier, its
// manifest digest, and where that digest comes from.
type Image struct {
	// Name is the published image name, e.g. "core-busybox".
	Name string
	// Tier is the part of Name before the first '-', e.g. "core".
	Tier string
	// Digest is the manifest digest, "sha256:<hex>".
	Digest string
	// File is where the digest was read: a pin file, a built OCI layout,
	// or "" for an image given in code or on the command line.
	File string
	// Line is the 1-based line of the pin in File, 0 when not from a pin
	// file.
	Line int
}

// Hex returns the hex part of the digest.
func (i Image) Hex() string { return strings.TrimPrefix(i.Digest, "sha256:") }

// where names the origin of the image's digest in messages.
func (i Image) where() string {
	switch {
	case i.File == "":
		return "the command line"
	case i.Line > 0:
		return fmt.Sprintf("%s:%d", i.File, i.Line)
	}
	return i.File
}

// NewImage checks an image name ("<tier>-<name>") and digest (bare hex or
// "sha256:<hex>") and returns the image with its digest in "sha256:<hex>"
// form.
func NewImage(name, digest string) (Image, error) {
	tier, err := digests.TierOf(name)
	if err != nil {
		return Image{}, err
	}
	hex, err := digests.Hex(digest)
	if err != nil {
		return Image{}, err
	}
	return Image{Name: name, Tier: tier, Digest: "sha256:" + hex}, nil
}

// PinnedImages returns the images pinned in p, sorted by name, each with the
// pin file and line it came from.
func PinnedImages(p *digests.Pins) []Image {
	names := p.Names()
	images := make([]Image, 0, len(names))
	for _, n := range names {
		hex, _ := p.Lookup(n)
		tier, _ := digests.TierOf(n) // Parse and Set checked every name
		images = append(images, Image{Name: n, Tier: tier, Digest: "sha256:" + hex, File: p.Path(), Line: p.Line(n)})
	}
	return images
}

// LoadPins reads pin files (digests/<tier>.txt) and returns their images,
// file by file. An image pinned in two of the files is an error.
func LoadPins(paths ...string) ([]Image, error) {
	var images []Image
	seen := map[string]Image{}
	for _, path := range paths {
		p, err := digests.Load(path)
		if err != nil {
			return nil, err
		}
		for _, img := range PinnedImages(p) {
			if first, dup := seen[img.Name]; dup {
				return nil, diag.Errorf(img.File, img.Line, "%s is pinned again; expected one pin per image (first at %s)", img.Name, first.where())
			}
			seen[img.Name] = img
			images = append(images, img)
		}
	}
	return images, nil
}

// PinsUnder returns the pin files that hold the given images' pins in a
// source tree: root/digests/<tier>.txt for each tier among names, sorted.
func PinsUnder(root string, names []string) ([]string, error) {
	set := map[string]bool{}
	for _, n := range names {
		f, err := digests.FileFor(root, n)
		if err != nil {
			return nil, err
		}
		set[f] = true
	}
	files := make([]string, 0, len(set))
	for f := range set {
		files = append(files, f)
	}
	sort.Strings(files)
	return files, nil
}

// LayoutImage returns the image built as the OCI layout dir, published
// under name: its digest is the one the layout's index.json lists.
func LayoutImage(name, dir string) (Image, error) {
	d, err := ociimage.LayoutDigest(dir)
	if err != nil {
		return Image{}, fmt.Errorf("image %s: %w", name, err)
	}
	img, err := NewImage(name, d)
	if err != nil {
		return Image{}, err
	}
	img.File = dir
	return img, nil
}

// ParseLayoutArg splits a "NAME=DIR" command-line value.
func ParseLayoutArg(v string) (name, dir string, err error) {
	name, dir, ok := strings.Cut(v, "=")
	if !ok || name == "" || dir == "" {
		return "", "", fmt.Errorf("expected NAME=DIR (an image name and its OCI layout directory), got %q", v)
	}
	if _, err := digests.TierOf(name); err != nil {
		return "", "", err
	}
	return name, dir, nil
}

// MismatchError reports that an image was built (or given) with another
// digest than its pin; it points at where the built digest comes from.
func MismatchError(pinned, built Image) *diag.Error {
	file := built.File
	if file == "" {
		file = "--image"
	}
	return diag.Errorf(file, built.Line, "%s was built as %s but is pinned as %s (%s)", pinned.Name, built.Digest, pinned.Digest, pinned.where())
}
