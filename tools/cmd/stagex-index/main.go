// Command stagex-index joins single-platform OCI image layouts into one
// layout holding a multi-platform image index:
//
//	stagex-index --out DIR [--digest-out FILE] [--name STAGE-NAME] --image DIR --image DIR ...
//
// The stagex_image_index rule runs it; see ociimage.WriteIndex.
package main

import (
	"io"
	"os"

	"github.com/stagex/stagex-bazel/tools/internal/cli"
	"github.com/stagex/stagex-bazel/tools/internal/ociimage"
)

const usage = "usage: stagex-index --out DIR [--digest-out FILE] [--name STAGE-NAME] --image DIR --image DIR ..."

func main() {
	os.Exit(cli.Exit("stagex-index", run(os.Args[1:], os.Stderr), os.Stderr))
}

func run(args []string, stderr io.Writer) error {
	var out, digestOut, name string
	var images cli.Strings
	fs := cli.NewFlagSet("stagex-index", usage, stderr)
	fs.StringVar(&out, "out", "", "layout directory to write")
	fs.StringVar(&digestOut, "digest-out", "", "file to write the index digest to")
	fs.Var(&images, "image", "a single-platform image layout (repeatable, in index order)")
	fs.StringVar(&name, "name", "", "the image's name, <tier>-<name>, for index.json")
	if err := cli.Parse(fs, args); err != nil {
		return err
	}
	if out == "" || len(images) == 0 {
		return cli.Usagef("--out and at least one --image are required")
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
