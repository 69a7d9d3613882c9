package stagebuild

import (
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestPathsInRoot checks the builder's WORKDIR/COPY path helpers (over
// layer.ResolvePath, which has its own tests) on links pointing out of the
// root: nothing is made or looked at outside it.
func TestPathsInRoot(t *testing.T) {
	host := t.TempDir() // stands for any host directory
	root := filepath.Join(t.TempDir(), "a", "b", "root")
	up := strings.Repeat("../", 12)
	tree{
		"usr/lib/f": {data: "f", mode: 0o644},
		"lib":       {link: "usr/lib"},
		"hostlink":  {link: host},
		"up":        {link: up},
		"gone":      {link: "missing/" + up + host}, // ".." after a missing component
		"hostdir":   {link: up + host},
	}.materialize(t, root)
	b := &builder{root: root}
	inRoot := strings.TrimPrefix(host, "/")
	for _, tt := range []struct {
		dir, made, err string
	}{
		{dir: "/lib/new", made: "usr/lib/new"},
		{dir: "/hostlink/wd", made: inRoot + "/wd"},
		{dir: "/up/x/y", made: "x/y"},
		{dir: "/gone/wd", err: "no such file"},
		{dir: "/lib/f/x", err: "not a directory"},
	} {
		err := b.mkdirInRoot(tt.dir)
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("mkdirInRoot(%q) = %v; want error %q", tt.dir, err, tt.err)
			}
			continue
		}
		if info, serr := os.Lstat(filepath.Join(root, tt.made)); err != nil || serr != nil || !info.IsDir() {
			t.Errorf("mkdirInRoot(%q) = %v; %s: %v", tt.dir, err, tt.made, serr)
		}
	}
	for _, tt := range []struct {
		p    string
		want bool
	}{
		{"/lib", true},
		{"/usr/lib/f", false},
		{"/hostdir", true}, // made above, inside the root
		{"/gone", false},
		{"/nothing", false},
	} {
		if got := b.isDirInRoot(tt.p); got != tt.want {
			t.Errorf("isDirInRoot(%q) = %v, want %v", tt.p, got, tt.want)
		}
	}
	if ents, err := os.ReadDir(host); err != nil || len(ents) != 0 {
		t.Errorf("the host directory holds %v (%v); want nothing", ents, err)
	}
}

func TestRebase(t *testing.T) {
	for _, tt := range []struct{ dest, name, want string }{
		{"/x", "a/b", "x/a/b"},
		{"/x/", "a/", "x/a/"},
		{"/x", "/abs/f", "x/abs/f"},
		{"/x", "./a", "x/a"},
		{"/", "a", "a"},
		{"/x", "../a", "x/../a"}, // left for Apply to reject
		{"/x", "a/../../b", "x/a/../../b"},
	} {
		if got := rebase(tt.dest, tt.name); got != tt.want {
			t.Errorf("rebase(%q, %q) = %q, want %q", tt.dest, tt.name, got, tt.want)
		}
	}
}

func TestTail(t *testing.T) {
	for _, tt := range []struct {
		n      int
		writes []string
		want   string
	}{
		{3, nil, "    (no output)"},
		{3, []string{"a\nb\n"}, "    a\n    b"},
		{2, []string{"a\nb\nc\nd\n"}, "    c\n    d"},
		{2, []string{"a\nb", "c\nd"}, "    a\n    bc\n    d"}, // n whole lines and the unfinished one
		{1, []string{"one\ntwo\nthr", "ee"}, "    two\n    three"},
	} {
		tl := newTail(tt.n)
		for _, w := range tt.writes {
			io.WriteString(tl, w)
		}
		if got := tl.String(); got != tt.want {
			t.Errorf("tail(%d) of %q = %q, want %q", tt.n, tt.writes, got, tt.want)
		}
	}
}

func TestRunEnv(t *testing.T) {
	for _, tt := range []struct {
		in, want []string
	}{
		{nil, []string{"LANG=C.UTF-8", "LC_ALL=C", "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "SOURCE_DATE_EPOCH=1", "TZ=UTC"}},
		{[]string{"PATH=/bin", "TZ=Europe/Paris", "SOURCE_DATE_EPOCH=5", "A=1"},
			[]string{"A=1", "LANG=C.UTF-8", "LC_ALL=C", "PATH=/bin", "SOURCE_DATE_EPOCH=1", "TZ=UTC"}},
	} {
		if got := runEnv(tt.in); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("runEnv(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestMkdirAllIgnoresUmask(t *testing.T) {
	old := syscall.Umask(0o077)
	defer syscall.Umask(old)
	root := t.TempDir()
	if err := mkdirAll(filepath.Join(root, "a/b/c"), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"a", "a/b", "a/b/c"} {
		fi, err := os.Stat(filepath.Join(root, p))
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != 0o755 {
			t.Errorf("%s: mode %v, want 0755", p, fi.Mode().Perm())
		}
	}
	if err := os.WriteFile(filepath.Join(root, "file"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := mkdirAll(filepath.Join(root, "file/sub"), 0o755); err == nil {
		t.Error("mkdirAll below a file succeeded")
	}
}

type fakeInfo struct{ mode fs.FileMode }

func (f fakeInfo) Name() string       { return "f" }
func (f fakeInfo) Size() int64        { return 0 }
func (f fakeInfo) Mode() fs.FileMode  { return f.mode }
func (f fakeInfo) ModTime() time.Time { return time.Time{} }
func (f fakeInfo) IsDir() bool        { return f.mode.IsDir() }
func (f fakeInfo) Sys() any           { return nil }

func TestContextModes(t *testing.T) {
	for in, want := range map[fs.FileMode]fs.FileMode{
		0o600: 0o644, 0o644: 0o644, 0o444: 0o644, 0o666: 0o644,
		0o700: 0o755, 0o555: 0o755, 0o500: 0o755, 0o775: 0o755,
		fs.ModeDir | 0o700: fs.ModeDir | 0o755,
	} {
		if got := (contextInfo{fakeInfo{in}}).Mode(); got != want {
			t.Errorf("context file of mode %v is copied with %v, want %v", in, got, want)
		}
	}
}

func TestDestFor(t *testing.T) {
	for _, tt := range []struct {
		dest, base string
		intoDir    bool
		want       string
	}{
		{"/d", "a.txt", true, "/d/a.txt"},
		{"/d", "a.txt", false, "/d"},
		{"/", "a.txt", true, "/a.txt"},
	} {
		if got := destFor(tt.dest, tt.base, tt.intoDir); got != tt.want {
			t.Errorf("destFor(%q, %q, %v) = %q, want %q", tt.dest, tt.base, tt.intoDir, got, tt.want)
		}
	}
}
