// Command stagex-import is the build action behind images pinned by digest
// with the `stagex` module extension: it checks the maintainers' signatures
// over the pinned digest and only then writes the downloaded blobs as an
// OCI image layout. See package imageimport.
package main

import (
	"os"

	"github.com/stagex/stagex-bazel/tools/internal/imageimport"
)

func main() {
	os.Exit(imageimport.Command(os.Args[1:], os.Stderr))
}
