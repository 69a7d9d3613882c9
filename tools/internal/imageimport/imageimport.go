// Package imageimport turns the blobs of a published image, downloaded by
// Bazel's downloader, into an OCI image layout that builds may use, but
// only once the image's maintainer signatures meet the policy's threshold.
//
// It is the build action behind images that the `stagex` module extension
// pins by digest: the repository rule downloads manifest and blobs (each
// checked against its digest by the downloader); this action verifies the
// signatures over the pinned digest with signing.VerifyImages, as
// stagex-verify does, and only then writes the layout. An image without
// enough signatures therefore fails every build that uses it, before any of
// its files are used.
package imageimport

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/stagex/stagex-bazel/tools/internal/pull"
	"github.com/stagex/stagex-bazel/tools/internal/signing"
	"github.com/stagex/stagex-bazel/tools/internal/stagex"
)

// Options say what to import and how to check it.
type Options struct {
	// Blobs is a directory holding the image's blobs as sha256/<hex>.
	Blobs string
	// Digest is the pinned digest, "sha256:<hex>", of the image manifest or
	// of the multi-platform index that the maintainers signed.
	Digest string
	// Platform chooses the image of an index ("linux/amd64").
	Platform string
	// ImageName is the published name the signatures are over, as in
	// "<Prefix>/<ImageName>" (e.g. "core-busybox").
	ImageName string
	// Prefix is the repository prefix of the signed identity ("stagex").
	Prefix string
	// Keyring lists the maintainers' public key files or directories.
	Keyring []string
	// Store is the root of the lookaside signature store.
	Store string
	// Policy is the policy file; empty means the default policy (see
	// signing.VerifyImagesOptions).
	Policy string
	// Out is the layout directory to write (missing or empty).
	Out string
	// DigestOut, if set, receives the manifest digest of the image written.
	DigestOut string
	// Report, if set, receives the account of the signatures: who signed,
	// who is missing, and why the image is refused.
	Report string
}

// Run verifies the signatures, then writes the layout. It writes nothing
// but the report when verification fails.
func Run(o Options) error {
	if o.Prefix == "" {
		o.Prefix = stagex.RepositoryPrefix
	}
	switch {
	case o.Blobs == "" || o.Digest == "" || o.ImageName == "" || o.Out == "":
		return fmt.Errorf("blobs, digest, image name and output are all required")
	case len(o.Keyring) == 0 || o.Store == "":
		return fmt.Errorf("%s@%s: a keyring and a signature store are required: pinned images are used only with their maintainers' signatures", o.ImageName, o.Digest)
	}
	var report bytes.Buffer
	err := verify(o, &report)
	if o.Report != "" {
		if err := os.WriteFile(o.Report, report.Bytes(), 0o644); err != nil {
			return err
		}
	}
	if err != nil {
		return fmt.Errorf("%s/%s@%s is not used: its signatures do not meet the policy (signature store %s):\n%s",
			o.Prefix, o.ImageName, o.Digest, o.Store, indent(report.String()))
	}
	res, err := pull.Assemble(o.Blobs, o.Digest, o.Platform, o.Out)
	if err != nil {
		return fmt.Errorf("%s/%s@%s: %w", o.Prefix, o.ImageName, o.Digest, err)
	}
	if o.DigestOut != "" {
		return os.WriteFile(o.DigestOut, []byte(res.ImageDigest+"\n"), 0o644)
	}
	return nil
}

// verify checks the signatures over o's image and writes the account of
// them to report: skipped key files, who signed, who is missing, and the
// reason when the image is refused.
func verify(o Options, report io.Writer) error {
	rep, err := signing.VerifyImages(signing.VerifyImagesOptions{
		Keyrings: o.Keyring,
		Policy:   o.Policy,
		Store:    o.Store,
		Prefix:   o.Prefix,
		Image:    o.ImageName,
		Digest:   o.Digest,
	})
	if err == nil {
		for _, p := range rep.SkippedKeys {
			fmt.Fprintf(report, "warning: skipped key file %v\n", p)
		}
		rep.Print(report, false)
		err = rep.Err()
	}
	if err != nil {
		fmt.Fprintln(report, err)
	}
	return err
}

func indent(s string) string {
	s = strings.TrimRight(s, "\n")
	return "    " + strings.ReplaceAll(s, "\n", "\n    ")
}
