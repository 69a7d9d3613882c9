package push

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/stagex/stagex-bazel/tools/internal/ociimage"
	"github.com/stagex/stagex-bazel/tools/internal/pull"
	"github.com/stagex/stagex-bazel/tools/internal/regclient"
	"github.com/stagex/stagex-bazel/tools/testing/registry/registrytest"
)

func quiet() Options {
	return Options{Options: regclient.Options{Credentials: &regclient.AuthFiles{}, Backoff: time.Millisecond}}
}

// manifestAt returns the manifest a registry serves for ref (digest or
// tag), with its status code.
func manifestAt(t *testing.T, base, path, ref string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, base+"/v2/"+path+"/manifests/"+ref, nil)
	req.Header.Set("Accept", "application/vnd.oci.image.manifest.v1+json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestPushByDigestAndTags(t *testing.T) {
	reg := registrytest.Start(t, nil)
	dir := filepath.Join(t.TempDir(), "image.oci")
	digest := registrytest.Layout(t, dir, 4096, 1)
	// The image is pushed under the digest StageX pins: its manifest's,
	// not that of the image index the layout's index.json points at.
	if pinned, err := ociimage.LayoutDigest(dir); err != nil || pinned != digest {
		t.Fatalf("LayoutDigest = %s, %v; WriteImage returned %s", pinned, err, digest)
	}
	repo := reg.Host() + "/stagex/core-test"

	opts := quiet()
	opts.Tags = []string{"latest", "0.1.0"}
	res, err := Push(context.Background(), dir, repo, opts)
	if err != nil {
		t.Fatalf("Push: %v", err)
	}
	if res.Digest != digest || res.Reference != repo+"@"+digest {
		t.Errorf("Result %+v; expected digest %s", res, digest)
	}
	if res.Uploaded != 2 || res.Skipped != 0 {
		t.Errorf("uploaded %d, skipped %d; expected the config and the layer uploaded", res.Uploaded, res.Skipped)
	}
	if want := []string{repo + ":latest", repo + ":0.1.0"}; strings.Join(res.Tagged, " ") != strings.Join(want, " ") {
		t.Errorf("Tagged %q, expected %q", res.Tagged, want)
	}
	code, byDigest := manifestAt(t, reg.URL(), "stagex/core-test", digest)
	if code != http.StatusOK {
		t.Fatalf("the pushed manifest is not served by digest: %d", code)
	}
	for _, tag := range opts.Tags {
		code, byTag := manifestAt(t, reg.URL(), "stagex/core-test", tag)
		if code != http.StatusOK || byTag != byDigest {
			t.Errorf("tag %s: status %d, same manifest as by digest: %v", tag, code, byTag == byDigest)
		}
	}

	// A second push finds every blob present.
	res, err = Push(context.Background(), dir, repo, quiet())
	if err != nil {
		t.Fatalf("second Push: %v", err)
	}
	if res.Uploaded != 0 || res.Skipped != 2 {
		t.Errorf("second push uploaded %d, skipped %d; expected all skipped", res.Uploaded, res.Skipped)
	}
}

func TestPushShowsProgressOnLargeBlobs(t *testing.T) {
	reg := registrytest.Start(t, nil)
	for _, tc := range []struct {
		size     int
		progress bool
	}{
		{size: 3 << 20, progress: true},
		{size: 64 << 10, progress: false},
	} {
		dir := filepath.Join(t.TempDir(), "image.oci")
		registrytest.Layout(t, dir, tc.size, 2)
		var log bytes.Buffer
		opts := quiet()
		opts.Log = &log
		if _, err := Push(context.Background(), dir, reg.Host()+"/stagex/big", opts); err != nil {
			t.Fatal(err)
		}
		out := log.String()
		if got := strings.Contains(out, "(100%)"); got != tc.progress {
			t.Errorf("layer of %d bytes: progress shown %v, expected %v; log:\n%s", tc.size, got, tc.progress, out)
		}
		if !strings.Contains(out, "pushed "+reg.Host()+"/stagex/big@sha256:") {
			t.Errorf("log does not end with the pushed reference:\n%s", out)
		}
	}
}

func TestPushRetriesFailedUploads(t *testing.T) {
	var putFailures atomic.Int32
	putFailures.Store(1)
	reg := registrytest.Start(t, func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Method == http.MethodPut && strings.Contains(r.URL.Path, "/blobs/uploads/") && putFailures.Add(-1) >= 0 {
				io.Copy(io.Discard, r.Body)
				w.WriteHeader(http.StatusBadGateway)
				return
			}
			h.ServeHTTP(w, r)
		})
	})
	dir := filepath.Join(t.TempDir(), "image.oci")
	digest := registrytest.Layout(t, dir, 1024, 3)
	if _, err := Push(context.Background(), dir, reg.Host()+"/stagex/flaky", quiet()); err != nil {
		t.Fatalf("Push with one failed upload: %v", err)
	}
	if code, _ := manifestAt(t, reg.URL(), "stagex/flaky", digest); code != http.StatusOK {
		t.Errorf("manifest not served after a retried push: %d", code)
	}
	// With a single attempt the same failure is final.
	putFailures.Store(1)
	dir2 := filepath.Join(t.TempDir(), "image.oci")
	registrytest.Layout(t, dir2, 1024, 4)
	opts := quiet()
	opts.Attempts = 1
	if _, err := Push(context.Background(), dir2, reg.Host()+"/stagex/flaky", opts); err == nil || !strings.Contains(err.Error(), "502") {
		t.Errorf("error %v; expected the 502 to be reported", err)
	}
}

