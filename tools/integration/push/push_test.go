// Package e2e checks the fixture images and the way they are shipped with
// tools written by others: skopeo reads the layouts and what stagex_push put
// in a registry, and umoci and runc run an image. The Bazel test has the
// fixture layouts and push targets as data; a check whose tool is missing
// skips and says so.
package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stagex/stagex-bazel/tools/internal/ociimage"
	"github.com/stagex/stagex-bazel/tools/internal/pull"
	"github.com/stagex/stagex-bazel/tools/internal/regclient"
	"github.com/stagex/stagex-bazel/tools/testing/registry/registrytest"
)

// Fixture layouts and push targets (see runfile).
var (
	boxLayout     = runfile("fixtures/packages/core/box/box.oci")
	helloLayout   = runfile("fixtures/packages/core/hello/hello.oci")
	greeterLayout = runfile("fixtures/packages/user/greeter/greeter.oci")
	multiLayout   = runfile("fixtures/packages/user/multi/multi_index.oci")
)

// runfile returns the path of a file of the main repository in the test's
// runfiles (go_test starts in its package's directory, not at their root).
func runfile(rel string) string {
	return filepath.Join(os.Getenv("TEST_SRCDIR"), os.Getenv("TEST_WORKSPACE"), rel)
}

// needBazel skips a test run outside Bazel, which has no fixture layouts.
func needBazel(t *testing.T) {
	t.Helper()
	if os.Getenv("TEST_SRCDIR") == "" {
		t.Skip("needs the fixture images: run bazel test //tools/integration/push:push_test")
	}
}

