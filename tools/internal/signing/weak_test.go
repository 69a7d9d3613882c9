package signing

import (
	"bytes"
	"crypto"
	"crypto/dsa" //nolint:staticcheck // weak DSA keys are what these tests refuse
	"crypto/rand"
	"crypto/rsa"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/ProtonMail/go-crypto/openpgp/packet"

	"github.com/stagex/stagex-bazel/tools/internal/signing/lookaside"
)

// selfSigned makes a signing entity of pk with one user ID, self-signed at
// keyTime (go-crypto generates neither DSA keys nor, by default, short
// RSA ones).
func selfSigned(t *testing.T, name string, pk *packet.PrivateKey) *openpgp.Entity {
	t.Helper()
	uid := packet.NewUserId(name, "test", name+"@example.invalid")
	sig := &packet.Signature{
		Version:      pk.PublicKey.Version,
		SigType:      packet.SigTypePositiveCert,
		PubKeyAlgo:   pk.PublicKey.PubKeyAlgo,
		Hash:         crypto.SHA256,
		CreationTime: keyTime,
		IssuerKeyId:  &pk.PublicKey.KeyId,
		FlagsValid:   true,
		FlagSign:     true,
		FlagCertify:  true,
	}
	if err := sig.SignUserId(uid.Id, &pk.PublicKey, pk, &packet.Config{Time: at(keyTime)}); err != nil {
		t.Fatal(err)
	}
	return &openpgp.Entity{
		PrimaryKey: &pk.PublicKey,
		PrivateKey: pk,
		Identities: map[string]*openpgp.Identity{uid.Id: {
			Name: uid.Id, UserId: uid, SelfSignature: sig, Signatures: []*packet.Signature{sig},
		}},
	}
}

func dsaKey(t *testing.T, name string, sizes dsa.ParameterSizes) *openpgp.Entity {
	t.Helper()
	var priv dsa.PrivateKey
	if err := dsa.GenerateParameters(&priv.Parameters, rand.Reader, sizes); err != nil {
		t.Fatal(err)
	}
	if err := dsa.GenerateKey(&priv, rand.Reader); err != nil {
		t.Fatal(err)
	}
	return selfSigned(t, name, packet.NewDSAPrivateKey(keyTime, &priv))
}

func rsaKey(t *testing.T, name string, bits int) *openpgp.Entity {
	t.Helper()
	priv, err := rsa.GenerateKey(rand.Reader, bits)
	if err != nil {
		t.Fatal(err)
	}
	return selfSigned(t, name, packet.NewRSAPrivateKey(keyTime, priv))
}

