// Command benchtree writes a StageX-shaped tree of packages for the Gazelle
// benchmark (tools/bench/gazelle.sh):
//
//	benchtree -out DIR [-packages 450] [-seed 1]
package main

import (
	"flag"
	"fmt"
	"os"

	"github.com/stagex/stagex-bazel/tools/bench/benchtree"
)

func main() {
	out := flag.String("out", "", "directory to write the tree into")
	n := flag.Int("packages", 450, "number of packages")
	seed := flag.Int64("seed", 1, "random seed")
	flag.Parse()
	if *out == "" {
		fmt.Fprintln(os.Stderr, "benchtree: -out is required")
		os.Exit(2)
	}
	dirs, err := benchtree.Generate(*out, benchtree.Options{Packages: *n, Seed: *seed})
	if err != nil {
		fmt.Fprintln(os.Stderr, "benchtree:", err)
		os.Exit(1)
	}
	fmt.Printf("wrote %d packages under %s\n", len(dirs), *out)
}
