// Package consumer_test checks what this workspace got from StageX: the
// published core-box pulled by its pinned digest and accepted on its
// maintainers' signatures, and an image of its own built on top of it.
package consumer_test

import (
	"archive/tar"
	"bufio"
	"io"
	"os"
	"strings"
	"testing"

	"github.com/bazelbuild/rules_go/go/runfiles"
	"github.com/stagex/stagex-bazel/tools/ociimage"
)

// runfile returns the path of the runfile that the environment variable
// env names (an rlocation path; for several, the one ending in suffix).
func runfile(t *testing.T, env, suffix string) string {
	t.Helper()
	for _, rel := range strings.Fields(os.Getenv(env)) {
		if !strings.HasSuffix(rel, suffix) {
			continue
		}
		p, err := runfiles.Rlocation(rel)
		if err != nil {
			t.Fatalf("%s: %v", env, err)
		}
		return p
	}
	t.Fatalf("$%s = %q names no runfile ending in %q", env, os.Getenv(env), suffix)
	return ""
}

// TestPulledImagesAreThePinnedOnes checks the images the stagex extension
// pulled by digest: core-box from an open registry, core-hello from one
// that wants a bearer token.
func TestPulledImagesAreThePinnedOnes(t *testing.T) {
	pins, err := os.ReadFile(runfile(t, "PINS", ".txt"))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ image, env string }{
		{"core-box", "CORE_BOX"},
		{"core-hello", "CORE_HELLO"},
	} {
		t.Run(tc.image, func(t *testing.T) {
			got, err := ociimage.LayoutDigest(runfile(t, tc.env, ".oci"))
			if err != nil {
				t.Fatal(err)
			}
			want := ""
			for s := bufio.NewScanner(strings.NewReader(string(pins))); s.Scan(); {
				if f := strings.Fields(s.Text()); len(f) == 2 && f[1] == tc.image {
					want = "sha256:" + f[0]
				}
			}
			if want == "" || got != want {
				t.Errorf("pulled %s has digest %s; StageX pins %q", tc.image, got, want)
			}
		})
	}
}

func TestSignaturesWereChecked(t *testing.T) {
	report, err := os.ReadFile(runfile(t, "CORE_BOX_SIGNATURES", ".txt"))
	if err != nil {
		t.Fatal(err)
	}
	for _, signer := range []string{"alice", "bob"} {
		if !strings.Contains(string(report), signer) {
			t.Errorf("the signature report does not name %s:\n%s", signer, report)
		}
	}
}

func TestAppImage(t *testing.T) {
	base, err := ociimage.ReadImage(runfile(t, "CORE_BOX", ".oci"))
	if err != nil {
		t.Fatal(err)
	}
	app, err := ociimage.ReadImage(runfile(t, "APP", ".oci"))
	if err != nil {
		t.Fatal(err)
	}
	bm, err := base.Manifest()
	if err != nil {
		t.Fatal(err)
	}
	am, err := app.Manifest()
	if err != nil {
		t.Fatal(err)
	}
	if len(am.Layers) <= len(bm.Layers) {
		t.Fatalf("the app image has %d layers, the base %d: expected layers of its own", len(am.Layers), len(bm.Layers))
	}
	for i, l := range bm.Layers {
		if am.Layers[i].Digest != l.Digest {
			t.Errorf("layer %d of the app image is %s, the base's is %s: the base's layers must be reused as they are", i, am.Layers[i].Digest, l.Digest)
		}
	}
	cf, err := app.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	if ep := strings.Join(cf.Config.Entrypoint, " "); ep != "/usr/bin/hello-consumer" {
		t.Errorf("entrypoint %q, expected /usr/bin/hello-consumer", ep)
	}

	// The files the build added, read from the app's own layers.
	found := map[string]string{}
	layers, err := app.Layers()
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range layers[len(bm.Layers):] {
		rc, err := l.Uncompressed()
		if err != nil {
			t.Fatal(err)
		}
		tr := tar.NewReader(rc)
		for {
			h, err := tr.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
			name := strings.TrimPrefix(h.Name, "./")
			if name == "usr/bin/hello-consumer" && h.Mode&0o111 == 0 {
				t.Errorf("%s is not executable: mode %o", name, h.Mode)
			}
			data, _ := io.ReadAll(tr)
			found[name] = string(data)
		}
		rc.Close()
	}
	if _, ok := found["usr/bin/hello-consumer"]; !ok {
		t.Errorf("the app's layers hold no usr/bin/hello-consumer; they hold %d files", len(found))
	}
	if got := found["etc/greeting"]; got != "hello from a StageX consumer\n" {
		t.Errorf("etc/greeting, written by running the program during the build, holds %q", got)
	}
}
