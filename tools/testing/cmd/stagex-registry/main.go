// Command stagex-registry serves an empty, writable OCI registry on a
// loopback port until it is interrupted: for tests and local end-to-end
// runs (tools/scripts/e2e.sh). See package registry.
//
//	stagex-registry [--addr 127.0.0.1:0] [--addr-file FILE] [--token TOKEN] [-v]
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/stagex/stagex-bazel/tools/testing/registry"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := registry.Command(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
