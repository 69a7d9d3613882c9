package imageimport

import (
	"bytes"
	"crypto"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/ProtonMail/go-crypto/openpgp/armor"
	"github.com/ProtonMail/go-crypto/openpgp/packet"

	"github.com/stagex/stagex-bazel/tools/internal/signing"
	"github.com/stagex/stagex-bazel/tools/testing/registry/registrytest"
)

var keyTime = time.Now().Add(-time.Hour).Truncate(time.Second)

// maintainer makes a key, writes its public half to keyring/<name>.asc and
// returns it.
func maintainer(t *testing.T, keyring, name string) *openpgp.Entity {
	t.Helper()
	cfg := &packet.Config{Time: func() time.Time { return keyTime }, DefaultHash: crypto.SHA256, Algorithm: packet.PubKeyAlgoEdDSA, Curve: packet.Curve25519}
	e, err := openpgp.NewEntity(name, "test", name+"@example.invalid", cfg)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	w, err := armor.Encode(&buf, openpgp.PublicKeyType, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Serialize(w); err != nil {
		t.Fatal(err)
	}
	w.Close()
	if err := os.WriteFile(filepath.Join(keyring, name+".asc"), buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return e
}

func sign(t *testing.T, key *openpgp.Entity, store, name, digest string) {
	t.Helper()
	img, err := signing.NewImage(name, digest)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := signing.Sign(signing.SignOptions{Key: key, Store: store, Prefix: "stagex"}, []signing.Image{img}, nil); err != nil {
		t.Fatal(err)
	}
}

func TestRun(t *testing.T) {
	src := filepath.Join(t.TempDir(), "image.oci")
	digest := registrytest.Layout(t, src, 2000, 1)
	keyring := t.TempDir()
	alice := maintainer(t, keyring, "alice")
	bob := maintainer(t, keyring, "bob")
	maintainer(t, keyring, "carol")

	stores := map[string][]*openpgp.Entity{
		"none":       nil,
		"alice":      {alice},
		"alice, bob": {alice, bob},
	}
	for _, tc := range []struct {
		store   string
		name    string
		digest  string
		ok      bool
		message string // in the error
	}{
		{store: "alice, bob", name: "core-test", digest: digest, ok: true},
		{store: "alice", name: "core-test", digest: digest, message: "signatures do not meet the policy"},
		{store: "none", name: "core-test", digest: digest, message: "signatures do not meet the policy"},
		// Signatures are over the name too: another name is not signed.
		{store: "alice, bob", name: "core-other", digest: digest, message: "signatures do not meet the policy"},
		// Signed, but the blobs are not those of the digest.
		{store: "alice, bob", name: "core-test", digest: "sha256:" + strings.Repeat("a", 64), message: "no such file"},
	} {
		store := t.TempDir()
		for _, k := range stores[tc.store] {
			sign(t, k, store, tc.name, tc.digest)
		}
		dir := t.TempDir()
		o := Options{
			Blobs: filepath.Join(src, "blobs"), Digest: tc.digest, ImageName: "core-test",
			Keyring: []string{keyring}, Store: store,
			Out: filepath.Join(dir, "out.oci"), DigestOut: filepath.Join(dir, "out.digest"), Report: filepath.Join(dir, "report.txt"),
		}
		err := Run(o)
		if tc.ok != (err == nil) || (err != nil && !strings.Contains(err.Error(), tc.message)) {
			t.Errorf("signed by %s as %s, digest %s: error %v; expected ok=%v or %q", tc.store, tc.name, tc.digest, err, tc.ok, tc.message)
			continue
		}
		report, rerr := os.ReadFile(o.Report)
		if rerr != nil || len(report) == 0 {
			t.Errorf("signed by %s: no report written (%v)", tc.store, rerr)
		}
		if !tc.ok {
			if _, err := os.Stat(o.Out); !errors.Is(err, fs.ErrNotExist) {
				t.Errorf("signed by %s: a layout was written although the import failed", tc.store)
			}
			continue
		}
		registrytest.SameFiles(t, src, o.Out)
		if got, _ := os.ReadFile(o.DigestOut); string(got) != digest+"\n" {
			t.Errorf("digest file %q, expected %q", got, digest)
		}
		if !strings.Contains(string(report), "alice") || !strings.Contains(string(report), "bob") {
			t.Errorf("report does not name the signers:\n%s", report)
		}
	}
}
