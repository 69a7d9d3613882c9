package sandbox

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stagex/stagex-bazel/tools/internal/diag"
)

const testPasswd = `root:x:0:0:root:/root:/bin/sh
# a comment
bin:x:1:1:bin:/bin:/sbin/nologin

builder:x:1000:1000::/home/builder:/bin/sh
dup:x:1000:7::/:/bin/sh
nobody:x:65534:65534::/:/bin/false
`

const testGroup = `root:x:0:root
bin:x:1:root,bin
wheel:x:10:root,builder
audio:x:29:builder
builder:x:1000:
wheel2:x:10:builder
`

func TestResolveUser(t *testing.T) {
	passwd, err := readDB("passwd", strings.NewReader(testPasswd), false)
	if err != nil {
		t.Fatal(err)
	}
	group, err := readDB("group", strings.NewReader(testGroup), true)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		spec    string
		want    Identity
		wantErr string
	}{
		{spec: "", want: Identity{0, 0, []uint32{0, 1, 10}}},
		{spec: "root", want: Identity{0, 0, []uint32{0, 1, 10}}},
		{spec: "0", want: Identity{0, 0, []uint32{0, 1, 10}}},
		{spec: "builder", want: Identity{1000, 1000, []uint32{10, 29}}},
		{spec: "1000", want: Identity{1000, 1000, []uint32{10, 29}}}, // first passwd match wins
		{spec: "dup", want: Identity{1000, 7, nil}},
		{spec: "builder:audio", want: Identity{1000, 29, nil}},
		{spec: "builder:1", want: Identity{1000, 1, nil}},
		{spec: "builder:5555", want: Identity{1000, 5555, nil}},
		{spec: "4242", want: Identity{4242, 0, nil}},
		{spec: "4242:wheel", want: Identity{4242, 10, nil}},
		{spec: "4242:4343", want: Identity{4242, 4343, nil}},
		{spec: "ghost", wantErr: `no user "ghost" in /etc/passwd`},
		{spec: "root:ghosts", wantErr: `no group "ghosts" in /etc/group`},
		{spec: ":wheel", wantErr: "empty user name"},
		{spec: "root:", wantErr: "empty group name"},
		{spec: "99999999999", wantErr: `no user "99999999999"`},
	}
	for _, tt := range tests {
		t.Run(tt.spec, func(t *testing.T) {
			got, err := resolveUser(tt.spec, passwd, group)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("resolveUser(%q) = %+v, %v; want error containing %q", tt.spec, got, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("resolveUser(%q): %v", tt.spec, err)
			}
			if got.UID != tt.want.UID || got.GID != tt.want.GID || !slices.Equal(got.Groups, tt.want.Groups) {
				t.Errorf("resolveUser(%q) = %+v, want %+v", tt.spec, got, tt.want)
			}
		})
	}
}

func TestResolveUserWithoutFiles(t *testing.T) {
	got, err := resolveUser("", nil, nil)
	if err != nil || got.UID != 0 || got.GID != 0 || len(got.Groups) != 0 {
		t.Errorf("empty USER with no passwd: %+v, %v; want 0:0 and no groups", got, err)
	}
	got, err = resolveUser("12:34", nil, nil)
	if err != nil || got.UID != 12 || got.GID != 34 {
		t.Errorf("numeric USER with no passwd: %+v, %v; want 12:34", got, err)
	}
	if _, err := resolveUser("builder", nil, nil); err == nil {
		t.Errorf("named USER with no passwd: want an error")
	}
}

// TestLookupUserFIFO checks that a FIFO where /etc/passwd or /etc/group
// should be (a step can make one) fails at once, naming it, instead of
// blocking the build on a read that no writer will ever answer.
func TestLookupUserFIFO(t *testing.T) {
	for _, which := range []string{"passwd", "group"} {
		t.Run(which, func(t *testing.T) {
			dir := t.TempDir()
			passwd, group := filepath.Join(dir, "passwd"), filepath.Join(dir, "group")
			if err := os.WriteFile(passwd, []byte("builder:x:1000:1000::/home/builder:/bin/sh\n"), 0o644); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(group, []byte("builder:x:1000:\n"), 0o644); err != nil {
				t.Fatal(err)
			}
			fifo := filepath.Join(dir, which)
			os.Remove(fifo)
			if err := syscall.Mkfifo(fifo, 0o644); err != nil {
				t.Fatal(err)
			}
			done := make(chan error, 1)
			go func() {
				_, err := LookupUser("builder", passwd, group)
				done <- err
			}()
			select {
			case err := <-done:
				if err == nil || !strings.Contains(err.Error(), fifo) || !strings.Contains(err.Error(), "FIFO") {
					t.Errorf("LookupUser with a FIFO as %s: %v; want an error naming it as a FIFO", which, err)
				}
			case <-time.After(5 * time.Second):
				t.Fatalf("LookupUser blocked on a FIFO as %s", which)
			}
		})
	}
}

func TestReadDBErrors(t *testing.T) {
	tests := []struct {
		name    string
		text    string
		isGroup bool
		line    int
		wantMsg string
	}{
		{"short passwd line", "root:x:0:0:root:/root:/bin/sh\nbroken:x:1\n", false, 2, "expected name:password:uid:gid"},
		{"bad uid", "\n# c\nbad:x:abc:0::/:/bin/sh\n", false, 3, `uid "abc" is not a number`},
		{"bad gid", "bad:x:1:-1::/:/bin/sh\n", false, 1, `gid "-1" is not a number`},
		{"short group line", "root:x:0:\nwheel\n", true, 2, "expected name:password:gid"},
		{"bad group gid", "a:x:1:\nb:x:1:\nc:x:z:\n", true, 3, `gid "z" is not a number`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := readDB("/etc/db", strings.NewReader(tt.text), tt.isGroup)
			file, line, ok := diag.At(err)
			if !ok || file != "/etc/db" || line != tt.line {
				t.Fatalf("error %v at %s:%d (ok=%v), want /etc/db:%d", err, file, line, ok, tt.line)
			}
			if !strings.Contains(err.Error(), tt.wantMsg) {
				t.Errorf("error %q does not say %q", err, tt.wantMsg)
			}
		})
	}
}
