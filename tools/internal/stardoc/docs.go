package stardoc

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/stagex/stagex-bazel/tools/internal/atomicfile"
)

// Doc is one document: the binary proto starlark_doc_extract wrote for a
// .bzl file, the header template that names it, and the Markdown file.
type Doc struct {
	Proto, Header, Out string
}

// ParseDoc reads a Doc written PROTO=HEADER=OUT.
func ParseDoc(s string) (Doc, error) {
	parts := strings.Split(s, "=")
	if len(parts) != 3 || parts[0] == "" || parts[1] == "" || parts[2] == "" {
		return Doc{}, fmt.Errorf("%q: expected PROTO=HEADER=OUT", s)
	}
	return Doc{Proto: parts[0], Header: parts[1], Out: parts[2]}, nil
}

// Update renders every document and then writes them, each replaced whole;
// a relative Out is taken from workspace when that is not empty. Nothing is
// written unless every document rendered.
func (r Renderer) Update(docs []Doc, workspace string) error {
	if len(docs) == 0 {
		return fmt.Errorf("no documents to render")
	}
	outs := make([]string, len(docs))
	texts := make([][]byte, len(docs))
	seen := map[string]bool{}
	for i, d := range docs {
		out := d.Out
		if workspace != "" && !filepath.IsAbs(out) {
			out = filepath.Join(workspace, out)
		}
		if seen[out] {
			return fmt.Errorf("%s is written twice", out)
		}
		seen[out] = true
		text, err := r.rendered(d)
		if err != nil {
			return err
		}
		outs[i], texts[i] = out, text
	}
	for i, out := range outs {
		if err := atomicfile.WriteFile(out, texts[i], 0o644); err != nil {
			return err
		}
	}
	return nil
}

// Check renders d and compares the result with the committed d.Out. It
// returns "" when they are equal, and otherwise where they first differ.
func (r Renderer) Check(d Doc) (string, error) {
	committed, err := os.ReadFile(d.Out)
	if err != nil {
		return "", err
	}
	got, err := r.rendered(d)
	if err != nil {
		return "", err
	}
	return Diff(committed, got), nil
}

// rendered renders d into a temporary file and returns what it holds.
func (r Renderer) rendered(d Doc) ([]byte, error) {
	dir, err := os.MkdirTemp("", "stardoc-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	out := filepath.Join(dir, filepath.Base(d.Out))
	if err := r.Render(d.Proto, d.Header, out); err != nil {
		return nil, err
	}
	return os.ReadFile(out)
}

// Diff returns "" when committed and rendered are equal, and otherwise the
// first line where they differ, both versions of it.
func Diff(committed, rendered []byte) string {
	if bytes.Equal(committed, rendered) {
		return ""
	}
	a := strings.SplitAfter(string(committed), "\n")
	b := strings.SplitAfter(string(rendered), "\n")
	for i := 0; ; i++ {
		var x, y string
		if i < len(a) {
			x = a[i]
		}
		if i < len(b) {
			y = b[i]
		}
		if x != y {
			return fmt.Sprintf("line %d differs:\n  committed: %s\n  rendered:  %s", i+1, show(x), show(y))
		}
	}
}

// show quotes a line for Diff, naming the end of the file.
func show(line string) string {
	if line == "" {
		return "(end of file)"
	}
	return fmt.Sprintf("%q", line)
}
