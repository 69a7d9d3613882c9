package ociimage

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

func sha(b []byte) string {
	s := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(s[:])
}

// makeLayer writes a tar.gz holding files (name to content) into dir and
// returns it with its digests computed here.
func makeLayer(t *testing.T, dir, name string, files map[string]string) Layer {
	t.Helper()
	var tarBuf bytes.Buffer
	tw := tar.NewWriter(&tarBuf)
	for _, n := range slices.Sorted(maps.Keys(files)) {
		if err := tw.WriteHeader(&tar.Header{Name: n, Mode: 0o644, Size: int64(len(files[n])), Typeflag: tar.TypeReg}); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write([]byte(files[n])); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	var gzBuf bytes.Buffer
	zw := gzip.NewWriter(&gzBuf)
	if _, err := zw.Write(tarBuf.Bytes()); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, gzBuf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return Layer{Path: path, Digest: sha(gzBuf.Bytes()), DiffID: sha(tarBuf.Bytes()), Size: int64(gzBuf.Len())}
}

// checkLayout verifies an OCI layout by hand: every blob's name is its
// sha256, every layer's diff ID matches its uncompressed content, and the
// top descriptor's digest and size match its blob. It returns the top
// descriptor.
func checkLayout(t *testing.T, dir string) v1.Descriptor {
	t.Helper()
	var layout struct {
		Version string `json:"imageLayoutVersion"`
	}
	readJSON(t, filepath.Join(dir, "oci-layout"), &layout)
	if layout.Version != "1.0.0" {
		t.Errorf("oci-layout version %q", layout.Version)
	}
	blobs, err := os.ReadDir(filepath.Join(dir, "blobs", "sha256"))
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range blobs {
		data, err := os.ReadFile(filepath.Join(dir, "blobs", "sha256", b.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if got := sha(data); got != "sha256:"+b.Name() {
			t.Errorf("blob %s has digest %s", b.Name(), got)
		}
	}
	var index v1.IndexManifest
	readJSON(t, filepath.Join(dir, "index.json"), &index)
	if len(index.Manifests) != 1 {
		t.Fatalf("index.json lists %d manifests", len(index.Manifests))
	}
	top := index.Manifests[0]
	data, err := os.ReadFile(filepath.Join(dir, "blobs", "sha256", top.Digest.Hex))
	if err != nil {
		t.Fatal(err)
	}
	if int64(len(data)) != top.Size {
		t.Errorf("index.json gives size %d, blob has %d", top.Size, len(data))
	}
	return top
}

// checkImage verifies the diff IDs of an image read back from a layout.
func checkImage(t *testing.T, img v1.Image) {
	t.Helper()
	layers, err := img.Layers()
	if err != nil {
		t.Fatal(err)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	if len(layers) != len(cf.RootFS.DiffIDs) {
		t.Fatalf("%d layers, %d diff IDs", len(layers), len(cf.RootFS.DiffIDs))
	}
	for i, l := range layers {
		rc, err := l.Uncompressed()
		if err != nil {
			t.Fatal(err)
		}
		data, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			t.Fatal(err)
		}
		if got := sha(data); got != cf.RootFS.DiffIDs[i].String() {
			t.Errorf("layer %d: uncompressed digest %s, config diff ID %s", i, got, cf.RootFS.DiffIDs[i])
		}
	}
}

func readJSON(t *testing.T, path string, v any) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}

func TestWriteImage(t *testing.T) {
	src := t.TempDir()
	l1 := makeLayer(t, src, "l1.tar.gz", map[string]string{"bin/a": "a"})
	l2 := makeLayer(t, src, "l2.tar.gz", map[string]string{"etc/b": "bb"})
	tests := []struct {
		name        string
		layers      []Layer
		cfg         Config
		annotations map[string]string
	}{
		{
			name:   "full config",
			layers: []Layer{l1, l2},
			cfg: Config{
				OS: "linux", Architecture: "arm64", Variant: "v8",
				Env:        []string{"PATH=/usr/bin:/bin", "EMPTY="},
				Entrypoint: []string{"/usr/bin/make"},
				Cmd:        []string{"--version"},
				User:       "1000:1000",
				WorkingDir: "/home/user",
				Labels:     map[string]string{"org.example.a": "1", "org.example.b": "2"},
			},
			annotations: map[string]string{
				AnnotationVersion: "4.4.1",
				AnnotationTitle:   "core-make",
				"org.example.x":   "extra",
			},
		},
		{
			name:        "scratch image with config only",
			layers:      nil,
			cfg:         Config{OS: "linux", Architecture: "amd64", Entrypoint: []string{"/hello"}},
			annotations: map[string]string{AnnotationTitle: "core-empty"},
		},
		{
			name:   "no annotations",
			layers: []Layer{l2},
			cfg:    Config{OS: "linux", Architecture: "riscv64"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "out")
			digest, err := WriteImage(dir, tt.layers, tt.cfg, tt.annotations)
			if err != nil {
				t.Fatal(err)
			}
			top := checkLayout(t, dir)
			if top.Digest.String() != digest || top.MediaType != types.OCIManifestSchema1 {
				t.Errorf("index.json lists %s %s, WriteImage returned %s", top.MediaType, top.Digest, digest)
			}
			if top.Annotations != nil || top.Platform != nil || top.ArtifactType != "" {
				t.Errorf("index.json descriptor carries extras: %+v", top)
			}
			if got, err := LayoutDigest(dir); err != nil || got != digest {
				t.Errorf("LayoutDigest = %s, %v; want %s", got, err, digest)
			}

			img, err := ReadImage(dir)
			if err != nil {
				t.Fatal(err)
			}
			checkImage(t, img)
			m, err := img.Manifest()
			if err != nil {
				t.Fatal(err)
			}
			if m.MediaType != types.OCIManifestSchema1 || m.Config.MediaType != types.OCIConfigJSON {
				t.Errorf("media types: manifest %s, config %s", m.MediaType, m.Config.MediaType)
			}
			if len(m.Layers) != len(tt.layers) {
				t.Fatalf("manifest lists %d layers, want %d", len(m.Layers), len(tt.layers))
			}
			for i, l := range tt.layers {
				d := m.Layers[i]
				if d.Digest.String() != l.Digest || d.Size != l.Size || d.MediaType != types.OCILayer {
					t.Errorf("layer %d: %s %s %d, want %s %d", i, d.MediaType, d.Digest, d.Size, l.Digest, l.Size)
				}
			}
			if !reflect.DeepEqual(m.Annotations, tt.annotations) && (len(m.Annotations) != 0 || len(tt.annotations) != 0) {
				t.Errorf("annotations = %v, want %v", m.Annotations, tt.annotations)
			}

			// Raw JSON: created time, history, empty lists as [].
			raw, err := img.RawConfigFile()
			if err != nil {
				t.Fatal(err)
			}
			var cfgJSON map[string]any
			if err := json.Unmarshal(raw, &cfgJSON); err != nil {
				t.Fatal(err)
			}
			if cfgJSON["created"] != "1970-01-01T00:00:01Z" {
				t.Errorf("created = %v", cfgJSON["created"])
			}
			if _, ok := cfgJSON["history"]; ok {
				t.Errorf("config has history: %s", raw)
			}
			rootfs := cfgJSON["rootfs"].(map[string]any)
			if ids, ok := rootfs["diff_ids"].([]any); !ok || len(ids) != len(tt.layers) {
				t.Errorf("rootfs.diff_ids = %v, want a list of %d", rootfs["diff_ids"], len(tt.layers))
			}
			rawManifest, err := img.RawManifest()
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Contains(rawManifest, []byte(`"layers":[`)) {
				t.Errorf("manifest layers is not a list: %s", rawManifest)
			}

			cf, err := img.ConfigFile()
			if err != nil {
				t.Fatal(err)
			}
			for i, l := range tt.layers {
				if cf.RootFS.DiffIDs[i].String() != l.DiffID {
					t.Errorf("diff ID %d = %s, want %s", i, cf.RootFS.DiffIDs[i], l.DiffID)
				}
			}
			got, err := BaseConfig(dir)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.cfg) {
				t.Errorf("config read back = %+v, want %+v", got, tt.cfg)
			}
		})
	}
}

