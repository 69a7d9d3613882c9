// Command docgen writes the Markdown API documents of the StageX rules
// from starlark_doc_extract's text output; see package docgen.
//
//	docgen --doc IN.textproto=OUT.md=TITLE [--doc ...]
//
// A relative OUT is taken from $BUILD_WORKSPACE_DIRECTORY when set, so that
// `bazel run //docs:update` rewrites the committed documents.
package main

import (
	"fmt"
	"os"

	"github.com/stagex/stagex-bazel/tools/internal/docgen"
)

func main() {
	if err := docgen.Main(os.Args[1:], os.Getenv("BUILD_WORKSPACE_DIRECTORY")); err != nil {
		fmt.Fprintf(os.Stderr, "docgen: %v\n", err)
		os.Exit(1)
	}
}
