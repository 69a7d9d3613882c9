package ociimage

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

func mustHash(t *testing.T, s string) v1.Hash {
	t.Helper()
	h, err := v1.NewHash(s)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// wantAll fails unless err is set and its message holds every one of want.
func wantAll(t *testing.T, what string, err error, want []string) {
	t.Helper()
	if err == nil {
		t.Errorf("%s succeeded; want an error with %q", what, want)
		return
	}
	for _, w := range want {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("%s: error %q lacks %q", what, err, w)
		}
	}
}

func TestOpenBlob(t *testing.T) {
	content := bytes.Repeat([]byte("stagex blob "), 1000)
	other := bytes.Clone(content)
	other[len(other)-1] ^= 1 // same size, differs in the last byte only
	good := mustHash(t, sha(content))
	size := int64(len(content))

	dir := t.TempDir()
	write := func(name string, data []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	goodPath := write("good", content)
	link := filepath.Join(dir, "link")
	if err := os.Symlink(goodPath, link); err != nil {
		t.Fatal(err)
	}
	emptyPath := write("empty", nil)

	tests := []struct {
		name    string
		path    string
		h       v1.Hash
		size    int64
		openErr []string // the error OpenBlob gives, if any
		readErr []string // the error reading gives, if any
	}{
		{name: "good blob", path: goodPath, h: good, size: size},
		{name: "through a symbolic link", path: link, h: good, size: size},
		{name: "empty blob", path: emptyPath, h: mustHash(t, sha(nil)), size: 0},
		{name: "truncated", path: write("short", content[:size-1]), h: good, size: size,
			openErr: []string{filepath.Join(dir, "short") + ": size mismatch", "expected 12000 bytes, the file has 11999"}},
		{name: "longer than declared", path: write("long", append(bytes.Clone(content), 'x')), h: good, size: size,
			openErr: []string{filepath.Join(dir, "long") + ": size mismatch", "expected 12000 bytes, the file has 12001"}},
		{name: "wrong content, same size", path: write("other", other), h: good, size: size,
			readErr: []string{filepath.Join(dir, "other") + ": content does not match its digest", "expected " + good.String(), "got " + sha(other)}},
		{name: "empty blob, wrong digest", path: emptyPath, h: good, size: 0,
			openErr: []string{emptyPath + ": content does not match its digest", "expected " + good.String(), "got " + sha(nil)}},
		{name: "missing file", path: filepath.Join(dir, "missing"), h: good, size: size,
			openErr: []string{filepath.Join(dir, "missing"), "no such file"}},
		{name: "directory", path: dir, h: good, size: size, openErr: []string{"blob " + good.String(), dir + " is a directory, expected a regular file"}},
		{name: "not sha256", path: goodPath, h: v1.Hash{Algorithm: "sha512", Hex: good.Hex}, size: size,
			openErr: []string{goodPath, "only sha256"}},
		{name: "negative size", path: goodPath, h: good, size: -1, openErr: []string{goodPath, "negative blob size"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := OpenBlob(tt.path, tt.h, tt.size)
			if tt.openErr != nil {
				wantAll(t, "OpenBlob", err, tt.openErr)
				if r != nil {
					t.Error("OpenBlob returned a reader with its error")
				}
				return
			}
			if err != nil {
				t.Fatalf("OpenBlob: %v", err)
			}
			defer r.Close()
			// Read exactly size bytes, as a client that knows the length
			// does: the digest is checked at the last byte, not only at EOF.
			buf := make([]byte, tt.size)
			n, err := io.ReadFull(r, buf)
			if tt.readErr != nil {
				wantAll(t, "reading up to the last byte", err, tt.readErr)
				if int64(n) == tt.size {
					t.Errorf("the bad blob was handed out whole (%d bytes)", n)
				}
				// The error stays.
				_, again := r.Read(make([]byte, 10))
				wantAll(t, "reading after the error", again, tt.readErr)
				return
			}
			if err != nil {
				t.Fatalf("reading %d bytes: %v", tt.size, err)
			}
			rest, err := io.ReadAll(r)
			if err != nil || len(rest) != 0 {
				t.Errorf("reading past the last byte = %d bytes, %v; want 0, nil", len(rest), err)
			}
			if want, _ := os.ReadFile(tt.path); !bytes.Equal(buf, want) {
				t.Error("read other bytes than the file holds")
			}
		})
	}
}

// TestOpenBlobChangedWhileRead covers a file that grows or shrinks after
// OpenBlob checked its size: reading still fails.
func TestOpenBlobChangedWhileRead(t *testing.T) {
	content := bytes.Repeat([]byte("0123456789"), 100)
	h := mustHash(t, sha(content))
	size := int64(len(content))
	tests := []struct {
		name   string
		change func(path string) error
		want   []string
	}{
		{"grown", func(p string) error {
			f, err := os.OpenFile(p, os.O_APPEND|os.O_WRONLY, 0)
			if err != nil {
				return err
			}
			if _, err := f.Write([]byte("more")); err != nil {
				return err
			}
			return f.Close()
		}, []string{"size mismatch: expected 1000 bytes, the file has more"}},
		{"truncated", func(p string) error { return os.Truncate(p, size-10) },
			[]string{"size mismatch: expected 1000 bytes, read 990"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "blob")
			if err := os.WriteFile(path, content, 0o644); err != nil {
				t.Fatal(err)
			}
			r, err := OpenBlob(path, h, size)
			if err != nil {
				t.Fatal(err)
			}
			defer r.Close()
			if err := tt.change(path); err != nil {
				t.Fatal(err)
			}
			got, err := io.ReadAll(r)
			wantAll(t, "ReadAll", err, append([]string{path + ": "}, tt.want...))
			if int64(len(got)) > size {
				t.Errorf("handed out %d bytes, more than the %d declared", len(got), size)
			}
		})
	}
}

