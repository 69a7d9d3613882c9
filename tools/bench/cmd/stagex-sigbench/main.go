// Command stagex-sigbench prints how long verifying a release's signatures
// takes: by default 450 images with 3 maintainer signatures each, for each
// key algorithm, and fails when a run is slower than -limit.
//
//	bazel run //tools/internal/signing:bench [-- -images 450 -signers 3 -runs 5 -limit 2s]
package main

import (
	"flag"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/stagex/stagex-bazel/tools/bench/sigbench"
)

func main() {
	images := flag.Int("images", 450, "number of images")
	signers := flag.Int("signers", 3, "number of maintainer keys, each signing every image")
	algos := flag.String("algorithms", strings.Join(sigbench.Algorithms, ","), "comma-separated key algorithms")
	runs := flag.Int("runs", 5, "verification runs per algorithm")
	limit := flag.Duration("limit", 2*time.Second, "fail when the best run takes longer")
	flag.Parse()
	slow := false
	for _, algo := range strings.Split(*algos, ",") {
		dir, err := os.MkdirTemp("", "stagex-sigbench")
		if err != nil {
			fail(err)
		}
		res, err := sigbench.Run(sigbench.Options{Dir: dir, Images: *images, Signers: *signers, Algorithm: algo, Runs: *runs})
		os.RemoveAll(dir)
		if err != nil {
			fail(err)
		}
		verdict := "within"
		if res.Best > *limit {
			verdict, slow = "OVER", true
		}
		fmt.Printf("%s: %s the %s limit\n", res, verdict, *limit)
	}
	if slow {
		os.Exit(1)
	}
}

func fail(err error) {
	fmt.Fprintf(os.Stderr, "stagex-sigbench: %v\n", err)
	os.Exit(1)
}
