package stagebuild

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stagex/stagex-bazel/tools/internal/layer"
	"github.com/stagex/stagex-bazel/tools/internal/ociimage"
)

// tarOf is a plain tar of regular files (names ending in / are
// directories), in order.
func tarOf(t *testing.T, names ...string) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, n := range names {
		hdr := &tar.Header{Name: n, Typeflag: tar.TypeReg, Mode: 0o644}
		if strings.HasSuffix(n, "/") {
			hdr.Typeflag, hdr.Mode = tar.TypeDir, 0o755
		}
		if err := tw.WriteHeader(hdr); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func sha(b []byte) string {
	s := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(s[:])
}

// blobLayer writes raw, gzip-compressed, as a blob file and describes it
// with the given diff ID.
func blobLayer(t *testing.T, raw []byte, diffID string) ociimage.Layer {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	zw.Write(raw)
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "blob")
	if err := os.WriteFile(p, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return ociimage.Layer{Path: p, Digest: sha(buf.Bytes()), DiffID: diffID, Size: int64(buf.Len())}
}

// TestUnpackLayersHardening checks that base image layers are unpacked
// with their whiteouts and against the config's diff IDs.
func TestUnpackLayersHardening(t *testing.T) {
	lower := tarOf(t, "etc/", "etc/passwd", "etc/gone")
	upper := tarOf(t, "etc/.wh.gone", "etc/new")
	wrong := sha([]byte("some other layer"))
	tests := []struct {
		name    string
		layers  func() []ociimage.Layer
		wantErr []string
	}{
		{
			name: "whiteouts apply, diff IDs match",
			layers: func() []ociimage.Layer {
				return []ociimage.Layer{blobLayer(t, lower, sha(lower)), blobLayer(t, upper, sha(upper))}
			},
		},
		{
			name: "diff ID mismatch",
			layers: func() []ociimage.Layer {
				return []ociimage.Layer{blobLayer(t, lower, sha(lower)), blobLayer(t, upper, wrong)}
			},
			wantErr: []string{sha(upper), wrong},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			root := t.TempDir()
			err := unpackLayers(root, tc.layers(), map[string]layer.Owner{})
			if tc.wantErr != nil {
				if err == nil {
					t.Fatal("no error")
				}
				for _, w := range tc.wantErr {
					if !strings.Contains(err.Error(), w) {
						t.Errorf("error %q lacks %q", err, w)
					}
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			for p, want := range map[string]bool{"etc/passwd": true, "etc/new": true, "etc/gone": false, "etc/.wh.gone": false} {
				if _, err := os.Lstat(filepath.Join(root, p)); (err == nil) != want {
					t.Errorf("%s there: %v, want %v", p, err == nil, want)
				}
			}
		})
	}
}

// TestExtractUnderWhiteoutNames checks that ADD of a local archive
// extracts entries named like whiteouts as files, as BuildKit does, and
// refuses those that name no file, instead of deleting directories of the
// root.
func TestExtractUnderWhiteoutNames(t *testing.T) {
	tests := []struct {
		name    string
		entry   string
		wantErr string
	}{
		{name: "whiteout of a directory", entry: ".wh.share"},
		{name: "opaque marker", entry: ".wh..wh..opq"},
		{name: "whiteout of the parent", entry: ".wh...", wantErr: "names no file"},
		{name: "whiteout of the directory itself", entry: ".wh..", wantErr: "names no file"},
		{name: "empty whiteout", entry: ".wh.", wantErr: "names no file"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			root := t.TempDir()
			for _, d := range []string{"usr/local/share/man", "usr/local/bin"} {
				if err := os.MkdirAll(filepath.Join(root, d), 0o755); err != nil {
					t.Fatal(err)
				}
			}
			err := extractUnder(root, "/usr/local/", bytes.NewReader(tarOf(t, tc.entry)), "x.tar", map[string]layer.Owner{})
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) || !strings.Contains(err.Error(), tc.entry) {
					t.Errorf("error %v, want one naming %s and containing %q", err, tc.entry, tc.wantErr)
				}
			} else if err != nil {
				t.Fatal(err)
			} else if fi, err := os.Lstat(filepath.Join(root, "usr/local", tc.entry)); err != nil || !fi.Mode().IsRegular() {
				t.Errorf("%s not extracted as a file: %v", tc.entry, err)
			}
			for _, d := range []string{"usr/local/share/man", "usr/local/bin"} {
				if _, err := os.Lstat(filepath.Join(root, d)); err != nil {
					t.Errorf("%s gone: %v", d, err)
				}
			}
		})
	}
}

// TestRunWhiteoutNamesFail checks that a RUN step that leaves a file named
// like a whiteout fails, naming the step and the file, rather than writing
// a layer that would delete /etc/passwd or empty /usr/lib when unpacked.
func TestRunWhiteoutNamesFail(t *testing.T) {
	requireSandbox(t)
	for _, p := range []string{"/etc/.wh.passwd", "/usr/lib/.wh..wh..opq"} {
		t.Run(p, func(t *testing.T) {
			st := stageTest{containerfile: "FROM stagex/core-base AS test\nRUN probe mkwrite w " + p + " x\n"}
			b := st.build(t)
			if b.err == nil {
				t.Fatal("Build succeeded")
			}
			msg := b.err.Error()
			for _, s := range []string{b.opts.Containerfile + ":2:", strings.TrimPrefix(p, "/"), "whiteout"} {
				if !strings.Contains(msg, s) {
					t.Errorf("error does not say %q:\n%s", s, msg)
				}
			}
			b.assertNoOutput(t)
		})
	}
}
