// Package cli holds the command-line front ends of stagex-sign and
// stagex-verify, so that their mains stay one line and their flag handling
// is testable.
package cli

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/stagex/stagex-bazel/tools/internal/pinmanifest"
	"github.com/stagex/stagex-bazel/tools/internal/signing"
	"github.com/stagex/stagex-bazel/tools/internal/signing/trust"
)

// Exit codes of both commands.
const (
	ExitOK     = 0
	ExitFailed = 1 // verification failed, signing refused, bad input
	ExitUsage  = 2 // wrong flags
)

type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error { return usageError{fmt.Sprintf(format, args...)} }

func finish(name string, err error, stderr io.Writer) int {
	if err == nil {
		return ExitOK
	}
	fmt.Fprintf(stderr, "%s: %v\n", name, err)
	var ue usageError
	if errors.As(err, &ue) {
		fmt.Fprintf(stderr, "run %s -h for usage\n", name)
		return ExitUsage
	}
	return ExitFailed
}

// EnterWorkingDirectory moves to the directory `bazel run` was started
// from ($BUILD_WORKING_DIRECTORY), so that relative paths on the command line
// mean what the user meant rather than paths in the runfiles tree. Outside
// `bazel run` it does nothing.
func EnterWorkingDirectory() error {
	dir := os.Getenv("BUILD_WORKING_DIRECTORY")
	if dir == "" {
		return nil
	}
	return os.Chdir(dir)
}

// Sign runs stagex-sign with args (without the program name) and returns
// its exit code.
func Sign(args []string, stdout, stderr io.Writer) int {
	return finish("stagex-sign", runSign(args, stdout, stderr), stderr)
}

