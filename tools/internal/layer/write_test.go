package layer

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// hdrLine renders what a layer entry must fix: name, type, mode, owner,
// time, size, link target and content.
func hdrLine(h *tar.Header, body []byte) string {
	s := fmt.Sprintf("%s %c %#o %d:%d %q/%q t=%d", h.Name, h.Typeflag, h.Mode, h.Uid, h.Gid, h.Uname, h.Gname, h.ModTime.Unix())
	if h.Linkname != "" {
		s += " -> " + h.Linkname
	}
	if h.Typeflag == tar.TypeReg {
		s += fmt.Sprintf(" %q", body)
	}
	return s
}

// readLayer checks the digests and gzip header of a layer and lists its
// entries.
func readLayer(t *testing.T, b []byte, res Result) string {
	t.Helper()
	if got := "sha256:" + hex.EncodeToString(sha256Sum(b)); res.Digest != got {
		t.Errorf("Digest %s, want %s", res.Digest, got)
	}
	if res.Size != int64(len(b)) {
		t.Errorf("Size %d, want %d", res.Size, len(b))
	}
	if len(b) < 10 || b[3] != 0 || !bytes.Equal(b[4:8], []byte{0, 0, 0, 0}) || b[9] != 255 {
		t.Errorf("gzip header % x: want no flags, mtime 0, OS 255", b[:min(10, len(b))])
	}
	zr, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	raw, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	if got := "sha256:" + hex.EncodeToString(sha256Sum(raw)); res.DiffID != got {
		t.Errorf("DiffID %s, want %s", res.DiffID, got)
	}
	tr := tar.NewReader(bytes.NewReader(raw))
	var lines []string
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if !h.AccessTime.IsZero() || !h.ChangeTime.IsZero() || len(h.PAXRecords) > 0 {
			t.Errorf("%s: atime %v ctime %v PAX %v, want none", h.Name, h.AccessTime, h.ChangeTime, h.PAXRecords)
		}
		body, _ := io.ReadAll(tr)
		lines = append(lines, hdrLine(h, body))
	}
	return strings.Join(lines, "\n")
}

func sha256Sum(b []byte) []byte {
	s := sha256.Sum256(b)
	return s[:]
}

func writeLayer(t *testing.T, root string, changes []Change, opts WriteOptions) ([]byte, Result) {
	t.Helper()
	var buf bytes.Buffer
	var res Result
	var err error
	if changes == nil {
		res, err = WriteFull(&buf, root, opts)
	} else {
		res, err = Write(&buf, root, changes, opts)
	}
	if err != nil {
		t.Fatal(err)
	}
	return buf.Bytes(), res
}

func entryTree(t *testing.T, root string) {
	t.Helper()
	writeFile(t, filepath.Join(root, "bin/sh"), "sh", 0o755)
	writeFile(t, filepath.Join(root, "bin/su"), "su", 0o4755)
	writeFile(t, filepath.Join(root, "old"), "from 1970", 0o640)
	if err := os.Link(filepath.Join(root, "bin/sh"), filepath.Join(root, "bin/ash")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("sh", filepath.Join(root, "bin/bash")); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(root, "tmp"), 0o777); err != nil {
		t.Fatal(err)
	}
	unix.Chmod(filepath.Join(root, "tmp"), 0o1777)
	os.Mkdir(filepath.Join(root, "run"), 0o700)
	os.Chmod(filepath.Join(root, "run"), 0o700)
	if err := unix.Mkfifo(filepath.Join(root, "run/fifo"), 0o600); err != nil {
		t.Fatal(err)
	}
	os.Chtimes(filepath.Join(root, "old"), time.Unix(0, 0), time.Unix(0, 0))
}

