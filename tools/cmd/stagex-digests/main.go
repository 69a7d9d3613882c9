// Command stagex-digests checks built images against the digests pinned in
// digests/<stage>.txt, and re-pins them. See digests.Command.
//
//	stagex-digests check --pins digests/core.txt --image core-make --layout DIR
//	stagex-digests update [--root WORKSPACE] --layout core-make=DIR [--layout ...]
package main

import (
	"os"

	"github.com/stagex/stagex-bazel/tools/internal/digests"
)

func main() {
	os.Exit(digests.Command(os.Args[1:], os.Stdout, os.Stderr))
}
