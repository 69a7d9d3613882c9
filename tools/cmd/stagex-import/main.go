// Command stagex-import is the build action behind images pinned by digest
// with the `stagex` module extension: it checks the maintainers' signatures
// over the pinned digest and only then writes the downloaded blobs as an
// OCI image layout. See package imageimport.
//
//	stagex-import --blobs DIR --digest sha256:HEX [--platform OS/ARCH] --image-name NAME
//	              --keyring FILE ... --store DIR [--policy FILE] [--repository-prefix stagex]
//	              --out DIR [--digest-out FILE] [--report FILE]
//
// It exits 0 when the image was imported, 1 when it was refused or failed,
// 2 on a wrong command line.
package main

import (
	"io"
	"os"

	"github.com/stagex/stagex-bazel/tools/internal/cli"
	"github.com/stagex/stagex-bazel/tools/internal/imageimport"
	"github.com/stagex/stagex-bazel/tools/internal/stagex"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stderr))
}

func run(args []string, stderr io.Writer) int {
	o, err := parse(args, stderr)
	if err == nil {
		err = imageimport.Run(o)
	}
	return cli.Exit("stagex-import", err, stderr)
}

// parse maps the command line to imageimport.Options.
func parse(args []string, stderr io.Writer) (imageimport.Options, error) {
	var o imageimport.Options
	fs := cli.NewFlagSet("stagex-import", "", stderr)
	fs.StringVar(&o.Blobs, "blobs", "", "directory holding the blobs as sha256/<hex> (required)")
	fs.StringVar(&o.Digest, "digest", "", "the pinned, signed digest: sha256:<hex> of a manifest or index (required)")
	fs.StringVar(&o.Platform, "platform", "", "platform to take from an index, e.g. linux/amd64")
	fs.StringVar(&o.ImageName, "image-name", "", "published image name the signatures name, e.g. core-busybox (required)")
	fs.StringVar(&o.Prefix, "repository-prefix", stagex.RepositoryPrefix, "repository prefix of the signed identity")
	fs.Var((*cli.Strings)(&o.Keyring), "keyring", "maintainer public key file or directory (repeatable; required)")
	fs.StringVar(&o.Store, "store", "", "root of the lookaside signature store (required)")
	fs.StringVar(&o.Policy, "policy", "", "signing policy file (TOML)")
	fs.StringVar(&o.Out, "out", "", "layout directory to write (required)")
	fs.StringVar(&o.DigestOut, "digest-out", "", "file to write the image's manifest digest to")
	fs.StringVar(&o.Report, "report", "", "file to write the signature report to")
	return o, cli.Parse(fs, args)
}
