package signing

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/ProtonMail/go-crypto/openpgp/armor"

	"github.com/stagex/stagex-bazel/tools/internal/diag"
	"github.com/stagex/stagex-bazel/tools/internal/digests"
	"github.com/stagex/stagex-bazel/tools/internal/regfile"
	"github.com/stagex/stagex-bazel/tools/internal/signing/lookaside"
	"github.com/stagex/stagex-bazel/tools/internal/signing/payload"
	"github.com/stagex/stagex-bazel/tools/internal/signing/trust"
)

// Creator is written as optional.creator in every payload this package
// makes. Change the version whenever the payload's format or meaning does.
const Creator = "stagex-bazel signing 1"

// maxPassphrase bounds how much is read as a passphrase.
const maxPassphrase = 4096

// Identity returns the docker reference an image is signed under:
// "<prefix>/<image>", e.g. "stagex/core-busybox".
func Identity(prefix, image string) string {
	return strings.TrimSuffix(prefix, "/") + "/" + image
}

// normalizeRef expands a docker reference without a registry host to the
// explicit docker.io form ("busybox" is "docker.io/library/busybox"), so
// that equivalent spellings compare equal.
func normalizeRef(ref string) string {
	host, rest := lookaside.SplitHost(ref)
	if host == "" || host == "index.docker.io" {
		host = "docker.io"
	}
	if host == "docker.io" && !strings.Contains(rest, "/") {
		rest = "library/" + rest
	}
	return host + "/" + rest
}

// SignOptions configure Sign.
type SignOptions struct {
	// Key is the maintainer's secret key, already decrypted (LoadSecretKey).
	Key *openpgp.Entity
	// Store is the root of the lookaside signature store.
	Store string
	// Prefix is the repository prefix of the identities, e.g. "stagex".
	Prefix string
	// Time is the payload timestamp and the signature creation time; the
	// zero value means now. Fix it for reproducible payloads.
	Time time.Time
}

// SignResult tells what Sign did for one image.
type SignResult struct {
	Image    Image
	Identity string
	// Path is the signature file: the new one, or the existing valid
	// signature by the same key that made signing unnecessary.
	Path string
	// Created is false when a valid signature by the key already existed.
	Created bool
}

// Sign signs every pinned image's (identity, digest) with opts.Key and
// stores the signatures under opts.Store. When built is not nil it must list
// exactly the pinned images with the same digests (e.g. from LayoutImage or
// a digests file of the signer's own build); any difference refuses the
// whole run before anything is written. Signing is idempotent: an image
// that already has a valid signature by the same key over the same identity
// and digest gets no second file.
func Sign(opts SignOptions, pinned, built []Image) ([]SignResult, error) {
	if opts.Key == nil || opts.Key.PrivateKey == nil {
		return nil, errors.New("no secret key to sign with")
	}
	if opts.Store == "" || opts.Prefix == "" {
		return nil, errors.New("a signature store and a repository prefix are required")
	}
	t := opts.Time
	if t.IsZero() {
		t = time.Now()
	}
	t = t.Truncate(time.Second)
	if _, ok := opts.Key.SigningKey(t); !ok {
		return nil, fmt.Errorf("key %s has no signing key valid at %s (not yet created, expired or revoked)",
			trust.Fingerprint(opts.Key), t.UTC().Format(time.RFC3339))
	}
	if built != nil {
		if err := compareBuilt(pinned, built); err != nil {
			return nil, err
		}
	}
	for _, img := range pinned {
		if _, err := lookaside.RepoPath(Identity(opts.Prefix, img.Name)); err != nil {
			return nil, diag.Errorf(img.File, img.Line, "%v", err)
		}
	}
	self := openpgp.EntityList{opts.Key}
	fpr := trust.Fingerprint(opts.Key)
	var results []SignResult
	for _, img := range pinned {
		ref := Identity(opts.Prefix, img.Name)
		res := SignResult{Image: img, Identity: ref}
		existing, err := lookaside.Read(opts.Store, ref, img.Digest)
		if err != nil {
			return results, err
		}
		for _, s := range existing {
			if s.Err != nil {
				continue
			}
			key, body, err := openMessage(self, s.Data, t)
			if err != nil || trust.Fingerprint(key.Entity) != fpr {
				continue
			}
			p, err := payload.Parse(body)
			if err == nil && p.Digest == img.Digest && normalizeRef(p.Reference) == normalizeRef(ref) {
				res.Path = s.Path
				break
			}
		}
		if res.Path == "" {
			doc, err := payload.Payload{
				Reference: ref, Digest: img.Digest, Creator: Creator,
				Timestamp: t.Unix(), HasTimestamp: true,
			}.Marshal()
			if err != nil {
				return results, err
			}
			sig, err := signMessage(opts.Key, doc, t)
			if err != nil {
				return results, fmt.Errorf("signing %s: %v", img.Name, err)
			}
			if res.Path, err = lookaside.Add(opts.Store, ref, img.Digest, sig); err != nil {
				return results, err
			}
			res.Created = true
		}
		results = append(results, res)
	}
	return results, nil
}