func TestWriteFullEntries(t *testing.T) {
	tests := []struct {
		name string
		opts WriteOptions
		want string
	}{
		{
			name: "defaults",
			want: `bin/ 5 0755 0:0 ""/"" t=1
bin/ash 0 0755 0:0 ""/"" t=1 "sh"
bin/bash 2 0777 0:0 ""/"" t=1 -> sh
bin/sh 1 0755 0:0 ""/"" t=1 -> bin/ash
bin/su 0 04755 0:0 ""/"" t=1 "su"
old 0 0640 0:0 ""/"" t=0 "from 1970"
run/ 5 0700 0:0 ""/"" t=1
run/fifo 6 0600 0:0 ""/"" t=1
tmp/ 5 01777 0:0 ""/"" t=1`,
		},
		{
			name: "epoch and owners",
			opts: WriteOptions{SourceDateEpoch: time.Unix(1700000000, 0), KeepOwner: true, Owners: map[string]Owner{"bin/su": {0, 0}, "tmp": {7, 8}, "bin/bash": {9, 9}}},
			want: `bin/ 5 0755 U:G ""/"" t=1700000000
bin/ash 0 0755 U:G ""/"" t=1700000000 "sh"
bin/bash 2 0777 9:9 ""/"" t=1700000000 -> sh
bin/sh 1 0755 U:G ""/"" t=1700000000 -> bin/ash
bin/su 0 04755 0:0 ""/"" t=1700000000 "su"
old 0 0640 U:G ""/"" t=0 "from 1970"
run/ 5 0700 U:G ""/"" t=1700000000
run/fifo 6 0600 U:G ""/"" t=1700000000
tmp/ 5 01777 7:8 ""/"" t=1700000000`,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			root := t.TempDir()
			entryTree(t, root)
			b, res := writeLayer(t, root, nil, tc.opts)
			want := strings.ReplaceAll(tc.want, "U:G", fmt.Sprintf("%d:%d", os.Getuid(), os.Getgid()))
			if got := readLayer(t, b, res); got != want {
				t.Errorf("layer:\n%s\nwant:\n%s", got, want)
			}
		})
	}
}

func TestWriteChangesRoundTrip(t *testing.T) {
	base := t.TempDir()
	baseTree(t, base)
	before, err := Snapshot(base)
	if err != nil {
		t.Fatal(err)
	}
	baseLayer, _ := writeLayer(t, base, nil, WriteOptions{})

	// The build step.
	os.RemoveAll(filepath.Join(base, "usr/share/doc"))
	os.Remove(filepath.Join(base, "etc/motd"))
	writeFile(t, filepath.Join(base, "etc/passwd"), "root:x:0:0:new", 0o600)
	writeFile(t, filepath.Join(base, "usr/local/lib/libz.so.1"), "z", 0o755)
	os.Link(filepath.Join(base, "usr/local/lib/libz.so.1"), filepath.Join(base, "usr/local/lib/libz.so"))
	os.RemoveAll(filepath.Join(base, "opt/x"))
	os.Symlink("../etc", filepath.Join(base, "opt/x"))

	changes, err := Diff(base, before)
	if err != nil {
		t.Fatal(err)
	}
	b, res := writeLayer(t, base, changes, WriteOptions{})
	want := `etc/ 5 0755 0:0 ""/"" t=1
etc/.wh.motd 0 0 0:0 ""/"" t=0 ""
etc/passwd 0 0600 0:0 ""/"" t=1 "root:x:0:0:new"
opt/ 5 0755 0:0 ""/"" t=1
opt/x 2 0777 0:0 ""/"" t=1 -> ../etc
usr/ 5 0755 0:0 ""/"" t=1
usr/local/ 5 0755 0:0 ""/"" t=1
usr/local/lib/ 5 0755 0:0 ""/"" t=1
usr/local/lib/libz.so 0 0755 0:0 ""/"" t=1 "z"
usr/local/lib/libz.so.1 1 0755 0:0 ""/"" t=1 -> usr/local/lib/libz.so
usr/share/ 5 0755 0:0 ""/"" t=1
usr/share/.wh.doc 0 0 0:0 ""/"" t=0 ""`
	if got := readLayer(t, b, res); got != want {
		t.Errorf("layer:\n%s\nwant:\n%s", got, want)
	}

	// Base layer and change layer, applied in order, give the tree after
	// the build.
	rebuilt := t.TempDir()
	for _, l := range [][]byte{baseLayer, b} {
		if err := Apply(rebuilt, bytes.NewReader(l), ApplyOptions{Whiteouts: true}); err != nil {
			t.Fatal(err)
		}
	}
	if got, want := describe(t, rebuilt), describe(t, base); got != want {
		t.Errorf("rebuilt tree:\n%s\nwant:\n%s", got, want)
	}
}

// detTree applies the same layer content in a given entry order under the
// given umask, then sets every time to mtime.
func detTree(t *testing.T, umask int, reverse bool, mtime time.Time) string {
	t.Helper()
	rng := rand.New(rand.NewPCG(1, 2))
	big := make([]byte, 3<<20+12345) // several gzip blocks
	for i := range big {
		if i%3 == 0 {
			big[i] = byte(rng.IntN(256))
		} else {
			big[i] = "abcdefgh"[rng.IntN(8)]
		}
	}
	entries := []ent{
		dir("etc", 0o755), file("etc/shadow", "s", 0o600),
		dir("usr/bin", 0o755), file("usr/bin/passwd", "p", 0o4755), hardlink("usr/bin/chsh", "usr/bin/passwd"),
		symlink("bin", "usr/bin"), file("usr/share/big", string(big), 0o644),
		file("var/lib/empty", "", 0o444), dir("tmp", 0o1777),
	}
	if reverse {
		// Children before parents, and the other name of the hard-linked
		// pair carries the content.
		for i, j := 0, len(entries)-1; i < j; i, j = i+1, j-1 {
			entries[i], entries[j] = entries[j], entries[i]
		}
		for i, e := range entries {
			if e.name == "usr/bin/chsh" {
				entries[i] = file("usr/bin/chsh", "p", 0o4755)
			}
			if e.name == "usr/bin/passwd" {
				entries[i] = hardlink("usr/bin/passwd", "usr/bin/chsh")
			}
		}
	}
	root := t.TempDir()
	old := syscall.Umask(umask)
	err := apply(t, root, ApplyOptions{}, entries...)
	syscall.Umask(old)
	if err != nil {
		t.Fatal(err)
	}
	filepath.Walk(root, func(p string, fi os.FileInfo, err error) error {
		if err == nil && fi.Mode()&os.ModeSymlink == 0 {
			os.Chtimes(p, mtime, mtime)
		}
		return nil
	})
	return root
}

