package signing

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/stagex/stagex-bazel/tools/internal/cli"
	"github.com/stagex/stagex-bazel/tools/internal/signing/trust"
)

// SignBuildsOptions say what stagex-sign signs, with which key, and where
// the signatures go. Errors in them are cli usage errors.
type SignBuildsOptions struct {
	// KeyFile is the maintainer's armored OpenPGP secret key (required).
	KeyFile string
	// PassphraseFile is a file whose first line is the key's passphrase.
	PassphraseFile string
	// PassphraseFD, when not negative, is a file descriptor to read the
	// passphrase from. Zero is standard input: say -1 for none.
	PassphraseFD int
	// PinFiles are the pinned digests files; Root, instead, is a source
	// tree whose digests/<tier>.txt pin the built images. One of the two.
	PinFiles []string
	Root     string
	// Layouts ("NAME=DIR") and Built (a digests file) are the images this
	// maintainer built; at least one of them.
	Layouts []string
	Built   string
	// Store is the root of the signature store; with Root it defaults to
	// ROOT/signatures.
	Store string
	// Prefix is the repository prefix of the signed identities.
	Prefix string
	// Timestamp is the signature time in Unix seconds; empty means
	// $SOURCE_DATE_EPOCH, else now.
	Timestamp string
	// Out receives a line per signature and a summary.
	Out io.Writer
}