func layoutDigest(t *testing.T, dir string) string {
	t.Helper()
	d, err := ociimage.LayoutDigest(dir)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// findTool returns the path of a program on PATH or in the system
// directories Bazel's fixed test PATH leaves out, or "" when absent.
func findTool(name string) string {
	if p, err := exec.LookPath(name); err == nil {
		return p
	}
	for _, dir := range []string{"/usr/sbin", "/sbin", "/usr/local/sbin", "/usr/bin", "/usr/local/bin"} {
		p := filepath.Join(dir, name)
		if info, err := os.Stat(p); err == nil && info.Mode()&0o111 != 0 {
			return p
		}
	}
	return ""
}

func TestPushRule(t *testing.T) {
	needBazel(t)
	reg := registrytest.Start(t, nil)
	for _, tc := range []struct {
		target, layout, repo string
		tags                 []string // the rule's remote_tags and --tag
		index                bool     // a multi-platform package's push: its image index
	}{
		{runfile("tools/integration/push/box.push"), boxLayout, "stagex/core-box", []string{"e2e"}, false},
		{runfile("tools/integration/push/hello.push"), helloLayout, "stagex/core-hello", []string{"1.0", "e2e"}, false},
		{runfile("tools/integration/push/multi.push"), multiLayout, "stagex/user-multi", []string{"0.1.0", "e2e"}, true},
	} {
		t.Run(tc.repo, func(t *testing.T) {
			digest := layoutDigest(t, tc.layout)
			if tc.index {
				// Pushed and printed under the index's own digest.
				top, err := ociimage.TopDescriptor(tc.layout)
				if err != nil {
					t.Fatal(err)
				}
				digest = top.Digest.String()
			}
			repo := reg.Host() + "/" + tc.repo
			cmd := exec.Command(tc.target, "--repository", repo, "--tag", "e2e")
			var stdout, stderr bytes.Buffer
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			if err := cmd.Run(); err != nil {
				t.Fatalf("%s: %v\n%s", tc.target, err, stderr.String())
			}
			if got, want := strings.TrimSpace(stdout.String()), repo+"@"+digest; got != want {
				t.Errorf("%s printed %q, expected %q", tc.target, got, want)
			}
			for _, tag := range tc.tags {
				resp, err := http.Head(reg.URL() + "/v2/" + tc.repo + "/manifests/" + tag)
				if err != nil {
					t.Fatal(err)
				}
				resp.Body.Close()
				if resp.StatusCode != http.StatusOK || resp.Header.Get("Docker-Content-Digest") != digest {
					t.Errorf("tag %s: %s, digest %q; expected 200 and %s", tag, resp.Status, resp.Header.Get("Docker-Content-Digest"), digest)
				}
			}
			if tc.index {
				// The index and every platform's image are in the registry.
				for _, m := range indexManifests(t, tc.layout) {
					resp, err := http.Head(reg.URL() + "/v2/" + tc.repo + "/manifests/" + m)
					if err != nil {
						t.Fatal(err)
					}
					resp.Body.Close()
					if resp.StatusCode != http.StatusOK {
						t.Errorf("platform image %s of the index: %s, expected 200", m, resp.Status)
					}
				}
				return
			}
			out := filepath.Join(t.TempDir(), "pulled.oci")
			imageName, err := ociimage.LayoutName(tc.layout)
			if err != nil {
				t.Fatal(err)
			}
			opts := pull.Options{Options: regclient.Options{Credentials: &regclient.AuthFiles{}}, Name: imageName}
			if _, err := pull.Pull(context.Background(), repo+"@"+digest, out, opts); err != nil {
				t.Fatalf("pulling back: %v", err)
			}
			registrytest.SameFiles(t, tc.layout, out)

			skopeo := findTool("skopeo")
			if skopeo == "" {
				t.Log("skopeo is not installed: the registry is not checked with it")
				return
			}
			info := skopeoInspect(t, skopeo, "--tls-verify=false", "docker://"+repo+":e2e")
			if info.Digest != digest {
				t.Errorf("skopeo sees %s:e2e at %s, expected %s", repo, info.Digest, digest)
			}
		})
	}
}

// indexManifests returns the digests of the images the image index of an
// OCI layout lists, failing when the layout does not hold one index.
func indexManifests(t *testing.T, dir string) []string {
	t.Helper()
	desc, err := ociimage.TopDescriptor(dir)
	if err != nil {
		t.Fatal(err)
	}
	top := desc.Digest.String()
	raw, err := os.ReadFile(filepath.Join(dir, "blobs", "sha256", strings.TrimPrefix(top, "sha256:")))
	if err != nil {
		t.Fatal(err)
	}
	var ix struct {
		MediaType string
		Manifests []struct{ Digest string }
	}
	if err := json.Unmarshal(raw, &ix); err != nil {
		t.Fatalf("%s: %s: %v", dir, top, err)
	}
	if ix.MediaType != "application/vnd.oci.image.index.v1+json" || len(ix.Manifests) < 2 {
		t.Fatalf("%s: %s is a %q listing %d images; expected an image index of several platforms", dir, top, ix.MediaType, len(ix.Manifests))
	}
	var out []string
	for _, m := range ix.Manifests {
		out = append(out, m.Digest)
	}
	return out
}

// inspected is what `skopeo inspect` reports that the tests compare.
type inspected struct {
	Digest       string
	Architecture string
	Os           string
	Layers       []string
}

func skopeoInspect(t *testing.T, skopeo string, args ...string) inspected {
	t.Helper()
	cmd := exec.Command(skopeo, append([]string{"inspect"}, args...)...)
	// skopeo wants somewhere to look for its configuration.
	cmd.Env = append(os.Environ(), "HOME="+t.TempDir())
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("skopeo inspect %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
	}
	var info inspected
	if err := json.Unmarshal(stdout.Bytes(), &info); err != nil {
		t.Fatalf("skopeo inspect %s printed something other than JSON: %v\n%s", strings.Join(args, " "), err, stdout.String())
	}
	return info
}

func TestSkopeoReadsLayouts(t *testing.T) {
	needBazel(t)
	skopeo := findTool("skopeo")
	if skopeo == "" {
		t.Skip("skopeo is not installed (apt-get install skopeo)")
	}
	for _, dir := range []string{boxLayout, helloLayout, greeterLayout} {
		img, err := ociimage.ReadImage(dir)
		if err != nil {
			t.Fatal(err)
		}
		cf, err := img.ConfigFile()
		if err != nil {
			t.Fatal(err)
		}
		m, err := img.Manifest()
		if err != nil {
			t.Fatal(err)
		}
		info := skopeoInspect(t, skopeo, "oci:"+dir)
		// index.json points at the image index (as BuildKit writes it),
		// which is what skopeo reports for oci:DIR.
		top, err := ociimage.TopDescriptor(dir)
		if err != nil {
			t.Fatal(err)
		}
		if want := top.Digest.String(); info.Digest != want {
			t.Errorf("%s: skopeo reads digest %s, index.json says %s", dir, info.Digest, want)
		}
		if info.Os != cf.OS || info.Architecture != cf.Architecture {
			t.Errorf("%s: skopeo reads %s/%s, the config says %s/%s", dir, info.Os, info.Architecture, cf.OS, cf.Architecture)
		}
		if len(info.Layers) != len(m.Layers) {
			t.Errorf("%s: skopeo sees %d layers, the manifest lists %d", dir, len(info.Layers), len(m.Layers))
		}
		for i, l := range m.Layers {
			if i < len(info.Layers) && info.Layers[i] != l.Digest.String() {
				t.Errorf("%s: layer %d is %s to skopeo, %s in the manifest", dir, i, info.Layers[i], l.Digest)
			}
		}
	}
}
