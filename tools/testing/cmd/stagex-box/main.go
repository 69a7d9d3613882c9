// Command stagex-box is a multi-call binary: a POSIX-ish shell and core
// utilities for hermetic container builds. See package box.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/stagex/stagex-bazel/tools/testing/box"
)

func main() {
	// A write to a closed pipe then fails with EPIPE in the utility that
	// made it, instead of killing the whole shell.
	signal.Notify(make(chan os.Signal, 1), syscall.SIGPIPE)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := box.Main(ctx, box.NewProc(os.Args[0]), os.Args)
	stop()
	os.Exit(code)
}
