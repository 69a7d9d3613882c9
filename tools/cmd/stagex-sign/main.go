// Command stagex-sign signs pinned StageX image digests with a maintainer's
// OpenPGP key, writing containers "simple signing" signatures into a
// lookaside signature store. See package signing for the trust model.
package main

import (
	"fmt"
	"os"

	"github.com/stagex/stagex-bazel/tools/internal/signing/cli"
)

func main() {
	if err := cli.EnterWorkingDirectory(); err != nil {
		fmt.Fprintf(os.Stderr, "stagex-sign: %v\n", err)
		os.Exit(cli.ExitFailed)
	}
	os.Exit(cli.Sign(os.Args[1:], os.Stdout, os.Stderr))
}
