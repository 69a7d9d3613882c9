package layer

import (
	"archive/tar"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// TestApplyWhiteoutNames checks that whiteouts act only when asked for
// (unpacking an image layer) and that a whiteout naming no file is refused
// in every mode, instead of deleting the directory above it.
func TestApplyWhiteoutNames(t *testing.T) {
	lower := []ent{
		dir("usr", 0o755), dir("usr/local", 0o755),
		dir("usr/local/share", 0o755), file("usr/local/share/x", "x", 0o644),
		dir("usr/local/bin", 0o755), file("usr/local/bin/y", "y", 0o755),
	}
	const lowerTree = `usr drwxr-xr-x
usr/local drwxr-xr-x
usr/local/bin drwxr-xr-x
usr/local/bin/y -rwxr-xr-x y
usr/local/share drwxr-xr-x
usr/local/share/x -rw-r--r-- x`
	tests := []struct {
		name      string
		whiteouts bool
		entry     ent
		wantErr   string // "" for success
		want      string // the tree after, when wantErr is ""
	}{
		{
			name:  "archive entry named like a whiteout is a file",
			entry: file("usr/local/.wh.share", "w", 0o644),
			want: `usr drwxr-xr-x
usr/local drwxr-xr-x
usr/local/.wh.share -rw-r--r-- w
usr/local/bin drwxr-xr-x
usr/local/bin/y -rwxr-xr-x y
usr/local/share drwxr-xr-x
usr/local/share/x -rw-r--r-- x`,
		},
		{
			name:  "archive entry named like an opaque marker is a file",
			entry: file("usr/local/.wh..wh..opq", "o", 0o644),
			want: `usr drwxr-xr-x
usr/local drwxr-xr-x
usr/local/.wh..wh..opq -rw-r--r-- o
usr/local/bin drwxr-xr-x
usr/local/bin/y -rwxr-xr-x y
usr/local/share drwxr-xr-x
usr/local/share/x -rw-r--r-- x`,
		},
		{
			name:      "layer whiteout deletes its file",
			whiteouts: true,
			entry:     file("usr/local/.wh.share", "", 0),
			want: `usr drwxr-xr-x
usr/local drwxr-xr-x
usr/local/bin drwxr-xr-x
usr/local/bin/y -rwxr-xr-x y`,
		},
		{name: "archive .wh.. refused", entry: file("usr/local/.wh..", "", 0), wantErr: "names no file"},
		{name: "archive .wh... refused", entry: file("usr/local/.wh...", "", 0), wantErr: "names no file"},
		{name: "archive .wh. refused", entry: file("usr/local/.wh.", "", 0), wantErr: "names no file"},
		{name: "layer .wh.. refused", whiteouts: true, entry: file("usr/local/.wh..", "", 0), wantErr: "names no file"},
		{name: "layer .wh... refused", whiteouts: true, entry: file("usr/local/.wh...", "", 0), wantErr: "names no file"},
		{name: "layer .wh. refused", whiteouts: true, entry: file("usr/local/.wh.", "", 0), wantErr: "names no file"},
		{name: "layer top-level .wh... refused", whiteouts: true, entry: file(".wh...", "", 0), wantErr: "names no file"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			root := t.TempDir()
			if err := apply(t, root, ApplyOptions{}, lower...); err != nil {
				t.Fatal(err)
			}
			err := apply(t, root, ApplyOptions{Name: "x.tar", Whiteouts: tc.whiteouts}, tc.entry)
			got := describe(t, root)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) || !strings.Contains(err.Error(), tc.entry.name) {
					t.Fatalf("error %v, want one naming %q and containing %q", err, tc.entry.name, tc.wantErr)
				}
				if got != lowerTree {
					t.Errorf("refused entry changed the tree:\n%s\nwant:\n%s", got, lowerTree)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Errorf("tree:\n%s\nwant:\n%s", got, tc.want)
			}
		})
	}
}

