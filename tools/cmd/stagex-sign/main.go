// Command stagex-sign signs pinned StageX image digests with a maintainer's
// OpenPGP key, writing containers "simple signing" signatures into a
// lookaside signature store. See package signing for the trust model, and
// signing.SignBuilds.
package main

import (
	"io"
	"os"

	"github.com/stagex/stagex-bazel/tools/internal/cli"
	"github.com/stagex/stagex-bazel/tools/internal/signing"
	"github.com/stagex/stagex-bazel/tools/internal/stagex"
)

const usage = `usage: stagex-sign --key FILE [--passphrase-file FILE | --passphrase-fd N]
         (--digests FILE ... | --root DIR) (--layout NAME=DIR ... | --built FILE)
         [--store DIR] [--repository-prefix stagex] [--timestamp SECONDS]

Signs the pinned digest of every image that was built (--layout, --built)
and whose built digest equals its pin; any difference refuses the whole run.`

func main() {
	if err := cli.EnterWorkingDirectory(); err != nil {
		os.Exit(cli.Exit("stagex-sign", err, os.Stderr))
	}
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	o, err := parse(args, stderr)
	if err == nil {
		o.Out = stdout
		err = signing.SignBuilds(o)
	}
	return cli.Exit("stagex-sign", err, stderr)
}

// parse maps the command line to signing.SignBuildsOptions.
func parse(args []string, stderr io.Writer) (signing.SignBuildsOptions, error) {
	var o signing.SignBuildsOptions
	fs := cli.NewFlagSet("stagex-sign", usage, stderr)
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
	return o, cli.Parse(fs, args)
}
