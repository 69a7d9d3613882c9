// Package trust loads what a verifier trusts: the maintainers' keyring (a
// directory of armored public keys, one "<maintainer>.asc" file each) and
// the signing policy (how many distinct maintainer keys must sign, and whose
// keys count, overall and per stage).
package trust

import (
	"bytes"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/ProtonMail/go-crypto/openpgp/armor"

	"github.com/stagex/stagex-bazel/tools/internal/diag"
	"github.com/stagex/stagex-bazel/tools/internal/regfile"
)

// Key is one maintainer's public key.
type Key struct {
	// Name is the maintainer, taken from the file name without ".asc".
	Name string
	// Fingerprint is the primary key's fingerprint in uppercase hex.
	Fingerprint string
	// File is the file the key was read from.
	File   string
	Entity *openpgp.Entity
}

// String returns "name (FINGERPRINT)".
func (k Key) String() string { return fmt.Sprintf("%s (%s)", k.Name, k.Fingerprint) }

// Keyring is the set of maintainer keys.
type Keyring struct {
	// Keys are sorted by Name.
	Keys []Key
	// Problems are the key files LoadKeys skipped, each error naming its
	// file and why.
	Problems []error
	entities openpgp.EntityList
	byFpr    map[string]int
}

// Fingerprint returns the primary key fingerprint of e in uppercase hex.
func Fingerprint(e *openpgp.Entity) string {
	return strings.ToUpper(hex.EncodeToString(e.PrimaryKey.Fingerprint))
}

// NormalizeFingerprint accepts a fingerprint in hex, with or without spaces
// and an "0x" prefix, in either case, and returns it in uppercase hex
// without spaces. It must be 40 (v4 key) or 64 (v6 key) hex digits.
func NormalizeFingerprint(s string) (string, error) {
	t := strings.ReplaceAll(strings.TrimSpace(s), " ", "")
	t = strings.TrimPrefix(strings.TrimPrefix(t, "0x"), "0X")
	t = strings.ToUpper(t)
	if _, err := hex.DecodeString(t); err != nil || (len(t) != 40 && len(t) != 64) {
		return "", fmt.Errorf("expected a key fingerprint of 40 or 64 hex digits, got %q", s)
	}
	return t, nil
}

// NewKeyring builds a keyring from keys (used by LoadKeyring and tests). Two
// keys with the same primary fingerprint are refused.
func NewKeyring(keys []Key) (*Keyring, error) {
	kr := &Keyring{byFpr: map[string]int{}}
	kr.Keys = append(kr.Keys, keys...)
	sort.Slice(kr.Keys, func(i, j int) bool { return kr.Keys[i].Name < kr.Keys[j].Name })
	for i, k := range kr.Keys {
		if j, dup := kr.byFpr[k.Fingerprint]; dup {
			return nil, fmt.Errorf("key %s is in both %s and %s", k.Fingerprint, kr.Keys[j].File, k.File)
		}
		kr.byFpr[k.Fingerprint] = i
		kr.entities = append(kr.entities, k.Entity)
	}
	return kr, nil
}

// LoadKeyring reads every "*.asc" file in dir. Each must hold exactly one
// armored public key ("PGP PUBLIC KEY BLOCK"); secret keys are refused.
// Other files are ignored. See LoadKeys for files that cannot be used.
func LoadKeyring(dir string) (*Keyring, error) {
	return LoadKeys(dir)
}

// LoadKeys builds a keyring from paths, each either a directory (every
// "*.asc" file in it, as LoadKeyring reads) or a single armored public key
// file. The maintainer's name is the file name without ".asc". A key file
// that cannot be used (unreadable, not a regular file, not one valid public
// key: a bad subkey binding, for one) is skipped and reported in the
// keyring's Problems, so that one broken key does not stop verification
// with the others. At least one key must load.
func LoadKeys(paths ...string) (*Keyring, error) {
	var keys []Key
	var problems []error
	for _, path := range paths {
		st, err := os.Stat(path)
		if err != nil {
			return nil, err
		}
		files := []string{path}
		if st.IsDir() {
			if files, err = keyFiles(path); err != nil {
				return nil, err
			}
		}
		for _, f := range files {
			k, err := readKey(f)
			if err != nil {
				problems = append(problems, err)
				continue
			}
			keys = append(keys, k)
		}
	}
	if len(keys) == 0 {
		if len(problems) > 0 {
			return nil, diag.Errorf(strings.Join(paths, ", "), 0, "no usable maintainer keys: %v", errors.Join(problems...))
		}
		return nil, diag.Errorf(strings.Join(paths, ", "), 0, "no maintainer keys (*.asc files) found")
	}
	kr, err := NewKeyring(keys)
	if err != nil {
		return nil, err
	}
	kr.Problems = problems
	return kr, nil
}

// MaxKeyFile is the largest key file read.
const MaxKeyFile = 4 << 20

// keyFiles lists the "*.asc" files in dir, skipping hidden ones.
func keyFiles(dir string) ([]string, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var files []string
	for _, de := range ents {
		name := de.Name()
		if de.IsDir() || strings.HasPrefix(name, ".") || !strings.HasSuffix(name, ".asc") {
			continue
		}
		files = append(files, filepath.Join(dir, name))
	}
	return files, nil
}

func readKey(path string) (Key, error) {
	data, err := regfile.ReadFile(path, MaxKeyFile)
	if err != nil {
		return Key{}, err
	}
	e, err := ParsePublicKey(path, data)
	if err != nil {
		return Key{}, err
	}
	return Key{
		Name:        strings.TrimSuffix(filepath.Base(path), ".asc"),
		Fingerprint: Fingerprint(e),
		File:        path,
		Entity:      e,
	}, nil
}

// ParsePublicKey reads one armored public key; file names the source in
// error messages.
func ParsePublicKey(file string, data []byte) (*openpgp.Entity, error) {
	block, err := armor.Decode(bytes.NewReader(data))
	if err != nil {
		return nil, diag.Errorf(file, 0, "expected an armored OpenPGP public key: %v", err)
	}
	if block.Type != openpgp.PublicKeyType {
		return nil, diag.Errorf(file, 0, "expected a %q armor block, got %q", openpgp.PublicKeyType, block.Type)
	}
	el, err := openpgp.ReadKeyRing(block.Body)
	if err != nil {
		return nil, diag.Errorf(file, 0, "reading public key: %v", err)
	}
	if len(el) != 1 {
		return nil, diag.Errorf(file, 0, "expected exactly one key, found %d", len(el))
	}
	if el[0].PrivateKey != nil {
		return nil, diag.Errorf(file, 0, "holds secret key material; only public keys belong in the keyring")
	}
	return el[0], nil
}

// Entities returns the keyring as an openpgp.KeyRing.
func (kr *Keyring) Entities() openpgp.EntityList { return kr.entities }

// ByFingerprint returns the key with the given primary fingerprint
// (uppercase hex).
func (kr *Keyring) ByFingerprint(fpr string) (Key, bool) {
	i, ok := kr.byFpr[fpr]
	if !ok {
		return Key{}, false
	}
	return kr.Keys[i], true
}