// TestWriteRefusesWhiteoutNames checks that a file a build step made whose
// name is a whiteout's fails the layer, naming it: written as it is, it
// would delete files when the image is unpacked.
func TestWriteRefusesWhiteoutNames(t *testing.T) {
	tests := []struct {
		name   string
		file   string // made after the snapshot
		delete string // removed after the snapshot
	}{
		{name: "whiteout of a file", file: "etc/.wh.passwd"},
		{name: "opaque marker", file: "usr/lib/.wh..wh..opq"},
		{name: "deleted file named like a whiteout", delete: "etc/.wh.old"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			root := t.TempDir()
			writeFile(t, filepath.Join(root, "etc/passwd"), "root:x:0:0::/root:/bin/sh\n", 0o644)
			writeFile(t, filepath.Join(root, "usr/lib/libc.so"), "elf", 0o755)
			if tc.delete != "" {
				writeFile(t, filepath.Join(root, tc.delete), "", 0o644)
			}
			before, err := Snapshot(root)
			if err != nil {
				t.Fatal(err)
			}
			bad := tc.file
			if tc.file != "" {
				writeFile(t, filepath.Join(root, tc.file), "", 0o644)
			} else {
				bad = tc.delete
				if err := os.Remove(filepath.Join(root, tc.delete)); err != nil {
					t.Fatal(err)
				}
			}
			changes, err := Diff(root, before)
			if err != nil {
				t.Fatal(err)
			}
			var buf bytes.Buffer
			_, err = Write(&buf, root, changes, WriteOptions{})
			if err == nil || !strings.Contains(err.Error(), bad) || !strings.Contains(err.Error(), "whiteout") {
				t.Fatalf("error %v, want one naming %s as a whiteout", err, bad)
			}
		})
	}
	// Names that only contain the prefix are ordinary.
	root := t.TempDir()
	writeFile(t, filepath.Join(root, "etc/x.wh.passwd"), "", 0o644)
	writeFile(t, filepath.Join(root, ".whx"), "", 0o644)
	var buf bytes.Buffer
	if _, err := WriteFull(&buf, root, WriteOptions{}); err != nil {
		t.Errorf("ordinary names refused: %v", err)
	}
}

// paxRecord is one record of a PAX extended header: its length, which
// counts itself, then " key=value\n".
func paxRecord(k, v string) string {
	body := " " + k + "=" + v + "\n"
	n := len(body) + 1
	for len(strconv.Itoa(n))+len(body) != n {
		n++
	}
	return strconv.Itoa(n) + body
}

// rawHeader is a ustar header block, written by hand where Go's tar
// writer refuses (it writes no sparse files).
func rawHeader(name string, typ byte, size int64) []byte {
	b := make([]byte, 512)
	copy(b[0:100], name)
	copy(b[100:], "0000644\x00")
	copy(b[108:], "0000000\x00")
	copy(b[116:], "0000000\x00")
	copy(b[124:], fmt.Sprintf("%011o\x00", size))
	copy(b[136:], "00000000000\x00")
	b[156] = typ
	copy(b[257:], "ustar\x0000")
	copy(b[148:156], "        ")
	sum := 0
	for _, c := range b {
		sum += int(c)
	}
	copy(b[148:], fmt.Sprintf("%06o\x00 ", sum))
	return b
}

func padBlock(b []byte) []byte {
	if n := len(b) % 512; n != 0 {
		b = append(b, make([]byte, 512-n)...)
	}
	return b
}

// sparseTar is a tar of one GNU sparse (PAX 1.0) file of realSize bytes
// that are all a hole: a few hundred bytes that read as realSize zeros.
func sparseTar(name string, realSize int64) []byte {
	rec := paxRecord("GNU.sparse.major", "1") + paxRecord("GNU.sparse.minor", "0") +
		paxRecord("GNU.sparse.name", name) + paxRecord("GNU.sparse.realsize", strconv.FormatInt(realSize, 10))
	var out []byte
	out = append(out, rawHeader("PaxHeaders/"+name, 'x', int64(len(rec)))...)
	out = append(out, padBlock([]byte(rec))...)
	out = append(out, rawHeader("GNUSparseFile.0/"+name, '0', 512)...)
	out = append(out, padBlock([]byte("0\n"))...) // the map: no data
	return append(out, make([]byte, 1024)...)
}

// hugeHeader is the header of a file of size bytes, without the body.
func hugeHeader(t *testing.T, size int64) []byte {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	if err := tw.WriteHeader(&tar.Header{Name: "huge", Typeflag: tar.TypeReg, Mode: 0o644, Size: size, Format: tar.FormatPAX}); err != nil {
		t.Fatal(err)
	}
	tw.Flush() // short of the body: Flush says so and writes nothing more
	return buf.Bytes()
}

