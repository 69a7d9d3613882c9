package signing

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stagex/stagex-bazel/tools/internal/diag"
	"github.com/stagex/stagex-bazel/tools/internal/ociimage"
)

func TestNewImage(t *testing.T) {
	hex := strings.Repeat("ab", 32)
	tests := []struct {
		name, digest string
		want         Image
		wantErr      string
	}{
		{"core-make", "sha256:" + hex, Image{Name: "core-make", Tier: "core", Digest: "sha256:" + hex}, ""},
		{"user-py-sphinx", hex, Image{Name: "user-py-sphinx", Tier: "user", Digest: "sha256:" + hex}, ""},
		{"make", hex, Image{}, "<tier>-<name>"},
		{"core-make", "sha512:" + hex, Image{}, "64 lowercase hex"},
		{"core-make", strings.ToUpper(hex), Image{}, "64 lowercase hex"},
	}
	for _, tc := range tests {
		got, err := NewImage(tc.name, tc.digest)
		if tc.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("NewImage(%s, %s) err = %v, want %q", tc.name, tc.digest, err, tc.wantErr)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("NewImage(%s, %s) = %+v, %v; want %+v", tc.name, tc.digest, got, err, tc.want)
		}
	}
}

func TestLoadPins(t *testing.T) {
	dir := t.TempDir()
	write := func(name, text string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	a, b := strings.Repeat("a", 64), strings.Repeat("b", 64)
	core := write("core.txt", a+" core-busybox\n"+b+" core-make\n")
	user := write("user.txt", b+" user-tool\n")
	again := write("again.txt", a+" core-atk\n"+b+" core-make\n")
	bad := write("bad.txt", a+" core-b\n"+a+" core-a\n")

	images, err := LoadPins(core, user)
	if err != nil {
		t.Fatal(err)
	}
	want := []Image{
		{Name: "core-busybox", Tier: "core", Digest: "sha256:" + a, File: core, Line: 1},
		{Name: "core-make", Tier: "core", Digest: "sha256:" + b, File: core, Line: 2},
		{Name: "user-tool", Tier: "user", Digest: "sha256:" + b, File: user, Line: 1},
	}
	if len(images) != len(want) {
		t.Fatalf("got %+v, want %+v", images, want)
	}
	for i := range want {
		if images[i] != want[i] {
			t.Errorf("image %d = %+v, want %+v", i, images[i], want[i])
		}
	}

	errs := []struct {
		name  string
		files []string
		file  string
		line  int
		msg   string
	}{
		{"pinned in two files", []string{core, again}, again, 2, "core-make is pinned again; expected one pin per image (first at " + core + ":2)"},
		{"unsorted file", []string{bad}, bad, 2, "out of order"},
	}
	for _, tc := range errs {
		t.Run(tc.name, func(t *testing.T) {
			_, err := LoadPins(tc.files...)
			file, line, ok := diag.At(err)
			if !ok || file != tc.file || line != tc.line || !strings.Contains(err.Error(), tc.msg) {
				t.Errorf("err = %v, want %s:%d: ...%s", err, tc.file, tc.line, tc.msg)
			}
		})
	}
}

func TestPinsUnder(t *testing.T) {
	got, err := PinsUnder("tree", []string{"user-a", "core-b", "core-a"})
	if err != nil {
		t.Fatal(err)
	}
	want := filepath.Join("tree", "digests", "core.txt") + " " + filepath.Join("tree", "digests", "user.txt")
	if strings.Join(got, " ") != want {
		t.Errorf("PinsUnder = %v, want %s", got, want)
	}
	if _, err := PinsUnder("tree", []string{"nostage"}); err == nil {
		t.Error("accepted an image name without a stage")
	}
}

func TestLayoutImage(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "box.oci")
	d, err := ociimage.WriteImage(dir, ociimage.Image{Config: ociimage.Config{OS: "linux", Architecture: "amd64"}, Name: "core-box"})
	if err != nil {
		t.Fatal(err)
	}
	img, err := LayoutImage("core-box", dir)
	if err != nil {
		t.Fatal(err)
	}
	if want := (Image{Name: "core-box", Tier: "core", Digest: d, File: dir}); img != want {
		t.Errorf("LayoutImage = %+v, want %+v", img, want)
	}
	// The digest signed is the image manifest's, not that of the image
	// index that index.json points at.
	md, err := ociimage.ManifestDescriptor(dir)
	if err != nil {
		t.Fatal(err)
	}
	top, err := ociimage.TopDescriptor(dir)
	if err != nil {
		t.Fatal(err)
	}
	if img.Digest != md.Digest.String() || img.Digest == top.Digest.String() {
		t.Errorf("LayoutImage digest %s; want the manifest's %s, not the index's %s", img.Digest, md.Digest, top.Digest)
	}
	if _, err := LayoutImage("core-box", t.TempDir()); err == nil || !strings.Contains(err.Error(), "image core-box") {
		t.Errorf("a directory without a layout: err = %v", err)
	}
}

func TestParseLayoutArg(t *testing.T) {
	tests := []struct {
		in, name, dir string
		ok            bool
	}{
		{"core-box=/out/box.oci", "core-box", "/out/box.oci", true},
		{"core-box=dir=with=equals", "core-box", "dir=with=equals", true},
		{"core-box", "", "", false},
		{"=dir", "", "", false},
		{"core-box=", "", "", false},
		{"box=dir", "", "", false},
	}
	for _, tc := range tests {
		name, dir, err := ParseLayoutArg(tc.in)
		if (err == nil) != tc.ok || name != tc.name || dir != tc.dir {
			t.Errorf("ParseLayoutArg(%q) = %q, %q, %v", tc.in, name, dir, err)
		}
	}
}

func TestMismatchError(t *testing.T) {
	a, b := "sha256:"+strings.Repeat("a", 64), "sha256:"+strings.Repeat("b", 64)
	pinned := Image{Name: "core-make", Tier: "core", Digest: a, File: "digests/core.txt", Line: 4}
	tests := []struct {
		built Image
		want  string
	}{
		{Image{Name: "core-make", Digest: b, File: "out/make.oci"}, "out/make.oci: core-make was built as " + b + " but is pinned as " + a + " (digests/core.txt:4)"},
		{Image{Name: "core-make", Digest: b, File: "built.txt", Line: 7}, "built.txt:7: core-make was built as " + b},
		{Image{Name: "core-make", Digest: b}, "--image: core-make was built as " + b},
	}
	for _, tc := range tests {
		if got := MismatchError(pinned, tc.built).Error(); !strings.HasPrefix(got, tc.want) {
			t.Errorf("MismatchError = %q, want prefix %q", got, tc.want)
		}
	}
}
