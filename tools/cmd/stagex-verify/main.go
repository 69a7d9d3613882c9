// Command stagex-verify checks that StageX images carry valid signatures by
// at least the policy's threshold of distinct maintainer keys. See package
// signing for the trust model, and signing.VerifyImages.
package main

import (
	"fmt"
	"io"
	"os"

	"github.com/stagex/stagex-bazel/tools/internal/cli"
	"github.com/stagex/stagex-bazel/tools/internal/signing"
	"github.com/stagex/stagex-bazel/tools/internal/stagex"
)

const usage = `usage: stagex-verify --keyring DIR|FILE ... [--policy FILE] --store DIR
         [--digests FILE ...] [--layout NAME=DIR ...] [--image NAME --digest sha256:HEX]
         [--repository-prefix stagex] [-q]

Passes when every image has valid signatures by at least the policy's
threshold of distinct maintainer keys; prints who signed and who is missing.`

func main() {
	if err := cli.EnterWorkingDirectory(); err != nil {
		os.Exit(cli.Exit("stagex-verify", err, os.Stderr))
	}
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	o, quiet, err := parse(args, stderr)
	if err == nil {
		var rep *signing.Report
		if rep, err = signing.VerifyImages(o); err == nil {
			for _, p := range rep.SkippedKeys {
				fmt.Fprintf(stderr, "stagex-verify: warning: skipped key file %v\n", p)
			}
			rep.Print(stdout, quiet)
			err = rep.Err()
		}
	}
	return cli.Exit("stagex-verify", err, stderr)
}

// parse maps the command line to signing.VerifyImagesOptions and -q.
func parse(args []string, stderr io.Writer) (o signing.VerifyImagesOptions, quiet bool, err error) {
	fs := cli.NewFlagSet("stagex-verify", usage, stderr)
	fs.Var((*cli.Strings)(&o.Keyrings), "keyring", "maintainer public keys: a directory of <name>.asc files, or one such file (repeatable; required)")
	fs.StringVar(&o.Policy, "policy", "", "policy file (TOML); default: threshold 2, every keyring key counts")
	fs.StringVar(&o.Store, "store", "", "root of the signature store (lookaside layout) (required)")
	fs.Var((*cli.Strings)(&o.PinFiles), "digests", "digests file to verify every image of (repeatable)")
	fs.Var((*cli.Strings)(&o.Layouts), "layout", "NAME=DIR: verify the built OCI layout DIR published as NAME; when NAME is pinned by --digests, its digest must equal the pin (repeatable)")
	fs.StringVar(&o.Image, "image", "", "single image to verify, e.g. core-busybox (with --digest)")
	fs.StringVar(&o.Digest, "digest", "", "manifest digest sha256:<hex> of --image")
	fs.StringVar(&o.Prefix, "repository-prefix", stagex.RepositoryPrefix, "repository prefix of the signed identities")
	fs.BoolVar(&quiet, "q", false, "print only images that fail")
	return o, quiet, cli.Parse(fs, args)
}
