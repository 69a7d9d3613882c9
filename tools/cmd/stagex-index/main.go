// Command stagex-index joins single-platform OCI image layouts into one
// layout holding a multi-platform image index:
//
//	stagex-index --out DIR [--digest-out FILE] [--name STAGE-NAME] --image DIR --image DIR ...
//
// The stagex_image_index rule runs it; see ociimage.WriteIndex.
package main

import (
	"flag"
	"fmt"
	"os"
	"strings"

	"github.com/stagex/stagex-bazel/tools/internal/ociimage"
)

type list []string

func (l *list) String() string     { return strings.Join(*l, ",") }
func (l *list) Set(v string) error { *l = append(*l, v); return nil }

func main() {
	var images list
	out := flag.String("out", "", "layout directory to write")
	digestOut := flag.String("digest-out", "", "file to write the index digest to")
	flag.Var(&images, "image", "a single-platform image layout (repeatable, in index order)")
	name := flag.String("name", "", "the image's name, <stage>-<name>, for index.json")
	flag.Parse()
	if err := run(*out, *digestOut, *name, images); err != nil {
		fmt.Fprintln(os.Stderr, "stagex-index:", err)
		os.Exit(1)
	}
}

func run(out, digestOut, name string, images []string) error {
	if out == "" || len(images) == 0 {
		return fmt.Errorf("--out and at least one --image are required")
	}
	digest, err := ociimage.WriteIndex(out, images, name)
	if err != nil {
		return err
	}
	if digestOut != "" {
		return os.WriteFile(digestOut, []byte(digest+"\n"), 0o644)
	}
	return nil
}
