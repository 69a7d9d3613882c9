// Package docs checks that the API documents in docs/ are what Stardoc's
// renderer makes of the rules now: each --doc PROTO=HEADER=OUT (see
// //docs:docs.bzl) is rendered and compared with the committed OUT.
// `bazel run //docs:update` writes them so.
//
// The renderer and java are host programs: the test is tagged host-tools,
// and it skips saying why where either is missing, unless
// STAGEX_REQUIRE_STARDOC=1 (.ci/run sets it).
package docs

import (
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/stagex/stagex-bazel/tools/internal/cli"
	"github.com/stagex/stagex-bazel/tools/internal/stardoc"
)

var docFlags cli.Strings

func init() {
	flag.Var(&docFlags, "doc", "PROTO=HEADER=OUT: a document to check (repeatable)")
}

func TestCurrent(t *testing.T) {
	if len(docFlags) == 0 {
		t.Skip("no --doc: bazel test //tools/lint/docs:docs_test names the documents")
	}
	docs := make([]stardoc.Doc, len(docFlags))
	for i, f := range docFlags {
		d, err := stardoc.ParseDoc(f)
		if err != nil {
			t.Fatalf("--doc %v", err)
		}
		docs[i] = d
	}
	r, err := stardoc.Find(os.Getenv, exec.LookPath)
	if err != nil {
		if os.Getenv("STAGEX_REQUIRE_STARDOC") == "1" {
			t.Fatalf("STAGEX_REQUIRE_STARDOC=1 but %v", err)
		}
		t.Skipf("the API documents in docs/ are not checked: %v", err)
	}
	for _, d := range docs {
		t.Run(filepath.Base(d.Out), func(t *testing.T) {
			diff, err := r.Check(d)
			if err != nil {
				t.Fatal(err)
			}
			if diff != "" {
				t.Errorf("%s is not what Stardoc renders from the rules: run bazel run //docs:update\n%s", d.Out, diff)
			}
		})
	}
}
