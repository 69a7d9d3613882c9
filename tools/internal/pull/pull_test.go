package pull

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/stagex/stagex-bazel/tools/internal/ociimage"
	"github.com/stagex/stagex-bazel/tools/internal/push"
	"github.com/stagex/stagex-bazel/tools/internal/regclient"
	"github.com/stagex/stagex-bazel/tools/testing/registry/registrytest"
)

func netOpts() regclient.Options {
	return regclient.Options{Credentials: &regclient.AuthFiles{}, Backoff: time.Millisecond}
}

func pushLayout(t *testing.T, dir, repo string) string {
	t.Helper()
	res, err := push.Push(context.Background(), dir, repo, push.Options{Options: netOpts()})
	if err != nil {
		t.Fatalf("pushing %s: %v", dir, err)
	}
	return res.Digest
}

// fixtureLayouts are the fixture images the Bazel test has as data.
var fixtureLayouts = []string{
	"fixtures/packages/core/box/box.oci",
	"fixtures/packages/core/hex0/hex0.oci",
	"fixtures/packages/core/hello/hello.oci",
	"fixtures/packages/user/greeter/greeter.oci",
}

func TestRoundTrip(t *testing.T) {
	reg := registrytest.Start(t, nil)
	synthetic := filepath.Join(t.TempDir(), "synthetic.oci")
	registrytest.Layout(t, synthetic, 200<<10, 7)
	layouts := map[string]string{"synthetic": synthetic}
	for _, p := range fixtureLayouts {
		// go_test starts in its package's directory inside the runfiles.
		p = filepath.Join(os.Getenv("TEST_SRCDIR"), os.Getenv("TEST_WORKSPACE"), p)
		if _, err := os.Stat(filepath.Join(p, "index.json")); err == nil {
			layouts[filepath.Base(p)] = p
		} else if os.Getenv("TEST_SRCDIR") != "" {
			t.Errorf("fixture layout %s is missing from the test's runfiles: %v", p, err)
		}
	}
	if os.Getenv("TEST_SRCDIR") == "" {
		t.Log("outside Bazel the fixture layouts are not at hand; using a synthetic image only")
	}
	for name, dir := range layouts {
		t.Run(name, func(t *testing.T) {
			repo := reg.Host() + "/stagex/" + strings.TrimSuffix(name, ".oci")
			digest := pushLayout(t, dir, repo)
			want, err := ociimage.LayoutDigest(dir)
			if err != nil {
				t.Fatal(err)
			}
			if digest != want {
				t.Errorf("pushed digest %s, layout digest %s", digest, want)
			}
			// A registry does not know the name a build gave the image.
			imageName, err := ociimage.LayoutName(dir)
			if err != nil {
				t.Fatal(err)
			}
			out := filepath.Join(t.TempDir(), "pulled.oci")
			res, err := Pull(context.Background(), repo+"@"+digest, out, Options{Options: netOpts(), Name: imageName})
			if err != nil {
				t.Fatalf("Pull: %v", err)
			}
			if res.Digest != digest || res.ImageDigest != digest || res.Platform != "" {
				t.Errorf("Result %+v; expected digest %s for both", res, digest)
			}
			registrytest.SameFiles(t, dir, out)
			if _, err := ociimage.ReadImage(out); err != nil {
				t.Errorf("the pulled layout does not read back: %v", err)
			}
		})
	}
}

// indexOf returns an image index listing manifest (of digest d, size n)
// for linux/amd64 and for linux/arm64.
func indexOf(t *testing.T, d v1.Hash, n int64) ([]byte, v1.Hash) {
	t.Helper()
	im := v1.IndexManifest{SchemaVersion: 2, MediaType: types.OCIImageIndex, Manifests: []v1.Descriptor{
		{MediaType: types.OCIManifestSchema1, Digest: d, Size: n, Platform: &v1.Platform{OS: "linux", Architecture: "amd64"}},
		{MediaType: types.OCIManifestSchema1, Digest: d, Size: n, Platform: &v1.Platform{OS: "linux", Architecture: "arm64", Variant: "v8"}},
	}}
	raw, err := json.Marshal(im)
	if err != nil {
		t.Fatal(err)
	}
	s := sha256.Sum256(raw)
	return raw, v1.Hash{Algorithm: "sha256", Hex: hex.EncodeToString(s[:])}
}

