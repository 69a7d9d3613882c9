// Package consumer_test checks what this workspace got from StageX: the
// published core-box pulled by its pinned digest and accepted on its
// maintainers' signatures, and an image of its own built on top of it.
package consumer_test

import (
	"archive/tar"
	"bufio"
	"compress/gzip"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bazelbuild/rules_go/go/runfiles"
)

// descriptor is the part of an OCI content descriptor these checks read.
type descriptor struct {
	MediaType string `json:"mediaType"`
	Digest    string `json:"digest"`
}

// indexMediaType is an OCI image index: BuildKit's layouts list one, which
// holds the image manifest (the digest StageX pins).
const indexMediaType = "application/vnd.oci.image.index.v1+json"

// image is what these checks read of an OCI layout holding one image: the
// manifest's digest, its layers and the config's entrypoint. The layout is
// read with the standard library only, as an independent reader should.
type image struct {
	dir        string
	digest     string
	layers     []descriptor
	entrypoint []string
}

// readJSON decodes the blob dir/blobs/sha256/HEX that digest names.
func readJSON(t *testing.T, dir, digest string, v any) {
	t.Helper()
	data, err := os.ReadFile(blobPath(dir, digest))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, v); err != nil {
		t.Fatalf("%s: %v", blobPath(dir, digest), err)
	}
}

func blobPath(dir, digest string) string {
	return filepath.Join(dir, "blobs", "sha256", strings.TrimPrefix(digest, "sha256:"))
}

func readImage(t *testing.T, dir string) image {
	t.Helper()
	var index struct{ Manifests []descriptor }
	data, err := os.ReadFile(filepath.Join(dir, "index.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, &index); err != nil {
		t.Fatalf("%s/index.json: %v", dir, err)
	}
	for len(index.Manifests) == 1 && index.Manifests[0].MediaType == indexMediaType {
		inner := index.Manifests[0].Digest
		index.Manifests = nil
		readJSON(t, dir, inner, &index)
	}
	if len(index.Manifests) != 1 {
		t.Fatalf("%s: %d manifests where one image was expected", dir, len(index.Manifests))
	}
	img := image{dir: dir, digest: index.Manifests[0].Digest}
	var manifest struct {
		MediaType string
		Manifests []descriptor
		Config    descriptor
		Layers    []descriptor
	}
	readJSON(t, dir, img.digest, &manifest)
	if manifest.MediaType == "application/vnd.oci.image.index.v1+json" {
		// As BuildKit writes even one platform: index.json names an
		// image index whose one manifest is the image.
		if len(manifest.Manifests) != 1 {
			t.Fatalf("%s: image index %s lists %d manifests; expected one image", dir, img.digest, len(manifest.Manifests))
		}
		img.digest = manifest.Manifests[0].Digest
		readJSON(t, dir, img.digest, &manifest)
	}
	img.layers = manifest.Layers
	var config struct{ Config struct{ Entrypoint []string } }
	readJSON(t, dir, manifest.Config.Digest, &config)
	img.entrypoint = config.Config.Entrypoint
	return img
}

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
			got := readImage(t, runfile(t, tc.env, ".oci")).digest
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
	base := readImage(t, runfile(t, "CORE_BOX", ".oci"))
	app := readImage(t, runfile(t, "APP", ".oci"))
	if len(app.layers) <= len(base.layers) {
		t.Fatalf("the app image has %d layers, the base %d: expected layers of its own", len(app.layers), len(base.layers))
	}
	for i, l := range base.layers {
		if app.layers[i].Digest != l.Digest {
			t.Errorf("layer %d of the app image is %s, the base's is %s: the base's layers must be reused as they are", i, app.layers[i].Digest, l.Digest)
		}
	}
	if ep := strings.Join(app.entrypoint, " "); ep != "/usr/bin/hello-consumer" {
		t.Errorf("entrypoint %q, expected /usr/bin/hello-consumer", ep)
	}

	// The files the build added, read from the app's own layers.
	found := map[string]string{}
	for _, l := range app.layers[len(base.layers):] {
		f, err := os.Open(blobPath(app.dir, l.Digest))
		if err != nil {
			t.Fatal(err)
		}
		rc, err := gzip.NewReader(f)
		if err != nil {
			t.Fatalf("layer %s: %v", l.Digest, err)
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
		f.Close()
	}
	if _, ok := found["usr/bin/hello-consumer"]; !ok {
		t.Errorf("the app's layers hold no usr/bin/hello-consumer; they hold %d files", len(found))
	}
	if got := found["etc/greeting"]; got != "hello from a StageX consumer\n" {
		t.Errorf("etc/greeting, written by running the program during the build, holds %q", got)
	}
}