// compareBuilt refuses any difference between the pinned and the built
// digests, naming each.
func compareBuilt(pinned, built []Image) error {
	var errs []error
	pins := byName(pinned)
	builds := byName(built)
	for _, p := range pinned {
		b, ok := builds[p.Name]
		if !ok {
			errs = append(errs, diag.Errorf(p.File, p.Line, "%s is pinned but was not built (no built digest given for it)", p.Name))
			continue
		}
		if b.Digest != p.Digest {
			e := MismatchError(p, b)
			e.Msg += "; refusing to sign"
			errs = append(errs, e)
		}
	}
	for _, b := range built {
		if _, ok := pins[b.Name]; !ok {
			errs = append(errs, diag.Errorf(b.File, b.Line, "%s was built but is not pinned; run `%s` to pin it before signing", b.Name, digests.UpdateCommand))
		}
	}
	return errors.Join(errs...)
}

func byName(images []Image) map[string]Image {
	m := make(map[string]Image, len(images))
	for _, i := range images {
		m[i.Name] = i
	}
	return m
}

// LoadSecretKey reads an armored secret key file holding one key and
// decrypts its secret parts with passphrase (which may be empty for an
// unprotected key).
func LoadSecretKey(path string, passphrase []byte) (*openpgp.Entity, error) {
	data, err := regfile.ReadFile(path, trust.MaxKeyFile)
	if err != nil {
		return nil, err
	}
	block, err := armor.Decode(bytes.NewReader(data))
	if err != nil {
		return nil, diag.Errorf(path, 0, "expected an armored OpenPGP secret key: %v", err)
	}
	if block.Type != openpgp.PrivateKeyType {
		return nil, diag.Errorf(path, 0, "expected a %q armor block, got %q", openpgp.PrivateKeyType, block.Type)
	}
	el, err := openpgp.ReadKeyRing(block.Body)
	if err != nil {
		return nil, diag.Errorf(path, 0, "reading secret key: %v", err)
	}
	if len(el) != 1 || el[0].PrivateKey == nil {
		return nil, diag.Errorf(path, 0, "expected exactly one secret key, found %d keys", len(el))
	}
	e := el[0]
	encrypted := e.PrivateKey.Encrypted
	for _, sk := range e.Subkeys {
		encrypted = encrypted || (sk.PrivateKey != nil && sk.PrivateKey.Encrypted)
	}
	if encrypted {
		if len(passphrase) == 0 {
			return nil, diag.Errorf(path, 0, "the secret key is protected; give its passphrase in a file or file descriptor")
		}
		if err := e.DecryptPrivateKeys(passphrase); err != nil {
			return nil, diag.Errorf(path, 0, "cannot unlock the secret key (wrong passphrase?): %v", err)
		}
	}
	return e, nil
}

// ReadPassphrase reads a passphrase from r: everything up to the first line
// end, at most 4 KiB.
func ReadPassphrase(r io.Reader) ([]byte, error) {
	data, err := io.ReadAll(io.LimitReader(r, maxPassphrase+1))
	if err != nil {
		return nil, err
	}
	if len(data) > maxPassphrase {
		return nil, fmt.Errorf("passphrase is longer than %d bytes", maxPassphrase)
	}
	if i := bytes.IndexAny(data, "\r\n"); i >= 0 {
		data = data[:i]
	}
	return data, nil
}
