// Package signing tests the signing workflow end to end under Bazel: keys
// made at test time sign every fixture image with the stagex-sign command,
// and the script that stagex_signature_test generates verifies them.
package signing

import (
	"bufio"
	"bytes"
	"crypto"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/ProtonMail/go-crypto/openpgp/armor"
	"github.com/ProtonMail/go-crypto/openpgp/packet"
	"github.com/bazelbuild/rules_go/go/runfiles"
	"github.com/stagex/stagex-bazel/tools/internal/cli"
)

var (
	signTool    = flag.String("sign_tool", "", "rlocation path of stagex-sign")
	checkScript = flag.String("signature_test", "", "rlocation path of the stagex_signature_test script over the fixtures")
	layoutList  = flag.String("layouts", "", "rlocation path of the image_layouts file of the fixture images")
	pinFiles    cli.Strings
)

func init() {
	flag.Var(&pinFiles, "pins", "rlocation path of a fixture pin file (repeatable)")
}

// fixture is what the BUILD file hands the test.
type fixture struct {
	sign, check string
	// runfilesMain is the main repository's runfiles directory, where
	// Bazel starts a test and so where the rule's script must run.
	runfilesMain string
	layouts      map[string]string // image name -> layout directory
	pins         []string
	digests      map[string]string // image name -> pinned "sha256:<hex>"
}

func rlocation(t *testing.T, p string) string {
	t.Helper()
	abs, err := runfiles.Rlocation(p)
	if err != nil {
		t.Fatalf("runfile %s: %v", p, err)
	}
	return abs
}

func loadFixture(t *testing.T) *fixture {
	t.Helper()
	if *signTool == "" || *checkScript == "" || *layoutList == "" || len(pinFiles) == 0 {
		t.Skip("needs the runfiles that `bazel test //tools/integration/signing:signing_test` provides")
	}
	f := &fixture{
		sign:    rlocation(t, *signTool),
		check:   rlocation(t, *checkScript),
		layouts: map[string]string{},
		digests: map[string]string{},
	}
	// The script's rlocation path is "<repo>/<path>"; its runfiles
	// directory is the script's path without "<path>".
	_, rel, _ := strings.Cut(*checkScript, "/")
	f.runfilesMain = strings.TrimSuffix(f.check, "/"+filepath.FromSlash(rel))
	data, err := os.ReadFile(rlocation(t, *layoutList))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Fields(string(data)) {
		name, p, _ := strings.Cut(line, "=")
		f.layouts[name] = rlocation(t, p)
	}
	for _, p := range pinFiles {
		pins := rlocation(t, p)
		f.pins = append(f.pins, pins)
		data, err := os.ReadFile(pins)
		if err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(bytes.NewReader(data))
		for sc.Scan() {
			hex, name, ok := strings.Cut(sc.Text(), " ")
			if !ok {
				t.Fatalf("%s: bad line %q", pins, sc.Text())
			}
			f.digests[name] = "sha256:" + hex
		}
	}
	if len(f.layouts) == 0 || len(f.layouts) != len(f.digests) {
		t.Fatalf("%d built fixture images (%v) but %d pinned (%v): every pinned fixture must be built", len(f.layouts), f.layouts, len(f.digests), f.digests)
	}
	return f
}

// maintainer is a key made for this test only.
type maintainer struct {
	name, fpr    string
	secret, pass string // files
}

