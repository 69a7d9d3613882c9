package digests

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stagex/stagex-bazel/tools/internal/diag"
)

// hexOf returns a valid 64-digit hex string made of one repeated digit.
func hexOf(c byte) string { return strings.Repeat(string(c), 64) }

func TestParseValid(t *testing.T) {
	tests := []struct {
		name string
		data string
		want map[string]string
	}{
		{"empty file", "", map[string]string{}},
		{"one line", hexOf('a') + " core-make\n", map[string]string{"core-make": hexOf('a')}},
		{"no final newline", hexOf('a') + " core-make", map[string]string{"core-make": hexOf('a')}},
		{
			// Byte order: '-' sorts before digits and letters, '_' before
			// lowercase letters; StageX's own files follow it.
			"byte order",
			hexOf('1') + " user-fuse-overlayfs\n" +
				hexOf('2') + " user-fuse3\n" +
				hexOf('3') + " user-py-sphinx\n" +
				hexOf('4') + " user-py-sphinx_rtd_theme\n" +
				hexOf('5') + " user-py-sphinxcontrib-jquery\n",
			map[string]string{
				"user-fuse-overlayfs":          hexOf('1'),
				"user-fuse3":                   hexOf('2'),
				"user-py-sphinx":               hexOf('3'),
				"user-py-sphinx_rtd_theme":     hexOf('4'),
				"user-py-sphinxcontrib-jquery": hexOf('5'),
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := Parse("digests/x.txt", []byte(tt.data))
			if err != nil {
				t.Fatal(err)
			}
			if got := len(p.Names()); got != len(tt.want) {
				t.Errorf("got %d pins %v, want %d", got, p.Names(), len(tt.want))
			}
			for n, h := range tt.want {
				if got, ok := p.Lookup(n); !ok || got != h {
					t.Errorf("Lookup(%s) = %q, %v; want %q", n, got, ok, h)
				}
			}
			want := tt.data
			if want != "" && !strings.HasSuffix(want, "\n") {
				want += "\n"
			}
			if got := string(p.Format()); got != want {
				t.Errorf("Format() = %q, want %q", got, want)
			}
		})
	}
}

func TestParseErrors(t *testing.T) {
	a, b := hexOf('a'), hexOf('b')
	tests := []struct {
		name     string
		data     string
		line     int
		contains []string
	}{
		{"bad hex", a + " core-a\n" + strings.Repeat("g", 64) + " core-b\n", 2, []string{"bad digest", "64 lowercase hex"}},
		{"short hex", "abc core-a\n", 1, []string{`"abc"`, "64 lowercase hex"}},
		{"upper hex", strings.ToUpper(a) + " core-a\n", 1, []string{"lowercase"}},
		{"prefixed hex", "sha256:" + a + " core-a\n", 1, []string{"bad digest"}},
		{"one field", a + "\n", 1, []string{"1 fields; expected 2"}},
		{"three fields", a + " core-a extra\n", 1, []string{"3 fields; expected 2"}},
		{"two spaces", a + "  core-a\n", 1, []string{"single space"}},
		{"trailing space", a + " core-a \n", 1, []string{"single space"}},
		{"blank line", a + " core-a\n\n" + b + " core-b\n", 2, []string{"blank line"}},
		{"no stage", a + " make\n", 1, []string{"<tier>-<name>"}},
		{"bad char", a + " core-a/b\n", 1, []string{`'/'`}},
		{"duplicate", a + " core-a\n" + b + " core-a\n", 2, []string{"duplicate image core-a", "line 1"}},
		{"unsorted", a + " core-b\n" + b + " core-c\n" + a + " core-a\n", 3, []string{"core-a is out of order", "before core-c (line 2)"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse("digests/core.txt", []byte(tt.data))
			if err == nil {
				t.Fatal("Parse succeeded, want error")
			}
			file, line, ok := diag.At(err)
			if !ok || file != "digests/core.txt" || line != tt.line {
				t.Errorf("error at %s:%d (%v), want digests/core.txt:%d: %v", file, line, ok, tt.line, err)
			}
			for _, s := range tt.contains {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("error %q lacks %q", err, s)
				}
			}
		})
	}
}

