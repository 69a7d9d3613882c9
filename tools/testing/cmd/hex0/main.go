// Command hex0 compiles hex0 source into a binary file:
//
//	hex0 INPUT OUTPUT
//
// as stage0's hex0 does. See package hex0 for the language.
package main

import (
	"fmt"
	"os"

	"github.com/stagex/stagex-bazel/tools/testing/hex0"
)

func main() {
	if len(os.Args) != 3 {
		fmt.Fprintln(os.Stderr, "usage: hex0 INPUT OUTPUT")
		os.Exit(2)
	}
	if err := run(os.Args[1], os.Args[2]); err != nil {
		fmt.Fprintln(os.Stderr, "hex0:", err)
		os.Exit(1)
	}
}

func run(in, out string) error {
	src, err := os.Open(in)
	if err != nil {
		return err
	}
	defer src.Close()
	dst, err := os.OpenFile(out, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o755)
	if err != nil {
		return err
	}
	if err := hex0.Compile(in, src, dst); err != nil {
		dst.Close()
		os.Remove(out)
		return err
	}
	return dst.Close()
}
