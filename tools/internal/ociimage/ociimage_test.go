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

// topAnnotations are the annotations BuildKit's exporter puts on
// index.json's one entry for an image named name ("" for none).
func topAnnotations(name string) map[string]string {
	a := map[string]string{AnnotationCreated: CreatedText}
	if name != "" {
		a["io.containerd.image.name"] = "docker.io/library/" + name + ":latest"
		a["org.opencontainers.image.ref.name"] = "latest"
	}
	return a
}

// checkLayout verifies an OCI layout as BuildKit's exporter writes it, by
// hand: oci-layout is BuildKit's, every blob's name is its sha256, and
// index.json is compact JSON listing exactly one image index, with the
// created annotation and, for a named image (name not ""), its name, and
// the digest and size of its blob. It returns index.json's entry.
func checkLayout(t *testing.T, dir, name string) v1.Descriptor {
	t.Helper()
	if data, err := os.ReadFile(filepath.Join(dir, "oci-layout")); err != nil || string(data) != `{"imageLayoutVersion":"1.0.0"}` {
		t.Errorf("oci-layout = %q, %v", data, err)
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
	raw, err := os.ReadFile(filepath.Join(dir, "index.json"))
	if err != nil {
		t.Fatal(err)
	}
	checkCompact(t, "index.json", raw)
	var index v1.IndexManifest
	if err := json.Unmarshal(raw, &index); err != nil {
		t.Fatalf("index.json: %v", err)
	}
	if index.SchemaVersion != 2 || index.MediaType != types.OCIImageIndex || index.Annotations != nil {
		t.Errorf("index.json: schema %d, media type %s, annotations %v", index.SchemaVersion, index.MediaType, index.Annotations)
	}
	if len(index.Manifests) != 1 {
		t.Fatalf("index.json lists %d manifests", len(index.Manifests))
	}
	top := index.Manifests[0]
	if top.MediaType != types.OCIImageIndex || top.Platform != nil || top.ArtifactType != "" {
		t.Errorf("index.json lists %+v; want an image index without platform", top)
	}
	if want := topAnnotations(name); !reflect.DeepEqual(top.Annotations, want) {
		t.Errorf("index.json annotations = %v, want %v", top.Annotations, want)
	}
	data := readBlob(t, dir, top.Digest.String())
	if int64(len(data)) != top.Size {
		t.Errorf("index.json gives size %d, blob has %d", top.Size, len(data))
	}
	return top
}

// readBlob returns the blob of dir with digest d.
func readBlob(t *testing.T, dir, d string) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(dir, "blobs", "sha256", strings.TrimPrefix(d, "sha256:")))
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// innerIndex returns the image index that index.json's entry top names,
// checking that it is indented by two spaces, as BuildKit writes it.
func innerIndex(t *testing.T, dir string, top v1.Descriptor) v1.IndexManifest {
	t.Helper()
	raw := readBlob(t, dir, top.Digest.String())
	checkIndented(t, "image index", raw)
	var im v1.IndexManifest
	if err := json.Unmarshal(raw, &im); err != nil {
		t.Fatalf("image index: %v", err)
	}
	if im.SchemaVersion != 2 || im.MediaType != types.OCIImageIndex || im.Annotations != nil {
		t.Errorf("image index: schema %d, media type %s, annotations %v", im.SchemaVersion, im.MediaType, im.Annotations)
	}
	return im
}

// checkCompact fails unless raw is compact JSON.
func checkCompact(t *testing.T, what string, raw []byte) {
	t.Helper()
	var buf bytes.Buffer
	if err := json.Compact(&buf, raw); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	if !bytes.Equal(buf.Bytes(), raw) {
		t.Errorf("%s is not compact JSON:\n%s", what, raw)
	}
}

// checkIndented fails unless raw is JSON indented by two spaces, as
// json.MarshalIndent(v, "", "  ") writes it, without a final newline.
func checkIndented(t *testing.T, what string, raw []byte) {
	t.Helper()
	var compact, indented bytes.Buffer
	if err := json.Compact(&compact, raw); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	if err := json.Indent(&indented, compact.Bytes(), "", "  "); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(indented.Bytes(), raw) {
		t.Errorf("%s is not indented by two spaces:\n%s", what, raw)
	}
}

// topLevelKeys returns the keys of the JSON object raw, in their order.
func topLevelKeys(t *testing.T, raw []byte) []string {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(raw))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		t.Fatalf("not a JSON object: %v %v", tok, err)
	}
	var keys []string
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			t.Fatal(err)
		}
		keys = append(keys, tok.(string))
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			t.Fatal(err)
		}
	}
	return keys
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

// history returns BuildKit's history entry for a Dockerfile instruction.
func history(createdBy string, emptyLayer bool) History {
	return History{Created: CreatedText, CreatedBy: createdBy, Comment: HistoryComment, EmptyLayer: emptyLayer}
}

