package signing

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/iotest"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/ProtonMail/go-crypto/openpgp/armor"

	"github.com/stagex/stagex-bazel/tools/internal/diag"
	"github.com/stagex/stagex-bazel/tools/internal/digests"
	"github.com/stagex/stagex-bazel/tools/internal/signing/lookaside"
	"github.com/stagex/stagex-bazel/tools/internal/signing/payload"
)

const coreDigests = `1111111111111111111111111111111111111111111111111111111111111111 core-busybox
2222222222222222222222222222222222222222222222222222222222222222 core-make
`

func parseDigests(t *testing.T, name, text string) []Image {
	t.Helper()
	p, err := digests.Parse(name, []byte(text))
	if err != nil {
		t.Fatal(err)
	}
	return PinnedImages(p)
}

// storeFiles lists every file under root, relative and sorted.
func storeFiles(t *testing.T, root string) []string {
	t.Helper()
	var files []string
	filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			rel, _ := filepath.Rel(root, p)
			files = append(files, filepath.ToSlash(rel))
		}
		return nil
	})
	return files
}

func TestSignThenVerify(t *testing.T) {
	alice, bob := newKey(t, "alice", "ed25519"), newKey(t, "bob", "ed25519")
	_, kr := writeKeyring(t, map[string]*openpgp.Entity{"alice": alice, "bob": bob})
	pinned := parseDigests(t, "digests/core.txt", coreDigests)
	store := t.TempDir()

	res, err := Sign(SignOptions{Key: alice, Store: store, Prefix: testPrefix, Time: signTime}, pinned, nil)
	if err != nil {
		t.Fatal(err)
	}
	wantFiles := []string{
		"stagex/core-busybox@sha256=1111111111111111111111111111111111111111111111111111111111111111/signature-1",
		"stagex/core-make@sha256=2222222222222222222222222222222222222222222222222222222222222222/signature-1",
	}
	if got := storeFiles(t, store); strings.Join(got, "\n") != strings.Join(wantFiles, "\n") {
		t.Fatalf("store holds %v, want %v", got, wantFiles)
	}
	for i, r := range res {
		if !r.Created || r.Identity != Identity(testPrefix, pinned[i].Name) {
			t.Errorf("result %d = %+v", i, r)
		}
	}

	// The payload is the documented JSON, with the fixed timestamp.
	data, err := os.ReadFile(res[0].Path)
	if err != nil {
		t.Fatal(err)
	}
	key, body, err := openMessage(kr.Entities(), data, verifyTime)
	if err != nil {
		t.Fatal(err)
	}
	if key.Entity != kr.Keys[0].Entity {
		t.Errorf("signed by %X, want alice", key.Entity.PrimaryKey.Fingerprint)
	}
	wantBody := `{"critical":{"identity":{"docker-reference":"stagex/core-busybox"},"image":{"docker-manifest-digest":"sha256:1111111111111111111111111111111111111111111111111111111111111111"},"type":"atomic container signature"},"optional":{"creator":"` + Creator + `","timestamp":1735689600}}`
	if string(body) != wantBody {
		t.Errorf("payload\n got %s\nwant %s", body, wantBody)
	}

	// One maintainer is not enough under the default policy.
	rep, err := Verify(VerifyOptions{Store: store, Prefix: testPrefix, Keyring: kr, Now: verifyTime}, pinned)
	if err != nil {
		t.Fatal(err)
	}
	if rep.OK() {
		t.Fatalf("verified with one signature:\n%s", rep)
	}

	// Signing again with the same key changes nothing.
	again, err := Sign(SignOptions{Key: alice, Store: store, Prefix: testPrefix, Time: signTime.Add(time.Hour)}, pinned, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range again {
		if r.Created || r.Path != res[i].Path {
			t.Errorf("second run: %+v, want the existing %s", r, res[i].Path)
		}
	}
	if got := storeFiles(t, store); len(got) != 2 {
		t.Fatalf("second run changed the store: %v", got)
	}

	// A second maintainer adds signature-2 and the threshold is met.
	built := parseDigests(t, "out/core.txt", coreDigests)
	if _, err := Sign(SignOptions{Key: bob, Store: store, Prefix: testPrefix, Time: signTime}, pinned, built); err != nil {
		t.Fatal(err)
	}
	if got := storeFiles(t, store); len(got) != 4 || !strings.HasSuffix(got[1], "/signature-2") {
		t.Fatalf("after bob: %v", got)
	}
	rep, err = Verify(VerifyOptions{Store: store, Prefix: testPrefix, Keyring: kr, Now: verifyTime}, pinned)
	if err != nil {
		t.Fatal(err)
	}
	if !rep.OK() {
		t.Fatalf("not verified with two maintainers:\n%s", rep)
	}
	if names(rep.Images[1].Signed) != "alice,bob" {
		t.Errorf("signed by %s", names(rep.Images[1].Signed))
	}
}

func TestSignRefusesBuiltMismatch(t *testing.T) {
	alice := newKey(t, "alice", "ed25519")
	pinned := parseDigests(t, "digests/core.txt", coreDigests)
	tests := []struct {
		name      string
		built     string
		wantFile  string
		wantLine  int
		wantInMsg string
	}{
		{
			name: "different digest",
			built: `1111111111111111111111111111111111111111111111111111111111111111 core-busybox
3333333333333333333333333333333333333333333333333333333333333333 core-make
`,
			wantFile: "out/core.txt", wantLine: 2, wantInMsg: "core-make was built as sha256:3333",
		},
		{
			name:     "image not built",
			built:    "1111111111111111111111111111111111111111111111111111111111111111 core-busybox\n",
			wantFile: "digests/core.txt", wantLine: 2, wantInMsg: "core-make is pinned but was not built",
		},
		{
			name:     "image built but not pinned",
			built:    coreDigests + "4444444444444444444444444444444444444444444444444444444444444444 core-zlib\n",
			wantFile: "out/core.txt", wantLine: 3, wantInMsg: "core-zlib was built but is not pinned",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			store := t.TempDir()
			built := parseDigests(t, "out/core.txt", tc.built)
			_, err := Sign(SignOptions{Key: alice, Store: store, Prefix: testPrefix, Time: signTime}, pinned, built)
			if err == nil {
				t.Fatal("signed despite the mismatch")
			}
			file, line, ok := diag.At(err)
			if !ok || file != tc.wantFile || line != tc.wantLine || !strings.Contains(err.Error(), tc.wantInMsg) {
				t.Errorf("error %q at %s:%d, want %s:%d mentioning %q", err, file, line, tc.wantFile, tc.wantLine, tc.wantInMsg)
			}
			if files := storeFiles(t, store); len(files) != 0 {
				t.Errorf("wrote %v despite refusing", files)
			}
		})
	}
}