func TestPushErrors(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "image.oci")
	registrytest.Layout(t, dir, 100, 5)
	closed := registrytest.ClosedAddr(t)
	for _, tc := range []struct {
		name, dir, repo string
		tags            []string
		want            string
	}{
		{"no host", dir, "stagex/core-box", nil, "registry host written out"},
		{"bad tag", dir, closed + "/stagex/x", []string{"bad tag"}, `tag "bad tag"`},
		{"no layout", filepath.Join(t.TempDir(), "none"), closed + "/stagex/x", nil, "none"},
		{"unreachable", dir, closed + "/stagex/x", nil, "unreachable"},
	} {
		opts := quiet()
		opts.Tags = tc.tags
		opts.Attempts = 5
		start := time.Now()
		_, err := Push(context.Background(), tc.dir, tc.repo, opts)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v; expected one containing %q", tc.name, err, tc.want)
		}
		if d := time.Since(start); d > 3*time.Second {
			t.Errorf("%s: took %v to fail", tc.name, d)
		}
	}
}

func TestPushIndex(t *testing.T) {
	reg := registrytest.Start(t, nil)
	tmp := t.TempDir()
	images := map[string]string{
		"linux/amd64": filepath.Join(tmp, "amd64.oci"),
		"linux/arm64": filepath.Join(tmp, "arm64.oci"),
	}
	registrytest.LayoutFor(t, images["linux/amd64"], 3000, 20, "amd64")
	registrytest.LayoutFor(t, images["linux/arm64"], 3000, 21, "arm64")
	indexDir := filepath.Join(tmp, "index.oci")
	digest, err := ociimage.WriteIndex(indexDir, []string{images["linux/amd64"], images["linux/arm64"]}, "core-multi")
	if err != nil {
		t.Fatal(err)
	}
	if top, err := ociimage.TopDescriptor(indexDir); err != nil || top.Digest.String() != digest {
		t.Fatalf("index.json lists %+v, %v; WriteIndex returned %s", top, err, digest)
	}
	repo := reg.Host() + "/stagex/multi"
	opts := quiet()
	opts.Tags = []string{"latest"}
	res, err := Push(context.Background(), indexDir, repo, opts)
	if err != nil {
		t.Fatalf("Push: %v", err)
	}
	if res.Digest != digest || res.Uploaded != 4 {
		t.Errorf("Result %+v; expected digest %s and 4 blobs (2 configs, 2 layers) uploaded", res, digest)
	}
	if code, _ := manifestAt(t, reg.URL(), "stagex/multi", "latest"); code != http.StatusOK {
		t.Errorf("tag latest: status %d", code)
	}
	for platform, src := range images {
		out := filepath.Join(t.TempDir(), "pulled.oci")
		pres, err := pull.Pull(context.Background(), res.Reference, out, pull.Options{Options: quiet().Options, Platform: platform})
		if err != nil {
			t.Fatalf("pulling %s back: %v", platform, err)
		}
		if pres.Digest != digest {
			t.Errorf("pulled %s from %s, expected the index %s", platform, pres.Digest, digest)
		}
		if want, err := ociimage.LayoutDigest(src); err != nil || pres.ImageDigest != want || pres.Platform != platform {
			t.Errorf("pulled %s as image %s (%s), expected %s (%v)", platform, pres.ImageDigest, pres.Platform, want, err)
		}
		registrytest.SameFiles(t, src, out)
	}
}

func TestPushRefusesCorruptBlobs(t *testing.T) {
	reg := registrytest.Start(t, nil)
	dir := filepath.Join(t.TempDir(), "image.oci")
	digest := registrytest.Layout(t, dir, 5000, 22)
	m, err := ociimage.ReadImage(dir)
	if err != nil {
		t.Fatal(err)
	}
	man, err := m.Manifest()
	if err != nil {
		t.Fatal(err)
	}
	layer := filepath.Join(dir, "blobs", "sha256", man.Layers[0].Digest.Hex)
	data, err := os.ReadFile(layer)
	if err != nil {
		t.Fatal(err)
	}
	data[len(data)/2] ^= 0xff
	if err := os.WriteFile(layer, data, 0o644); err != nil {
		t.Fatal(err)
	}
	opts := quiet()
	opts.Attempts = 3
	_, err = Push(context.Background(), dir, reg.Host()+"/stagex/corrupt", opts)
	got, _, err2 := v1.SHA256(bytes.NewReader(data))
	if err2 != nil {
		t.Fatal(err2)
	}
	if err == nil {
		t.Fatal("pushed a corrupt layer")
	}
	for _, s := range []string{layer + ": content does not match its digest", "expected " + man.Layers[0].Digest.String(), "got " + got.String()} {
		if !strings.Contains(err.Error(), s) {
			t.Errorf("error %v; expected it to contain %q", err, s)
		}
	}
	resp, err := http.Head(reg.URL() + "/v2/stagex/corrupt/blobs/" + man.Layers[0].Digest.String())
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("the registry holds the corrupt layer: HEAD %s", resp.Status)
	}
	if code, _ := manifestAt(t, reg.URL(), "stagex/corrupt", digest); code != http.StatusNotFound {
		t.Errorf("the manifest was pushed although a layer was corrupt: %d", code)
	}
}