// manifestOf returns the image manifest of a layout (through the image
// index that index.json points at, as BuildKit writes layouts).
func manifestOf(t *testing.T, dir string) (v1.Hash, int64) {
	t.Helper()
	d, err := ociimage.ManifestDescriptor(dir)
	if err != nil {
		t.Fatal(err)
	}
	return d.Digest, d.Size
}

func TestPullFromIndex(t *testing.T) {
	reg := registrytest.Start(t, nil)
	dir := filepath.Join(t.TempDir(), "image.oci")
	registrytest.Layout(t, dir, 1000, 8)
	repo := reg.Host() + "/stagex/multi"
	pushLayout(t, dir, repo)
	d, n := manifestOf(t, dir)
	raw, ih := indexOf(t, d, n)
	client, err := regclient.New(netOpts(), true)
	if err != nil {
		t.Fatal(err)
	}
	r, _ := regclient.ParseRepository(repo)
	if err := client.PutManifest(context.Background(), r, ih.String(), types.OCIImageIndex, raw); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		platform string
		chosen   string // the platform taken, on success
		want     string // error substring, or "" for success
	}{
		{"linux/amd64", "linux/amd64", ""},
		{"linux/arm64", "linux/arm64/v8", ""},
		{"linux/arm64/v8", "linux/arm64/v8", ""},
		{"", "", "lists 2 images (linux/amd64, linux/arm64/v8)"},
		{"linux/riscv64", "", "no image for platform linux/riscv64"},
		{"linux", "", "expected os/architecture"},
	} {
		out := filepath.Join(t.TempDir(), "pulled.oci")
		res, err := Pull(context.Background(), repo+"@"+ih.String(), out, Options{Options: netOpts(), Platform: tc.platform})
		if tc.want != "" {
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("platform %q: error %v; expected %q", tc.platform, err, tc.want)
			}
			continue
		}
		if err != nil {
			t.Errorf("platform %q: %v", tc.platform, err)
			continue
		}
		if res.Digest != ih.String() || res.ImageDigest != d.String() || res.Platform != tc.chosen {
			t.Errorf("platform %q: Result %+v", tc.platform, res)
		}
		registrytest.SameFiles(t, dir, out)
	}
}

func TestPullErrors(t *testing.T) {
	var tamper bool
	reg := registrytest.Start(t, func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if tamper && r.Method == http.MethodGet && strings.Contains(r.URL.Path, "/blobs/") {
				rec := &recorder{header: http.Header{}}
				h.ServeHTTP(rec, r)
				body := rec.body.Bytes()
				if len(body) > 0 {
					body[len(body)-1] ^= 1
				}
				for k, v := range rec.header {
					w.Header()[k] = v
				}
				w.WriteHeader(rec.code)
				w.Write(body)
				return
			}
			h.ServeHTTP(w, r)
		})
	})
	dir := filepath.Join(t.TempDir(), "image.oci")
	registrytest.Layout(t, dir, 1000, 9)
	repo := reg.Host() + "/stagex/errors"
	digest := pushLayout(t, dir, repo)
	other := "sha256:" + strings.Repeat("0", 64)
	nonEmpty := t.TempDir()
	os.WriteFile(filepath.Join(nonEmpty, "x"), nil, 0o644)
	closed := registrytest.ClosedAddr(t)

	for _, tc := range []struct {
		name, ref, out string
		tamper         bool
		want           string
	}{
		{"wrong digest", repo + "@" + other, "", false, "MANIFEST_UNKNOWN"},
		{"tag, not digest", repo + ":latest", "", false, "named by its digest"},
		{"tampered blob", repo + "@" + digest, "", true, "does not match its digest"},
		{"unreachable", closed + "/stagex/x@" + digest, "", false, "unreachable"},
		{"output not empty", repo + "@" + digest, nonEmpty, false, "not empty"},
	} {
		tamper = tc.tamper
		out := tc.out
		if out == "" {
			out = filepath.Join(t.TempDir(), "pulled.oci")
		}
		start := time.Now()
		_, err := Pull(context.Background(), tc.ref, out, Options{Options: netOpts()})
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v; expected one containing %q", tc.name, err, tc.want)
		}
		if d := time.Since(start); d > 3*time.Second {
			t.Errorf("%s: took %v to fail", tc.name, d)
		}
		if tc.out == "" {
			if _, err := os.Stat(out); !errors.Is(err, fs.ErrNotExist) {
				t.Errorf("%s: a failed pull left %s behind", tc.name, out)
			}
		}
		siblings, _ := filepath.Glob(filepath.Join(filepath.Dir(out), ".*tmp*"))
		if len(siblings) > 0 {
			t.Errorf("%s: temporary directories left: %q", tc.name, siblings)
		}
	}
}