// tree maps each path under root to its mode and content.
func tree(t *testing.T, root string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, path)
		entry := info.Mode().String()
		if !d.IsDir() {
			data, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			entry += " " + string(data)
		}
		out[rel] = entry
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestDeterministic(t *testing.T) {
	src := t.TempDir()
	l1 := makeLayer(t, src, "l1.tar.gz", map[string]string{"a": "1"})
	l2 := makeLayer(t, src, "l2.tar.gz", map[string]string{"b": "2"})
	cfg := Config{OS: "linux", Architecture: "amd64", Env: []string{"A=1"}, Labels: map[string]string{"z": "1", "a": "2", "m": "3"}}
	ann := map[string]string{AnnotationVersion: "1", AnnotationTitle: "core-x", "k1": "v", "k2": "v", "k3": "v"}

	out := t.TempDir()
	var trees []map[string]string
	var digests []string
	for i, name := range []string{"a", "b", "a"} { // "a" twice: rewriting over an existing layout
		dir := filepath.Join(out, name)
		d, err := WriteImage(dir, []Layer{l1, l2}, cfg, ann)
		if err != nil {
			t.Fatalf("write %d: %v", i, err)
		}
		digests = append(digests, d)
		trees = append(trees, tree(t, dir))
	}
	for i := 1; i < len(trees); i++ {
		if digests[i] != digests[0] {
			t.Errorf("digest %d = %s, want %s", i, digests[i], digests[0])
		}
		if !reflect.DeepEqual(trees[i], trees[0]) {
			t.Errorf("layout %d differs from layout 0:\n%v\n%v", i, trees[i], trees[0])
		}
	}
	if mode := trees[0]["index.json"][:10]; mode != "-rw-r--r--" {
		t.Errorf("index.json mode %s", mode)
	}
	if mode := trees[0]["blobs"][:10]; mode != "drwxr-xr-x" {
		t.Errorf("blobs mode %s", mode)
	}
	// Only the two layouts remain: no temporary directories.
	entries, _ := os.ReadDir(out)
	if len(entries) != 2 {
		t.Errorf("%s holds %d entries, want 2", out, len(entries))
	}

	// Any change in the inputs changes the digest.
	changed := []struct {
		name   string
		layers []Layer
		cfg    Config
		ann    map[string]string
	}{
		{"layer order", []Layer{l2, l1}, cfg, ann},
		{"env", []Layer{l1, l2}, Config{OS: "linux", Architecture: "amd64", Env: []string{"A=2"}, Labels: cfg.Labels}, ann},
		{"annotation", []Layer{l1, l2}, cfg, map[string]string{AnnotationVersion: "2"}},
	}
	for _, c := range changed {
		d, err := WriteImage(filepath.Join(out, "c"), c.layers, c.cfg, c.ann)
		if err != nil {
			t.Fatal(err)
		}
		if d == digests[0] {
			t.Errorf("%s: digest did not change", c.name)
		}
	}
}

