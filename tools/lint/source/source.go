// Package source finds the checked-out source tree from a lint test that
// Bazel runs unsandboxed, and lists its files.
package source

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/bazelbuild/rules_go/go/runfiles"
)

// Root follows the runfile symlink of MODULE.bazel, whose rlocation path
// is moduleFile, back to the source tree it came from. Without moduleFile
// (under go test, which runs in the package's directory) it is the nearest
// directory above that holds MODULE.bazel.
func Root(moduleFile string) (string, error) {
	if moduleFile == "" {
		dir, err := os.Getwd()
		if err != nil {
			return "", err
		}
		for {
			if _, err := os.Stat(filepath.Join(dir, "MODULE.bazel")); err == nil {
				return dir, nil
			}
			parent := filepath.Dir(dir)
			if parent == dir {
				return "", fmt.Errorf("-module_file is not set and no directory above the working directory holds MODULE.bazel")
			}
			dir = parent
		}
	}
	link, err := runfiles.Rlocation(moduleFile)
	if err != nil {
		return "", fmt.Errorf("finding runfile %s: %v", moduleFile, err)
	}
	real, err := filepath.EvalSymlinks(link)
	if err != nil {
		return "", fmt.Errorf("resolving %s: %v", moduleFile, err)
	}
	return filepath.Dir(real), nil
}

// Files lists the files under root whose base name matches keep,
// skipping hidden directories (version control), Bazel's output symlinks
// and fetched sources.
func Files(root string, keep func(name string) bool) ([]string, error) {
	var files []string
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		name := d.Name()
		if d.IsDir() {
			if path != root && (strings.HasPrefix(name, ".") || strings.HasPrefix(name, "bazel-") || name == "fetch") {
				return filepath.SkipDir
			}
			return nil
		}
		if d.Type().IsRegular() && keep(name) {
			files = append(files, path)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("walking %s: %v", root, err)
	}
	return files, nil
}
