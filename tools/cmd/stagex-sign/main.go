// Command stagex-sign signs pinned StageX image digests with a maintainer's
// OpenPGP key, writing containers "simple signing" signatures into a
// lookaside signature store. See package signing for the trust model, and
// signing.SignBuilds.
//
// With --build (what `bazel run //:sign` runs) the arguments after the
// flags are target patterns (default //packages/...): it builds the digest
// tests under them with Bazel ($BAZEL, else bazel) in
// $BUILD_WORKSPACE_DIRECTORY and signs the images of each source tree, the
// tree and layouts found from the build; see signing.SignBuiltTrees.
package main

import (
	"io"
	"os"
	"strings"

	"github.com/stagex/stagex-bazel/tools/internal/cli"
	"github.com/stagex/stagex-bazel/tools/internal/signing"
	"github.com/stagex/stagex-bazel/tools/internal/stagex"
)

const usage = `usage: stagex-sign --key FILE [--passphrase-file FILE | --passphrase-fd N]
         (--digests FILE ... | --root DIR) (--layout NAME=DIR ... | --built FILE)
         [--store DIR] [--repository-prefix stagex] [--timestamp SECONDS]

       stagex-sign --build --key FILE [--passphrase-file FILE | --passphrase-fd N]
         [--store DIR] [--repository-prefix stagex] [--timestamp SECONDS] [PATTERN ...]

Signs the pinned digest of every image that was built (--layout, --built)
and whose built digest equals its pin; any difference refuses the whole run.
--build builds the digest tests under the target patterns (default
//packages/...) in $BUILD_WORKSPACE_DIRECTORY and signs each tree's images.`

func main() {
	if err := cli.EnterWorkingDirectory(); err != nil {
		os.Exit(cli.Exit("stagex-sign", err, os.Stderr))
	}
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	o, build, err := parse(args, stderr)
	if err == nil {
		o.Out = stdout
		if build != nil {
			build.Sign, build.Log = o, stderr
			err = signing.SignBuiltTrees(*build)
		} else {
			err = signing.SignBuilds(o)
		}
	}
	return cli.Exit("stagex-sign", err, stderr)
}

// parse maps the command line to signing.SignBuildsOptions and, with
// --build, to the signing.SignBuiltTreesOptions around them (nil without).
func parse(args []string, stderr io.Writer) (signing.SignBuildsOptions, *signing.SignBuiltTreesOptions, error) {
	var o signing.SignBuildsOptions
	fs := cli.NewFlagSet("stagex-sign", usage, stderr)
	build := fs.Bool("build", false, "build the digest tests under the target patterns given after the flags and sign each tree's images")
	fs.StringVar(&o.KeyFile, "key", "", "armored OpenPGP secret key file of the maintainer (required)")
	fs.StringVar(&o.PassphraseFile, "passphrase-file", "", "file whose first line is the key's passphrase")
	fs.IntVar(&o.PassphraseFD, "passphrase-fd", -1, "file descriptor to read the key's passphrase from")
	fs.Var((*cli.Strings)(&o.PinFiles), "digests", "pinned digests file, e.g. digests/core.txt (repeatable)")
	fs.StringVar(&o.Root, "root", "", "source tree whose digests/<tier>.txt pin the built images (instead of --digests); the store defaults to ROOT/signatures")
	fs.Var((*cli.Strings)(&o.Layouts), "layout", "NAME=DIR: an image built by this maintainer, as an OCI layout directory (repeatable)")
	fs.StringVar(&o.Built, "built", "", "digests file of this maintainer's own build")
	fs.StringVar(&o.Store, "store", "", "root of the signature store (lookaside layout)")
	fs.StringVar(&o.Prefix, "repository-prefix", stagex.RepositoryPrefix, "repository prefix of the signed identities")
	fs.StringVar(&o.Timestamp, "timestamp", "", "signature time in Unix seconds (default: $SOURCE_DATE_EPOCH, else now)")
	patterns, err := cli.ParseArgs(fs, args)
	if err != nil {
		return o, nil, err
	}
	if !*build {
		if len(patterns) > 0 {
			return o, nil, cli.Usagef("unexpected argument %q", patterns[0])
		}
		return o, nil, nil
	}
	for _, p := range patterns {
		if !strings.HasPrefix(p, "//") && !strings.HasPrefix(p, "@") {
			return o, nil, cli.Usagef("target pattern %q: expected //... or @repo//... (flags go before the patterns)", p)
		}
	}
	return o, &signing.SignBuiltTreesOptions{Workspace: os.Getenv("BUILD_WORKSPACE_DIRECTORY"), Patterns: patterns}, nil
}