func TestWriteImageErrors(t *testing.T) {
	src := t.TempDir()
	good := makeLayer(t, src, "good.tar.gz", map[string]string{"a": "1"})
	other := makeLayer(t, src, "other.tar.gz", map[string]string{"b": "2"})
	linux := Config{OS: "linux", Architecture: "amd64"}

	wrongDigest := good
	wrongDigest.Digest = "sha256:" + strings.Repeat("0", 64)
	conflict := other
	conflict.Digest = good.Digest
	wrongSize := good
	wrongSize.Size++
	missing := good
	missing.Path = filepath.Join(src, "missing.tar.gz")

	tests := []struct {
		name     string
		layers   []Layer
		cfg      Config
		ann      map[string]string
		contains []string
	}{
		{"digest mismatch", []Layer{other, wrongDigest}, linux, nil, []string{
			good.Path + ": content does not match its digest", "expected " + wrongDigest.Digest, "got " + good.Digest,
		}},
		{"one digest, two diff IDs", []Layer{good, conflict}, linux, nil, []string{"share digest " + good.Digest}},
		{"size mismatch", []Layer{wrongSize}, linux, nil, []string{good.Path + ": size mismatch", fmt.Sprintf("expected %d bytes, the file has %d", wrongSize.Size, good.Size)}},
		{"missing file", []Layer{missing}, linux, nil, []string{"missing.tar.gz"}},
		{"bad digest syntax", []Layer{{Path: good.Path, Digest: "abc", DiffID: good.DiffID, Size: good.Size}}, linux, nil, []string{`"abc"`, "sha256:<64 hex digits>"}},
		{"bad diff id", []Layer{{Path: good.Path, Digest: good.Digest, DiffID: "sha256:xyz", Size: good.Size}}, linux, nil, []string{"diff ID"}},
		{"not a layer media type", []Layer{{Path: good.Path, Digest: good.Digest, DiffID: good.DiffID, Size: good.Size, MediaType: string(types.OCIConfigJSON)}}, linux, nil, []string{"not a layer type"}},
		{"no OS", []Layer{good}, Config{Architecture: "amd64"}, nil, []string{"OS and Architecture are required"}},
		{"bad env", []Layer{good}, Config{OS: "linux", Architecture: "amd64", Env: []string{"NOEQUALS"}}, nil, []string{"NOEQUALS", "KEY=VALUE"}},
		{"empty annotation key", []Layer{good}, linux, map[string]string{"": "x"}, []string{"empty key"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			parent := t.TempDir()
			dir := filepath.Join(parent, "out")
			_, err := WriteImage(dir, tt.layers, tt.cfg, tt.ann)
			if err == nil {
				t.Fatal("WriteImage succeeded, want error")
			}
			for _, s := range tt.contains {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("error %q lacks %q", err, s)
				}
			}
			if entries, _ := os.ReadDir(parent); len(entries) != 0 {
				t.Errorf("failed write left %v behind", entries)
			}
		})
	}
}

