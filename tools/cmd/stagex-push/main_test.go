package main

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stagex/stagex-bazel/tools/testing/registry/registrytest"
)

func TestRun(t *testing.T) {
	reg := registrytest.Start(t, nil)
	dir := filepath.Join(t.TempDir(), "image.oci")
	digest := registrytest.Layout(t, dir, 100, 6)
	for _, tc := range []struct {
		args   []string
		code   int
		stdout string
	}{
		{[]string{"--layout", dir, "--repository", reg.Host() + "/stagex/cmd", "--tag", "latest"}, 0, reg.Host() + "/stagex/cmd@" + digest},
		{[]string{"--layout", dir, "--namespace", reg.Host() + "/stagex/", "--image-name", "core-cmd", "-q"}, 0, reg.Host() + "/stagex/core-cmd@" + digest},
		{[]string{"--layout", dir}, 2, ""},
		{[]string{"--layout", dir, "--namespace", reg.Host() + "/stagex"}, 2, ""},
		{[]string{"--layout", dir, "--namespace", "a.example/x", "--repository", "a.example/x/y"}, 2, ""},
		{[]string{"--repository", reg.Host() + "/stagex/cmd"}, 2, ""},
		{[]string{"--layout", dir, "--repository", reg.Host() + "/stagex/cmd", "stray"}, 2, ""},
		{[]string{"--layout", filepath.Join(dir, "missing"), "--repository", reg.Host() + "/stagex/cmd"}, 1, ""},
	} {
		var stdout, stderr bytes.Buffer
		code := run(context.Background(), tc.args, &stdout, &stderr)
		if code != tc.code || strings.TrimSpace(stdout.String()) != tc.stdout {
			t.Errorf("run(%q) = %d, stdout %q; expected %d, %q (stderr: %s)", tc.args, code, stdout.String(), tc.code, tc.stdout, stderr.String())
		}
		if code != 0 && stderr.Len() == 0 {
			t.Errorf("run(%q) failed without a message", tc.args)
		}
	}
}
