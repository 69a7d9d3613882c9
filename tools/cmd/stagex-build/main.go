// Command stagex-build builds one stage of a Containerfile into an OCI image
// layout, hermetically; the stagex_stage rule runs it. See package
// stagebuild.
package main

import (
	"context"
	"fmt"
	"os"

	"github.com/stagex/stagex-bazel/tools/sandbox"
	"github.com/stagex/stagex-bazel/tools/stagebuild"
)

func main() {
	sandbox.Init()
	args, err := stagebuild.ExpandParams(os.Args[1:])
	if err == nil {
		var o stagebuild.Options
		if o, err = stagebuild.ParseArgs(args, os.Stderr); err == nil {
			err = stagebuild.Build(context.Background(), o)
		}
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "stagex-build:", err)
		os.Exit(1)
	}
}