func TestSetAndFormat(t *testing.T) {
	p, err := Parse("core.txt", []byte(hexOf('a')+" core-b\n"))
	if err != nil {
		t.Fatal(err)
	}
	steps := []struct {
		name, digest string
		changed      bool
		wantErr      string
	}{
		{"core-c", hexOf('c'), true, ""},
		{"core-a", "sha256:" + hexOf('d'), true, ""},
		{"core-b", hexOf('a'), false, ""},
		{"core-b", hexOf('e'), true, ""},
		{"core-x", "sha512:" + hexOf('e'), false, "bad digest"},
		{"nodash", hexOf('e'), false, "<tier>-<name>"},
	}
	for _, s := range steps {
		changed, err := p.Set(s.name, s.digest)
		if s.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), s.wantErr) {
				t.Errorf("Set(%s, %s) error = %v, want %q", s.name, s.digest, err, s.wantErr)
			}
			continue
		}
		if err != nil || changed != s.changed {
			t.Errorf("Set(%s, %s) = %v, %v; want %v", s.name, s.digest, changed, err, s.changed)
		}
	}
	want := hexOf('d') + " core-a\n" + hexOf('e') + " core-b\n" + hexOf('c') + " core-c\n"
	if got := string(p.Format()); got != want {
		t.Errorf("Format() =\n%s\nwant\n%s", got, want)
	}
	if _, err := Parse("core.txt", p.Format()); err != nil {
		t.Errorf("formatted pins do not parse: %v", err)
	}
}

func TestCheck(t *testing.T) {
	a, b := hexOf('a'), hexOf('b')
	p, err := Parse("digests/core.txt", []byte(b+" core-bash\n"+a+" core-make\n"))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, owner, image, built string
		line                      int // -1: no error
		contains, lacks           []string
	}{
		{"same hex", "", "core-make", a, -1, nil, nil},
		{"same prefixed", "", "core-make", "sha256:" + a, -1, nil, nil},
		{"changed", "", "core-make", "sha256:" + b, 2, []string{
			"digest of core-make changed: pinned sha256:" + a + ", built sha256:" + b,
			"run `bazel run //:update_digests` to re-pin",
		}, nil},
		{"not pinned", "", "core-zlib", a, 0, []string{"no pinned digest for core-zlib", "update_digests"}, nil},
		{"changed, another repository's pins", "stagex_tree", "core-make", b, 2, []string{
			"digest of core-make changed: pinned sha256:" + a + ", built sha256:" + b,
			"the pins belong to @stagex_tree",
			"not reproducible here, or their pin is wrong",
		}, []string{"update_digests"}},
		{"not pinned, another repository's pins", "stagex_tree", "core-zlib", a, 0, []string{
			"no pinned digest for core-zlib", "the pins belong to @stagex_tree",
		}, []string{"update_digests"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p.Owner = tt.owner
			err := p.Check(tt.image, tt.built)
			if tt.line < 0 {
				if err != nil {
					t.Fatalf("Check: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatal("Check succeeded, want error")
			}
			if file, line, _ := diag.At(err); file != "digests/core.txt" || line != tt.line {
				t.Errorf("error at %s:%d, want digests/core.txt:%d", file, line, tt.line)
			}
			for _, s := range tt.contains {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("error %q lacks %q", err, s)
				}
			}
			for _, s := range tt.lacks {
				if strings.Contains(err.Error(), s) {
					t.Errorf("error %q says %q", err, s)
				}
			}
		})
	}
	p.Owner = ""
	if err := p.Check("core-make", "nothex"); err == nil {
		t.Error("Check accepted a malformed built digest")
	}
}

func TestStageAndFile(t *testing.T) {
	tests := []struct {
		name, stage string
		ok          bool
	}{
		{"core-make", "core", true},
		{"core-cross-x86_64-gnu-gcc", "core", true},
		{"bootstrap-stage0", "bootstrap", true},
		{"make", "", false},
		{"-make", "", false},
		{"core-", "", false},
	}
	for _, tt := range tests {
		stage, err := TierOf(tt.name)
		if (err == nil) != tt.ok || stage != tt.stage {
			t.Errorf("StageOf(%q) = %q, %v; want %q, ok=%v", tt.name, stage, err, tt.stage, tt.ok)
		}
		file, err := FileFor("/ws", tt.name)
		if tt.ok && (err != nil || file != filepath.Join("/ws", "digests", tt.stage+".txt")) {
			t.Errorf("FileFor(%q) = %q, %v", tt.name, file, err)
		}
	}
}

