// Package lint checks the whole source tree: Go files are gofmt-clean and
// every BUILD and .bzl file passes buildifier's format and lint checks.
// (The shell scripts' check, which needs shellcheck from the host, is
// tools/lint/shellcheck.)
//
// The tests read the checked-out tree itself, found through the runfile
// symlink of //:MODULE.bazel, so they run unsandboxed and are never cached
// (see the tags in BUILD.bazel).
package lint

import (
	"bytes"
	"flag"
	"go/format"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bazelbuild/rules_go/go/runfiles"

	"github.com/stagex/stagex-bazel/tools/lint/source"
)

var (
	moduleFile = flag.String("module_file", "", "rlocation path of //:MODULE.bazel")
	buildifier = flag.String("buildifier", "", "rlocation path of the buildifier binary")
)

// workspaceRoot returns the source tree the test checks.
func workspaceRoot(t *testing.T) string {
	t.Helper()
	root, err := source.Root(*moduleFile)
	if err != nil {
		t.Fatal(err)
	}
	return root
}

// sourceFiles lists the files under root whose base name matches keep.
func sourceFiles(t *testing.T, root string, keep func(name string) bool) []string {
	t.Helper()
	files, err := source.Files(root, keep)
	if err != nil {
		t.Fatal(err)
	}
	return files
}

func isStarlark(name string) bool {
	return name == "BUILD" || name == "BUILD.bazel" || name == "MODULE.bazel" ||
		strings.HasSuffix(name, ".bzl")
}

func TestGofmt(t *testing.T) {
	root := workspaceRoot(t)
	files := sourceFiles(t, root, func(name string) bool { return strings.HasSuffix(name, ".go") })
	if len(files) == 0 {
		t.Fatalf("found no Go files under %s", root)
	}
	for _, f := range files {
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		formatted, err := format.Source(src)
		if err != nil {
			t.Errorf("%s: %v", f, err)
			continue
		}
		if !bytes.Equal(src, formatted) {
			rel, _ := filepath.Rel(root, f)
			t.Errorf("%s is not gofmt-clean: run gofmt -w %s", rel, rel)
		}
	}
}

func TestBuildifier(t *testing.T) {
	if *buildifier == "" {
		t.Skip("no -buildifier: `bazel test //tools/lint:lint_test` passes the buildifier it builds")
	}
	root := workspaceRoot(t)
	files := sourceFiles(t, root, isStarlark)
	if len(files) == 0 {
		t.Fatalf("found no BUILD or .bzl files under %s", root)
	}
	tool, err := runfiles.Rlocation(*buildifier)
	if err != nil {
		t.Fatal(err)
	}
	args := append([]string{"--mode=check", "--lint=warn", "--warnings=all"}, files...)
	cmd := exec.Command(tool, args...)
	cmd.Dir = root
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Errorf("buildifier found problems (fix with: buildifier --lint=fix -r .):\n%s", out)
	}
}
