package digests

import (
	"fmt"
	"io"

	"github.com/stagex/stagex-bazel/tools/internal/ociimage"
)

// CheckOptions name a built image and the pin it must match.
type CheckOptions struct {
	// Pins is the pin file, digests/<tier>.txt.
	Pins string
	// PinsOwner is the repository the pin file belongs to, when it is not
	// this workspace's (see Pins.Owner).
	PinsOwner string
	// Image is the image's name, <tier>-<name>.
	Image string
	// Layout is the OCI layout directory of the built image.
	Layout string
	// Out receives the line that says the digest matches.
	Out io.Writer
}

// CheckLayout fails when the digest of the layout's manifest differs from
// the image's pin or when the image has no pin.
func CheckLayout(o CheckOptions) error {
	pins, err := Load(o.Pins)
	if err != nil {
		return err
	}
	pins.Owner = o.PinsOwner
	built, err := ociimage.LayoutDigest(o.Layout)
	if err != nil {
		return err
	}
	if err := pins.Check(o.Image, built); err != nil {
		return err
	}
	fmt.Fprintf(o.Out, "%s: %s matches %s\n", o.Image, built, o.Pins)
	return nil
}

// UpdateOptions name built images whose digests are to be pinned.
type UpdateOptions struct {
	// Root is the workspace root holding digests/.
	Root string
	// Layouts maps image names, <tier>-<name>, to OCI layout directories.
	Layouts map[string]string
	// Out receives a line per image: pinned, changed or unchanged.
	Out io.Writer
}

// UpdateLayouts rewrites the pins of the given images in
// ROOT/digests/<tier>.txt from the digests of their layouts' manifests.
func UpdateLayouts(o UpdateOptions) error {
	if o.Root == "" {
		return fmt.Errorf("no workspace root: pass --root or run through `bazel run`")
	}
	built := map[string]string{}
	for name, dir := range o.Layouts {
		d, err := ociimage.LayoutDigest(dir)
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		built[name] = d
	}
	changes, err := Update(o.Root, built)
	if err != nil {
		return err
	}
	printChanges(o.Out, changes)
	return nil
}
