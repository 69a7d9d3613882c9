// Package shellcheck runs shellcheck over the repository's shell scripts:
// files named *.sh and files that start with a bash or sh #! line, and
// .ci/run; not those under a packages/ directory, which are build contexts
// of test images (their bytes are in pinned digests).
//
// shellcheck is a host program: the test is tagged host-tools, and it skips
// saying why when shellcheck is not installed, unless
// STAGEX_REQUIRE_SHELLCHECK=1 (.ci/run sets it).
package shellcheck

import (
	"bytes"
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stagex/stagex-bazel/tools/lint/source"
)

var moduleFile = flag.String("module_file", "", "rlocation path of //:MODULE.bazel")

// isShell reports whether the file at path is a shell script: by its name,
// or by its #! line.
func isShell(path string) (bool, error) {
	if strings.HasSuffix(path, ".sh") {
		return true, nil
	}
	f, err := os.Open(path)
	if err != nil {
		return false, err
	}
	defer f.Close()
	head := make([]byte, 64)
	n, _ := f.Read(head)
	line, _, _ := bytes.Cut(head[:n], []byte("\n"))
	if !bytes.HasPrefix(line, []byte("#!")) {
		return false, nil
	}
	fields := strings.Fields(string(line[2:]))
	for _, f := range fields {
		if base := filepath.Base(f); base == "bash" || base == "sh" {
			return true, nil
		}
	}
	return false, nil
}

// scripts lists the shell scripts under root, relative to it.
func scripts(root string) ([]string, error) {
	files, err := source.Files(root, func(string) bool { return true })
	if err != nil {
		return nil, err
	}
	out := []string{".ci/run"}
	for _, f := range files {
		rel, err := filepath.Rel(root, f)
		if err != nil {
			return nil, err
		}
		if strings.Contains("/"+filepath.ToSlash(rel), "/packages/") {
			continue
		}
		ok, err := isShell(f)
		if err != nil {
			return nil, err
		}
		if ok {
			out = append(out, rel)
		}
	}
	return out, nil
}

func TestIsShell(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name, text string
		want       bool
	}{
		{"lib.sh", "# sourced\n", true},
		{"setup", "#!/usr/bin/env bash\nset -e\n", true},
		{"run", "#!/bin/sh\n", true},
		{"tool.py", "#!/usr/bin/env python3\n", false},
		{"notes", "bash is mentioned here\n", false},
		{"empty", "", false},
	}
	for _, tc := range tests {
		p := filepath.Join(dir, tc.name)
		if err := os.WriteFile(p, []byte(tc.text), 0o644); err != nil {
			t.Fatal(err)
		}
		if got, err := isShell(p); err != nil || got != tc.want {
			t.Errorf("isShell(%s with %q) = %v, %v; want %v", tc.name, tc.text, got, err, tc.want)
		}
	}
}

func TestShellcheck(t *testing.T) {
	tool, err := exec.LookPath("shellcheck")
	if err != nil {
		if os.Getenv("STAGEX_REQUIRE_SHELLCHECK") == "1" {
			t.Fatalf("shellcheck is required (STAGEX_REQUIRE_SHELLCHECK=1) but not on PATH: %v", err)
		}
		t.Skip("shellcheck is not installed (apt-get install shellcheck); the shell scripts are not checked")
	}
	root, err := source.Root(*moduleFile)
	if err != nil {
		t.Fatal(err)
	}
	files, err := scripts(root)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{".ci/run", "tools/scripts/setup", "tools/scripts/e2e.sh"} {
		found := false
		for _, f := range files {
			found = found || f == want
		}
		if !found {
			t.Errorf("%s is not among the scripts found: %q", want, files)
		}
	}
	cmd := exec.Command(tool, files...)
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Errorf("shellcheck found problems in %d scripts (%v):\n%s", len(files), err, out)
	}
}
