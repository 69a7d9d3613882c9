package regfile

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestOpen(t *testing.T) {
	dir := t.TempDir()
	regular := filepath.Join(dir, "regular")
	if err := os.WriteFile(regular, []byte("content"), 0o644); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(dir, "link")
	if err := os.Symlink(regular, link); err != nil {
		t.Fatal(err)
	}
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, path string
		max        int64
		err        []string // nil: reads "content"
	}{
		{"regular", regular, 100, nil},
		{"exactly the limit", regular, 7, nil},
		{"symbolic link to a regular file", link, 100, nil},
		{"over the limit", regular, 6, []string{regular, "larger than 6 bytes"}},
		{"FIFO", fifo, 100, []string{fifo, "FIFO", "expected a regular file"}},
		{"directory", dir, 100, []string{dir, "directory", "expected a regular file"}},
		{"device", "/dev/null", 100, []string{"/dev/null", "device", "expected a regular file"}},
		{"missing", filepath.Join(dir, "none"), 100, []string{"none"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			done := make(chan struct{})
			var data []byte
			var err error
			go func() {
				data, err = ReadFile(tc.path, tc.max)
				close(done)
			}()
			select {
			case <-done:
			case <-time.After(5 * time.Second):
				t.Fatalf("ReadFile(%s) still blocks after 5s", tc.path)
			}
			if tc.err == nil {
				if err != nil || string(data) != "content" {
					t.Errorf("ReadFile = %q, %v", data, err)
				}
				return
			}
			if err == nil {
				t.Fatalf("ReadFile(%s) succeeded", tc.path)
			}
			for _, w := range tc.err {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
		})
	}
	if _, err := ReadFile(filepath.Join(dir, "none"), 1); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: error %v is not os.ErrNotExist", err)
	}
	var nr *NotRegularError
	if _, _, err := Open(fifo); !errors.As(err, &nr) || nr.Mode&os.ModeNamedPipe == 0 {
		t.Errorf("Open(FIFO) error %v; expected a *NotRegularError for a named pipe", err)
	}
}
