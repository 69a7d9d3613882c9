package signing

import (
	"bytes"
	"crypto"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/ProtonMail/go-crypto/openpgp/armor"
	"github.com/ProtonMail/go-crypto/openpgp/packet"

	"github.com/stagex/stagex-bazel/tools/internal/signing/trust"
)

// Fixed times keep the tests independent of the clock: keys are made at
// keyTime, signatures at signTime and checked at verifyTime.
var (
	keyTime    = time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	signTime   = time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	verifyTime = time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC)
)

func at(t time.Time) func() time.Time { return func() time.Time { return t } }

// keyConfig returns a key generation config for algo ("ed25519" or
// "rsa3072") at a fixed time.
func keyConfig(algo string) *packet.Config {
	cfg := &packet.Config{Time: at(keyTime), DefaultHash: crypto.SHA256}
	switch algo {
	case "rsa3072":
		cfg.Algorithm = packet.PubKeyAlgoRSA
		cfg.RSABits = 3072
	default:
		cfg.Algorithm = packet.PubKeyAlgoEdDSA
		cfg.Curve = packet.Curve25519
	}
	return cfg
}

// newKey makes a v4 key (primary key signs) for a maintainer.
func newKey(t testing.TB, name, algo string) *openpgp.Entity {
	t.Helper()
	e, err := openpgp.NewEntity(name, "test", name+"@example.invalid", keyConfig(algo))
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// publicArmor returns e's public key, armored.
func publicArmor(t testing.TB, e *openpgp.Entity) []byte {
	t.Helper()
	var buf bytes.Buffer
	w, err := armor.Encode(&buf, openpgp.PublicKeyType, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Serialize(w); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// writeKeyring writes each entity's public key as <name>.asc into a new
// directory and loads it as a keyring.
func writeKeyring(t testing.TB, keys map[string]*openpgp.Entity) (string, *trust.Keyring) {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "keys")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for name, e := range keys {
		if err := os.WriteFile(filepath.Join(dir, name+".asc"), publicArmor(t, e), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	kr, err := trust.LoadKeyring(dir)
	if err != nil {
		t.Fatal(err)
	}
	return dir, kr
}

// signWithKeyID signs body like signMessage, but with the (sub)key keyID.
func signWithKeyID(t testing.TB, e *openpgp.Entity, keyID uint64, body []byte, when time.Time) []byte {
	t.Helper()
	cfg := &packet.Config{Time: at(when), DefaultHash: crypto.SHA256, SigningKeyId: keyID}
	var buf bytes.Buffer
	w, err := openpgp.Sign(&buf, e, &openpgp.FileHints{IsBinary: true, ModTime: when}, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write(body); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}
