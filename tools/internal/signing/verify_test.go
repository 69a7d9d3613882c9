package signing

import (
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/ProtonMail/go-crypto/openpgp/armor"
	"github.com/ProtonMail/go-crypto/openpgp/packet"

	"github.com/stagex/stagex-bazel/tools/internal/signing/lookaside"
	"github.com/stagex/stagex-bazel/tools/internal/signing/payload"
	"github.com/stagex/stagex-bazel/tools/internal/signing/trust"
)

const (
	testPrefix  = "stagex"
	digestA     = "sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	digestB     = "sha256:bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
	testImage   = "core-busybox"
	otherImage  = "core-make"
	thirtyDays  = 30 * 24 * 3600
	revokeDelay = time.Hour
)

var testImg = Image{Name: testImage, Tier: "core", Digest: digestA}

// verifyKeys holds the maintainers of the verification tests:
//
//	alice, bob, carol: ordinary keys
//	expired:  lifetime of 30 days from keyTime, so expired at signTime
//	revoked:  primary key revoked an hour after keyTime
//	subrev:   signs with a subkey that was revoked an hour after keyTime
//	twosub:   has two signing subkeys
//	mallory:  not in the keyring
type verifyKeys struct {
	ents                map[string]*openpgp.Entity
	subrevKey           uint64
	twosubKey1, twosub2 uint64
	mallory             *openpgp.Entity
	keyring             *trust.Keyring
}

func makeVerifyKeys(t *testing.T) *verifyKeys {
	t.Helper()
	vk := &verifyKeys{ents: map[string]*openpgp.Entity{}}
	for _, n := range []string{"alice", "bob", "carol"} {
		vk.ents[n] = newKey(t, n, "ed25519")
	}
	cfg := keyConfig("ed25519")
	cfg.KeyLifetimeSecs = thirtyDays
	exp, err := openpgp.NewEntity("expired", "", "", cfg)
	if err != nil {
		t.Fatal(err)
	}
	vk.ents["expired"] = exp

	rev := newKey(t, "revoked", "ed25519")
	if err := rev.RevokeKey(packet.KeyRetired, "retired", &packet.Config{Time: at(keyTime.Add(revokeDelay))}); err != nil {
		t.Fatal(err)
	}
	vk.ents["revoked"] = rev

	subrev := newKey(t, "subrev", "ed25519")
	if err := subrev.AddSigningSubkey(keyConfig("ed25519")); err != nil {
		t.Fatal(err)
	}
	sk := &subrev.Subkeys[len(subrev.Subkeys)-1]
	vk.subrevKey = sk.PublicKey.KeyId
	if err := subrev.RevokeSubkey(sk, packet.KeySuperseded, "", &packet.Config{Time: at(keyTime.Add(revokeDelay))}); err != nil {
		t.Fatal(err)
	}
	vk.ents["subrev"] = subrev

	two := newKey(t, "twosub", "ed25519")
	for i := 0; i < 2; i++ {
		if err := two.AddSigningSubkey(keyConfig("ed25519")); err != nil {
			t.Fatal(err)
		}
	}
	vk.twosubKey1 = two.Subkeys[1].PublicKey.KeyId
	vk.twosub2 = two.Subkeys[2].PublicKey.KeyId
	vk.ents["twosub"] = two

	vk.mallory = newKey(t, "mallory", "ed25519")
	_, vk.keyring = writeKeyring(t, vk.ents)
	return vk
}

func testPayload(t testing.TB, ref, digest string) []byte {
	t.Helper()
	doc, err := payload.Payload{Reference: ref, Digest: digest, Creator: Creator, Timestamp: signTime.Unix(), HasTimestamp: true}.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	return doc
}

// goodSig is a signature by e (its primary key) over the test image.
func goodSig(t testing.TB, e *openpgp.Entity, when time.Time) []byte {
	t.Helper()
	return signWithKeyID(t, e, e.PrimaryKey.KeyId, testPayload(t, Identity(testPrefix, testImage), digestA), when)
}

func armored(t testing.TB, sig []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	w, err := armor.Encode(&buf, "PGP MESSAGE", nil)
	if err != nil {
		t.Fatal(err)
	}
	w.Write(sig)
	w.Close()
	return buf.Bytes()
}