// SignBuilds signs the pinned digest of every image that was built and
// whose built digest equals its pin; any difference refuses the whole run.
// It prints each signature, made or already present, and a summary to
// o.Out.
func SignBuilds(o SignBuildsOptions) error {
	if o.KeyFile == "" {
		return cli.Usagef("--key is required")
	}
	if (len(o.PinFiles) > 0) == (o.Root != "") {
		return cli.Usagef("give the pins with --digests FILE or --root DIR (one of them)")
	}
	if len(o.Layouts) == 0 && o.Built == "" {
		return cli.Usagef("give the built images with --layout NAME=DIR or --built FILE: only digests this maintainer built are signed")
	}
	if o.Store == "" {
		if o.Root == "" {
			return cli.Usagef("--store is required with --digests")
		}
		o.Store = filepath.Join(o.Root, "signatures")
	}
	if o.PassphraseFile != "" && o.PassphraseFD >= 0 {
		return cli.Usagef("give the passphrase with --passphrase-file or --passphrase-fd, not both")
	}
	when, err := parseSignTime(o.Timestamp)
	if err != nil {
		return err
	}
	builds, err := builtImages(o.Layouts, o.Built)
	if err != nil {
		return err
	}
	pinFiles := o.PinFiles
	if o.Root != "" {
		names := make([]string, len(builds))
		for i, b := range builds {
			names[i] = b.Name
		}
		if pinFiles, err = PinsUnder(o.Root, names); err != nil {
			return err
		}
		pinFiles = existing(pinFiles)
	}
	pinned, err := LoadPins(pinFiles...)
	if err != nil {
		return err
	}
	pinned = selectBuilt(pinned, builds)
	pass, err := readPassphrase(o.PassphraseFile, o.PassphraseFD)
	if err != nil {
		return err
	}
	key, err := LoadSecretKey(o.KeyFile, pass)
	if err != nil {
		return err
	}
	res, err := Sign(SignOptions{Key: key, Store: o.Store, Prefix: o.Prefix, Time: when}, pinned, builds)
	created := 0
	for _, r := range res {
		verb := "already signed"
		if r.Created {
			verb = "signed"
			created++
		}
		fmt.Fprintf(o.Out, "%s %s@%s: %s\n", verb, r.Identity, r.Image.Digest, r.Path)
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(o.Out, "%d new signatures, %d already present, by %s\n", created, len(res)-created, trust.Fingerprint(key))
	return nil
}

// builtImages reads the images of the maintainer's own build: OCI layouts
// given as NAME=DIR, and a digests file. An image given twice is refused.
func builtImages(layouts []string, builtFile string) ([]Image, error) {
	var images []Image
	seen := map[string]string{}
	add := func(img Image, from string) error {
		if first, dup := seen[img.Name]; dup {
			return cli.Usagef("image %s is given twice as built (%s and %s)", img.Name, first, from)
		}
		seen[img.Name] = from
		images = append(images, img)
		return nil
	}
	for _, l := range layouts {
		name, dir, err := ParseLayoutArg(l)
		if err != nil {
			return nil, cli.Usagef("--layout: %v", err)
		}
		img, err := LayoutImage(name, dir)
		if err != nil {
			return nil, err
		}
		if err := add(img, dir); err != nil {
			return nil, err
		}
	}
	if builtFile != "" {
		fromFile, err := LoadPins(builtFile)
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
func selectBuilt(pinned, built []Image) []Image {
	names := map[string]bool{}
	for _, b := range built {
		names[b.Name] = true
	}
	var out []Image
	for _, p := range pinned {
		if names[p.Name] {
			out = append(out, p)
		}
	}
	return out
}

func parseSignTime(flagValue string) (time.Time, error) {
	v, from := flagValue, "--timestamp"
	if v == "" {
		v, from = os.Getenv("SOURCE_DATE_EPOCH"), "SOURCE_DATE_EPOCH"
	}
	if v == "" {
		return time.Now(), nil
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n <= 0 {
		return time.Time{}, cli.Usagef("%s: expected Unix seconds, got %q", from, v)
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
		return ReadPassphrase(f)
	case fd >= 0:
		f := os.NewFile(uintptr(fd), "passphrase-fd")
		if f == nil {
			return nil, cli.Usagef("--passphrase-fd %d is not an open file descriptor", fd)
		}
		defer f.Close()
		p, err := ReadPassphrase(f)
		if err != nil {
			return nil, fmt.Errorf("reading the passphrase from file descriptor %d: %v", fd, err)
		}
		return p, nil
	}
	return nil, nil
}

// VerifyImagesOptions say which images stagex-verify checks, against which
// keys and policy. Errors in them are cli usage errors.
type VerifyImagesOptions struct {
	// Keyrings are the maintainers' public keys: directories of <name>.asc
	// files, or such files (at least one).
	Keyrings []string
	// Policy is the policy file (TOML); empty means threshold 2, every
	// keyring key counting.
	Policy string
	// Store is the root of the signature store (required).
	Store string
	// Prefix is the repository prefix of the signed identities.
	Prefix string
	// PinFiles are digests files whose every image is verified.
	PinFiles []string
	// Layouts ("NAME=DIR") are built OCI layouts published as NAME; a NAME
	// pinned in PinFiles must have the pinned digest.
	Layouts []string
	// Image and Digest name one more image to verify; both or neither.
	Image, Digest string
}

// VerifyImages checks the signatures of the images o names. The error is
// for what stops verification (bad options, unreadable keys, store or
// files); images that lack signatures are in the report (see Report.Err).
func VerifyImages(o VerifyImagesOptions) (*Report, error) {
	if len(o.Keyrings) == 0 {
		return nil, cli.Usagef("no --keyring: give the maintainers' public keys (a directory of <name>.asc files, or such files)")
	}
	if o.Store == "" {
		return nil, cli.Usagef("--store is required")
	}
	if (o.Image == "") != (o.Digest == "") {
		return nil, cli.Usagef("--image and --digest go together")
	}
	if o.Image == "" && len(o.PinFiles) == 0 && len(o.Layouts) == 0 {
		return nil, cli.Usagef("give the images to verify: --digests FILE, --layout NAME=DIR or --image NAME --digest sha256:HEX")
	}
	images, err := LoadPins(o.PinFiles...)
	if err != nil {
		return nil, err
	}
	if o.Image != "" {
		img, err := NewImage(o.Image, o.Digest)
		if err != nil {
			return nil, cli.Usagef("--image/--digest: %v", err)
		}
		if images, err = addImage(images, img); err != nil {
			return nil, err
		}
	}
	for _, l := range o.Layouts {
		name, dir, err := ParseLayoutArg(l)
		if err != nil {
			return nil, cli.Usagef("--layout: %v", err)
		}
		img, err := LayoutImage(name, dir)
		if err != nil {
			return nil, err
		}
		if images, err = addImage(images, img); err != nil {
			return nil, err
		}
	}
	kr, err := trust.LoadKeys(o.Keyrings...)
	if err != nil {
		return nil, err
	}
	pol := trust.DefaultPolicy(kr)
	if o.Policy != "" {
		if pol, err = trust.LoadPolicy(o.Policy, kr); err != nil {
			return nil, err
		}
	}
	rep, err := Verify(VerifyOptions{Store: o.Store, Prefix: o.Prefix, Keyring: kr, Policy: pol}, images)
	if err != nil {
		return nil, err
	}
	rep.SkippedKeys = kr.Problems
	return rep, nil
}

// addImage adds img to images unless an image of the same name is there:
// then both must name the same digest (a built layout must match its pin).
func addImage(images []Image, img Image) ([]Image, error) {
	for _, have := range images {
		if have.Name != img.Name {
			continue
		}
		if have.Digest != img.Digest {
			return nil, MismatchError(have, img)
		}
		return images, nil
	}
	return append(images, img), nil
}