// recorder captures a handler's answer so that a test can alter it.
type recorder struct {
	header http.Header
	code   int
	body   bytes.Buffer
}

func (r *recorder) Header() http.Header { return r.header }
func (r *recorder) Write(b []byte) (int, error) {
	if r.code == 0 {
		r.code = http.StatusOK
	}
	return r.body.Write(b)
}
func (r *recorder) WriteHeader(code int) { r.code = code }

func copyTree(t *testing.T, src, dst string) {
	t.Helper()
	err := filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		target := filepath.Join(dst, rel)
		if d.IsDir() {
			return os.MkdirAll(target, 0o755)
		}
		in, err := os.Open(p)
		if err != nil {
			return err
		}
		defer in.Close()
		out, err := os.Create(target)
		if err != nil {
			return err
		}
		_, err = io.Copy(out, in)
		if cerr := out.Close(); err == nil {
			err = cerr
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestAssemble(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "image.oci")
	digest := registrytest.Layout(t, dir, 5000, 10)
	d, n := manifestOf(t, dir)

	out := filepath.Join(t.TempDir(), "assembled.oci")
	res, err := Assemble(filepath.Join(dir, "blobs"), digest, "", out)
	if err != nil {
		t.Fatalf("Assemble: %v", err)
	}
	if res.ImageDigest != digest {
		t.Errorf("Result %+v", res)
	}
	registrytest.SameFiles(t, dir, out)

	// From an index among the blobs, choosing a platform.
	blobs := filepath.Join(t.TempDir(), "blobs")
	copyTree(t, filepath.Join(dir, "blobs"), blobs)
	raw, ih := indexOf(t, d, n)
	if err := os.WriteFile(filepath.Join(blobs, "sha256", ih.Hex), raw, 0o644); err != nil {
		t.Fatal(err)
	}
	out = filepath.Join(t.TempDir(), "from-index.oci")
	res, err = Assemble(blobs, ih.String(), "linux/arm64", out)
	if err != nil {
		t.Fatalf("Assemble from an index: %v", err)
	}
	if res.Digest != ih.String() || res.ImageDigest != digest || res.Platform != "linux/arm64/v8" {
		t.Errorf("Result %+v", res)
	}
	registrytest.SameFiles(t, dir, out)

	// A blob whose content does not match its name is refused.
	m, err := os.ReadFile(filepath.Join(blobs, "sha256", d.Hex))
	if err != nil {
		t.Fatal(err)
	}
	var man v1.Manifest
	json.Unmarshal(m, &man)
	layer := filepath.Join(blobs, "sha256", man.Layers[0].Digest.Hex)
	data, _ := os.ReadFile(layer)
	data[0] ^= 0xff
	if err := os.WriteFile(layer, data, 0o644); err != nil {
		t.Fatal(err)
	}
	corrupt := sha256.Sum256(data)
	for _, tc := range []struct {
		digest string
		want   []string
	}{
		{digest, []string{layer + ": content does not match its digest", "expected " + man.Layers[0].Digest.String(), "got sha256:" + hex.EncodeToString(corrupt[:])}},
		{"sha256:" + strings.Repeat("1", 64), []string{"no such file"}},
		{"md5:abc", []string{"expected sha256"}},
	} {
		_, err = Assemble(blobs, tc.digest, "", filepath.Join(t.TempDir(), "bad.oci"))
		for _, w := range tc.want {
			if err == nil || !strings.Contains(err.Error(), w) {
				t.Errorf("Assemble(%s): error %v; expected %q", tc.digest, err, w)
			}
		}
	}
}
