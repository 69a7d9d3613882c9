package digestfile

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stagex/stagex-bazel/tools/diag"
)

const (
	h1 = "1111111111111111111111111111111111111111111111111111111111111111"
	h2 = "2222222222222222222222222222222222222222222222222222222222222222"
)

func TestParse(t *testing.T) {
	text := h1 + " core-busybox\n\n" + h2 + " core-ca-certificates\n"
	f, err := Parse("core.txt", strings.NewReader(text))
	if err != nil {
		t.Fatal(err)
	}
	want := []Entry{
		{Name: "core-busybox", Stage: "core", Digest: "sha256:" + h1, Line: 1},
		{Name: "core-ca-certificates", Stage: "core", Digest: "sha256:" + h2, Line: 3},
	}
	if len(f.Entries) != len(want) {
		t.Fatalf("got %d entries, want %d", len(f.Entries), len(want))
	}
	for i := range want {
		if f.Entries[i] != want[i] {
			t.Errorf("entry %d = %+v, want %+v", i, f.Entries[i], want[i])
		}
	}
	if e, ok := f.Lookup("core-ca-certificates"); !ok || e.Hex() != h2 {
		t.Errorf("Lookup = %+v, %v", e, ok)
	}
	if _, ok := f.Lookup("core-make"); ok {
		t.Error("Lookup found an absent image")
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name, text string
		line       int
		want       string
	}{
		{"one field", h1 + "\n", 1, "got 1 fields"},
		{"three fields", h1 + " core-a extra\n", 1, "got 3 fields"},
		{"short digest", "abc core-a\n", 1, "64 lowercase hex"},
		{"uppercase digest", strings.Repeat("A", 64) + " core-a\n", 1, "64 lowercase hex"},
		{"sha256: prefix", "sha256:" + h1 + " core-a\n", 1, "64 lowercase hex"},
		{"no stage", h1 + " busybox\n", 1, `image name "<stage>-<name>"`},
		{"uppercase name", h1 + " core-BusyBox\n", 1, "image name"},
		{"path in name", h1 + " core-../x\n", 1, "image name"},
		{"unsorted", h1 + " core-make\n" + h2 + " core-busybox\n", 2, "not sorted: core-busybox comes after core-make"},
		{"duplicate", h1 + " core-make\n" + h2 + " core-make\n", 2, "listed twice"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse("core.txt", strings.NewReader(tc.text))
			file, line, ok := diag.At(err)
			if !ok || file != "core.txt" || line != tc.line || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v at %s:%d, want core.txt:%d mentioning %q", err, file, line, tc.line, tc.want)
			}
		})
	}
}

func TestLoad(t *testing.T) {
	p := filepath.Join(t.TempDir(), "user.txt")
	if err := os.WriteFile(p, []byte(h1+" user-tool\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	f, err := Load(p)
	if err != nil {
		t.Fatal(err)
	}
	if f.Path != p || len(f.Entries) != 1 || f.Entries[0].Stage != "user" {
		t.Errorf("got %+v", f)
	}
	if _, err := Load(p + ".missing"); err == nil {
		t.Error("loaded a missing file")
	}
}

func TestParseDigest(t *testing.T) {
	for _, d := range []string{"sha256:" + h1} {
		if _, err := ParseDigest(d); err != nil {
			t.Errorf("ParseDigest(%q): %v", d, err)
		}
	}
	for _, d := range []string{h1, "sha512:" + h1, "sha256:" + h1[1:], "sha256:" + strings.Repeat("A", 64)} {
		if _, err := ParseDigest(d); err == nil {
			t.Errorf("ParseDigest(%q) accepted", d)
		}
	}
}
