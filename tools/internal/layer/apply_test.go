package layer

import (
	"archive/tar"
	"bytes"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/klauspost/compress/zstd"

	"github.com/stagex/stagex-bazel/tools/internal/diag"
)

func TestApplyEntries(t *testing.T) {
	tests := []struct {
		name    string
		lower   []ent // applied first, when not nil
		entries []ent
		gzip    bool
		want    string
	}{
		{
			name:    "files dirs and modes",
			entries: []ent{dir("bin", 0o755), file("bin/su", "x", 0o4755), file("bin/sg", "y", 0o2711), dir("tmp", 0o1777), file("etc/shadow", "s", 0o600)},
			want: `bin drwxr-xr-x
bin/sg grwx--x--x y
bin/su urwxr-xr-x x
etc drwxr-xr-x
etc/shadow -rw------- s
tmp dtrwxrwxrwx`,
		},
		{
			name:    "gzip compressed",
			entries: []ent{file("a", "gz", 0o644)},
			gzip:    true,
			want:    `a -rw-r--r-- gz`,
		},
		{
			name:    "symlinks hardlinks fifo",
			entries: []ent{file("usr/lib/libc.so", "elf", 0o755), symlink("lib", "usr/lib"), symlink("abs", "/etc/passwd"), hardlink("usr/lib/ld.so", "usr/lib/libc.so"), {name: "run/fifo", typ: tar.TypeFifo, mode: 0o620}},
			want: `abs Lrwxrwxrwx -> /etc/passwd
lib Lrwxrwxrwx -> usr/lib
run drwxr-xr-x
run/fifo prw--w----
usr drwxr-xr-x
usr/lib drwxr-xr-x
usr/lib/ld.so -rwxr-xr-x elf (links)
usr/lib/libc.so -rwxr-xr-x elf (links)`,
		},
		{
			name:    "absolute and dotted names stay in root",
			entries: []ent{file("/etc/hosts", "h", 0o644), file("./etc/./motd", "m", 0o644), dir("/", 0o755)},
			want: `etc drwxr-xr-x
etc/hosts -rw-r--r-- h
etc/motd -rw-r--r-- m`,
		},
		{
			name:    "entries replace what is there",
			lower:   []ent{file("a", "old", 0o644), dir("d", 0o755), file("d/x", "x", 0o644), symlink("s", "a"), dir("keep", 0o700), file("keep/y", "y", 0o644)},
			entries: []ent{dir("a", 0o750), file("d", "now a file", 0o600), file("s", "not a link", 0o644), dir("keep", 0o755)},
			want: `a drwxr-x---
d -rw------- now a file
keep drwxr-xr-x
keep/y -rw-r--r-- y
s -rw-r--r-- not a link`,
		},
		{
			name:    "entry under a symlinked directory follows it inside root",
			lower:   []ent{dir("usr/bin", 0o755), symlink("bin", "usr/bin"), symlink("sbin", "/usr/bin")},
			entries: []ent{file("bin/sh", "sh", 0o755), file("sbin/init", "init", 0o755)},
			want: `bin Lrwxrwxrwx -> usr/bin
sbin Lrwxrwxrwx -> /usr/bin
usr drwxr-xr-x
usr/bin drwxr-xr-x
usr/bin/init -rwxr-xr-x init
usr/bin/sh -rwxr-xr-x sh`,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			root := t.TempDir()
			if tc.lower != nil {
				if err := apply(t, root, ApplyOptions{}, tc.lower...); err != nil {
					t.Fatalf("lower layer: %v", err)
				}
			}
			b := makeTar(t, tc.entries...)
			if tc.gzip {
				b = gzipBytes(t, b)
			}
			if err := Apply(root, bytes.NewReader(b), ApplyOptions{}); err != nil {
				t.Fatal(err)
			}
			if got := describe(t, root); got != tc.want {
				t.Errorf("tree:\n%s\nwant:\n%s", got, tc.want)
			}
		})
	}
}

func TestApplyTimes(t *testing.T) {
	root := t.TempDir()
	if err := apply(t, root, ApplyOptions{}, dir("d", 0o755), file("d/f", "x", 0o644), symlink("d/l", "f")); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"d", "d/f", "d/l"} {
		fi, err := os.Lstat(filepath.Join(root, p))
		if err != nil {
			t.Fatal(err)
		}
		if !fi.ModTime().Equal(time.Unix(1000, 0)) {
			t.Errorf("%s: mtime %v, want the tar's %v", p, fi.ModTime(), time.Unix(1000, 0))
		}
	}
}

