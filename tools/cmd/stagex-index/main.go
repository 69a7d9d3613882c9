// Command stagex-index joins single-platform OCI image layouts into one
// layout holding a multi-platform image index:
//
//	stagex-index --out DIR [--digest-out FILE] --image DIR --image DIR ... [--annotation K=V ...]
//
// The stagex_image_index rule runs it; see ociimage.WriteIndex.
package main

import (
	"flag"
	"fmt"
	"os"
	"strings"

	"github.com/stagex/stagex-bazel/tools/ociimage"
)

type list []string

func (l *list) String() string     { return strings.Join(*l, ",") }
func (l *list) Set(v string) error { *l = append(*l, v); return nil }

func main() {
	var images, annotations list
	out := flag.String("out", "", "layout directory to write")
	digestOut := flag.String("digest-out", "", "file to write the index digest to")
	flag.Var(&images, "image", "a single-platform image layout (repeatable, in index order)")
	flag.Var(&annotations, "annotation", "KEY=VALUE annotation on the index (repeatable)")
	flag.Parse()
	if err := run(*out, *digestOut, images, annotations); err != nil {
		fmt.Fprintln(os.Stderr, "stagex-index:", err)
		os.Exit(1)
	}
}

func run(out, digestOut string, images, annotations []string) error {
	if out == "" || len(images) == 0 {
		return fmt.Errorf("--out and at least one --image are required")
	}
	ann := map[string]string{}
	for _, a := range annotations {
		k, v, ok := strings.Cut(a, "=")
		if !ok || k == "" {
			return fmt.Errorf("--annotation %q: expected KEY=VALUE", a)
		}
		ann[k] = v
	}
	digest, err := ociimage.WriteIndex(out, images, ann)
	if err != nil {
		return err
	}
	if digestOut != "" {
		return os.WriteFile(digestOut, []byte(digest+"\n"), 0o644)
	}
	return nil
}