func TestUpdate(t *testing.T) {
	root := t.TempDir()
	dir := filepath.Join(root, "digests")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	a, b, c := hexOf('a'), hexOf('b'), hexOf('c')
	core := b + " core-bash\n" + a + " core-make\n"
	user := a + " user-jq\n"
	for name, data := range map[string]string{"core.txt": core, "user.txt": user} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	userInfo, err := os.Stat(filepath.Join(dir, "user.txt"))
	if err != nil {
		t.Fatal(err)
	}

	changes, err := Update(root, map[string]string{
		"core-make":        "sha256:" + c, // changed
		"core-acl":         a,             // new in an existing file
		"bootstrap-stage0": b,             // new file
		"user-jq":          a,             // unchanged
	})
	if err != nil {
		t.Fatal(err)
	}
	wantChanges := []Change{
		{"bootstrap-stage0", filepath.Join(dir, "bootstrap.txt"), "", b},
		{"core-acl", filepath.Join(dir, "core.txt"), "", a},
		{"core-make", filepath.Join(dir, "core.txt"), a, c},
		{"user-jq", filepath.Join(dir, "user.txt"), a, a},
	}
	if len(changes) != len(wantChanges) {
		t.Fatalf("changes = %v, want %v", changes, wantChanges)
	}
	for i, w := range wantChanges {
		if changes[i] != w {
			t.Errorf("change %d = %+v, want %+v", i, changes[i], w)
		}
	}
	if changes[3].Changed() || !changes[2].Changed() {
		t.Errorf("Changed() wrong: %+v", changes)
	}

	wantFiles := map[string]string{
		"core.txt":      a + " core-acl\n" + b + " core-bash\n" + c + " core-make\n",
		"bootstrap.txt": b + " bootstrap-stage0\n",
		"user.txt":      user,
	}
	for name, want := range wantFiles {
		got, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		if string(got) != want {
			t.Errorf("%s =\n%s\nwant\n%s", name, got, want)
		}
	}
	// The unchanged file was left alone (a rewrite renames a new file in),
	// and no temporary files remain.
	if info, err := os.Stat(filepath.Join(dir, "user.txt")); err != nil || !os.SameFile(info, userInfo) {
		t.Errorf("user.txt was rewritten")
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 3 {
		var names []string
		for _, e := range entries {
			names = append(names, e.Name())
		}
		t.Errorf("digests/ holds %v, want only the three pin files", names)
	}
}

func TestUpdateErrors(t *testing.T) {
	root := t.TempDir()
	dir := filepath.Join(root, "digests")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	broken := hexOf('b') + " core-b\n" + hexOf('a') + " core-a\n"
	if err := os.WriteFile(filepath.Join(dir, "core.txt"), []byte(broken), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name  string
		built map[string]string
		want  string
	}{
		{"unsorted existing file", map[string]string{"core-a": hexOf('c')}, "core.txt:2:"},
		{"bad name", map[string]string{"make": hexOf('c')}, "<tier>-<name>"},
		{"bad digest", map[string]string{"user-jq": "xyz"}, "user-jq: bad digest"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Update(root, tt.built)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Update error = %v, want %q", err, tt.want)
			}
		})
	}
	if got, _ := os.ReadFile(filepath.Join(dir, "core.txt")); string(got) != broken {
		t.Errorf("core.txt changed after a failed update")
	}
	if _, err := os.Stat(filepath.Join(dir, "user.txt")); err == nil {
		t.Errorf("user.txt created by a failed update")
	}
}

func TestLine(t *testing.T) {
	p, err := Parse("core.txt", []byte(hexOf('a')+" core-a\n"+hexOf('b')+" core-b\n"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.Set("core-a", hexOf('c')); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		want int
	}{
		{"core-b", 2},
		{"core-a", 0}, // re-pinned after parsing: no line in the file
		{"core-x", 0}, // not pinned
	}
	for _, tt := range tests {
		if got := p.Line(tt.name); got != tt.want {
			t.Errorf("Line(%s) = %d, want %d", tt.name, got, tt.want)
		}
	}
}
