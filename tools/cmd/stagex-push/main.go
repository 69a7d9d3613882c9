// Command stagex-push uploads an OCI image layout to a registry by digest,
// and optionally under tags. See package push.
//
//	stagex-push --layout DIR --repository HOST/NAMESPACE/NAME [--tag T ...]
//
// `bazel run //path/to:image.push -- --repository HOST/NAMESPACE/NAME` runs
// it on a built image (rule stagex_push).
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/stagex/stagex-bazel/tools/internal/push"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := push.Command(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