func TestReadBlob(t *testing.T) {
	dir := t.TempDir()
	doc := []byte(`{"schemaVersion":2}`)
	h := mustHash(t, sha(doc))
	path := filepath.Join(dir, "doc")
	if err := os.WriteFile(path, doc, 0o644); err != nil {
		t.Fatal(err)
	}
	big := make([]byte, MaxJSONBlobSize+1)
	bigPath := filepath.Join(dir, "big")
	if err := os.WriteFile(bigPath, big, 0o644); err != nil {
		t.Fatal(err)
	}
	bigHash := mustHash(t, sha(big))
	wrong := mustHash(t, sha([]byte("other")))

	tests := []struct {
		name string
		path string
		h    v1.Hash
		size int64
		want []string // error parts; none for success
	}{
		{name: "size given", path: path, h: h, size: int64(len(doc))},
		{name: "size unknown", path: path, h: h, size: UnknownSize},
		{name: "wrong digest", path: path, h: wrong, size: int64(len(doc)),
			want: []string{path + ": content does not match its digest", "expected " + wrong.String(), "got " + h.String()}},
		{name: "wrong digest, size unknown", path: path, h: wrong, size: UnknownSize,
			want: []string{path + ": content does not match its digest", "expected " + wrong.String(), "got " + h.String()}},
		{name: "wrong size", path: path, h: h, size: 3, want: []string{path + ": size mismatch", "expected 3 bytes"}},
		{name: "declared too large", path: bigPath, h: bigHash, size: int64(len(big)), want: []string{bigPath, "at most"}},
		{name: "too large, size unknown", path: bigPath, h: bigHash, size: UnknownSize, want: []string{bigPath + ": larger than"}},
		{name: "missing", path: filepath.Join(dir, "missing"), h: h, size: UnknownSize, want: []string{filepath.Join(dir, "missing"), "no such file"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ReadBlob(tt.path, tt.h, tt.size)
			if tt.want != nil {
				wantAll(t, "ReadBlob", err, tt.want)
				return
			}
			if err != nil || !bytes.Equal(got, doc) {
				t.Errorf("ReadBlob = %q, %v; want %q", got, err, doc)
			}
		})
	}
}

func TestBlobPath(t *testing.T) {
	h := mustHash(t, sha([]byte("x")))
	if got, want := BlobPath("/l", h), "/l/blobs/sha256/"+h.Hex; got != want {
		t.Errorf("BlobPath = %q, want %q", got, want)
	}
}

// errors.Is must see through the wrapping of a missing file, for callers
// that treat absence differently.
func TestOpenBlobMissingIsNotExist(t *testing.T) {
	_, err := OpenBlob(filepath.Join(t.TempDir(), "none"), mustHash(t, sha(nil)), 0)
	if !errors.Is(err, os.ErrNotExist) {
		t.Errorf("error %v is not os.ErrNotExist", err)
	}
}

// TestOpenBlobFIFO: a FIFO as a blob fails at once, naming it, rather than
// hanging the reader.
func TestOpenBlobFIFO(t *testing.T) {
	fifo := filepath.Join(t.TempDir(), "blob")
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { // let a reader stuck opening it go
		if f, err := os.OpenFile(fifo, os.O_WRONLY|syscall.O_NONBLOCK, 0); err == nil {
			f.Close()
		}
	})
	for _, size := range []int64{0, 10, UnknownSize} {
		done := make(chan error, 1)
		go func() {
			if size == UnknownSize {
				_, err := ReadBlob(fifo, mustHash(t, sha(nil)), size)
				done <- err
				return
			}
			r, err := OpenBlob(fifo, mustHash(t, sha(nil)), size)
			if err == nil {
				r.Close()
			}
			done <- err
		}()
		select {
		case err := <-done:
			wantAll(t, fmt.Sprintf("reading a FIFO blob of size %d", size), err, []string{fifo, "FIFO"})
		case <-time.After(5 * time.Second):
			t.Fatalf("size %d: opening a FIFO blob still blocks after 5s", size)
		}
	}
}