func TestApplyWhiteouts(t *testing.T) {
	lower := []ent{
		file("etc/a", "a", 0o644), file("etc/b", "b", 0o644),
		dir("opt", 0o755), file("opt/old", "o", 0o644), dir("opt/sub", 0o755), file("opt/sub/deep", "d", 0o644),
		dir("var", 0o755), file("var/old", "o", 0o644), dir("var/sub", 0o755), file("var/sub/deep", "d", 0o644),
		dir("gone", 0o755), file("gone/x", "x", 0o644),
	}
	tests := []struct {
		name    string
		entries []ent
		want    string
	}{
		{
			name:    "whiteout file and directory",
			entries: []ent{file("etc/.wh.a", "", 0), file(".wh.gone", "", 0), file("etc/.wh.missing", "", 0), file("etc/b/.wh.x", "", 0)},
			want: `etc drwxr-xr-x
etc/b -rw-r--r-- b
opt drwxr-xr-x
opt/old -rw-r--r-- o
opt/sub drwxr-xr-x
opt/sub/deep -rw-r--r-- d
var drwxr-xr-x
var/old -rw-r--r-- o
var/sub drwxr-xr-x
var/sub/deep -rw-r--r-- d`,
		},
		{
			name: "opaque marker before and after the layer's own entries",
			entries: []ent{
				dir("opt", 0o755), file("opt/.wh..wh..opq", "", 0), file("opt/new", "n", 0o644),
				dir("var", 0o755), file("var/sub/new", "n", 0o644), file("var/.wh..wh..opq", "", 0),
				file(".wh.gone", "", 0), file("etc/.wh..wh..opq", "", 0),
			},
			want: `etc drwxr-xr-x
opt drwxr-xr-x
opt/new -rw-r--r-- n
var drwxr-xr-x
var/sub drwxr-xr-x
var/sub/new -rw-r--r-- n`,
		},
		{
			name:    "whiteout leaves the layer's own entry",
			entries: []ent{file("etc/a", "new a", 0o644), file("etc/.wh.a", "", 0), file("etc/.wh..wh.plnk", "", 0)},
			want: `etc drwxr-xr-x
etc/a -rw-r--r-- new a
etc/b -rw-r--r-- b
gone drwxr-xr-x
gone/x -rw-r--r-- x
opt drwxr-xr-x
opt/old -rw-r--r-- o
opt/sub drwxr-xr-x
opt/sub/deep -rw-r--r-- d
var drwxr-xr-x
var/old -rw-r--r-- o
var/sub drwxr-xr-x
var/sub/deep -rw-r--r-- d`,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			root := t.TempDir()
			if err := apply(t, root, ApplyOptions{}, lower...); err != nil {
				t.Fatal(err)
			}
			if err := apply(t, root, ApplyOptions{Whiteouts: true}, tc.entries...); err != nil {
				t.Fatal(err)
			}
			if got := describe(t, root); got != tc.want {
				t.Errorf("tree:\n%s\nwant:\n%s", got, tc.want)
			}
		})
	}
}

