package trust

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

	"github.com/stagex/stagex-bazel/tools/internal/diag"
)

func newKey(t *testing.T, name string) *openpgp.Entity {
	t.Helper()
	cfg := &packet.Config{
		Algorithm: packet.PubKeyAlgoEdDSA,
		Time:      func() time.Time { return time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC) },
	}
	e, err := openpgp.NewEntity(name, "", "", cfg)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func armorKey(t *testing.T, e *openpgp.Entity, private bool) []byte {
	t.Helper()
	var buf bytes.Buffer
	typ := openpgp.PublicKeyType
	if private {
		typ = openpgp.PrivateKeyType
	}
	w, _ := armor.Encode(&buf, typ, nil)
	var err error
	if private {
		err = e.SerializePrivate(w, nil)
	} else {
		err = e.Serialize(w)
	}
	if err != nil {
		t.Fatal(err)
	}
	w.Close()
	return buf.Bytes()
}

func writeFiles(t *testing.T, files map[string][]byte) string {
	t.Helper()
	dir := t.TempDir()
	for n, d := range files {
		if err := os.WriteFile(filepath.Join(dir, n), d, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestLoadKeyring(t *testing.T) {
	alice, bob := newKey(t, "alice"), newKey(t, "bob")
	dir := writeFiles(t, map[string][]byte{
		"bob.asc":     armorKey(t, bob, false),
		"alice.asc":   armorKey(t, alice, false),
		"README.md":   []byte("not a key"),
		".hidden.asc": []byte("ignored"),
	})
	kr, err := LoadKeyring(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(kr.Keys) != 2 || kr.Keys[0].Name != "alice" || kr.Keys[1].Name != "bob" {
		t.Fatalf("keys: %+v", kr.Keys)
	}
	fpr := Fingerprint(bob)
	if len(fpr) != 40 || strings.ToUpper(fpr) != fpr {
		t.Errorf("fingerprint %q", fpr)
	}
	if k, ok := kr.ByFingerprint(fpr); !ok || k.Name != "bob" || k.String() != "bob ("+fpr+")" {
		t.Errorf("ByFingerprint = %+v, %v", k, ok)
	}
	if len(kr.Entities()) != 2 {
		t.Errorf("Entities: %d", len(kr.Entities()))
	}
}

func TestLoadKeyringErrors(t *testing.T) {
	alice := newKey(t, "alice")
	pub := armorKey(t, alice, false)
	var both bytes.Buffer
	w, _ := armor.Encode(&both, openpgp.PublicKeyType, nil)
	alice.Serialize(w)
	newKey(t, "bob").Serialize(w)
	w.Close()
	tests := []struct {
		name  string
		files map[string][]byte
		want  string
	}{
		{"empty directory", map[string][]byte{"README": []byte("x")}, "no maintainer keys"},
		{"garbage", map[string][]byte{"x.asc": []byte("garbage")}, "expected an armored OpenPGP public key"},
		{"secret key", map[string][]byte{"x.asc": armorKey(t, alice, true)}, `expected a "PGP PUBLIC KEY BLOCK"`},
		{"two keys in one file", map[string][]byte{"x.asc": both.Bytes()}, "exactly one key, found 2"},
		{"same key twice", map[string][]byte{"a.asc": pub, "b.asc": pub}, "is in both"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := LoadKeyring(writeFiles(t, tc.files))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v, want %q", err, tc.want)
			}
		})
	}
}

func TestLoadKeys(t *testing.T) {
	alice, bob, carol := newKey(t, "alice"), newKey(t, "bob"), newKey(t, "carol")
	dir := writeFiles(t, map[string][]byte{
		"alice.asc": armorKey(t, alice, false),
		"bob.asc":   armorKey(t, bob, false),
	})
	other := writeFiles(t, map[string][]byte{"carol.asc": armorKey(t, carol, false)})
	carolFile := filepath.Join(other, "carol.asc")
	empty := t.TempDir()
	tests := []struct {
		name    string
		paths   []string
		want    string // key names, comma-separated
		wantErr string
	}{
		{"directory", []string{dir}, "alice,bob", ""},
		{"single files", []string{filepath.Join(dir, "bob.asc"), carolFile}, "bob,carol", ""},
		{"directory and file", []string{dir, carolFile}, "alice,bob,carol", ""},
		{"empty directory plus a file", []string{empty, carolFile}, "carol", ""},
		{"only an empty directory", []string{empty}, "", "no maintainer keys"},
		{"a key given twice", []string{dir, filepath.Join(dir, "alice.asc")}, "", "is in both"},
		{"missing path", []string{filepath.Join(empty, "nope.asc")}, "", "no such file"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			kr, err := LoadKeys(tc.paths...)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var names []string
			for _, k := range kr.Keys {
				names = append(names, k.Name)
			}
			if got := strings.Join(names, ","); got != tc.want {
				t.Errorf("keys %s, want %s", got, tc.want)
			}
		})
	}
}

func TestNormalizeFingerprint(t *testing.T) {
	const f = "0123456789ABCDEF0123456789ABCDEF01234567"
	for _, in := range []string{f, strings.ToLower(f), "0x" + f, "0123 4567 89AB CDEF 0123  4567 89AB CDEF 0123 4567"} {
		if got, err := NormalizeFingerprint(in); err != nil || got != f {
			t.Errorf("NormalizeFingerprint(%q) = %q, %v", in, got, err)
		}
	}
	for _, in := range []string{"", f[:39], f + "0", "G" + f[1:], "89ABCDEF"} {
		if _, err := NormalizeFingerprint(in); err == nil {
			t.Errorf("NormalizeFingerprint(%q) accepted", in)
		}
	}
}

func testKeyring(t *testing.T) (*Keyring, map[string]string) {
	t.Helper()
	fprs := map[string]string{}
	var keys []Key
	for _, n := range []string{"alice", "bob", "carol"} {
		e := newKey(t, n)
		fprs[n] = Fingerprint(e)
		keys = append(keys, Key{Name: n, Fingerprint: fprs[n], File: n + ".asc", Entity: e})
	}
	kr, err := NewKeyring(keys)
	if err != nil {
		t.Fatal(err)
	}
	return kr, fprs
}

func keyNames(keys []Key) string {
	var s []string
	for _, k := range keys {
		s = append(s, k.Name)
	}
	return strings.Join(s, ",")
}

func TestParsePolicy(t *testing.T) {
	kr, f := testKeyring(t)
	tests := []struct {
		name, text string
		// want: tier -> "threshold:names"
		want map[string]string
	}{
		{"empty file means defaults", "", map[string]string{"core": "2:alice,bob,carol", "bootstrap": "2:alice,bob,carol"}},
		{"overall threshold and keys", "threshold = 1\nkeys = [\"" + strings.ToLower(f["carol"]) + "\", \"" + f["alice"] + "\"]\n",
			map[string]string{"core": "1:alice,carol", "user": "1:alice,carol"}},
		{"tier overrides inherit what they omit",
			"threshold = 2\n[tier.bootstrap]\nthreshold = 3\n[tier.user]\nkeys = [\"" + f["bob"] + "\", \"" + f["carol"] + "\"]\n",
			map[string]string{"bootstrap": "3:alice,bob,carol", "user": "2:bob,carol", "core": "2:alice,bob,carol", "pallet": "2:alice,bob,carol"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p, err := ParsePolicy("policy.toml", []byte(tc.text), kr)
			if err != nil {
				t.Fatal(err)
			}
			for tier, want := range tc.want {
				r := p.Rule(tier)
				got := strings.Join([]string{strconv.Itoa(r.Threshold), keyNames(r.Keys)}, ":")
				if got != want {
					t.Errorf("tier %s: %s, want %s", tier, got, want)
				}
			}
		})
	}
	p, _ := ParsePolicy("policy.toml", []byte("keys = [\""+f["bob"]+"\", \""+f["alice"]+"\"]\n"), kr)
	if !p.Rule("core").Counts(f["bob"]) || p.Rule("core").Counts(f["carol"]) {
		t.Error("Counts disagrees with the keys listed")
	}
	if d := DefaultPolicy(kr).Rule("core"); d.Threshold != DefaultThreshold || len(d.Keys) != 3 {
		t.Errorf("DefaultPolicy: %+v", d)
	}
}

func TestParsePolicyErrors(t *testing.T) {
	kr, f := testKeyring(t)
	unknown := strings.Repeat("AB", 20)
	tests := []struct {
		name, text string
		line       int
		want       string
	}{
		{"syntax", "threshold = \n", 1, ""},
		{"unknown setting", "threshold = 2\nthreshhold = 3\n", 2, `unknown setting "threshhold"`},
		{"unknown setting in a tier", "[tier.core]\nthreshold = 1\nkey = []\n", 3, `unknown setting "tier.core.key"`},
		{"unknown tier", "threshold = 2\n[tier.extra]\nthreshold = 1\n", 2, `unknown tier "extra"`},
		{"wrong type", "threshold = \"two\"\n", 1, ""},
		{"bad fingerprint", "keys = [\n  \"" + f["alice"] + "\",\n  \"1234\",\n]\n", 3, "40 or 64 hex digits"},
		{"key not in keyring", "keys = [\"" + f["alice"] + "\", \"" + unknown + "\"]\n", 1, "not in the keyring"},
		{"key listed twice", "keys = [\"" + f["alice"] + "\", \"" + strings.ToLower(f["alice"]) + "\"]\nthreshold = 1\n", 1, "listed twice"},
		{"threshold above key count", "keys = [\"" + f["alice"] + "\"]\n\nthreshold = 2\n", 3, "threshold 2 cannot be met: expected 1 to 1"},
		{"zero threshold", "threshold = 0\n", 1, "threshold 0 cannot be met"},
		{"tier threshold too high", "threshold = 2\n[tier.pallet]\nthreshold = 4\n", 3, "tier pallet: threshold 4"},
		{"tier keys too few for inherited threshold", "threshold = 2\n[tier.core]\nkeys = [\"" + f["bob"] + "\"]\n", 0, "tier core: threshold 2"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParsePolicy("policy.toml", []byte(tc.text), kr)
			file, line, ok := diag.At(err)
			if !ok || file != "policy.toml" || line != tc.line || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v at %s:%d, want policy.toml:%d mentioning %q", err, file, line, tc.line, tc.want)
			}
		})
	}
}

func TestLoadPolicy(t *testing.T) {
	kr, _ := testKeyring(t)
	dir := writeFiles(t, map[string][]byte{"policy.toml": []byte("threshold = 3\n")})
	p, err := LoadPolicy(filepath.Join(dir, "policy.toml"), kr)
	if err != nil || p.Rule("core").Threshold != 3 {
		t.Fatalf("LoadPolicy: %+v, %v", p, err)
	}
	if _, err := LoadPolicy(filepath.Join(dir, "missing.toml"), kr); err == nil {
		t.Error("loaded a missing policy")
	}
}