func TestWriteDeterministic(t *testing.T) {
	a := detTree(t, 0o022, false, time.Now())
	b := detTree(t, 0o077, true, time.Unix(1e9, 0))
	la, ra := writeLayer(t, a, nil, WriteOptions{})
	lb, rb := writeLayer(t, b, nil, WriteOptions{})
	if ra != rb || !bytes.Equal(la, lb) {
		t.Errorf("same content, different layers: %+v vs %+v", ra, rb)
	}
	if len(la) < 1<<20 {
		t.Errorf("layer of %d bytes: want more than one gzip block", len(la))
	}
	// A different content must give a different layer, else the
	// comparison above proves nothing.
	writeFile(t, filepath.Join(b, "etc/shadow"), "S", 0o600)
	os.Chtimes(filepath.Join(b, "etc/shadow"), time.Unix(1e9, 0), time.Unix(1e9, 0))
	if _, rc := writeLayer(t, b, nil, WriteOptions{}); rc.DiffID == ra.DiffID || rc.Digest == ra.Digest {
		t.Errorf("changed content, same digests %+v", rc)
	}

}

// TestTwoPasses checks that WriteTar then Compress, with the root changed in
// between, give the layer Write gives: Compress does not read the root.
func TestTwoPasses(t *testing.T) {
	root := detTree(t, 0o022, false, time.Now())
	var changes []Change
	if err := walk(root, func(rel string, _ Entry) error {
		changes = append(changes, Change{rel, Added})
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	opts := WriteOptions{SourceDateEpoch: time.Unix(1, 0)}
	want, wantRes := writeLayer(t, root, changes, opts)
	var tarBuf bytes.Buffer
	if err := WriteTar(&tarBuf, root, changes, opts); err != nil {
		t.Fatal(err)
	}
	// The next step of a build changes the root while the layer compresses.
	if err := os.RemoveAll(filepath.Join(root, "etc")); err != nil {
		t.Fatal(err)
	}
	var got bytes.Buffer
	res, err := Compress(&got, &tarBuf, opts)
	if err != nil {
		t.Fatal(err)
	}
	if res != wantRes || !bytes.Equal(got.Bytes(), want) {
		t.Errorf("WriteTar and Compress gave %+v, Write %+v", res, wantRes)
	}
	if err := WriteTar(io.Discard, root, []Change{{"etc/.wh.passwd", Added}}, opts); err == nil {
		t.Error("WriteTar wrote a file named like a whiteout")
	}
}

func TestWriteRejects(t *testing.T) {
	root := t.TempDir()
	writeFile(t, filepath.Join(root, "a"), "a", 0o644)
	if err := unix.Mknod(filepath.Join(root, "sock"), unix.S_IFSOCK|0o644, 0); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("/etc", filepath.Join(root, "link")); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		changes []Change
		opts    WriteOptions
		wantErr string
		want    string
	}{
		{name: "socket left out, as BuildKit does", changes: []Change{{"a", Added}, {"sock", Added}}, want: `a 0 0644 0:0 ""/"" t=1 "a"`},
		{name: "dotdot path", changes: []Change{{"../a", Added}}, wantErr: "leaves the root"},
		{name: "absolute path", changes: []Change{{"/etc/passwd", Modified}}, wantErr: "leaves the root"},
		{name: "missing path", changes: []Change{{"nope", Added}}, wantErr: "no such file"},
		{name: "path through a symlink", changes: []Change{{"link/passwd", Added}}, wantErr: "parent link is not a directory"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var buf bytes.Buffer
			res, err := Write(&buf, root, tc.changes, tc.opts)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error %v, want one containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := readLayer(t, buf.Bytes(), res); got != tc.want {
				t.Errorf("layer:\n%s\nwant:\n%s", got, tc.want)
			}
		})
	}
}