// TestApplySecurity feeds crafted layers that try to reach outside the root.
// Whatever the outcome, nothing outside may change.
func TestApplySecurity(t *testing.T) {
	base := t.TempDir()
	outside := filepath.Join(base, "outside")
	tests := []struct {
		name    string
		entries func(outside string) []ent
		opts    ApplyOptions
		wantErr string // "" for success
		want    string // the tree, when wantErr is ""
		// lines the tree must have, when want is ""
		wantLines []string
	}{
		{
			name:    "dotdot name",
			entries: func(string) []ent { return []ent{file("../outside/pwned", "x", 0o644)} },
			wantErr: `".." component; expected a path inside the root`,
		},
		{
			name:    "dotdot in the middle",
			entries: func(string) []ent { return []ent{file("a/../../outside/secret", "x", 0o644)} },
			wantErr: `".."`,
		},
		{
			name:    "file through absolute symlink",
			entries: func(o string) []ent { return []ent{symlink("s", o), file("s/secret", "pwned", 0o644)} },
			wantLines: []string{
				"s Lrwxrwxrwx -> " + outside,
				strings.TrimPrefix(outside, "/") + "/secret -rw-r--r-- pwned",
			},
		},
		{
			name: "file through relative symlink climbing out",
			entries: func(string) []ent {
				return []ent{dir("d", 0o755), symlink("d/s", "../../../../../../outside"), file("d/s/secret", "pwned", 0o644)}
			},
			want: `d drwxr-xr-x
d/s Lrwxrwxrwx -> ../../../../../../outside
outside drwxr-xr-x
outside/secret -rw-r--r-- pwned`,
		},
		{
			name:    "file replaces a symlink to an outside file",
			entries: func(o string) []ent { return []ent{symlink("s", o+"/secret"), file("s", "pwned", 0o644)} },
			want:    `s -rw-r--r-- pwned`,
		},
		{
			name:    "directory replaces a symlink to an outside directory",
			entries: func(o string) []ent { return []ent{symlink("s", o), dir("s", 0o777)} },
			want:    `s drwxrwxrwx`,
		},
		{
			name:    "hardlink with dotdot target",
			entries: func(string) []ent { return []ent{hardlink("h", "../outside/secret")} },
			wantErr: `link target "../outside/secret"`,
		},
		{
			name:    "hardlink to an outside file through a symlink",
			entries: func(o string) []ent { return []ent{symlink("s", o), hardlink("h", "s/secret")} },
			wantErr: `link target "s/secret"`,
		},
		{
			name:    "hardlink with absolute target stays inside",
			entries: func(o string) []ent { return []ent{hardlink("h", o+"/secret")} },
			wantErr: "link target",
		},
		{
			name:    "whiteout through a symlink",
			entries: func(o string) []ent { return []ent{symlink("s", o), file("s/.wh.secret", "", 0)} },
			opts:    ApplyOptions{Whiteouts: true},
			want:    `s Lrwxrwxrwx -> ` + outside,
		},
		{
			name:    "opaque directory through a symlink",
			entries: func(o string) []ent { return []ent{symlink("s", o), file("s/.wh..wh..opq", "", 0)} },
			opts:    ApplyOptions{Whiteouts: true},
			wantLines: []string{
				"s Lrwxrwxrwx -> " + outside,
				strings.TrimPrefix(outside, "/") + " drwxr-xr-x",
			},
		},
		{
			name:    "symlink loop",
			entries: func(string) []ent { return []ent{symlink("l1", "l2"), symlink("l2", "l1"), file("l1/x", "x", 0o644)} },
			wantErr: "too many levels of symbolic links",
		},
		{
			name: "character device",
			entries: func(string) []ent {
				return []ent{{name: "dev/null", typ: tar.TypeChar, mode: 0o666}}
			},
			wantErr: "device node",
		},
		{
			name: "block device skipped on request",
			entries: func(string) []ent {
				return []ent{{name: "sda", typ: tar.TypeBlock, mode: 0o660}, file("ok", "ok", 0o644)}
			},
			opts: ApplyOptions{SkipDevices: true},
			want: `ok -rw-r--r-- ok`,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			os.RemoveAll(outside)
			writeFile(t, filepath.Join(outside, "secret"), "secret", 0o644)
			before := describe(t, base)
			root := t.TempDir()
			err := apply(t, root, tc.opts, tc.entries(outside)...)
			if after := describe(t, base); after != before {
				t.Errorf("outside the root changed:\n%s\nwas:\n%s", after, before)
			}
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error %v, want one containing %q", err, tc.wantErr)
				}
				if _, _, ok := diag.At(err); !ok {
					t.Errorf("error %v does not name the layer", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got := describe(t, root)
			if tc.want != "" && got != tc.want {
				t.Errorf("tree:\n%s\nwant:\n%s", got, tc.want)
			}
			for _, l := range tc.wantLines {
				if !strings.Contains("\n"+got+"\n", "\n"+l+"\n") {
					t.Errorf("tree:\n%s\nlacks line %q", got, l)
				}
			}
		})
	}
}

func TestApplyErrorsNameLayerAndEntry(t *testing.T) {
	root := t.TempDir()
	err := apply(t, root, ApplyOptions{Name: "base.tar"}, file("ok", "", 0o644), file("../x", "", 0o644))
	want := `base.tar: tar entry 2 "../x"`
	if err == nil || !strings.HasPrefix(err.Error(), want) {
		t.Fatalf("error %v, want prefix %q", err, want)
	}
	err = Apply(root, bytes.NewReader([]byte("this is not a tar archive, not at all.")), ApplyOptions{Name: "junk"})
	if f, _, ok := diag.At(err); !ok || f != "junk" {
		t.Fatalf("error %v, want one naming junk", err)
	}
}