func TestFailedWriteKeepsOldLayout(t *testing.T) {
	src := t.TempDir()
	good := makeLayer(t, src, "good.tar.gz", map[string]string{"a": "1"})
	dir := filepath.Join(t.TempDir(), "out")
	want, err := WriteImage(dir, []Layer{good}, Config{OS: "linux", Architecture: "amd64"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	before := tree(t, dir)
	bad := good
	bad.Digest = "sha256:" + strings.Repeat("0", 64)
	if _, err := WriteImage(dir, []Layer{bad}, Config{OS: "linux", Architecture: "amd64"}, nil); err == nil {
		t.Fatal("WriteImage succeeded with a wrong digest")
	}
	if got, err := LayoutDigest(dir); err != nil || got != want {
		t.Errorf("LayoutDigest after failed rewrite = %s, %v; want %s", got, err, want)
	}
	if !reflect.DeepEqual(tree(t, dir), before) {
		t.Error("failed rewrite changed the layout")
	}
	if entries, _ := os.ReadDir(filepath.Dir(dir)); len(entries) != 1 {
		t.Errorf("failed rewrite left %d entries next to the layout", len(entries))
	}
}

func TestBaseLayersReused(t *testing.T) {
	src := t.TempDir()
	b1 := makeLayer(t, src, "b1.tar.gz", map[string]string{"usr/bin/sh": "sh"})
	b2 := makeLayer(t, src, "b2.tar.gz", map[string]string{"etc/passwd": "root"})
	child := makeLayer(t, src, "c.tar.gz", map[string]string{"usr/bin/make": "make"})
	baseCfg := Config{OS: "linux", Architecture: "amd64", Env: []string{"PATH=/bin"}, User: "user"}

	out := t.TempDir()
	baseDir := filepath.Join(out, "base")
	if _, err := WriteImage(baseDir, []Layer{b1, b2}, baseCfg, map[string]string{AnnotationTitle: "core-base"}); err != nil {
		t.Fatal(err)
	}
	base, err := BaseLayers(baseDir)
	if err != nil {
		t.Fatal(err)
	}
	if len(base) != 2 {
		t.Fatalf("BaseLayers gave %d layers", len(base))
	}
	for i, want := range []Layer{b1, b2} {
		got := base[i]
		if got.Digest != want.Digest || got.DiffID != want.DiffID || got.Size != want.Size || got.MediaType != string(types.OCILayer) {
			t.Errorf("base layer %d = %+v, want digests of %+v", i, got, want)
		}
		if got.Path != filepath.Join(baseDir, "blobs", "sha256", strings.TrimPrefix(want.Digest, "sha256:")) {
			t.Errorf("base layer %d path %s", i, got.Path)
		}
		data, err := os.ReadFile(got.Path)
		if err != nil || sha(data) != want.Digest {
			t.Errorf("base layer %d file: %v", i, err)
		}
	}
	cfg, err := BaseConfig(baseDir)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Env = append(cfg.Env, "CC=cc")

	childDir := filepath.Join(out, "child")
	if _, err := WriteImage(childDir, append(base, child), cfg, nil); err != nil {
		t.Fatal(err)
	}
	checkLayout(t, childDir)
	img, err := ReadImage(childDir)
	if err != nil {
		t.Fatal(err)
	}
	checkImage(t, img)
	m, err := img.Manifest()
	if err != nil {
		t.Fatal(err)
	}
	wantDigests := []string{b1.Digest, b2.Digest, child.Digest}
	if len(m.Layers) != len(wantDigests) {
		t.Fatalf("child has %d layers", len(m.Layers))
	}
	for i, w := range wantDigests {
		if m.Layers[i].Digest.String() != w {
			t.Errorf("child layer %d = %s, want %s", i, m.Layers[i].Digest, w)
		}
	}
	got, err := BaseConfig(childDir)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got.Env, []string{"PATH=/bin", "CC=cc"}) || got.User != "user" {
		t.Errorf("child config %+v", got)
	}
}

func TestIndex(t *testing.T) {
	src := t.TempDir()
	amdLayer := makeLayer(t, src, "amd.tar.gz", map[string]string{"bin/x": "amd64"})
	armLayer := makeLayer(t, src, "arm.tar.gz", map[string]string{"bin/x": "arm64"})
	out := t.TempDir()
	amd := filepath.Join(out, "amd64")
	arm := filepath.Join(out, "arm64")
	amdDigest, err := WriteImage(amd, []Layer{amdLayer}, Config{OS: "linux", Architecture: "amd64"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	armDigest, err := WriteImage(arm, []Layer{armLayer}, Config{OS: "linux", Architecture: "arm64", Variant: "v8"}, nil)
	if err != nil {
		t.Fatal(err)
	}

	ann := map[string]string{AnnotationVersion: "1.0", AnnotationTitle: "core-x"}
	dir := filepath.Join(out, "index")
	digest, err := WriteIndex(dir, []string{amd, arm}, ann)
	if err != nil {
		t.Fatal(err)
	}
	top := checkLayout(t, dir)
	if top.MediaType != types.OCIImageIndex || top.Digest.String() != digest {
		t.Fatalf("index.json lists %s %s, WriteIndex returned %s", top.MediaType, top.Digest, digest)
	}
	ii, err := layout.ImageIndexFromPath(dir)
	if err != nil {
		t.Fatal(err)
	}
	idx, err := ii.ImageIndex(top.Digest)
	if err != nil {
		t.Fatal(err)
	}
	im, err := idx.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	if im.MediaType != types.OCIImageIndex || !reflect.DeepEqual(im.Annotations, ann) {
		t.Errorf("index media type %s, annotations %v", im.MediaType, im.Annotations)
	}
	want := []struct {
		digest, platform string
	}{{amdDigest, "linux/amd64"}, {armDigest, "linux/arm64/v8"}}
	if len(im.Manifests) != len(want) {
		t.Fatalf("index lists %d manifests", len(im.Manifests))
	}
	for i, w := range want {
		d := im.Manifests[i]
		if d.Digest.String() != w.digest || d.Platform == nil || d.Platform.String() != w.platform || d.MediaType != types.OCIManifestSchema1 || d.ArtifactType != "" {
			t.Errorf("manifest %d = %s %s %v, want %s %s", i, d.MediaType, d.Digest, d.Platform, w.digest, w.platform)
		}
		img, err := idx.Image(d.Digest)
		if err != nil {
			t.Fatal(err)
		}
		checkImage(t, img)
	}

	if _, err := ReadImage(dir); err == nil || !strings.Contains(err.Error(), "expected an image manifest") {
		t.Errorf("ReadImage of an index layout: %v", err)
	}
	if _, err := BaseLayers(dir); err == nil {
		t.Error("BaseLayers of an index layout succeeded")
	}
	again, err := WriteIndex(filepath.Join(out, "index2"), []string{amd, arm}, ann)
	if err != nil || again != digest {
		t.Errorf("second WriteIndex = %s, %v; want %s", again, err, digest)
	}
	if !reflect.DeepEqual(tree(t, dir), tree(t, filepath.Join(out, "index2"))) {
		t.Error("two WriteIndex runs gave different layouts")
	}

	errs := []struct {
		name     string
		images   []string
		contains string
	}{
		{"same platform twice", []string{amd, arm, amd}, "both for platform linux/amd64"},
		{"no images", nil, "no images"},
		{"not a layout", []string{src}, "reading OCI layout"},
		{"nested index", []string{dir}, "expected an image manifest"},
	}
	for _, e := range errs {
		t.Run(e.name, func(t *testing.T) {
			parent := t.TempDir()
			_, err := WriteIndex(filepath.Join(parent, "idx"), e.images, nil)
			if err == nil || !strings.Contains(err.Error(), e.contains) {
				t.Errorf("WriteIndex error = %v, want %q", err, e.contains)
			}
			if entries, _ := os.ReadDir(parent); len(entries) != 0 {
				t.Errorf("failed WriteIndex left %v", entries)
			}
		})
	}
}

func TestSkopeo(t *testing.T) {
	skopeo, err := exec.LookPath("skopeo")
	if err != nil {
		t.Skip("skopeo not installed; the layouts are checked by hand in the other tests")
	}
	src := t.TempDir()
	out := t.TempDir()
	l := makeLayer(t, src, "l.tar.gz", map[string]string{"a": "1"})
	img := filepath.Join(out, "img")
	imgDigest, err := WriteImage(img, []Layer{l}, Config{OS: "linux", Architecture: "amd64"}, map[string]string{AnnotationTitle: "t"})
	if err != nil {
		t.Fatal(err)
	}
	arm := filepath.Join(out, "arm")
	if _, err := WriteImage(arm, []Layer{l}, Config{OS: "linux", Architecture: "arm64"}, nil); err != nil {
		t.Fatal(err)
	}
	idx := filepath.Join(out, "idx")
	idxDigest, err := WriteIndex(idx, []string{img, arm}, nil)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"inspect image", []string{"inspect", "oci:" + img}, imgDigest},
		// copy reads every blob and checks it against its digest.
		{"copy image", []string{"--insecure-policy", "copy", "oci:" + img, "dir:" + filepath.Join(out, "copy")}, ""},
		{"inspect index", []string{"inspect", "--raw", "oci:" + idx}, string(types.OCIImageIndex)},
		{"copy index", []string{"--insecure-policy", "copy", "--all", "oci:" + idx, "oci:" + filepath.Join(out, "copy-idx")}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := exec.Command(skopeo, tt.args...).CombinedOutput()
			if err != nil {
				t.Fatalf("skopeo %v: %v\n%s", tt.args, err, got)
			}
			if !bytes.Contains(got, []byte(tt.want)) {
				t.Errorf("skopeo %v does not show %s:\n%s", tt.args, tt.want, got)
			}
		})
	}
	// skopeo re-serializes the index it copies, but keeps the images as
	// they are.
	copied, err := layout.ImageIndexFromPath(filepath.Join(out, "copy-idx"))
	if err != nil {
		t.Fatal(err)
	}
	top, err := copied.IndexManifest()
	if err != nil || len(top.Manifests) != 1 {
		t.Fatalf("copied layout: %v, %v", top, err)
	}
	inner, err := copied.ImageIndex(top.Manifests[0].Digest)
	if err != nil {
		t.Fatal(err)
	}
	im, err := inner.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	if len(im.Manifests) != 2 || im.Manifests[0].Digest.String() != imgDigest {
		t.Errorf("copied index %+v lacks %s first (index %s)", im.Manifests, imgDigest, idxDigest)
	}
}
