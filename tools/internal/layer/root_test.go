package layer

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// makeRoot builds a tree below a new directory: paths ending in "/" are
// directories, entries with "-> " are symbolic links, the rest files.
func makeRoot(t *testing.T, entries ...string) string {
	t.Helper()
	root := t.TempDir()
	for _, e := range entries {
		name, target, isLink := strings.Cut(e, " -> ")
		p := filepath.Join(root, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		var err error
		switch {
		case isLink:
			err = os.Symlink(target, p)
		case strings.HasSuffix(name, "/"):
			err = os.MkdirAll(p, 0o755)
		default:
			err = os.WriteFile(p, []byte(name), 0o644)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	return root
}

func TestResolvePath(t *testing.T) {
	root := makeRoot(t,
		"usr/lib/f",
		"etc/",
		"lib -> usr/lib",
		"abs -> /usr/lib",
		"up -> ../../../..",
		"host -> /etc",
		"usr/lib/loop -> loop2",
		"usr/lib/loop2 -> loop",
		"usr/lib/parent -> ..",
		"flink -> usr/lib/f",
		"fslash -> usr/lib/f/",
		"gone -> missing/../../../../../etc",
		"absgone -> /missing/../../..",
		"through -> usr/lib/f/x",
	)
	tests := []struct {
		in, want, err string
	}{
		{in: "/usr/lib/f", want: "usr/lib/f"},
		{in: "usr/lib/f", want: "usr/lib/f"},
		{in: "/lib/f", want: "usr/lib/f"},
		{in: "/abs/f", want: "usr/lib/f"},
		{in: "/up/usr/lib/f", want: "usr/lib/f"},
		{in: "/../../usr/lib/f", want: "usr/lib/f"},
		{in: "/host/passwd", want: "etc/passwd"}, // the root's /etc, not the host's
		{in: "/lib/parent/lib/f", want: "usr/lib/f"},
		{in: "/lib/missing/x/y", want: "usr/lib/missing/x/y"},
		{in: "/", want: ""},
		{in: "", want: ""},
		{in: "/flink", want: "usr/lib/f"},  // the last component is followed
		{in: "/fslash", want: "usr/lib/f"}, // as it was before layer resolved paths
		{in: "/lib/../etc", want: "etc"},   // cleaned before it is resolved
		{in: "/lib/loop/x", err: "too many levels of symbolic links"},
		{in: "/usr/lib/f/x", err: "not a directory"}, // a file in the middle
		{in: "/through", err: "not a directory"},
		// A ".." after a missing component must not climb out of root
		// once the path is cleaned.
		{in: "/gone/passwd", err: "no such file"},
		{in: "/absgone", err: "no such file"},
	}
	for _, tt := range tests {
		got, err := ResolvePath(root, tt.in)
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("ResolvePath(%q) = %q, %v; want error %q", tt.in, got, err, tt.err)
			}
			continue
		}
		if want := filepath.Join(root, tt.want); err != nil || got != want {
			t.Errorf("ResolvePath(%q) = %q, %v; want %q", tt.in, got, err, want)
		}
	}
	if _, err := ResolvePath(filepath.Join(root, "nonexistent"), "/x"); err == nil {
		t.Error("ResolvePath in a missing root succeeded")
	}
}