func TestApplyOwnership(t *testing.T) {
	entries := []ent{
		{name: "f", typ: tar.TypeReg, mode: 0o4755, uid: 1234, gid: 5678},
		{name: "d", typ: tar.TypeDir, mode: 0o755, uid: 42, gid: 43},
		{name: "l", typ: tar.TypeSymlink, link: "f", uid: 7, gid: 8},
	}
	want := map[string]Owner{"f": {1234, 5678}, "d": {42, 43}, "l": {7, 8}}

	t.Run("not chowned: recorded", func(t *testing.T) {
		owners := map[string]Owner{}
		if err := apply(t, t.TempDir(), ApplyOptions{Owners: owners}, entries...); err != nil {
			t.Fatal(err)
		}
		for p, o := range want {
			if owners[p] != o {
				t.Errorf("Owners[%q] = %v, want %v", p, owners[p], o)
			}
		}
	})
	t.Run("chowned", func(t *testing.T) {
		root := t.TempDir()
		owners := map[string]Owner{}
		if err := apply(t, root, ApplyOptions{Chown: true, Owners: owners}, entries...); err != nil {
			t.Fatal(err)
		}
		for p, o := range want {
			fi, err := os.Lstat(filepath.Join(root, p))
			if err != nil {
				t.Fatal(err)
			}
			st := fi.Sys().(*syscall.Stat_t)
			got := Owner{int(st.Uid), int(st.Gid)}
			_, recorded := owners[p]
			// Without the right to chown, the ownership must be recorded.
			if got != o && !recorded {
				t.Errorf("%s: owned by %v, want %v or a record in Owners", p, got, o)
			}
			if got == o && recorded {
				t.Errorf("%s: recorded although chowned", p)
			}
		}
		// chown clears setuid: the mode must be set after it.
		if fi, _ := os.Stat(filepath.Join(root, "f")); fi.Mode()&os.ModeSetuid == 0 {
			t.Errorf("f lost its setuid bit: %v", fi.Mode())
		}
	})
	t.Run("chowned over an old record", func(t *testing.T) {
		// Giving an entry the caller's own ids always works.
		uid, gid := os.Geteuid(), os.Getegid()
		owners := map[string]Owner{"f": {1, 2}, "d": {3, 4}, "other": {5, 6}}
		own := []ent{
			{name: "f", typ: tar.TypeReg, mode: 0o644, uid: uid, gid: gid},
			{name: "d", typ: tar.TypeDir, mode: 0o755, uid: uid, gid: gid},
		}
		if err := apply(t, t.TempDir(), ApplyOptions{Chown: true, Owners: owners}, own...); err != nil {
			t.Fatal(err)
		}
		want := map[string]Owner{"other": {5, 6}}
		if !reflect.DeepEqual(owners, want) {
			t.Errorf("Owners = %v, want %v: the applied entries' old records dropped, others kept", owners, want)
		}
	})
}

func TestOpenArchive(t *testing.T) {
	plain := makeTar(t, file("hello.txt", "hello\n", 0o644))
	var zst bytes.Buffer
	zw, err := zstd.NewWriter(&zst)
	if err != nil {
		t.Fatal(err)
	}
	zw.Write(plain)
	zw.Close()
	read := func(name string) []byte {
		b, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	tests := []struct {
		name    string
		data    []byte
		want    Compression
		wantErr string // an error of OpenArchive, naming the format
	}{
		{"plain", plain, Uncompressed, ""},
		{"gzip", gzipBytes(t, plain), Gzip, ""},
		{"zstd", zst.Bytes(), Zstd, ""},
		{"bzip2", read("hello.tar.bz2"), Bzip2, ""},
		{"xz", read("hello.tar.xz"), XZ, ""},
		{"xz with a damaged header", append(read("hello.tar.xz")[:6:6], 0xff, 0xff, 0xff, 0xff, 0xff, 0xff), XZ, "xz stream"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := Detect(tc.data); got != tc.want {
				t.Errorf("Detect = %v, want %v", got, tc.want)
			}
			r, err := OpenArchive(bytes.NewReader(tc.data))
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error %v, want one containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			tr := tar.NewReader(r)
			hdr, err := tr.Next()
			if err != nil {
				t.Fatal(err)
			}
			var body bytes.Buffer
			body.ReadFrom(tr)
			if hdr.Name != "hello.txt" || body.String() != "hello\n" {
				t.Errorf("got %q = %q, want hello.txt = \"hello\\n\"", hdr.Name, body.String())
			}
			// Apply takes the same streams when asked to.
			root := t.TempDir()
			err = Apply(root, bytes.NewReader(tc.data), ApplyOptions{AnyCompression: true})
			if err != nil {
				t.Fatal(err)
			}
			if b, err := os.ReadFile(filepath.Join(root, "hello.txt")); err != nil || string(b) != "hello\n" {
				t.Errorf("applied hello.txt = %q, %v", b, err)
			}
			if tc.want == Zstd || tc.want == Bzip2 || tc.want == XZ {
				err := Apply(t.TempDir(), bytes.NewReader(tc.data), ApplyOptions{})
				if err == nil || !strings.Contains(err.Error(), tc.want.String()+"-compressed") {
					t.Errorf("Apply without AnyCompression: %v, want a %s error", err, tc.want)
				}
			}
		})
	}
}
