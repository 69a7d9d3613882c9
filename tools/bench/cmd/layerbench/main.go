// Command layerbench measures layer writing: it generates a tree of mixed
// files, writes it as a gzip layer with both digests, and compares the
// throughput with plain sha256 over the same bytes.
//
//	layerbench [--dir DIR] [--size 1GiB] [--seed N] [--keep]
package main

import (
	"flag"
	"fmt"
	"os"
	"runtime"

	"github.com/stagex/stagex-bazel/tools/bench/layerbench"
)

func main() {
	dir := flag.String("dir", "", "directory in which to make the tree (default: the system's temporary directory)")
	sizeFlag := flag.String("size", "1GiB", "bytes of file content to generate (e.g. 8MiB, 1GiB)")
	seed := flag.Uint64("seed", 1, "seed of the generated tree")
	keep := flag.Bool("keep", false, "keep the generated tree")
	flag.Parse()
	if err := run(*dir, *sizeFlag, *seed, *keep); err != nil {
		fmt.Fprintln(os.Stderr, "layerbench:", err)
		os.Exit(1)
	}
}

func run(dir, sizeFlag string, seed uint64, keep bool) error {
	size, err := layerbench.ParseSize(sizeFlag)
	if err != nil {
		return err
	}
	tree, err := os.MkdirTemp(dir, "layerbench-")
	if err != nil {
		return err
	}
	if !keep {
		defer os.RemoveAll(tree)
	}
	tr, err := layerbench.Generate(tree, size, seed)
	if err != nil {
		return err
	}
	r, err := layerbench.Measure(tree, tr)
	if err != nil {
		return err
	}
	fmt.Printf("dir:    %s\nprocs:  %d\n%v", tree, runtime.GOMAXPROCS(0), r)
	return nil
}