func armored(t *testing.T, typ string, write func(*bytes.Buffer) error) []byte {
	t.Helper()
	var body bytes.Buffer
	if err := write(&body); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	w, err := armor.Encode(&buf, typ, nil)
	if err != nil {
		t.Fatal(err)
	}
	w.Write(body.Bytes())
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// newMaintainers makes passphrase-protected Ed25519 keys, writes the public
// keys into keyring/<name>.asc and the secret keys beside it.
func newMaintainers(t *testing.T, dir string, names ...string) (keyring string, ms map[string]maintainer) {
	t.Helper()
	keyring = filepath.Join(dir, "keyring")
	if err := os.MkdirAll(keyring, 0o755); err != nil {
		t.Fatal(err)
	}
	cfg := &packet.Config{
		Algorithm:   packet.PubKeyAlgoEdDSA,
		DefaultHash: crypto.SHA256,
		Time:        func() time.Time { return time.Now().Add(-time.Hour) },
	}
	ms = map[string]maintainer{}
	for _, n := range names {
		e, err := openpgp.NewEntity(n, "test key", n+"@example.invalid", cfg)
		if err != nil {
			t.Fatal(err)
		}
		pub := armored(t, openpgp.PublicKeyType, func(b *bytes.Buffer) error { return e.Serialize(b) })
		if err := os.WriteFile(filepath.Join(keyring, n+".asc"), pub, 0o644); err != nil {
			t.Fatal(err)
		}
		pass := n + " passphrase"
		if err := e.EncryptPrivateKeys([]byte(pass), nil); err != nil {
			t.Fatal(err)
		}
		m := maintainer{
			name:   n,
			fpr:    fmt.Sprintf("%X", e.PrimaryKey.Fingerprint),
			secret: filepath.Join(dir, n+".secret.asc"),
			pass:   filepath.Join(dir, n+".pass"),
		}
		sec := armored(t, openpgp.PrivateKeyType, func(b *bytes.Buffer) error { return e.SerializePrivateWithoutSigning(b, nil) })
		if err := os.WriteFile(m.secret, sec, 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(m.pass, []byte(pass+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		ms[n] = m
	}
	return keyring, ms
}

// run runs a program and returns its exit code and combined output.
func run(t *testing.T, prog string, args ...string) (int, string) {
	t.Helper()
	return runIn(t, "", prog, args...)
}

// runIn runs a program in directory dir ("" for the current one).
func runIn(t *testing.T, dir, prog string, args ...string) (int, string) {
	t.Helper()
	cmd := exec.Command(prog, args...)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	if err != nil {
		if ee, ok := err.(*exec.ExitError); ok {
			return ee.ExitCode(), string(out)
		}
		t.Fatalf("running %s: %v", prog, err)
	}
	return 0, string(out)
}

func (f *fixture) signArgs(m maintainer, store string, pins []string, layouts map[string]string) []string {
	args := []string{"--key", m.secret, "--passphrase-file", m.pass, "--store", store}
	for _, p := range pins {
		args = append(args, "--digests", p)
	}
	for name, dir := range layouts {
		args = append(args, "--layout", name+"="+dir)
	}
	return args
}

func storeFiles(t *testing.T, store string) []string {
	t.Helper()
	var files []string
	filepath.WalkDir(store, func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			rel, _ := filepath.Rel(store, p)
			files = append(files, rel)
		}
		return nil
	})
	return files
}

func copyTree(t *testing.T, from, to string) {
	t.Helper()
	for _, rel := range storeFiles(t, from) {
		data, err := os.ReadFile(filepath.Join(from, rel))
		if err != nil {
			t.Fatal(err)
		}
		dst := filepath.Join(to, rel)
		os.MkdirAll(filepath.Dir(dst), 0o755)
		if err := os.WriteFile(dst, data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func sigDir(store, image, digest string) string {
	return filepath.Join(store, "stagex", image+"@"+strings.Replace(digest, ":", "=", 1))
}

func sortedNames(m map[string]string) []string {
	names := make([]string, 0, len(m))
	for n := range m {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// tamper returns digest with its last hex digit changed.
func tamper(digest string) string {
	last := digest[len(digest)-1]
	repl := byte('0')
	if last == '0' {
		repl = '1'
	}
	return digest[:len(digest)-1] + string(repl)
}

// TestSignThenVerifyFixtures signs every fixture image with two of three
// test maintainers and checks the stagex_signature_test script passes with
// those signatures and fails, naming what is missing or wrong, without them.
func TestSignThenVerifyFixtures(t *testing.T) {
	f := loadFixture(t)
	dir := t.TempDir()
	keyring, ms := newMaintainers(t, dir, "alice", "bob", "carol")
	policy := filepath.Join(dir, "policy.toml")
	if err := os.WriteFile(policy, []byte("threshold = 2\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	n := len(f.digests)

	// Two maintainers sign every fixture image they built; again is a no-op.
	store := filepath.Join(dir, "store")
	aliceOnly := filepath.Join(dir, "alice-only")
	for _, step := range []struct {
		who, store, want string
	}{
		{"alice", store, fmt.Sprintf("%d new signatures, 0 already present", n)},
		{"alice", store, fmt.Sprintf("0 new signatures, %d already present", n)},
		{"bob", store, fmt.Sprintf("%d new signatures, 0 already present", n)},
		{"alice", aliceOnly, fmt.Sprintf("%d new signatures, 0 already present", n)},
	} {
		code, out := run(t, f.sign, f.signArgs(ms[step.who], step.store, f.pins, f.layouts)...)
		if code != 0 || !strings.Contains(out, step.want) {
			t.Fatalf("%s signs into %s: exit %d, want %q\n%s", step.who, filepath.Base(step.store), code, step.want, out)
		}
	}
	if got := len(storeFiles(t, store)); got != 2*n {
		t.Fatalf("%d signature files, want %d: %v", got, 2*n, storeFiles(t, store))
	}

	// A pin that differs from the build is refused and nothing is written.
	victim := sortedNames(f.digests)[0]
	bad := tamper(f.digests[victim])
	tampered := filepath.Join(dir, "tampered.txt")
	if err := os.WriteFile(tampered, []byte(strings.TrimPrefix(bad, "sha256:")+" "+victim+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	refused := filepath.Join(dir, "refused")
	code, out := run(t, f.sign, f.signArgs(ms["carol"], refused, []string{tampered}, map[string]string{victim: f.layouts[victim]})...)
	wantRefusal := victim + " was built as " + f.digests[victim] + " but is pinned as " + bad + " (" + tampered + ":1); refusing to sign"
	if code != 1 || !strings.Contains(out, wantRefusal) {
		t.Fatalf("carol signs a tampered pin: exit %d, want %q\n%s", code, wantRefusal, out)
	}
	if files := storeFiles(t, refused); len(files) != 0 {
		t.Fatalf("refused signing still wrote %v", files)
	}

	// Signatures over the tampered digest, put where the real digest's
	// belong. (The signers' "build" is the tampered pin file itself.)
	wrong := filepath.Join(dir, "wrong")
	for _, who := range []string{"alice", "bob"} {
		args := []string{"--key", ms[who].secret, "--passphrase-file", ms[who].pass, "--store", wrong, "--digests", tampered, "--built", tampered}
		if code, out := run(t, f.sign, args...); code != 0 {
			t.Fatalf("%s signs the tampered digest: exit %d\n%s", who, code, out)
		}
	}
	forged := filepath.Join(dir, "forged")
	copyTree(t, store, forged)
	os.RemoveAll(sigDir(forged, victim, f.digests[victim]))
	copyTree(t, sigDir(wrong, victim, bad), sigDir(forged, victim, f.digests[victim]))

	// A signature file with one flipped byte.
	flipped := filepath.Join(dir, "flipped")
	copyTree(t, store, flipped)
	sig := filepath.Join(sigDir(flipped, victim, f.digests[victim]), "signature-2")
	data, err := os.ReadFile(sig)
	if err != nil {
		t.Fatal(err)
	}
	data[len(data)-8] ^= 0x40
	os.WriteFile(sig, data, 0o644)

	identity := func(name string) string { return "stagex/" + name + "@" + f.digests[name] }
	key := func(n string) string { return n + " (" + ms[n].fpr + ")" }
	cases := []struct {
		name  string
		store string
		code  int
		want  []string
	}{
		{
			name: "two of three sign every image", store: store, code: 0,
			want: []string{
				fmt.Sprintf("%d of %d images verified", n, n),
				identity(victim) + ": OK, 2 of 2 required signatures; signed by: " + key("alice") + ", " + key("bob") + "; missing: " + key("carol"),
			},
		},
		{
			name: "one signature is not enough", store: aliceOnly, code: 1,
			want: []string{
				fmt.Sprintf("0 of %d images verified", n),
				identity(victim) + ": FAILED, 1 of 2 required signatures; signed by: " + key("alice") + "; missing: " + key("bob") + ", " + key("carol"),
			},
		},
		{
			name: "signatures over a tampered digest", store: forged, code: 1,
			want: []string{
				fmt.Sprintf("%d of %d images verified", n-1, n),
				identity(victim) + ": FAILED, 0 of 2 required signatures",
				"is over digest " + bad + ", expected " + f.digests[victim],
			},
		},
		{
			name: "a flipped byte", store: flipped, code: 1,
			want: []string{
				identity(victim) + ": FAILED, 1 of 2 required signatures",
				"rejected ",
			},
		},
		{
			name: "no signatures at all", store: filepath.Join(dir, "empty"), code: 1,
			want: []string{fmt.Sprintf("0 of %d images verified", n), "signed by: none; missing: " + key("alice") + ", " + key("bob") + ", " + key("carol")},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			code, out := runIn(t, f.runfilesMain, f.check, "--keyring", keyring, "--policy", policy, "--store", tc.store)
			t.Logf("stagex_signature_test script, exit %d:\n%s", code, out)
			if code != tc.code {
				t.Errorf("exit %d, want %d", code, tc.code)
			}
			for _, w := range tc.want {
				if !strings.Contains(out, w) {
					t.Errorf("output lacks %q:\n%s", w, out)
				}
			}
			for name := range f.digests {
				if !strings.Contains(out, identity(name)+":") {
					t.Errorf("output does not report %s:\n%s", name, out)
				}
			}
		})
	}
}
