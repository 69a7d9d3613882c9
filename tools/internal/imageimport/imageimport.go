// Package imageimport turns the blobs of a published image, downloaded by
// Bazel's downloader, into an OCI image layout that builds may use, but
// only once the image's maintainer signatures meet the policy's threshold.
//
// It is the build action behind images that the `stagex` module extension
// pins by digest: the repository rule downloads manifest and blobs (each
// checked against its digest by the downloader); this action verifies the
// signatures over the pinned digest with stagex-verify's own code, and only
// then writes the layout. An image without enough signatures therefore
// fails every build that uses it, before any of its files are used.
package imageimport

import (
	"bytes"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/stagex/stagex-bazel/tools/internal/pull"
	"github.com/stagex/stagex-bazel/tools/internal/signing/cli"
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
	// Policy is the policy file; empty means stagex-verify's default.
	Policy string
	// Out is the layout directory to write (missing or empty).
	Out string
	// DigestOut, if set, receives the manifest digest of the image written.
	DigestOut string
	// Report, if set, receives stagex-verify's account of the signatures.
	Report string
}

// VerifyArgs returns the stagex-verify arguments that check o's image.
func (o Options) VerifyArgs() []string {
	args := []string{"--store", o.Store, "--repository-prefix", o.Prefix, "--image", o.ImageName, "--digest", o.Digest}
	for _, k := range o.Keyring {
		args = append(args, "--keyring", k)
	}
	if o.Policy != "" {
		args = append(args, "--policy", o.Policy)
	}
	return args
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
	code := cli.Verify(o.VerifyArgs(), &report, &report)
	if o.Report != "" {
		if err := os.WriteFile(o.Report, report.Bytes(), 0o644); err != nil {
			return err
		}
	}
	if code != cli.ExitOK {
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

func indent(s string) string {
	s = strings.TrimRight(s, "\n")
	return "    " + strings.ReplaceAll(s, "\n", "\n    ")
}

// Command runs stagex-import with args (without the program name) and
// returns its exit code (0 imported, 1 refused or failed, 2 bad usage).
//
//	stagex-import --blobs DIR --digest sha256:HEX [--platform OS/ARCH] --image-name NAME
//	              --keyring FILE ... --store DIR [--policy FILE] [--repository-prefix stagex]
//	              --out DIR [--digest-out FILE] [--report FILE]
func Command(args []string, stderr io.Writer) int {
	fs := flag.NewFlagSet("stagex-import", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var o Options
	fs.StringVar(&o.Blobs, "blobs", "", "directory holding the blobs as sha256/<hex> (required)")
	fs.StringVar(&o.Digest, "digest", "", "the pinned, signed digest: sha256:<hex> of a manifest or index (required)")
	fs.StringVar(&o.Platform, "platform", "", "platform to take from an index, e.g. linux/amd64")
	fs.StringVar(&o.ImageName, "image-name", "", "published image name the signatures name, e.g. core-busybox (required)")
	fs.StringVar(&o.Prefix, "repository-prefix", stagex.RepositoryPrefix, "repository prefix of the signed identity")
	fs.Func("keyring", "maintainer public key file or directory (repeatable; required)", func(v string) error {
		o.Keyring = append(o.Keyring, v)
		return nil
	})
	fs.StringVar(&o.Store, "store", "", "root of the lookaside signature store (required)")
	fs.StringVar(&o.Policy, "policy", "", "signing policy file (TOML)")
	fs.StringVar(&o.Out, "out", "", "layout directory to write (required)")
	fs.StringVar(&o.DigestOut, "digest-out", "", "file to write the image's manifest digest to")
	fs.StringVar(&o.Report, "report", "", "file to write the signature report to")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "stagex-import: unexpected argument %q\n", fs.Arg(0))
		return 2
	}
	if err := Run(o); err != nil {
		fmt.Fprintf(stderr, "stagex-import: %v\n", err)
		return 1
	}
	return 0
}
