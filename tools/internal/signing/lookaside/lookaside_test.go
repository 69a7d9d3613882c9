package lookaside

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

const (
	hex    = "817a12c32a39bbe394944ba49de563e085f1d3c5266eb8e9723256bc4448680e"
	digest = "sha256:" + hex
)

func TestRepoPath(t *testing.T) {
	tests := []struct{ ref, want, wantErr string }{
		{ref: "stagex/core-busybox", want: "stagex/core-busybox"},
		{ref: "docker.io/stagex/core-busybox", want: "stagex/core-busybox"},
		{ref: "busybox", want: "library/busybox"},
		{ref: "busybox:latest", want: "library/busybox"},
		{ref: "localhost:5000/a/b/c:tag", want: "a/b/c"},
		{ref: "localhost/x", want: "x"},
		{ref: "quay.io/stagex/core-make@" + digest, want: "stagex/core-make"},
		{ref: "stagex/../etc", wantErr: "component"},
		{ref: "stagex/Core", wantErr: "component"},
		{ref: "stagex//x", wantErr: "component"},
	}
	for _, tc := range tests {
		got, err := RepoPath(tc.ref)
		if tc.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("RepoPath(%q) = %q, %v; want error %q", tc.ref, got, err, tc.wantErr)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("RepoPath(%q) = %q, %v; want %q", tc.ref, got, err, tc.want)
		}
	}
}

func TestDir(t *testing.T) {
	got, err := Dir("/srv/sigstore", "stagex/core-busybox", digest)
	if err != nil {
		t.Fatal(err)
	}
	if want := "/srv/sigstore/stagex/core-busybox@sha256=" + hex; got != filepath.FromSlash(want) {
		t.Errorf("Dir = %q, want %q", got, want)
	}
	for _, d := range []string{hex, "sha512:" + hex, "sha256:" + hex[:63], "sha256:../" + hex[3:]} {
		if _, err := Dir("/r", "stagex/x", d); err == nil {
			t.Errorf("Dir accepted digest %q", d)
		}
	}
}

func TestAddAndRead(t *testing.T) {
	root := t.TempDir()
	ref := "stagex/core-busybox"
	sigs, err := Read(root, ref, digest)
	if err != nil || len(sigs) != 0 {
		t.Fatalf("empty store: %v, %v", sigs, err)
	}
	for i, data := range []string{"one", "two", "three"} {
		p, err := Add(root, ref, digest, []byte(data))
		if err != nil {
			t.Fatal(err)
		}
		if want := "signature-" + string(rune('1'+i)); filepath.Base(p) != want {
			t.Errorf("Add wrote %s, want %s", p, want)
		}
	}
	dir, _ := Dir(root, ref, digest)
	// A gap ends the list, as in containers/image; Add fills the gap first.
	if err := os.Remove(filepath.Join(dir, "signature-2")); err != nil {
		t.Fatal(err)
	}
	sigs, err = Read(root, ref, digest)
	if err != nil || len(sigs) != 1 || string(sigs[0].Data) != "one" || sigs[0].Index != 1 {
		t.Fatalf("after the gap: %+v, %v", sigs, err)
	}
	p, err := Add(root, ref, digest, []byte("four"))
	if err != nil || filepath.Base(p) != "signature-2" {
		t.Fatalf("Add after the gap wrote %s, %v", p, err)
	}
	sigs, err = Read(root, ref, digest)
	var got []string
	for _, s := range sigs {
		got = append(got, string(s.Data))
	}
	if err != nil || strings.Join(got, ",") != "one,four,three" {
		t.Errorf("Read = %v, %v", got, err)
	}
}

func TestReadSizeLimit(t *testing.T) {
	root := t.TempDir()
	ref := "stagex/core-busybox"
	dir, _ := Dir(root, ref, digest)
	os.MkdirAll(dir, 0o755)
	files := map[string][]byte{
		"signature-1": bytes.Repeat([]byte("x"), MaxSize),
		"signature-2": bytes.Repeat([]byte("x"), MaxSize+1),
	}
	for n, d := range files {
		if err := os.WriteFile(filepath.Join(dir, n), d, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Mkdir(filepath.Join(dir, "signature-3"), 0o755); err != nil {
		t.Fatal(err)
	}
	sigs, err := Read(root, ref, digest)
	if err != nil || len(sigs) != 3 {
		t.Fatalf("Read = %+v, %v", sigs, err)
	}
	if sigs[0].Err != nil || len(sigs[0].Data) != MaxSize {
		t.Errorf("file of exactly MaxSize: %v", sigs[0].Err)
	}
	if !errors.Is(sigs[1].Err, ErrTooLarge) || sigs[1].Data != nil {
		t.Errorf("file over MaxSize: err %v, %d bytes", sigs[1].Err, len(sigs[1].Data))
	}
	if sigs[2].Err == nil {
		t.Error("a directory was read as a signature")
	}
	if _, err := Add(root, ref, digest, files["signature-2"]); !errors.Is(err, ErrTooLarge) {
		t.Errorf("Add of an oversized signature: %v", err)
	}
}

// unblockFIFO opens fifo for writing once the test ends, so that a reader
// stuck opening it (the bug under test) is let go.
func unblockFIFO(t *testing.T, fifo string) {
	t.Cleanup(func() {
		if f, err := os.OpenFile(fifo, os.O_WRONLY|syscall.O_NONBLOCK, 0); err == nil {
			f.Close()
		}
	})
}

// TestReadFIFO: a FIFO as a signature file is rejected, naming it, rather
// than hanging the verifier; the signatures after it are still read.
func TestReadFIFO(t *testing.T) {
	root := t.TempDir()
	ref := "stagex/core-busybox"
	dir, _ := Dir(root, ref, digest)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	fifo := filepath.Join(dir, "signature-1")
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Fatal(err)
	}
	unblockFIFO(t, fifo)
	if err := os.WriteFile(filepath.Join(dir, "signature-2"), []byte("sig"), 0o644); err != nil {
		t.Fatal(err)
	}
	type result struct {
		sigs []Signature
		err  error
	}
	done := make(chan result, 1)
	go func() {
		sigs, err := Read(root, ref, digest)
		done <- result{sigs, err}
	}()
	var r result
	select {
	case r = <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Read still blocks on a FIFO after 5s")
	}
	if r.err != nil || len(r.sigs) != 2 {
		t.Fatalf("Read = %+v, %v", r.sigs, r.err)
	}
	if e := r.sigs[0].Err; e == nil || !strings.Contains(e.Error(), fifo) || !strings.Contains(e.Error(), "FIFO") {
		t.Errorf("FIFO signature: error %v; expected one naming %s as a FIFO", e, fifo)
	}
	if string(r.sigs[1].Data) != "sig" {
		t.Errorf("signature after the FIFO: %q, %v", r.sigs[1].Data, r.sigs[1].Err)
	}
}
