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
	"strconv"
	"strings"
	"time"

	"github.com/stagex/stagex-bazel/tools/signing"
	"github.com/stagex/stagex-bazel/tools/signing/digestfile"
	"github.com/stagex/stagex-bazel/tools/signing/trust"
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

// Sign runs stagex-sign with args (without the program name) and returns
// its exit code.
func Sign(args []string, stdout, stderr io.Writer) int {
	return finish("stagex-sign", runSign(args, stdout, stderr), stderr)
}

func runSign(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("stagex-sign", flag.ContinueOnError)
	fs.SetOutput(stderr)
	keyFile := fs.String("key", "", "armored OpenPGP secret key file of the maintainer (required)")
	passFile := fs.String("passphrase-file", "", "file whose first line is the key's passphrase")
	passFD := fs.Int("passphrase-fd", -1, "file descriptor to read the key's passphrase from")
	digests := fs.String("digests", "", "pinned digests file, e.g. digests/core.txt (required)")
	built := fs.String("built", "", "digests file of this maintainer's own build; any difference from the pins refuses signing")
	store := fs.String("store", "", "root of the signature store (lookaside layout) (required)")
	prefix := fs.String("repository-prefix", "stagex", "repository prefix of the signed identities")
	stamp := fs.String("timestamp", "", "signature time in Unix seconds (default: $SOURCE_DATE_EPOCH, else now)")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: stagex-sign --key FILE [--passphrase-file FILE | --passphrase-fd N] --digests FILE [--built FILE] --store DIR [--repository-prefix stagex] [--timestamp SECONDS]")
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
	if *keyFile == "" || *digests == "" || *store == "" {
		return usagef("--key, --digests and --store are required")
	}
	if *passFile != "" && *passFD >= 0 {
		return usagef("give the passphrase with --passphrase-file or --passphrase-fd, not both")
	}
	when, err := signTime(*stamp)
	if err != nil {
		return err
	}
	pass, err := readPassphrase(*passFile, *passFD)
	if err != nil {
		return err
	}
	key, err := signing.LoadSecretKey(*keyFile, pass)
	if err != nil {
		return err
	}
	pinned, err := digestfile.Load(*digests)
	if err != nil {
		return err
	}
	var builtFile *digestfile.File
	if *built != "" {
		if builtFile, err = digestfile.Load(*built); err != nil {
			return err
		}
	}
	res, err := signing.Sign(signing.SignOptions{Key: key, Store: *store, Prefix: *prefix, Time: when}, pinned, builtFile)
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
	keyring := fs.String("keyring", "", "directory of maintainer public keys, one <name>.asc each (required)")
	policyFile := fs.String("policy", "", "policy file (TOML); default: threshold 2, every keyring key counts")
	store := fs.String("store", "", "root of the signature store (lookaside layout) (required)")
	var digests multiFlag
	fs.Var(&digests, "digests", "digests file to verify every image of (repeatable)")
	image := fs.String("image", "", "single image to verify, e.g. core-busybox (with --digest)")
	digest := fs.String("digest", "", "manifest digest sha256:<hex> of --image")
	prefix := fs.String("repository-prefix", "stagex", "repository prefix of the signed identities")
	quiet := fs.Bool("q", false, "print only images that fail")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: stagex-verify --keyring DIR [--policy FILE] --store DIR (--digests FILE ... | --image NAME --digest sha256:HEX) [--repository-prefix stagex] [-q]")
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
	if *keyring == "" || *store == "" {
		return usagef("--keyring and --store are required")
	}
	single := *image != "" || *digest != ""
	if single == (len(digests) > 0) {
		return usagef("give either --digests FILE or --image NAME --digest sha256:HEX")
	}
	var images []digestfile.Entry
	if single {
		if *image == "" || *digest == "" {
			return usagef("--image and --digest go together")
		}
		e, err := digestfile.ParseName(*image)
		if err != nil {
			return usagef("--image: %v", err)
		}
		if e.Digest, err = digestfile.ParseDigest(*digest); err != nil {
			return usagef("--digest: %v", err)
		}
		images = append(images, e)
	}
	for _, d := range digests {
		f, err := digestfile.Load(d)
		if err != nil {
			return err
		}
		images = append(images, f.Entries...)
	}
	kr, err := trust.LoadKeyring(*keyring)
	if err != nil {
		return err
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