// TestApplyMaxBytes checks that small inputs that expand to large files
// stop at the cap on what one Apply writes, with an error saying so.
func TestApplyMaxBytes(t *testing.T) {
	zeros := make([]byte, 8<<20)
	bomb := gzipBytes(t, makeTar(t, file("a", string(zeros), 0o644), file("b", string(zeros), 0o644)))
	tests := []struct {
		name    string
		data    []byte
		max     int64
		wantErr string // "" for success
	}{
		{name: "sparse entry", data: sparseTar("big", 64<<20), max: 1 << 20, wantErr: "more than 1048576 bytes"},
		{name: "gzip bomb", data: bomb, max: 12 << 20, wantErr: "more than 12582912 bytes"},
		{name: "within the cap", data: bomb, max: 16 << 20},
		{
			name:    "default cap",
			data:    hugeHeader(t, DefaultMaxBytes+1),
			wantErr: fmt.Sprintf("more than %d bytes", int64(DefaultMaxBytes)),
		},
	}
	if len(bomb) > 100<<10 {
		t.Fatalf("the bomb is %d bytes: not a bomb", len(bomb))
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			root := t.TempDir()
			err := Apply(root, bytes.NewReader(tc.data), ApplyOptions{Name: "in.tar", MaxBytes: tc.max})
			if tc.wantErr == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) || !strings.Contains(err.Error(), "in.tar") {
				t.Fatalf("error %v, want one naming in.tar and containing %q", err, tc.wantErr)
			}
			var used int64
			filepath.Walk(root, func(p string, fi os.FileInfo, err error) error {
				if err == nil && fi.Mode().IsRegular() {
					used += fi.Size()
				}
				return nil
			})
			if max := max(tc.max, 0); used > max {
				t.Errorf("%d bytes written, more than the cap %d", used, max)
			}
		})
	}
}

// TestApplyDiffID checks the uncompressed digest of a layer against the
// one its image's config gives.
func TestApplyDiffID(t *testing.T) {
	raw := makeTar(t, dir("etc", 0o755), file("etc/passwd", "root", 0o644))
	sum := sha256.Sum256(raw)
	good := "sha256:" + hex.EncodeToString(sum[:])
	other := sha256.Sum256([]byte("another layer"))
	bad := "sha256:" + hex.EncodeToString(other[:])
	tests := []struct {
		name    string
		data    []byte
		diffID  string
		wantErr []string
	}{
		{name: "gzip, right", data: gzipBytes(t, raw), diffID: good},
		{name: "plain, right", data: raw, diffID: good},
		{name: "gzip, wrong", data: gzipBytes(t, raw), diffID: bad, wantErr: []string{good, bad, "diff_id"}},
		{name: "plain, wrong", data: raw, diffID: bad, wantErr: []string{good, bad}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := Apply(t.TempDir(), bytes.NewReader(tc.data), ApplyOptions{Name: "sha256:blob", DiffID: tc.diffID})
			if tc.wantErr == nil {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range append(tc.wantErr, "sha256:blob") {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
		})
	}
}

// withoutDACOverride runs fn on a thread without the capabilities that
// let root ignore file permissions, as a runner without a user namespace
// runs.
func withoutDACOverride(t *testing.T, fn func() error) error {
	t.Helper()
	done := make(chan error, 1)
	go func() {
		// The thread is left locked, so it ends with the goroutine and
		// its reduced capabilities die with it.
		runtime.LockOSThread()
		hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
		var data [2]unix.CapUserData
		if err := unix.Capget(&hdr, &data[0]); err != nil {
			done <- err
			return
		}
		for _, c := range []uint{unix.CAP_DAC_OVERRIDE, unix.CAP_DAC_READ_SEARCH, unix.CAP_FOWNER} {
			data[c/32].Effective &^= 1 << (c % 32)
		}
		if err := unix.Capset(&hdr, &data[0]); err != nil {
			done <- err
			return
		}
		done <- fn()
	}()
	return <-done
}

// TestApplyReadOnlyDirectories checks that a directory whose mode forbids
// writing can still be filled by the entries after it.
func TestApplyReadOnlyDirectories(t *testing.T) {
	root := t.TempDir()
	entries := []ent{
		dir("usr", 0o555), dir("usr/share", 0o500), file("usr/share/f", "f", 0o444),
		dir("usr", 0o555), // again: the mode is set once more at the end
		dir("sealed", 0o000), dir("sealed/in", 0o755), file("sealed/in/g", "g", 0o644),
	}
	data := makeTar(t, entries...)
	err := withoutDACOverride(t, func() error {
		return Apply(root, bytes.NewReader(data), ApplyOptions{})
	})
	if err != nil {
		t.Fatal(err)
	}
	want := `sealed d---------
sealed/in drwxr-xr-x
sealed/in/g -rw-r--r-- g
usr dr-xr-xr-x
usr/share dr-x------
usr/share/f -r--r--r-- f`
	if got := describe(t, root); got != want {
		t.Errorf("tree:\n%s\nwant:\n%s", got, want)
	}
}

// TestApplyOntoReadOnlyDirectories checks that directories an earlier
// layer left closed to writing or searching (0555, 0500, 0000) still take
// a later layer's entries, whiteouts and replacements when nothing
// overrides permissions (a runner without a user namespace), and keep
// their modes afterwards unless the later layer gives them new ones.
func TestApplyOntoReadOnlyDirectories(t *testing.T) {
	lower := []ent{
		dir("usr", 0o555), file("usr/a", "a", 0o644),
		dir("usr/share", 0o500), file("usr/share/old", "old", 0o444),
		dir("usr/share/ro", 0o555), file("usr/share/ro/f", "f", 0o444),
		dir("sealed", 0o000), dir("sealed/in", 0o755),
	}
	tests := []struct {
		name   string
		upper  []ent
		whites bool
		want   string
	}{
		{
			name:  "new entries",
			upper: []ent{file("usr/b", "b", 0o644), file("usr/share/new", "new", 0o644), file("sealed/in/g", "g", 0o644), dir("sealed/new", 0o700)},
			want: `sealed d---------
sealed/in drwxr-xr-x
sealed/in/g -rw-r--r-- g
sealed/new drwx------
usr dr-xr-xr-x
usr/a -rw-r--r-- a
usr/b -rw-r--r-- b
usr/share dr-x------
usr/share/new -rw-r--r-- new
usr/share/old -r--r--r-- old
usr/share/ro dr-xr-xr-x
usr/share/ro/f -r--r--r-- f`,
		},
		{
			name:   "whiteouts and replacements",
			upper:  []ent{file("usr/.wh.a", "", 0o644), file("usr/share/ro", "now a file", 0o644), file("usr/share/.wh..wh..opq", "", 0o644)},
			whites: true,
			want: `sealed d---------
sealed/in drwxr-xr-x
usr dr-xr-xr-x
usr/share dr-x------
usr/share/ro -rw-r--r-- now a file`,
		},
		{
			name:  "the later layer's mode wins",
			upper: []ent{file("usr/c", "c", 0o644), dir("usr", 0o750), dir("sealed", 0o711), file("sealed/h", "h", 0o600)},
			want: `sealed drwx--x--x
sealed/h -rw------- h
sealed/in drwxr-xr-x
usr drwxr-x---
usr/a -rw-r--r-- a
usr/c -rw-r--r-- c
usr/share dr-x------
usr/share/old -r--r--r-- old
usr/share/ro dr-xr-xr-x
usr/share/ro/f -r--r--r-- f`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := t.TempDir()
			if err := apply(t, root, ApplyOptions{Name: "lower"}, lower...); err != nil {
				t.Fatal(err)
			}
			data := makeTar(t, tt.upper...)
			err := withoutDACOverride(t, func() error {
				return Apply(root, bytes.NewReader(data), ApplyOptions{Name: "upper", Whiteouts: tt.whites})
			})
			if err != nil {
				t.Fatal(err)
			}
			if got := describe(t, root); got != tt.want {
				t.Errorf("tree:\n%s\nwant:\n%s", got, tt.want)
			}
		})
	}
}