func TestSignRefusesUnusableKey(t *testing.T) {
	pinned := parseDigests(t, "digests/core.txt", coreDigests)
	cfg := keyConfig("ed25519")
	cfg.KeyLifetimeSecs = 3600
	short, err := openpgp.NewEntity("short", "", "", cfg)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		key  *openpgp.Entity
		when time.Time
	}{
		{"expired at signing time", short, signTime},
		{"signing time before the key existed", newKey(t, "early", "ed25519"), keyTime.Add(-time.Hour)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			store := t.TempDir()
			_, err := Sign(SignOptions{Key: tc.key, Store: store, Prefix: testPrefix, Time: tc.when}, pinned, nil)
			if err == nil || !strings.Contains(err.Error(), "no signing key valid at") {
				t.Errorf("err = %v", err)
			}
			if files := storeFiles(t, store); len(files) != 0 {
				t.Errorf("wrote %v", files)
			}
		})
	}
}

// A signature by the key over another image in the same directory (e.g.
// copied there by mistake) does not make signing the real image a no-op.
func TestSignIgnoresForeignSignatureInPlace(t *testing.T) {
	alice := newKey(t, "alice", "ed25519")
	pinned := parseDigests(t, "digests/core.txt", coreDigests)
	store := t.TempDir()
	img := pinned[0]
	wrong := signWithKeyID(t, alice, 0, testPayload(t, Identity(testPrefix, "core-other"), img.Digest), signTime)
	if _, err := lookaside.Add(store, Identity(testPrefix, img.Name), img.Digest, wrong); err != nil {
		t.Fatal(err)
	}
	res, err := Sign(SignOptions{Key: alice, Store: store, Prefix: testPrefix, Time: signTime}, pinned, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !res[0].Created || !strings.HasSuffix(res[0].Path, "/signature-2") {
		t.Errorf("got %+v, want a new signature-2", res[0])
	}
}

func secretArmor(t *testing.T, e *openpgp.Entity, passphrase string) []byte {
	t.Helper()
	if passphrase != "" {
		if err := e.EncryptPrivateKeys([]byte(passphrase), nil); err != nil {
			t.Fatal(err)
		}
	}
	var buf bytes.Buffer
	w, err := armor.Encode(&buf, openpgp.PrivateKeyType, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.SerializePrivateWithoutSigning(w, nil); err != nil {
		t.Fatal(err)
	}
	w.Close()
	return buf.Bytes()
}

func TestLoadSecretKey(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, data []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, data, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	locked := write("locked.asc", secretArmor(t, newKey(t, "locked", "ed25519"), "correct horse"))
	open := write("open.asc", secretArmor(t, newKey(t, "open", "ed25519"), ""))
	pub := write("pub.asc", publicArmor(t, newKey(t, "pub", "ed25519")))
	tests := []struct {
		name, path, pass string
		wantErr          string
	}{
		{"right passphrase", locked, "correct horse", ""},
		{"wrong passphrase", locked, "battery staple", "wrong passphrase"},
		{"no passphrase for a protected key", locked, "", "protected"},
		{"unprotected key", open, "", ""},
		{"public key is not a secret key", pub, "", `expected a "PGP PRIVATE KEY BLOCK"`},
		{"garbage", write("junk.asc", []byte("junk")), "", "expected an armored OpenPGP secret key"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e, err := LoadSecretKey(tc.path, []byte(tc.pass))
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			// The loaded key must be able to sign.
			pinned := parseDigests(t, "d.txt", coreDigests)
			if _, err := Sign(SignOptions{Key: e, Store: t.TempDir(), Prefix: testPrefix, Time: signTime}, pinned, nil); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestReadPassphrase(t *testing.T) {
	tests := []struct {
		in, want string
		wantErr  bool
	}{
		{"secret\n", "secret", false},
		{"secret\r\nignored", "secret", false},
		{"no newline", "no newline", false},
		{"", "", false},
		{strings.Repeat("x", maxPassphrase+1), "", true},
	}
	for _, tc := range tests {
		got, err := ReadPassphrase(iotest.OneByteReader(strings.NewReader(tc.in)))
		if (err != nil) != tc.wantErr || string(got) != tc.want {
			t.Errorf("ReadPassphrase(%.20q) = %q, %v", tc.in, got, err)
		}
	}
}

func TestNormalizeRef(t *testing.T) {
	tests := []struct{ a, b string }{
		{"stagex/core-busybox", "docker.io/stagex/core-busybox"},
		{"busybox", "docker.io/library/busybox"},
		{"index.docker.io/stagex/core-make", "stagex/core-make"},
	}
	for _, tc := range tests {
		if normalizeRef(tc.a) != normalizeRef(tc.b) {
			t.Errorf("%q and %q differ: %q vs %q", tc.a, tc.b, normalizeRef(tc.a), normalizeRef(tc.b))
		}
	}
	if normalizeRef("quay.io/stagex/core-make") == normalizeRef("stagex/core-make") {
		t.Error("a different registry host must give a different identity")
	}
	if _, err := payload.Parse([]byte("{}")); err == nil {
		t.Error("empty payload parsed")
	}
}