func TestVerify(t *testing.T) {
	vk := makeVerifyKeys(t)
	ref := Identity(testPrefix, testImage)
	good := func(name string) func(t *testing.T) []byte {
		return func(t *testing.T) []byte { return goodSig(t, vk.ents[name], signTime) }
	}
	tests := []struct {
		name        string
		files       []func(t *testing.T) []byte // signature-1, signature-2, ...
		wantOK      bool
		wantSigned  []string
		wantReasons []string // one substring per rejected file, in order
	}{
		{
			name:       "two maintainers",
			files:      []func(*testing.T) []byte{good("alice"), good("bob")},
			wantOK:     true,
			wantSigned: []string{"alice", "bob"},
		},
		{
			name:       "three maintainers, armored signature accepted",
			files:      []func(*testing.T) []byte{good("carol"), func(t *testing.T) []byte { return armored(t, goodSig(t, vk.ents["alice"], signTime)) }, good("bob")},
			wantOK:     true,
			wantSigned: []string{"alice", "bob", "carol"},
		},
		{
			name:       "one maintainer is not enough",
			files:      []func(*testing.T) []byte{good("alice")},
			wantSigned: []string{"alice"},
		},
		{
			name:        "two signatures by one key",
			files:       []func(*testing.T) []byte{good("alice"), func(t *testing.T) []byte { return goodSig(t, vk.ents["alice"], signTime.Add(time.Minute)) }},
			wantSigned:  []string{"alice"},
			wantReasons: []string{"another signature by alice"},
		},
		{
			name: "two subkeys of one primary key count once",
			files: []func(*testing.T) []byte{
				func(t *testing.T) []byte {
					return signWithKeyID(t, vk.ents["twosub"], vk.twosubKey1, testPayload(t, ref, digestA), signTime)
				},
				func(t *testing.T) []byte {
					return signWithKeyID(t, vk.ents["twosub"], vk.twosub2, testPayload(t, ref, digestA), signTime)
				},
			},
			wantSigned:  []string{"twosub"},
			wantReasons: []string{"another signature by twosub"},
		},
		{
			name:        "key outside the keyring",
			files:       []func(*testing.T) []byte{good("alice"), func(t *testing.T) []byte { return goodSig(t, vk.mallory, signTime) }},
			wantSigned:  []string{"alice"},
			wantReasons: []string{"not in the keyring"},
		},
		{
			name: "expired key",
			files: []func(*testing.T) []byte{good("alice"), func(t *testing.T) []byte {
				// Made while the key was valid; checked after it expired.
				return goodSig(t, vk.ents["expired"], keyTime.Add(24*time.Hour))
			}},
			wantSigned:  []string{"alice"},
			wantReasons: []string{"the key is expired"},
		},
		{
			name: "revoked primary key",
			files: []func(*testing.T) []byte{good("alice"), func(t *testing.T) []byte {
				return goodSig(t, vk.ents["revoked"], keyTime.Add(time.Minute))
			}},
			wantSigned:  []string{"alice"},
			wantReasons: []string{"the key is revoked"},
		},
		{
			name: "revoked signing subkey",
			files: []func(*testing.T) []byte{good("alice"), func(t *testing.T) []byte {
				return signWithKeyID(t, vk.ents["subrev"], vk.subrevKey, testPayload(t, ref, digestA), keyTime.Add(time.Minute))
			}},
			wantSigned:  []string{"alice"},
			wantReasons: []string{"the key is revoked"},
		},
		{
			name: "signature over another digest",
			files: []func(*testing.T) []byte{good("alice"), func(t *testing.T) []byte {
				return signWithKeyID(t, vk.ents["bob"], 0, testPayload(t, ref, digestB), signTime)
			}},
			wantSigned:  []string{"alice"},
			wantReasons: []string{"is over digest " + digestB},
		},
		{
			name: "signature over another identity",
			files: []func(*testing.T) []byte{good("alice"), func(t *testing.T) []byte {
				return signWithKeyID(t, vk.ents["bob"], 0, testPayload(t, Identity(testPrefix, otherImage), digestA), signTime)
			}},
			wantSigned:  []string{"alice"},
			wantReasons: []string{`is for identity "stagex/core-make"`},
		},
		{
			name: "identity in explicit docker.io form is the same identity",
			files: []func(*testing.T) []byte{good("alice"), func(t *testing.T) []byte {
				return signWithKeyID(t, vk.ents["bob"], 0, testPayload(t, "docker.io/"+ref, digestA), signTime)
			}},
			wantOK:     true,
			wantSigned: []string{"alice", "bob"},
		},
		{
			name: "tampered payload",
			files: []func(*testing.T) []byte{good("alice"), func(t *testing.T) []byte {
				sig := goodSig(t, vk.ents["bob"], signTime)
				i := bytes.Index(sig, []byte(strings.TrimPrefix(digestA, "sha256:")))
				if i < 0 {
					t.Fatal("payload not found in the signed message")
				}
				sig[i] ^= 0x01 // 'a' becomes '`'
				return sig
			}},
			wantSigned:  []string{"alice"},
			wantReasons: []string{"bad signature"},
		},
		{
			name: "garbage file",
			files: []func(*testing.T) []byte{good("alice"), func(t *testing.T) []byte {
				return []byte("this is not a signature\x00\xff\x10")
			}},
			wantSigned:  []string{"alice"},
			wantReasons: []string{"not an OpenPGP signed message"},
		},
		{
			name: "malformed armor",
			files: []func(*testing.T) []byte{good("alice"), func(t *testing.T) []byte {
				return []byte("-----BEGIN PGP MESSAGE-----\n\n!!! not base64 !!!\n-----END PGP MESSAGE-----\n")
			}},
			wantSigned:  []string{"alice"},
			wantReasons: []string{"bad armor"},
		},
		{
			name: "armor of the wrong type",
			files: []func(*testing.T) []byte{good("alice"), func(t *testing.T) []byte {
				return publicArmor(t, vk.ents["bob"])
			}},
			wantSigned:  []string{"alice"},
			wantReasons: []string{`expected "PGP MESSAGE"`},
		},
		{
			name: "unsigned literal message",
			files: []func(*testing.T) []byte{good("alice"), func(t *testing.T) []byte {
				var buf bytes.Buffer
				w, err := packet.SerializeLiteral(nopCloser{&buf}, true, "", uint32(signTime.Unix()))
				if err != nil {
					t.Fatal(err)
				}
				w.Write(testPayload(t, ref, digestA))
				w.Close()
				return buf.Bytes()
			}},
			wantSigned:  []string{"alice"},
			wantReasons: []string{"not signed"},
		},
		{
			name: "valid signature over a payload with an unknown critical member",
			files: []func(*testing.T) []byte{good("alice"), func(t *testing.T) []byte {
				doc := bytes.Replace(testPayload(t, ref, digestA), []byte(`"type"`), []byte(`"extra":1,"type"`), 1)
				return signWithKeyID(t, vk.ents["bob"], 0, doc, signTime)
			}},
			wantSigned:  []string{"alice"},
			wantReasons: []string{"malformed payload"},
		},
		{
			name: "valid signature in a file over 64 KiB is refused unread",
			files: []func(*testing.T) []byte{good("alice"), func(t *testing.T) []byte {
				// Trailing text after the armor is ignored by the parser, so
				// only the size check can refuse this file.
				a := armored(t, goodSig(t, vk.ents["bob"], signTime))
				return append(a, bytes.Repeat([]byte("\n"), lookaside.MaxSize)...)
			}},
			wantSigned:  []string{"alice"},
			wantReasons: []string{"larger than 65536 bytes"},
		},
		{
			name: "the same signature stored twice counts once",
			files: func() []func(*testing.T) []byte {
				var sig []byte
				same := func(t *testing.T) []byte {
					if sig == nil {
						sig = goodSig(t, vk.ents["bob"], signTime)
					}
					return sig
				}
				return []func(*testing.T) []byte{same, same}
			}(),
			wantSigned:  []string{"bob"},
			wantReasons: []string{"same file as signature-1"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			store := t.TempDir()
			dir, err := lookaside.Dir(store, Identity(testPrefix, testImage), digestA)
			if err != nil {
				t.Fatal(err)
			}
			if err := os.MkdirAll(dir, 0o755); err != nil {
				t.Fatal(err)
			}
			for i, f := range tc.files {
				if err := os.WriteFile(filepath.Join(dir, "signature-"+strconv.Itoa(i+1)), f(t), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			rep, err := Verify(VerifyOptions{Store: store, Prefix: testPrefix, Keyring: vk.keyring, Now: verifyTime}, []Image{testImg})
			if err != nil {
				t.Fatal(err)
			}
			if len(rep.Images) != 1 {
				t.Fatalf("got %d results, want 1", len(rep.Images))
			}
			res := rep.Images[0]
			msg := res.Message()
			if res.OK != tc.wantOK || rep.OK() != tc.wantOK {
				t.Errorf("OK = %v, want %v\n%s", res.OK, tc.wantOK, msg)
			}
			var signed []string
			for _, k := range res.Signed {
				signed = append(signed, k.Name)
			}
			if strings.Join(signed, ",") != strings.Join(tc.wantSigned, ",") {
				t.Errorf("signed by %v, want %v\n%s", signed, tc.wantSigned, msg)
			}
			if len(res.Signed)+len(res.Missing) != len(vk.keyring.Keys) {
				t.Errorf("signed %d + missing %d != %d keys\n%s", len(res.Signed), len(res.Missing), len(vk.keyring.Keys), msg)
			}
			if len(res.Rejected) != len(tc.wantReasons) {
				t.Fatalf("%d rejections, want %d\n%s", len(res.Rejected), len(tc.wantReasons), msg)
			}
			for i, want := range tc.wantReasons {
				if !strings.Contains(res.Rejected[i].Reason, want) {
					t.Errorf("rejection %d = %q, want it to mention %q", i, res.Rejected[i].Reason, want)
				}
			}
		})
	}
}

type nopCloser struct{ *bytes.Buffer }

func (nopCloser) Close() error { return nil }

func TestVerifyPolicy(t *testing.T) {
	ents := map[string]*openpgp.Entity{
		"alice": newKey(t, "alice", "ed25519"),
		"bob":   newKey(t, "bob", "ed25519"),
		"carol": newKey(t, "carol", "ed25519"),
	}
	_, kr := writeKeyring(t, ents)
	fpr := func(n string) string { return trust.Fingerprint(ents[n]) }
	store := t.TempDir()
	images := []Image{
		{Name: "bootstrap-stage0", Tier: "bootstrap", Digest: digestA},
		{Name: "core-busybox", Tier: "core", Digest: digestA},
		{Name: "user-tool", Tier: "user", Digest: digestB},
	}
	// alice and bob sign everything; carol signs nothing.
	for _, img := range images {
		for _, n := range []string{"alice", "bob"} {
			sig := signWithKeyID(t, ents[n], 0, testPayload(t, Identity(testPrefix, img.Name), img.Digest), signTime)
			if _, err := lookaside.Add(store, Identity(testPrefix, img.Name), img.Digest, sig); err != nil {
				t.Fatal(err)
			}
		}
	}
	policy := `threshold = 2
keys = ["` + fpr("alice") + `", "` + fpr("bob") + `", "` + fpr("carol") + `"]

[tier.bootstrap]
threshold = 3

[tier.user]
threshold = 1
keys = ["` + fpr("carol") + `", "` + fpr("bob") + `"]
`
	pol, err := trust.ParsePolicy("policy.toml", []byte(policy), kr)
	if err != nil {
		t.Fatal(err)
	}
	rep, err := Verify(VerifyOptions{Store: store, Prefix: testPrefix, Keyring: kr, Policy: pol, Now: verifyTime}, images)
	if err != nil {
		t.Fatal(err)
	}
	want := []struct {
		ok       bool
		signed   string
		missing  string
		rejected int
	}{
		{false, "alice,bob", "carol", 0}, // bootstrap needs 3
		{true, "alice,bob", "carol", 0},  // core: default rule
		{true, "bob", "carol", 1},        // user: alice does not count
	}
	for i, w := range want {
		r := rep.Images[i]
		if r.OK != w.ok || names(r.Signed) != w.signed || names(r.Missing) != w.missing || len(r.Rejected) != w.rejected {
			t.Errorf("%s: got ok=%v signed=%s missing=%s rejected=%d, want %+v\n%s",
				r.Image.Name, r.OK, names(r.Signed), names(r.Missing), len(r.Rejected), w, r.Message())
		}
	}
	if rep.OK() || len(rep.Failed()) != 1 || rep.Failed()[0].Image.Name != "bootstrap-stage0" {
		t.Errorf("report: OK=%v failed=%d\n%s", rep.OK(), len(rep.Failed()), rep)
	}
	if !strings.Contains(rep.Images[2].Rejected[0].Reason, "does not count for tier user") {
		t.Errorf("user rejection = %q", rep.Images[2].Rejected[0].Reason)
	}
	if !strings.HasSuffix(rep.String(), "2 of 3 images verified") {
		t.Errorf("summary: %q", rep.String())
	}
}

func names(keys []trust.Key) string {
	var s []string
	for _, k := range keys {
		s = append(s, k.Name)
	}
	return strings.Join(s, ",")
}

func TestVerifyNoSignatures(t *testing.T) {
	_, kr := writeKeyring(t, map[string]*openpgp.Entity{"alice": newKey(t, "alice", "ed25519"), "bob": newKey(t, "bob", "ed25519")})
	rep, err := Verify(VerifyOptions{Store: t.TempDir(), Prefix: testPrefix, Keyring: kr, Now: verifyTime}, []Image{testImg})
	if err != nil {
		t.Fatal(err)
	}
	r := rep.Images[0]
	if r.OK || len(r.Signed) != 0 || names(r.Missing) != "alice,bob" || r.Threshold != 2 {
		t.Errorf("got %s", r.Message())
	}
	if !strings.Contains(r.Message(), "FAILED, 0 of 2 required signatures") {
		t.Errorf("message: %s", r.Message())
	}
}
