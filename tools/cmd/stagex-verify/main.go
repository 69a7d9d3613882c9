// Command stagex-verify checks that StageX images carry valid signatures by
// at least the policy's threshold of distinct maintainer keys. See package
// signing for the trust model.
package main

import (
	"fmt"
	"os"

	"github.com/stagex/stagex-bazel/tools/internal/signing/cli"
)

func main() {
	if err := cli.EnterWorkingDirectory(); err != nil {
		fmt.Fprintf(os.Stderr, "stagex-verify: %v\n", err)
		os.Exit(cli.ExitFailed)
	}
	os.Exit(cli.Verify(os.Args[1:], os.Stdout, os.Stderr))
}
