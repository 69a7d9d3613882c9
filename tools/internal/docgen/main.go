package docgen

import (
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/stagex/stagex-bazel/tools/internal/cli"
)

// Main runs docgen with args (without the program name): each
// `--doc IN=OUT=TITLE` renders the textproto IN into OUT. A relative OUT is
// taken from workspace when that is not empty. Every input is read and
// rendered before any output is written.
func Main(args []string, workspace string) error {
	fs := flag.NewFlagSet("docgen", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	var docs cli.Strings
	fs.Var(&docs, "doc", "IN=OUT=TITLE: render IN (starlark_doc_extract's textproto) into OUT (repeatable)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 || len(docs) == 0 {
		return fmt.Errorf("usage: docgen --doc IN.textproto=OUT.md=TITLE [--doc ...]")
	}
	outs := map[string]string{}
	var order []string
	for _, d := range docs {
		parts := strings.SplitN(d, "=", 3)
		if len(parts) != 3 || parts[0] == "" || parts[1] == "" || parts[2] == "" {
			return fmt.Errorf("--doc %q: expected IN=OUT=TITLE", d)
		}
		in, out, title := parts[0], parts[1], parts[2]
		data, err := os.ReadFile(in)
		if err != nil {
			return err
		}
		m, err := ParseText(in, string(data))
		if err != nil {
			return err
		}
		source := m.Get("file")
		if source == "" {
			source = filepath.Base(in)
		}
		if workspace != "" && !filepath.IsAbs(out) {
			out = filepath.Join(workspace, out)
		}
		if _, dup := outs[out]; dup {
			return fmt.Errorf("%s is written twice", out)
		}
		outs[out] = Render(title, source, m)
		order = append(order, out)
	}
	for _, out := range order {
		if err := os.WriteFile(out, []byte(outs[out]), 0o644); err != nil {
			return err
		}
	}
	return nil
}
