// Command stagex-pull downloads an image named by its digest into an OCI
// image layout directory, checking every manifest and blob against its
// digest. See package pull.
//
//	stagex-pull --image HOST/PATH@sha256:HEX --out DIR [--platform linux/amd64]
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/stagex/stagex-bazel/tools/pull"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := pull.Command(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