// TestApplyDepth checks that a tree too deep for its paths to be named is
// refused while unpacking, through symbolic links too, and that a tree
// just within the limit unpacks and can be snapshot. Components are long
// so that the limit comes after few directories.
func TestApplyDepth(t *testing.T) {
	comp := strings.Repeat("a", 63)
	chain := func(n int) string { return strings.TrimSuffix(strings.Repeat(comp+"/", n), "/") }
	deep := func(n int) []ent {
		var es []ent
		for i := 1; i <= n; i++ {
			es = append(es, dir(chain(i), 0o755))
		}
		return es
	}
	fits := MaxPathLen / (len(comp) + 1) // chain(fits) is one byte short of the limit
	long := func(c byte) string { return strings.Repeat(string(c), 200) }
	tests := []struct {
		name    string
		entries []ent
		wantErr string
	}{
		{name: "too deep", entries: deep(100), wantErr: "deeper than"},
		{name: "within the limit", entries: append(deep(fits), file(chain(fits)+"/f", "f", 0o644))},
		{
			name: "too deep through a symbolic link",
			entries: append(deep(fits-3), symlink("s", chain(fits-3)),
				dir("s/b", 0o755), dir("s/b/"+long('d'), 0o755), dir("s/b/"+long('d')+"/"+long('e'), 0o755)),
			wantErr: "deeper than",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			root := t.TempDir()
			err := apply(t, root, ApplyOptions{Name: "deep.tar"}, tc.entries...)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) || !strings.Contains(err.Error(), "deep.tar") {
					t.Fatalf("error %v, want one naming deep.tar and containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			m, err := Snapshot(root)
			if err != nil {
				t.Fatal(err)
			}
			if n := len(m.Entries); n != len(tc.entries) {
				t.Errorf("snapshot has %d paths, want %d", n, len(tc.entries))
			}
		})
	}
}
