// Package index checks the multi-platform image index of the fixture
// user/multi: one image per platform package.toml lists, each built for its
// own architecture.
package index

import (
	"archive/tar"
	"compress/gzip"
	"encoding/json"
	"flag"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bazelbuild/rules_go/go/runfiles"
)

var outputs = flag.String("outputs", "", "rlocation paths of the index target's outputs (the .oci layout and the .digest file)")

// layoutPath returns the rlocation path of the .oci layout among outputs.
func layoutPath(t *testing.T) string {
	t.Helper()
	for _, p := range strings.Fields(*outputs) {
		if strings.HasSuffix(p, ".oci") {
			return p
		}
	}
	t.Fatalf("no .oci layout among -outputs=%q", *outputs)
	return ""
}

type descriptor struct {
	MediaType string `json:"mediaType"`
	Digest    string `json:"digest"`
	Platform  *struct {
		OS           string `json:"os"`
		Architecture string `json:"architecture"`
	} `json:"platform"`
}

type manifestList struct {
	Manifests []descriptor `json:"manifests"`
	Layers    []descriptor `json:"layers"`
	Config    descriptor   `json:"config"`
}

func blob(t *testing.T, dir, digest string, v any) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(dir, "blobs", "sha256", strings.TrimPrefix(digest, "sha256:")))
	if err != nil {
		t.Fatal(err)
	}
	if v != nil {
		if err := json.Unmarshal(data, v); err != nil {
			t.Fatalf("%s: %v", digest, err)
		}
	}
	return data
}

// fileInLayer returns the content of name in a gzip-compressed layer blob.
func fileInLayer(t *testing.T, dir, digest, name string) string {
	t.Helper()
	f, err := os.Open(filepath.Join(dir, "blobs", "sha256", strings.TrimPrefix(digest, "sha256:")))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	tr := tar.NewReader(zr)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return ""
		}
		if err != nil {
			t.Fatal(err)
		}
		if h.Name == name {
			b, _ := io.ReadAll(tr)
			return string(b)
		}
	}
}

func TestIndexHasOneImagePerPlatform(t *testing.T) {
	dir, err := runfiles.Rlocation(layoutPath(t))
	if err != nil {
		t.Fatal(err)
	}
	var top manifestList
	data, err := os.ReadFile(filepath.Join(dir, "index.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, &top); err != nil {
		t.Fatal(err)
	}
	if len(top.Manifests) != 1 || top.Manifests[0].MediaType != "application/vnd.oci.image.index.v1+json" {
		t.Fatalf("index.json = %s, want one image index", data)
	}
	var idx manifestList
	blob(t, dir, top.Manifests[0].Digest, &idx)
	want := []string{"amd64", "arm64"}
	if len(idx.Manifests) != len(want) {
		t.Fatalf("index lists %d images, want %d", len(idx.Manifests), len(want))
	}
	for i, d := range idx.Manifests {
		if d.Platform == nil || d.Platform.OS != "linux" || d.Platform.Architecture != want[i] {
			t.Errorf("entry %d platform = %+v, want linux/%s", i, d.Platform, want[i])
			continue
		}
		var m manifestList
		blob(t, dir, d.Digest, &m)
		var cfg struct {
			Architecture string `json:"architecture"`
		}
		blob(t, dir, m.Config.Digest, &cfg)
		if cfg.Architecture != want[i] {
			t.Errorf("%s image config says %s", want[i], cfg.Architecture)
		}
		if len(m.Layers) != 1 {
			t.Fatalf("%s image has %d layers, want 1", want[i], len(m.Layers))
		}
		// TARGETARCH is the platform each image was built for.
		if got := fileInLayer(t, dir, m.Layers[0].Digest, "etc/multi-arch"); got != "built for "+want[i]+"\n" {
			t.Errorf("%s image /etc/multi-arch = %q", want[i], got)
		}
	}
}
