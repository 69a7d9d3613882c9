package signing

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stagex/stagex-bazel/tools/internal/cli"
	"github.com/stagex/stagex-bazel/tools/internal/ociimage"
	"github.com/stagex/stagex-bazel/tools/internal/pinmanifest"
)

// signTrees signs each tree's images into that tree's own store, from the
// pins under its digests/; a tree whose build differs from its pin fails
// without keeping the others from being signed.
func TestSignTrees(t *testing.T) {
	e := newEnv(t)
	ws := t.TempDir()
	amd := filepath.Join(t.TempDir(), "amd.oci")
	amdDigest, err := ociimage.WriteImage(amd, ociimage.Image{Config: ociimage.Config{OS: "linux", Architecture: "amd64"}})
	if err != nil {
		t.Fatal(err)
	}
	arm := filepath.Join(t.TempDir(), "arm.oci")
	armDigest, err := ociimage.WriteImage(arm, ociimage.Image{Config: ociimage.Config{OS: "linux", Architecture: "arm64"}})
	if err != nil {
		t.Fatal(err)
	}
	writePins := func(rel, text string) {
		p := filepath.Join(ws, rel)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	writePins("digests/core.txt", strings.TrimPrefix(amdDigest, "sha256:")+" core-a\n")
	writePins("fixtures/digests/user.txt", strings.TrimPrefix(armDigest, "sha256:")+" user-b\n")
	// "other" pins user-c to the amd64 image, but arm64 was built.
	writePins("other/digests/user.txt", strings.TrimPrefix(amdDigest, "sha256:")+" user-c\n")
	trees := map[string][]pinmanifest.Entry{
		".":        {{Image: "core-a", Label: "//packages/core/a:a_digest_test", Layout: amd, Pins: "digests/core.txt"}},
		"fixtures": {{Image: "user-b", Label: "//fixtures/packages/user/b:b_digest_test", Layout: arm, Pins: "fixtures/digests/user.txt"}},
		"other":    {{Image: "user-c", Label: "//other/packages/user/c:c_digest_test", Layout: arm, Pins: "other/digests/user.txt"}},
	}
	var out, log bytes.Buffer
	base := e.signOpts("alice")
	base.Out = &out
	err = signTrees(ws, trees, base, &log)
	if err == nil || !strings.Contains(log.String(), "stagex-sign: other:") {
		t.Fatalf("signTrees: error %v, want the tree other to fail\n%s%s", err, out.String(), log.String())
	}
	for _, sig := range []string{
		"signatures/stagex/core-a@sha256=" + strings.TrimPrefix(amdDigest, "sha256:") + "/signature-1",
		"fixtures/signatures/stagex/user-b@sha256=" + strings.TrimPrefix(armDigest, "sha256:") + "/signature-1",
	} {
		if _, err := os.Stat(filepath.Join(ws, sig)); err != nil {
			t.Errorf("no signature %s: %v\n%s", sig, err, out.String())
		}
	}
	if _, err := os.Stat(filepath.Join(ws, "other", "signatures")); err == nil {
		t.Errorf("the tree whose build differs from its pin got signatures")
	}
}

// SignBuiltTrees refuses, as usage errors, what it finds itself and a run
// outside `bazel run`, and fails when Bazel does.
func TestSignBuiltTreesErrors(t *testing.T) {
	key := SignBuildsOptions{KeyFile: "k", PassphraseFD: -1}
	with := func(f func(*SignBuildsOptions)) SignBuildsOptions {
		o := key
		f(&o)
		return o
	}
	tests := []struct {
		name  string
		o     SignBuiltTreesOptions
		usage bool
		want  string
	}{
		{"no workspace", SignBuiltTreesOptions{Sign: key}, true, "BUILD_WORKSPACE_DIRECTORY"},
		{"root given", SignBuiltTreesOptions{Sign: with(func(o *SignBuildsOptions) { o.Root = "x" }), Workspace: "/ws"}, true, "leave out --root"},
		{"layout given", SignBuiltTreesOptions{Sign: with(func(o *SignBuildsOptions) { o.Layouts = []string{"a=b"} }), Workspace: "/ws"}, true, "leave out --layout"},
		{"digests given", SignBuiltTreesOptions{Sign: with(func(o *SignBuildsOptions) { o.PinFiles = []string{"d"} }), Workspace: "/ws"}, true, "leave out --digests"},
		{"built given", SignBuiltTreesOptions{Sign: with(func(o *SignBuildsOptions) { o.Built = "b" }), Workspace: "/ws"}, true, "leave out --built"},
		{"no key", SignBuiltTreesOptions{Sign: SignBuildsOptions{PassphraseFD: -1}, Workspace: "/ws"}, true, "--key is required"},
		{"bazel fails", SignBuiltTreesOptions{Sign: key, Workspace: t.TempDir(), Bazel: "false"}, false, "false build --output_groups=stagex_pins"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var log bytes.Buffer
			tc.o.Log = &log
			err := SignBuiltTrees(tc.o)
			want := cli.ExitFailed
			if tc.usage {
				want = cli.ExitUsage
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) || exitCode(err) != want {
				t.Errorf("SignBuiltTrees: %v (exit %d); want %q, exit %d", err, exitCode(err), tc.want, want)
			}
		})
	}
}