func runSign(args []string, stdout, stderr io.Writer) error {
	if slices.Contains(args, "--build") {
		return signBuilt(args, stdout, stderr)
	}
	fs := flag.NewFlagSet("stagex-sign", flag.ContinueOnError)
	fs.SetOutput(stderr)
	keyFile := fs.String("key", "", "armored OpenPGP secret key file of the maintainer (required)")
	passFile := fs.String("passphrase-file", "", "file whose first line is the key's passphrase")
	passFD := fs.Int("passphrase-fd", -1, "file descriptor to read the key's passphrase from")
	var pinFiles, layouts multiFlag
	fs.Var(&pinFiles, "digests", "pinned digests file, e.g. digests/core.txt (repeatable)")
	root := fs.String("root", "", "source tree whose digests/<stage>.txt pin the built images (instead of --digests); the store defaults to ROOT/signatures")
	fs.Var(&layouts, "layout", "NAME=DIR: an image built by this maintainer, as an OCI layout directory (repeatable)")
	built := fs.String("built", "", "digests file of this maintainer's own build")
	store := fs.String("store", "", "root of the signature store (lookaside layout)")
	prefix := fs.String("repository-prefix", "stagex", "repository prefix of the signed identities")
	stamp := fs.String("timestamp", "", "signature time in Unix seconds (default: $SOURCE_DATE_EPOCH, else now)")
	fs.Usage = func() {
		fmt.Fprintln(stderr, `usage: stagex-sign --key FILE [--passphrase-file FILE | --passphrase-fd N]
         (--digests FILE ... | --root DIR) (--layout NAME=DIR ... | --built FILE)
         [--store DIR] [--repository-prefix stagex] [--timestamp SECONDS]

Signs the pinned digest of every image that was built (--layout, --built)
and whose built digest equals its pin; any difference refuses the whole run.`)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return usageError{err.Error()}
	}
	if fs.NArg() > 0 {
		return usagef("unexpected argument %q", fs.Arg(0))
	}
	if *keyFile == "" {
		return usagef("--key is required")
	}
	if (len(pinFiles) > 0) == (*root != "") {
		return usagef("give the pins with --digests FILE or --root DIR (one of them)")
	}
	if len(layouts) == 0 && *built == "" {
		return usagef("give the built images with --layout NAME=DIR or --built FILE: only digests this maintainer built are signed")
	}
	if *store == "" {
		if *root == "" {
			return usagef("--store is required with --digests")
		}
		*store = filepath.Join(*root, "signatures")
	}
	if *passFile != "" && *passFD >= 0 {
		return usagef("give the passphrase with --passphrase-file or --passphrase-fd, not both")
	}
	when, err := signTime(*stamp)
	if err != nil {
		return err
	}
	builds, err := builtImages(layouts, *built)
	if err != nil {
		return err
	}
	if *root != "" {
		names := make([]string, len(builds))
		for i, b := range builds {
			names[i] = b.Name
		}
		if pinFiles, err = signing.PinsUnder(*root, names); err != nil {
			return err
		}
		pinFiles = existing(pinFiles)
	}
	pinned, err := signing.LoadPins(pinFiles...)
	if err != nil {
		return err
	}
	pinned = selectBuilt(pinned, builds)
	pass, err := readPassphrase(*passFile, *passFD)
	if err != nil {
		return err
	}
	key, err := signing.LoadSecretKey(*keyFile, pass)
	if err != nil {
		return err
	}
	res, err := signing.Sign(signing.SignOptions{Key: key, Store: *store, Prefix: *prefix, Time: when}, pinned, builds)
	created := 0
	for _, r := range res {
		verb := "already signed"
		if r.Created {
			verb = "signed"
			created++
		}
		fmt.Fprintf(stdout, "%s %s@%s: %s\n", verb, r.Identity, r.Image.Digest, r.Path)
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%d new signatures, %d already present, by %s\n", created, len(res)-created, trust.Fingerprint(key))
	return nil
}

// DefaultSignPatterns are what --build builds when given no target pattern.
var DefaultSignPatterns = []string{"//packages/..."}

// signBuilt is `stagex-sign --build [FLAG ...] [PATTERN ...]`, what `bazel run
// //:sign` runs: arguments starting with // or @ are target patterns
// (default //packages/...), the others flags as without --build. It builds
// the digest tests' output group stagex_pins under the patterns with Bazel
// ($BAZEL, else bazel) in $BUILD_WORKSPACE_DIRECTORY, and signs the images
// of each source tree with --root <tree> and a --layout per image, each
// tree found from the pin file its digest test reads (package pinmanifest).
func signBuilt(args []string, stdout, stderr io.Writer) error {
	var flags, patterns []string
	for _, a := range args {
		switch {
		case a == "--build":
		case strings.HasPrefix(a, "//") || strings.HasPrefix(a, "@"):
			patterns = append(patterns, a)
		default:
			for _, own := range []string{"root", "layout", "digests", "built"} {
				if a == "--"+own || strings.HasPrefix(a, "--"+own+"=") || a == "-"+own || strings.HasPrefix(a, "-"+own+"=") {
					return usagef("--build finds the trees and layouts itself: leave out --%s", own)
				}
			}
			flags = append(flags, a)
		}
	}
	workspace := os.Getenv("BUILD_WORKSPACE_DIRECTORY")
	if workspace == "" {
		return usagef("--build runs Bazel in $BUILD_WORKSPACE_DIRECTORY: run it with `bazel run //:sign -- --key FILE ... [PATTERN...]`")
	}
	if len(patterns) == 0 {
		patterns = DefaultSignPatterns
	}
	fmt.Fprintf(stderr, "stagex-sign: building %s\n", strings.Join(patterns, " "))
	entries, err := pinmanifest.Build(pinmanifest.Bazel(), workspace, patterns, stderr)
	if err != nil {
		return err
	}
	trees, err := pinmanifest.ByTree(entries)
	if err != nil {
		return err
	}
	return signTrees(workspace, trees, flags, stdout, stderr)
}

// signTrees runs stagex-sign once per tree of workspace with the given
// flags, --root and the tree's layouts. A tree that fails does not stop
// the others; each failure is printed, and the error names the trees.
func signTrees(workspace string, trees map[string][]pinmanifest.Entry, flags []string, stdout, stderr io.Writer) error {
	names := make([]string, 0, len(trees))
	for t := range trees {
		names = append(names, t)
	}
	sort.Strings(names)
	var failed []string
	for _, tree := range names {
		fmt.Fprintf(stderr, "stagex-sign: images of %s/packages\n", tree)
		args := append(slices.Clone(flags), "--root", filepath.Join(workspace, filepath.FromSlash(tree)))
		for _, e := range trees[tree] {
			args = append(args, "--layout", e.Image+"="+e.Layout)
		}
		if err := runSign(args, stdout, stderr); err != nil {
			if len(names) == 1 {
				return err
			}
			fmt.Fprintf(stderr, "stagex-sign: %s: %v\n", tree, err)
			failed = append(failed, tree)
		}
	}
	if len(failed) > 0 {
		return fmt.Errorf("signing failed in %d of %d trees: %s (see above)", len(failed), len(names), strings.Join(failed, ", "))
	}
	return nil
}

// builtImages reads the images of the maintainer's own build: OCI layouts
// given as NAME=DIR, and a digests file. An image given twice is refused.
func builtImages(layouts []string, builtFile string) ([]signing.Image, error) {
	var images []signing.Image
	seen := map[string]string{}
	add := func(img signing.Image, from string) error {
		if first, dup := seen[img.Name]; dup {
			return usagef("image %s is given twice as built (%s and %s)", img.Name, first, from)
		}
		seen[img.Name] = from
		images = append(images, img)
		return nil
	}
	for _, l := range layouts {
		name, dir, err := signing.ParseLayoutArg(l)
		if err != nil {
			return nil, usagef("--layout: %v", err)
		}
		img, err := signing.LayoutImage(name, dir)
		if err != nil {
			return nil, err
		}
		if err := add(img, dir); err != nil {
			return nil, err
		}
	}
	if builtFile != "" {
		fromFile, err := signing.LoadPins(builtFile)
		if err != nil {
			return nil, err
		}
		for _, img := range fromFile {
			if err := add(img, builtFile); err != nil {
				return nil, err
			}
		}
	}
	return images, nil
}

// existing keeps the files that exist: in a source tree, a stage without
// a pin file has no pins, and its built images are refused as unpinned.
func existing(files []string) []string {
	var out []string
	for _, f := range files {
		if _, err := os.Stat(f); errors.Is(err, os.ErrNotExist) {
			continue
		}
		out = append(out, f)
	}
	return out
}

// selectBuilt keeps the pinned images that were built: a maintainer signs
// what they built. Built images without a pin stay for Sign to refuse.
func selectBuilt(pinned, built []signing.Image) []signing.Image {
	names := map[string]bool{}
	for _, b := range built {
		names[b.Name] = true
	}
	var out []signing.Image
	for _, p := range pinned {
		if names[p.Name] {
			out = append(out, p)
		}
	}
	return out
}

func signTime(flagValue string) (time.Time, error) {
	v, from := flagValue, "--timestamp"
	if v == "" {
		v, from = os.Getenv("SOURCE_DATE_EPOCH"), "SOURCE_DATE_EPOCH"
	}
	if v == "" {
		return time.Now(), nil
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n <= 0 {
		return time.Time{}, usagef("%s: expected Unix seconds, got %q", from, v)
	}
	return time.Unix(n, 0).UTC(), nil
}

func readPassphrase(file string, fd int) ([]byte, error) {
	switch {
	case file != "":
		f, err := os.Open(file)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		return signing.ReadPassphrase(f)
	case fd >= 0:
		f := os.NewFile(uintptr(fd), "passphrase-fd")
		if f == nil {
			return nil, usagef("--passphrase-fd %d is not an open file descriptor", fd)
		}
		defer f.Close()
		p, err := signing.ReadPassphrase(f)
		if err != nil {
			return nil, fmt.Errorf("reading the passphrase from file descriptor %d: %v", fd, err)
		}
		return p, nil
	}
	return nil, nil
}

type multiFlag []string

func (m *multiFlag) String() string     { return strings.Join(*m, ",") }
func (m *multiFlag) Set(v string) error { *m = append(*m, v); return nil }

// Verify runs stagex-verify with args (without the program name) and
// returns its exit code.
func Verify(args []string, stdout, stderr io.Writer) int {
	return finish("stagex-verify", runVerify(args, stdout, stderr), stderr)
}

func runVerify(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("stagex-verify", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var keyrings, pinFiles, layouts multiFlag
	fs.Var(&keyrings, "keyring", "maintainer public keys: a directory of <name>.asc files, or one such file (repeatable; required)")
	policyFile := fs.String("policy", "", "policy file (TOML); default: threshold 2, every keyring key counts")
	store := fs.String("store", "", "root of the signature store (lookaside layout) (required)")
	fs.Var(&pinFiles, "digests", "digests file to verify every image of (repeatable)")
	fs.Var(&layouts, "layout", "NAME=DIR: verify the built OCI layout DIR published as NAME; when NAME is pinned by --digests, its digest must equal the pin (repeatable)")
	image := fs.String("image", "", "single image to verify, e.g. core-busybox (with --digest)")
	digest := fs.String("digest", "", "manifest digest sha256:<hex> of --image")
	prefix := fs.String("repository-prefix", "stagex", "repository prefix of the signed identities")
	quiet := fs.Bool("q", false, "print only images that fail")
	fs.Usage = func() {
		fmt.Fprintln(stderr, `usage: stagex-verify --keyring DIR|FILE ... [--policy FILE] --store DIR
         [--digests FILE ...] [--layout NAME=DIR ...] [--image NAME --digest sha256:HEX]
         [--repository-prefix stagex] [-q]

Passes when every image has valid signatures by at least the policy's
threshold of distinct maintainer keys; prints who signed and who is missing.`)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return usageError{err.Error()}
	}
	if fs.NArg() > 0 {
		return usagef("unexpected argument %q", fs.Arg(0))
	}
	if len(keyrings) == 0 {
		return usagef("no --keyring: give the maintainers' public keys (a directory of <name>.asc files, or such files)")
	}
	if *store == "" {
		return usagef("--store is required")
	}
	if (*image == "") != (*digest == "") {
		return usagef("--image and --digest go together")
	}
	if *image == "" && len(pinFiles) == 0 && len(layouts) == 0 {
		return usagef("give the images to verify: --digests FILE, --layout NAME=DIR or --image NAME --digest sha256:HEX")
	}
	images, err := signing.LoadPins(pinFiles...)
	if err != nil {
		return err
	}
	if *image != "" {
		img, err := signing.NewImage(*image, *digest)
		if err != nil {
			return usagef("--image/--digest: %v", err)
		}
		if images, err = addImage(images, img); err != nil {
			return err
		}
	}
	for _, l := range layouts {
		name, dir, err := signing.ParseLayoutArg(l)
		if err != nil {
			return usagef("--layout: %v", err)
		}
		img, err := signing.LayoutImage(name, dir)
		if err != nil {
			return err
		}
		if images, err = addImage(images, img); err != nil {
			return err
		}
	}
	kr, err := trust.LoadKeys(keyrings...)
	if err != nil {
		return err
	}
	for _, p := range kr.Problems {
		fmt.Fprintf(stderr, "stagex-verify: warning: skipped key file %v\n", p)
	}
	pol := trust.DefaultPolicy(kr)
	if *policyFile != "" {
		if pol, err = trust.LoadPolicy(*policyFile, kr); err != nil {
			return err
		}
	}
	rep, err := signing.Verify(signing.VerifyOptions{Store: *store, Prefix: *prefix, Keyring: kr, Policy: pol}, images)
	if err != nil {
		return err
	}
	for _, r := range rep.Images {
		if !*quiet || !r.OK {
			fmt.Fprintln(stdout, r.Message())
		}
	}
	failed := len(rep.Failed())
	fmt.Fprintf(stdout, "%d of %d images verified\n", len(rep.Images)-failed, len(rep.Images))
	if failed > 0 {
		return fmt.Errorf("%d of %d images lack the required signatures", failed, len(rep.Images))
	}
	return nil
}

// addImage adds img to images unless an image of the same name is there:
// then both must name the same digest (a built layout must match its pin).
func addImage(images []signing.Image, img signing.Image) ([]signing.Image, error) {
	for _, have := range images {
		if have.Name != img.Name {
			continue
		}
		if have.Digest != img.Digest {
			return nil, signing.MismatchError(have, img)
		}
		return images, nil
	}
	return append(images, img), nil
}