func TestWriteImage(t *testing.T) {
	src := t.TempDir()
	l1 := makeLayer(t, src, "l1.tar.gz", map[string]string{"bin/a": "a"})
	l2 := makeLayer(t, src, "l2.tar.gz", map[string]string{"etc/b": "bb"})
	rewritten := l1
	rewritten.Annotations = map[string]string{AnnotationRewritten: "1"}
	tests := []struct {
		name        string
		layers      []Layer
		cfg         Config
		annotations map[string]string
		imageName   string
	}{
		{
			name:   "full config",
			layers: []Layer{rewritten, l2},
			cfg: Config{
				OS: "linux", Architecture: "arm64", Variant: "v8",
				User:         "1000:1000",
				ExposedPorts: []string{"443/tcp", "80/tcp"},
				Env:          []string{"PATH=/usr/bin:/bin", "EMPTY="},
				Entrypoint:   []string{"/usr/bin/make"},
				Cmd:          []string{"--version"},
				Volumes:      []string{"/data", "/var/cache"},
				WorkingDir:   "/home/user",
				Labels:       map[string]string{"org.example.a": "1", "org.example.b": "2"},
				StopSignal:   "SIGTERM",
				ArgsEscaped:  true,
				OnBuild:      []string{"RUN true"},
				Shell:        []string{"/bin/sh", "-ec"},
				History: []History{
					history("COPY / / # buildkit", false),
					history(`ENV PATH=/usr/bin:/bin`, true),
					history("RUN /bin/sh -c make \u0026\u0026 make install # buildkit", false),
					{Created: CreatedText, CreatedBy: "LABEL", Author: "StageX", Comment: HistoryComment, EmptyLayer: true},
				},
			},
			annotations: map[string]string{
				AnnotationVersion: "4.4.1",
				AnnotationCreated: CreatedText,
				AnnotationSource:  "stagex/core-make",
				"org.example.x":   "extra",
			},
			imageName: "core-make",
		},
		{
			name:        "scratch image with config only",
			layers:      nil,
			cfg:         Config{OS: "linux", Architecture: "amd64", Entrypoint: []string{"/hello"}, History: []History{history(`ENTRYPOINT ["/hello"]`, true)}},
			annotations: map[string]string{AnnotationSource: "stagex/core-empty"},
			imageName:   "core-empty",
		},
		{
			name:   "no annotations, history or name",
			layers: []Layer{l2},
			cfg:    Config{OS: "linux", Architecture: "riscv64"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "out")
			digest, err := WriteImage(dir, Image{Layers: tt.layers, Config: tt.cfg, Annotations: tt.annotations, Name: tt.imageName})
			if err != nil {
				t.Fatal(err)
			}

			// index.json -> image index -> image manifest, whose digest
			// WriteImage returned and LayoutDigest gives.
			top := checkLayout(t, dir, tt.imageName)
			if got, err := TopDescriptor(dir); err != nil || !reflect.DeepEqual(got, top) {
				t.Errorf("TopDescriptor = %+v, %v; want %+v", got, err, top)
			}
			im := innerIndex(t, dir, top)
			if len(im.Manifests) != 1 {
				t.Fatalf("image index lists %d manifests, want 1", len(im.Manifests))
			}
			md := im.Manifests[0]
			wantPlatform := v1.Platform{OS: tt.cfg.OS, Architecture: tt.cfg.Architecture, Variant: tt.cfg.Variant}
			if md.Digest.String() != digest || md.MediaType != types.OCIManifestSchema1 || md.Platform == nil || !reflect.DeepEqual(*md.Platform, wantPlatform) {
				t.Errorf("image index lists %s %s %v, WriteImage returned %s for %v", md.MediaType, md.Digest, md.Platform, digest, wantPlatform)
			}
			if md.Annotations != nil || md.ArtifactType != "" {
				t.Errorf("image index entry carries extras: %+v", md)
			}
			if int64(len(readBlob(t, dir, digest))) != md.Size {
				t.Errorf("image index gives manifest size %d", md.Size)
			}
			if got, err := ManifestDescriptor(dir); err != nil || !reflect.DeepEqual(got, md) {
				t.Errorf("ManifestDescriptor = %+v, %v; want %+v", got, err, md)
			}
			if got, err := LayoutDigest(dir); err != nil || got != digest {
				t.Errorf("LayoutDigest = %s, %v; want the manifest digest %s", got, err, digest)
			}
			if top.Digest.String() == digest {
				t.Errorf("index.json names the manifest %s directly", digest)
			}

			img, err := ReadImage(dir)
			if err != nil {
				t.Fatal(err)
			}
			if d, err := img.Digest(); err != nil || d.String() != digest {
				t.Errorf("ReadImage gave the image %s, %v; want %s", d, err, digest)
			}
			checkImage(t, img)
			m, err := img.Manifest()
			if err != nil {
				t.Fatal(err)
			}
			if m.SchemaVersion != 2 || m.MediaType != types.OCIManifestSchema1 || m.Config.MediaType != types.OCIConfigJSON {
				t.Errorf("manifest: schema %d, media types: manifest %s, config %s", m.SchemaVersion, m.MediaType, m.Config.MediaType)
			}
			if len(m.Layers) != len(tt.layers) {
				t.Fatalf("manifest lists %d layers, want %d", len(m.Layers), len(tt.layers))
			}
			for i, l := range tt.layers {
				d := m.Layers[i]
				if d.Digest.String() != l.Digest || d.Size != l.Size || d.MediaType != types.OCILayer {
					t.Errorf("layer %d: %s %s %d, want %s %d", i, d.MediaType, d.Digest, d.Size, l.Digest, l.Size)
				}
				if !reflect.DeepEqual(d.Annotations, l.Annotations) || d.Platform != nil || d.URLs != nil {
					t.Errorf("layer %d descriptor: annotations %v, platform %v, urls %v; want annotations %v", i, d.Annotations, d.Platform, d.URLs, l.Annotations)
				}
			}
			if !reflect.DeepEqual(m.Annotations, tt.annotations) {
				t.Errorf("annotations = %v, want %v", m.Annotations, tt.annotations)
			}
			rawManifest, err := img.RawManifest()
			if err != nil {
				t.Fatal(err)
			}
			checkIndented(t, "manifest", rawManifest)
			// A list, or null (as BuildKit writes it) when there are none.
			wantLayers := `"layers": [`
			if len(tt.layers) == 0 {
				wantLayers = `"layers": null`
			}
			if !bytes.Contains(rawManifest, []byte(wantLayers)) {
				t.Errorf("manifest layers is not %s: %s", wantLayers, rawManifest)
			}
			if len(tt.annotations) == 0 && bytes.Contains(rawManifest, []byte(`"annotations"`)) {
				t.Errorf("manifest has annotations: %s", rawManifest)
			}

			// Raw config: compact, top-level keys sorted, created time,
			// history as given, diff IDs as a list.
			raw, err := img.RawConfigFile()
			if err != nil {
				t.Fatal(err)
			}
			checkCompact(t, "config", raw)
			if keys := topLevelKeys(t, raw); !slices.IsSorted(keys) {
				t.Errorf("config keys %v are not sorted", keys)
			}
			var cfgJSON map[string]any
			if err := json.Unmarshal(raw, &cfgJSON); err != nil {
				t.Fatal(err)
			}
			if cfgJSON["created"] != CreatedText || CreatedText != "1970-01-01T00:00:01Z" {
				t.Errorf("created = %v", cfgJSON["created"])
			}
			var doc struct {
				History *[]History `json:"history"`
			}
			if err := json.Unmarshal(raw, &doc); err != nil {
				t.Fatal(err)
			}
			switch {
			case len(tt.cfg.History) == 0 && doc.History != nil:
				t.Errorf("config has history: %s", raw)
			case len(tt.cfg.History) > 0 && (doc.History == nil || !reflect.DeepEqual(*doc.History, tt.cfg.History)):
				t.Errorf("config history = %s, want %+v", raw, tt.cfg.History)
			}
			rootfs := cfgJSON["rootfs"].(map[string]any)
			// BuildKit writes null, not [], for an image without layers.
			ids, ok := rootfs["diff_ids"].([]any)
			if len(tt.layers) == 0 {
				ok = rootfs["diff_ids"] == nil
			}
			if !ok || len(ids) != len(tt.layers) || rootfs["type"] != "layers" {
				t.Errorf("rootfs = %v, want layers and a list of %d diff IDs", rootfs, len(tt.layers))
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

// TestBuildKitBytes checks every byte of a layout against the documents
// BuildKit's OCI exporter writes for the same image, spelled out here.
func TestBuildKitBytes(t *testing.T) {
	src := t.TempDir()
	l1 := makeLayer(t, src, "l1.tar.gz", map[string]string{"bin/sh": "sh"})
	l1.Annotations = map[string]string{AnnotationRewritten: "1"}
	l2 := makeLayer(t, src, "l2.tar.gz", map[string]string{"tmp/x": "x"})
	dir := filepath.Join(t.TempDir(), "out")
	digest, err := WriteImage(dir, Image{
		Layers: []Layer{l1, l2},
		Config: Config{
			OS: "linux", Architecture: "amd64",
			Env:        []string{"PATH=/usr/bin:/bin"},
			Entrypoint: []string{"/bin/sh"},
			History: []History{
				history("COPY / / # buildkit", false),
				history("RUN /bin/sh -c mkdir /tmp && true # buildkit", false),
				history(`ENTRYPOINT ["/bin/sh"]`, true),
			},
		},
		Annotations: map[string]string{
			AnnotationVersion: "1.0",
			AnnotationCreated: CreatedText,
			AnnotationSource:  "stagex/core-sh",
		},
		Name: "core-sh",
	})
	if err != nil {
		t.Fatal(err)
	}

	config := `{"architecture":"amd64","config":{"Env":["PATH=/usr/bin:/bin"],"Entrypoint":["/bin/sh"]},"created":"1970-01-01T00:00:01Z",` +
		`"history":[{"created":"1970-01-01T00:00:01Z","created_by":"COPY / / # buildkit","comment":"buildkit.dockerfile.v0"},` +
		`{"created":"1970-01-01T00:00:01Z","created_by":"RUN /bin/sh -c mkdir /tmp \u0026\u0026 true # buildkit","comment":"buildkit.dockerfile.v0"},` +
		`{"created":"1970-01-01T00:00:01Z","created_by":"ENTRYPOINT [\"/bin/sh\"]","comment":"buildkit.dockerfile.v0","empty_layer":true}],` +
		`"os":"linux","rootfs":{"type":"layers","diff_ids":["` + l1.DiffID + `","` + l2.DiffID + `"]}}`
	manifest := fmt.Sprintf(`{
  "schemaVersion": 2,
  "mediaType": "application/vnd.oci.image.manifest.v1+json",
  "config": {
    "mediaType": "application/vnd.oci.image.config.v1+json",
    "digest": "%s",
    "size": %d
  },
  "layers": [
    {
      "mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
      "digest": "%s",
      "size": %d,
      "annotations": {
        "buildkit/rewritten-timestamp": "1"
      }
    },
    {
      "mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
      "digest": "%s",
      "size": %d
    }
  ],
  "annotations": {
    "containerd.io/distribution.source.docker.io": "stagex/core-sh",
    "org.opencontainers.image.created": "1970-01-01T00:00:01Z",
    "org.opencontainers.image.version": "1.0"
  }
}`, sha([]byte(config)), len(config), l1.Digest, l1.Size, l2.Digest, l2.Size)
	index := fmt.Sprintf(`{
  "schemaVersion": 2,
  "mediaType": "application/vnd.oci.image.index.v1+json",
  "manifests": [
    {
      "mediaType": "application/vnd.oci.image.manifest.v1+json",
      "digest": "%s",
      "size": %d,
      "platform": {
        "architecture": "amd64",
        "os": "linux"
      }
    }
  ]
}`, sha([]byte(manifest)), len(manifest))
	indexJSON := fmt.Sprintf(`{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[`+
		`{"mediaType":"application/vnd.oci.image.index.v1+json","digest":"%s","size":%d,"annotations":{`+
		`"io.containerd.image.name":"docker.io/library/core-sh:latest","org.opencontainers.image.created":"1970-01-01T00:00:01Z","org.opencontainers.image.ref.name":"latest"}}]}`,
		sha([]byte(index)), len(index))

	if want := sha([]byte(manifest)); digest != want {
		t.Errorf("WriteImage returned %s, want the manifest digest %s", digest, want)
	}
	if got, err := LayoutDigest(dir); err != nil || got != digest {
		t.Errorf("LayoutDigest = %s, %v; want %s", got, err, digest)
	}
	if top, err := TopDescriptor(dir); err != nil || top.Digest.String() != sha([]byte(index)) {
		t.Errorf("TopDescriptor = %+v, %v; want the image index %s", top, err, sha([]byte(index)))
	}
	l1Data, _ := os.ReadFile(l1.Path)
	l2Data, _ := os.ReadFile(l2.Path)
	want := map[string]string{
		".":                      "<dir>",
		"oci-layout":             `{"imageLayoutVersion":"1.0.0"}`,
		"index.json":             indexJSON,
		"blobs":                  "<dir>",
		"blobs/sha256":           "<dir>",
		blobName(config):         config,
		blobName(manifest):       manifest,
		blobName(index):          index,
		blobName(string(l1Data)): string(l1Data),
		blobName(string(l2Data)): string(l2Data),
	}
	got := map[string]string{}
	err = filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, path)
		if d.IsDir() {
			got[filepath.ToSlash(rel)] = "<dir>"
			return nil
		}
		data, err := os.ReadFile(path)
		got[filepath.ToSlash(rel)] = string(data)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range slices.Sorted(maps.Keys(want)) {
		if g, ok := got[p]; !ok {
			t.Errorf("layout lacks %s", p)
		} else if g != want[p] {
			t.Errorf("%s =\n%s\nwant\n%s", p, g, want[p])
		}
	}
	for p := range got {
		if _, ok := want[p]; !ok {
			t.Errorf("layout has an unexpected %s", p)
		}
	}
}

// blobName is the path in a layout of the blob with content data.
func blobName(data string) string {
	return "blobs/sha256/" + strings.TrimPrefix(sha([]byte(data)), "sha256:")
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
	l1.Annotations = map[string]string{AnnotationRewritten: "1"}
	cfg := Config{
		OS: "linux", Architecture: "amd64", Env: []string{"A=1"}, Labels: map[string]string{"z": "1", "a": "2", "m": "3"},
		ExposedPorts: []string{"80/tcp", "22/tcp", "443/tcp"}, Volumes: []string{"/z", "/a"},
		History: []History{history("COPY a /", false), history("COPY b /", false)},
	}
	ann := map[string]string{AnnotationVersion: "1", AnnotationSource: "stagex/core-x", "k1": "v", "k2": "v", "k3": "v"}
	img := Image{Layers: []Layer{l1, l2}, Config: cfg, Annotations: ann, Name: "core-x"}

	out := t.TempDir()
	var trees []map[string]string
	var digests []string
	for i, name := range []string{"a", "b", "a"} { // "a" twice: rewriting over an existing layout
		dir := filepath.Join(out, name)
		d, err := WriteImage(dir, img)
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
	top0, err := TopDescriptor(filepath.Join(out, "a"))
	if err != nil {
		t.Fatal(err)
	}

	// Any change in the inputs changes the manifest digest...
	unannotated := l1
	unannotated.Annotations = nil
	withCfg := func(f func(*Config)) Image {
		c := img
		c.Config = cfg
		c.Config.History = slices.Clone(cfg.History)
		f(&c.Config)
		return c
	}
	changed := []struct {
		name string
		img  Image
	}{
		{"layer order", Image{Layers: []Layer{l2, l1}, Config: cfg, Annotations: ann, Name: "core-x"}},
		{"env", withCfg(func(c *Config) { c.Env = []string{"A=2"} })},
		{"history", withCfg(func(c *Config) { c.History[1].CreatedBy = "COPY c /" })},
		{"empty history entry", withCfg(func(c *Config) { c.History = append(c.History, history("USER 1000", true)) })},
		{"annotation", Image{Layers: []Layer{l1, l2}, Config: cfg, Annotations: map[string]string{AnnotationVersion: "2"}, Name: "core-x"}},
		{"layer annotation", Image{Layers: []Layer{unannotated, l2}, Config: cfg, Annotations: ann, Name: "core-x"}},
	}
	for _, c := range changed {
		d, err := WriteImage(filepath.Join(out, "c"), c.img)
		if err != nil {
			t.Fatal(err)
		}
		if d == digests[0] {
			t.Errorf("%s: digest did not change", c.name)
		}
	}
	// ... but the name is only in index.json: it changes index.json, not
	// the image.
	renamed := img
	renamed.Name = "core-y"
	dir := filepath.Join(out, "renamed")
	d, err := WriteImage(dir, renamed)
	if err != nil {
		t.Fatal(err)
	}
	checkLayout(t, dir, "core-y")
	top, err := TopDescriptor(dir)
	if err != nil {
		t.Fatal(err)
	}
	if d != digests[0] || top.Digest != top0.Digest || reflect.DeepEqual(tree(t, dir)["index.json"], trees[0]["index.json"]) {
		t.Errorf("renamed image: manifest %s (want %s), index %s (want %s); index.json should differ", d, digests[0], top.Digest, top0.Digest)
	}
}

func TestWriteImageErrors(t *testing.T) {
	src := t.TempDir()
	good := makeLayer(t, src, "good.tar.gz", map[string]string{"a": "1"})
	other := makeLayer(t, src, "other.tar.gz", map[string]string{"b": "2"})
	linux := Config{OS: "linux", Architecture: "amd64"}
	withHistory := func(h ...History) Config {
		c := linux
		c.History = h
		return c
	}

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
		{"bad digest syntax", []Layer{{Path: good.Path, Digest: "abc", DiffID: good.DiffID, Size: good.Size}}, linux, nil, []string{`"abc"`, "expected sha256: and 64 lowercase hex digits"}},
		{"bad diff id", []Layer{{Path: good.Path, Digest: good.Digest, DiffID: "sha256:xyz", Size: good.Size}}, linux, nil, []string{"diff ID"}},
		{"not a layer media type", []Layer{{Path: good.Path, Digest: good.Digest, DiffID: good.DiffID, Size: good.Size, MediaType: string(types.OCIConfigJSON)}}, linux, nil, []string{"not a layer type"}},
		{"no OS", []Layer{good}, Config{Architecture: "amd64"}, nil, []string{"OS and Architecture are required"}},
		{"bad env", []Layer{good}, Config{OS: "linux", Architecture: "amd64", Env: []string{"NOEQUALS"}}, nil, []string{"NOEQUALS", "KEY=VALUE"}},
		{"empty annotation key", []Layer{good}, linux, map[string]string{"": "x"}, []string{"empty key"}},
		{"fewer history entries than layers", []Layer{good, other}, withHistory(history("COPY a /", false), history("ENV A=1", true)), nil,
			[]string{"1 history entries with a layer for 2 layers"}},
		{"more history entries than layers", []Layer{good}, withHistory(history("COPY a /", false), history("COPY b /", false)), nil,
			[]string{"2 history entries with a layer for 1 layers"}},
		{"history for a scratch image", nil, withHistory(history("COPY a /", false)), nil,
			[]string{"1 history entries with a layer for 0 layers"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			parent := t.TempDir()
			dir := filepath.Join(parent, "out")
			_, err := WriteImage(dir, Image{Layers: tt.layers, Config: tt.cfg, Annotations: tt.ann, Name: "core-x"})
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
	linux := Config{OS: "linux", Architecture: "amd64"}
	want, err := WriteImage(dir, Image{Layers: []Layer{good}, Config: linux, Name: "core-x"})
	if err != nil {
		t.Fatal(err)
	}
	before := tree(t, dir)
	bad := good
	bad.Digest = "sha256:" + strings.Repeat("0", 64)
	if _, err := WriteImage(dir, Image{Layers: []Layer{bad}, Config: linux, Name: "core-x"}); err == nil {
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
	b1.Annotations = map[string]string{AnnotationRewritten: "1"}
	b2 := makeLayer(t, src, "b2.tar.gz", map[string]string{"etc/passwd": "root"})
	child := makeLayer(t, src, "c.tar.gz", map[string]string{"usr/bin/make": "make"})
	child.Annotations = map[string]string{AnnotationRewritten: "1", "org.example.child": "yes"}
	baseHistory := []History{
		history("COPY sh /usr/bin/sh # buildkit", false),
		history("ENV PATH=/bin", true),
		history("COPY passwd /etc/passwd # buildkit", false),
		history("USER user", true),
	}
	baseCfg := Config{OS: "linux", Architecture: "amd64", Env: []string{"PATH=/bin"}, User: "user", Shell: []string{"/bin/sh", "-c"}, History: baseHistory}

	out := t.TempDir()
	baseDir := filepath.Join(out, "base")
	if _, err := WriteImage(baseDir, Image{Layers: []Layer{b1, b2}, Config: baseCfg, Annotations: map[string]string{AnnotationSource: "stagex/core-base"}, Name: "core-base"}); err != nil {
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
		if !reflect.DeepEqual(got.Annotations, want.Annotations) {
			t.Errorf("base layer %d annotations = %v, want %v", i, got.Annotations, want.Annotations)
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
	if !reflect.DeepEqual(cfg, baseCfg) {
		t.Errorf("base config read back = %+v, want %+v", cfg, baseCfg)
	}
	cfg.Env = append(cfg.Env, "CC=cc")
	cfg.History = append(cfg.History, history("ENV CC=cc", true), history("COPY make /usr/bin/make # buildkit", false))
	wantHistory := slices.Clone(cfg.History)

	childDir := filepath.Join(out, "child")
	if _, err := WriteImage(childDir, Image{Layers: append(base, child), Config: cfg, Name: "core-child"}); err != nil {
		t.Fatal(err)
	}
	checkLayout(t, childDir, "core-child")
	img, err := ReadImage(childDir)
	if err != nil {
		t.Fatal(err)
	}
	checkImage(t, img)
	m, err := img.Manifest()
	if err != nil {
		t.Fatal(err)
	}
	want := []Layer{b1, b2, child}
	if len(m.Layers) != len(want) {
		t.Fatalf("child has %d layers", len(m.Layers))
	}
	for i, w := range want {
		if m.Layers[i].Digest.String() != w.Digest || !reflect.DeepEqual(m.Layers[i].Annotations, w.Annotations) {
			t.Errorf("child layer %d = %s %v, want %s %v", i, m.Layers[i].Digest, m.Layers[i].Annotations, w.Digest, w.Annotations)
		}
	}
	got, err := BaseConfig(childDir)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got.Env, []string{"PATH=/bin", "CC=cc"}) || got.User != "user" || !reflect.DeepEqual(got.Shell, baseCfg.Shell) {
		t.Errorf("child config %+v", got)
	}
	if !reflect.DeepEqual(got.History, wantHistory) {
		t.Errorf("child history = %+v, want the base's and the child's %+v", got.History, wantHistory)
	}
}

func TestIndex(t *testing.T) {
	src := t.TempDir()
	amdLayer := makeLayer(t, src, "amd.tar.gz", map[string]string{"bin/x": "amd64"})
	armLayer := makeLayer(t, src, "arm.tar.gz", map[string]string{"bin/x": "arm64"})
	armLayer.Annotations = map[string]string{AnnotationRewritten: "1"}
	out := t.TempDir()
	amd := filepath.Join(out, "amd64")
	arm := filepath.Join(out, "arm64")
	amdDigest, err := WriteImage(amd, Image{Layers: []Layer{amdLayer}, Config: Config{OS: "linux", Architecture: "amd64"}, Name: "core-x"})
	if err != nil {
		t.Fatal(err)
	}
	armDigest, err := WriteImage(arm, Image{Layers: []Layer{armLayer}, Config: Config{OS: "linux", Architecture: "arm64", Variant: "v8"},
		Annotations: map[string]string{AnnotationVersion: "1.0"}, Name: "core-x"})
	if err != nil {
		t.Fatal(err)
	}

	dir := filepath.Join(out, "index")
	digest, err := WriteIndex(dir, []string{amd, arm}, "core-x")
	if err != nil {
		t.Fatal(err)
	}
	top := checkLayout(t, dir, "core-x")
	if top.Digest.String() != digest {
		t.Fatalf("index.json lists %s %s, WriteIndex returned %s", top.MediaType, top.Digest, digest)
	}
	raw := innerIndex(t, dir, top)
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
	if !reflect.DeepEqual(im, &raw) {
		t.Errorf("go-containerregistry reads the index as %+v, want %+v", im, raw)
	}
	want := []struct {
		digest, platform string
	}{{amdDigest, "linux/amd64"}, {armDigest, "linux/arm64/v8"}}
	if len(im.Manifests) != len(want) {
		t.Fatalf("index lists %d manifests", len(im.Manifests))
	}
	for i, w := range want {
		d := im.Manifests[i]
		if d.Digest.String() != w.digest || d.Platform == nil || d.Platform.String() != w.platform || d.MediaType != types.OCIManifestSchema1 || d.ArtifactType != "" || d.Annotations != nil {
			t.Errorf("manifest %d = %s %s %v %v, want %s %s without annotations", i, d.MediaType, d.Digest, d.Platform, d.Annotations, w.digest, w.platform)
		}
		img, err := idx.Image(d.Digest)
		if err != nil {
			t.Fatal(err)
		}
		checkImage(t, img)
		// The image is the one of its own layout, byte for byte.
		src := []string{amd, arm}[i]
		if got, wantRaw := readBlob(t, dir, w.digest), readBlob(t, src, w.digest); !bytes.Equal(got, wantRaw) {
			t.Errorf("manifest %d differs from that of %s", i, src)
		}
		md, err := ManifestDescriptor(src)
		if err != nil {
			t.Fatal(err)
		}
		if md.Size != d.Size || !reflect.DeepEqual(md.Platform, d.Platform) {
			t.Errorf("manifest %d = %+v, in its own layout %+v", i, d, md)
		}
	}

	// A multi-platform layout reads as its first platform's image, and
	// pins that image's manifest.
	if got, err := LayoutDigest(dir); err != nil || got != amdDigest {
		t.Errorf("LayoutDigest of an index layout = %s, %v; want the first image's %s", got, err, amdDigest)
	}
	if img, err := ReadImage(dir); err != nil {
		t.Errorf("ReadImage of an index layout: %v", err)
	} else if d, err := img.Digest(); err != nil || d.String() != amdDigest {
		t.Errorf("ReadImage of an index layout gave %s, %v; want %s", d, err, amdDigest)
	}
	if layers, err := BaseLayers(dir); err != nil || len(layers) != 1 || layers[0].Digest != amdLayer.Digest {
		t.Errorf("BaseLayers of an index layout = %+v, %v; want the amd64 layer", layers, err)
	}

	again, err := WriteIndex(filepath.Join(out, "index2"), []string{amd, arm}, "core-x")
	if err != nil || again != digest {
		t.Errorf("second WriteIndex = %s, %v; want %s", again, err, digest)
	}
	if !reflect.DeepEqual(tree(t, dir), tree(t, filepath.Join(out, "index2"))) {
		t.Error("two WriteIndex runs gave different layouts")
	}
	// The name goes in index.json only.
	unnamed := filepath.Join(out, "unnamed")
	d, err := WriteIndex(unnamed, []string{amd, arm}, "")
	if err != nil || d != digest {
		t.Errorf("unnamed WriteIndex = %s, %v; want %s", d, err, digest)
	}
	checkLayout(t, unnamed, "")

	errs := []struct {
		name     string
		images   []string
		contains string
	}{
		{"same platform twice", []string{amd, arm, amd}, "both for platform linux/amd64/"},
		{"no images", nil, "no images"},
		{"not a layout", []string{src}, "reading OCI layout"},
		// A multi-platform layout is not a single image: taking its
		// first platform would silently drop the others.
		{"nested multi-platform index", []string{dir}, dir},
	}
	for _, e := range errs {
		t.Run(e.name, func(t *testing.T) {
			parent := t.TempDir()
			_, err := WriteIndex(filepath.Join(parent, "idx"), e.images, "core-x")
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
	l.Annotations = map[string]string{AnnotationRewritten: "1"}
	img := filepath.Join(out, "img")
	imgDigest, err := WriteImage(img, Image{
		Layers:      []Layer{l},
		Config:      Config{OS: "linux", Architecture: "amd64", History: []History{history("COPY a /", false)}},
		Annotations: map[string]string{AnnotationSource: "stagex/core-t"},
		Name:        "core-t",
	})
	if err != nil {
		t.Fatal(err)
	}
	arm := filepath.Join(out, "arm")
	if _, err := WriteImage(arm, Image{Layers: []Layer{l}, Config: Config{OS: "linux", Architecture: "arm64"}}); err != nil {
		t.Fatal(err)
	}
	idx := filepath.Join(out, "idx")
	idxDigest, err := WriteIndex(idx, []string{img, arm}, "")
	if err != nil {
		t.Fatal(err)
	}
	top, err := TopDescriptor(img)
	if err != nil {
		t.Fatal(err)
	}
	// skopeo inspect names the image index that index.json lists, and
	// shows the image of the platform asked for.
	inspected := `"Digest": "` + top.Digest.String() + `"`
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"inspect image", []string{"inspect", "--override-arch", "amd64", "--override-os", "linux", "oci:" + img}, inspected},
		{"inspect image by its ref name", []string{"inspect", "--override-arch", "amd64", "--override-os", "linux", "oci:" + img + ":latest"}, inspected},
		{"inspect image layers", []string{"inspect", "--override-arch", "amd64", "--override-os", "linux", "oci:" + img}, l.Digest},
		{"inspect image config", []string{"inspect", "--config", "--override-arch", "amd64", "--override-os", "linux", "oci:" + img}, `"created_by": "COPY a /"`},
		{"inspect raw image index", []string{"inspect", "--raw", "oci:" + img}, imgDigest},
		// copy reads every blob and checks it against its digest.
		{"copy image", []string{"--insecure-policy", "--override-arch", "amd64", "--override-os", "linux", "copy", "oci:" + img, "dir:" + filepath.Join(out, "copy")}, ""},
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
	// skopeo copies the manifest that the image index lists, as it is.
	if got, err := os.ReadFile(filepath.Join(out, "copy", "manifest.json")); err != nil || sha(got) != imgDigest {
		t.Errorf("skopeo copied a manifest of digest %s (%v), want %s", sha(got), err, imgDigest)
	}
	// skopeo re-serializes the index it copies, but keeps the images as
	// they are.
	copied, err := layout.ImageIndexFromPath(filepath.Join(out, "copy-idx"))
	if err != nil {
		t.Fatal(err)
	}
	copiedTop, err := copied.IndexManifest()
	if err != nil || len(copiedTop.Manifests) != 1 {
		t.Fatalf("copied layout: %v, %v", copiedTop, err)
	}
	inner, err := copied.ImageIndex(copiedTop.Manifests[0].Digest)
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

func TestLayoutName(t *testing.T) {
	dir := t.TempDir()
	l := makeLayer(t, dir, "l.tar.gz", map[string]string{"a": "a"})
	for _, name := range []string{"core-box", ""} {
		out := filepath.Join(dir, "named-"+name+".oci")
		if _, err := WriteImage(out, Image{Layers: []Layer{l}, Config: Config{OS: "linux", Architecture: "amd64"}, Name: name}); err != nil {
			t.Fatal(err)
		}
		got, err := LayoutName(out)
		if err != nil || got != name {
			t.Errorf("LayoutName of a layout named %q = %q, %v", name, got, err)
		}
	}
	bad := filepath.Join(dir, "bad.oci")
	if err := os.MkdirAll(bad, 0o755); err != nil {
		t.Fatal(err)
	}
	doc := `{"schemaVersion":2,"manifests":[{"mediaType":"application/vnd.oci.image.index.v1+json","digest":"sha256:` + strings.Repeat("0", 64) + `","size":1,"annotations":{"io.containerd.image.name":"quay.io/x:1"}}]}`
	if err := os.WriteFile(filepath.Join(bad, "index.json"), []byte(doc), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := LayoutName(bad); err == nil || !strings.Contains(err.Error(), "quay.io/x:1") {
		t.Errorf("LayoutName of a foreign name: %v, want an error naming it", err)
	}
}