// sigWith signs the test payload with e's primary key, hash h, at when.
func sigWith(t *testing.T, e *openpgp.Entity, h crypto.Hash, when time.Time) []byte {
	t.Helper()
	cfg := &packet.Config{Time: at(when), DefaultHash: h, SigningKeyId: e.PrimaryKey.KeyId}
	var buf bytes.Buffer
	w, err := openpgp.Sign(&buf, e, &openpgp.FileHints{IsBinary: true, ModTime: when}, cfg)
	if err != nil {
		t.Fatal(err)
	}
	w.Write(testPayload(t, Identity(testPrefix, testImage), digestA))
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// manualSig signs the test payload with e's primary key and hash h, dated
// at when, building the packets itself: go-crypto's Sign refuses a time at
// which the key did not exist, and picks the hash from the key's
// preferences rather than h.
func manualSig(t *testing.T, e *openpgp.Entity, h crypto.Hash, when time.Time) []byte {
	t.Helper()
	pk := e.PrivateKey
	noSalt := false // the salt notation has no size for SHA-1
	cfg := &packet.Config{Time: at(when), NonDeterministicSignaturesViaNotation: &noSalt}
	var buf bytes.Buffer
	ops := &packet.OnePassSignature{Version: 3, SigType: packet.SigTypeBinary, Hash: h, PubKeyAlgo: pk.PubKeyAlgo, KeyId: pk.KeyId, IsLast: true}
	if err := ops.Serialize(&buf); err != nil {
		t.Fatal(err)
	}
	body := testPayload(t, Identity(testPrefix, testImage), digestA)
	lit, err := packet.SerializeLiteral(nopCloser{&buf}, true, "", uint32(when.Unix()))
	if err != nil {
		t.Fatal(err)
	}
	lit.Write(body)
	lit.Close()
	sig := &packet.Signature{Version: 4, SigType: packet.SigTypeBinary, PubKeyAlgo: pk.PubKeyAlgo, Hash: h, CreationTime: when, IssuerKeyId: &pk.KeyId}
	hh, err := sig.PrepareSign(cfg)
	if err != nil {
		t.Fatal(err)
	}
	hh.Write(body)
	if err := sig.Sign(hh, pk, cfg); err != nil {
		t.Fatal(err)
	}
	if err := sig.Serialize(&buf); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// withHashID rewrites the hash algorithm octet of the one-pass signature
// and signature packets of a binary message, as a message made with that
// hash (MD5: 1, RIPEMD-160: 3) would carry it; go-crypto cannot make one.
func withHashID(t *testing.T, msg []byte, id byte) []byte {
	t.Helper()
	out := bytes.Clone(msg)
	r := packet.NewOpaqueReader(bytes.NewReader(msg))
	off := 0
	for {
		p, err := r.Next()
		if err != nil {
			break
		}
		var raw bytes.Buffer
		p.Serialize(&raw)
		start := off + raw.Len() - len(p.Contents) // the packet body
		switch p.Tag {
		case 4: // one-pass signature: version, type, hash, ...
			out[start+2] = id
		case 2: // v4 signature: version, type, public key algorithm, hash, ...
			out[start+3] = id
		}
		off += raw.Len()
	}
	if bytes.Equal(out, msg) {
		t.Fatal("found no hash octet to rewrite")
	}
	return out
}

// lastPacket returns the last packet of a binary message, as sent.
func lastPacket(t *testing.T, msg []byte) []byte {
	t.Helper()
	r := packet.NewOpaqueReader(bytes.NewReader(msg))
	var last bytes.Buffer
	for {
		p, err := r.Next()
		if err != nil {
			break
		}
		last.Reset()
		p.Serialize(&last)
	}
	return last.Bytes()
}

// TestVerifyRefusesWeakSignatures: signatures made with weak hashes or
// weak keys, dated before their key, or carrying more than one signature
// or trailing data count for nothing, with a reason naming the problem.
func TestVerifyRefusesWeakSignatures(t *testing.T) {
	strong := newKey(t, "strong", "ed25519")
	keys := map[string]*openpgp.Entity{
		"strong":  strong,
		"rsa2048": rsaKey(t, "rsa2048", 2048),
		"rsa1024": rsaKey(t, "rsa1024", 1024),
		"dsa1024": dsaKey(t, "dsa1024", dsa.L1024N160),
		"dsa2048": dsaKey(t, "dsa2048", dsa.L2048N256),
	}
	_, kr := writeKeyring(t, keys)
	good := sigWith(t, strong, crypto.SHA256, signTime)
	for _, tc := range []struct {
		name   string
		sig    func(t *testing.T) []byte
		reason []string // nil: counts
	}{
		{"ed25519 with SHA-256", func(t *testing.T) []byte { return good }, nil},
		{"ed25519 with armor", func(t *testing.T) []byte { return armored(t, good) }, nil},
		{"RSA-2048 with SHA-512", func(t *testing.T) []byte { return sigWith(t, keys["rsa2048"], crypto.SHA512, signTime) }, nil},
		{"SHA-1", func(t *testing.T) []byte { return manualSig(t, strong, crypto.SHA1, signTime) }, []string{"SHA-1"}},
		{"MD5", func(t *testing.T) []byte { return withHashID(t, good, 1) }, []string{"MD5"}},
		{"RIPEMD-160", func(t *testing.T) []byte { return withHashID(t, good, 3) }, []string{"RIPEMD-160"}},
		{"RSA-1024", func(t *testing.T) []byte { return sigWith(t, keys["rsa1024"], crypto.SHA256, signTime) }, []string{"RSA", "1024 bits", "2048"}},
		{"DSA-1024", func(t *testing.T) []byte { return sigWith(t, keys["dsa1024"], crypto.SHA256, signTime) }, []string{"DSA"}},
		{"DSA-2048", func(t *testing.T) []byte { return sigWith(t, keys["dsa2048"], crypto.SHA256, signTime) }, []string{"DSA"}},
		{"made with manualSig, SHA-256, on time", func(t *testing.T) []byte { return manualSig(t, strong, crypto.SHA256, signTime) }, nil},
		{"dated before its key", func(t *testing.T) []byte { return manualSig(t, strong, crypto.SHA256, keyTime.Add(-24*time.Hour)) }, []string{"before", "key", "created"}},
		{"junk after the signature", func(t *testing.T) []byte { return append(bytes.Clone(good), "junk"...) }, []string{"trailing data"}},
		{"junk after the armored signature", func(t *testing.T) []byte {
			a := armored(t, good)
			return bytes.Replace(a, []byte("-----END PGP MESSAGE-----"), []byte("-----END PGP MESSAGE-----\njunk"), 1)
		}, []string{"trailing data"}},
		{"signature packet twice", func(t *testing.T) []byte { return append(bytes.Clone(good), lastPacket(t, good)...) }, []string{"2 signatures"}},
		{"two signed messages", func(t *testing.T) []byte {
			return append(bytes.Clone(good), sigWith(t, keys["rsa2048"], crypto.SHA256, signTime)...)
		}, []string{"2 signatures"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			store := t.TempDir()
			dir, err := lookaside.Dir(store, Identity(testPrefix, testImage), digestA)
			if err != nil {
				t.Fatal(err)
			}
			if err := os.MkdirAll(dir, 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(dir, "signature-"+strconv.Itoa(1)), tc.sig(t), 0o644); err != nil {
				t.Fatal(err)
			}
			rep, err := Verify(VerifyOptions{Store: store, Prefix: testPrefix, Keyring: kr, Now: verifyTime}, []Image{testImg})
			if err != nil {
				t.Fatal(err)
			}
			res := rep.Images[0]
			if tc.reason == nil {
				if len(res.Signed) != 1 || len(res.Rejected) != 0 {
					t.Fatalf("a sound signature did not count:\n%s", res.Message())
				}
				return
			}
			if len(res.Signed) != 0 || len(res.Rejected) != 1 {
				t.Fatalf("expected the signature refused:\n%s", res.Message())
			}
			for _, w := range tc.reason {
				if !strings.Contains(res.Rejected[0].Reason, w) {
					t.Errorf("reason %q does not mention %q", res.Rejected[0].Reason, w)
				}
			}
			if strings.Contains(res.Rejected[0].Reason, "not signed") {
				t.Errorf("misleading reason %q", res.Rejected[0].Reason)
			}
		})
	}
}
