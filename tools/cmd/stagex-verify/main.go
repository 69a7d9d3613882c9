// Command stagex-verify checks that StageX images carry valid signatures by
// at least the policy's threshold of distinct maintainer keys. See package
// signing for the trust model.
package main

import (
	"os"

	"github.com/stagex/stagex-bazel/tools/signing/cli"
)

func main() {
	os.Exit(cli.Verify(os.Args[1:], os.Stdout, os.Stderr))
}
