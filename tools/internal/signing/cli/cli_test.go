package cli

import (
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/ProtonMail/go-crypto/openpgp/armor"
	"github.com/ProtonMail/go-crypto/openpgp/packet"

	"github.com/stagex/stagex-bazel/tools/internal/ociimage"
	"github.com/stagex/stagex-bazel/tools/internal/pinmanifest"
)

const (
	stamp = "1735689600" // 2025-01-01, after the keys' creation
	h1    = "1111111111111111111111111111111111111111111111111111111111111111"
	h2    = "2222222222222222222222222222222222222222222222222222222222222222"
)

type env struct {
	dir, keyring, store, digests string
	secret                       map[string]string // name -> secret key file
}

func armorEntity(t *testing.T, typ string, write func(w *bytes.Buffer) error) []byte {
	t.Helper()
	var body bytes.Buffer
	if err := write(&body); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	w, _ := armor.Encode(&buf, typ, nil)
	w.Write(body.Bytes())
	w.Close()
	return buf.Bytes()
}

func newEnv(t *testing.T) *env {
	t.Helper()
	e := &env{dir: t.TempDir(), secret: map[string]string{}}
	e.keyring = filepath.Join(e.dir, "keys")
	e.store = filepath.Join(e.dir, "store")
	os.MkdirAll(e.keyring, 0o755)
	cfg := &packet.Config{Algorithm: packet.PubKeyAlgoEdDSA, Time: func() time.Time { return time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC) }}
	for _, n := range []string{"alice", "bob"} {
		ent, err := openpgp.NewEntity(n, "", "", cfg)
		if err != nil {
			t.Fatal(err)
		}
		pub := armorEntity(t, openpgp.PublicKeyType, func(w *bytes.Buffer) error { return ent.Serialize(w) })
		if err := os.WriteFile(filepath.Join(e.keyring, n+".asc"), pub, 0o644); err != nil {
			t.Fatal(err)
		}
		if err := ent.EncryptPrivateKeys([]byte(n+"-pass"), nil); err != nil {
			t.Fatal(err)
		}
		sec := armorEntity(t, openpgp.PrivateKeyType, func(w *bytes.Buffer) error { return ent.SerializePrivateWithoutSigning(w, nil) })
		e.secret[n] = filepath.Join(e.dir, n+".key")
		if err := os.WriteFile(e.secret[n], sec, 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(e.secret[n]+".pass", []byte(n+"-pass\n"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	e.digests = e.write(t, "core.txt", h1+" core-busybox\n"+h2+" core-make\n")
	return e
}

func (e *env) write(t *testing.T, name, text string) string {
	t.Helper()
	p := filepath.Join(e.dir, name)
	if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func run(f func([]string, *bytes.Buffer, *bytes.Buffer) int, args ...string) (int, string, string) {
	var out, errb bytes.Buffer
	code := f(args, &out, &errb)
	return code, out.String(), errb.String()
}

func sign(args []string, o, e *bytes.Buffer) int   { return Sign(args, o, e) }
func verify(args []string, o, e *bytes.Buffer) int { return Verify(args, o, e) }

func TestSignAndVerifyCommands(t *testing.T) {
	e := newEnv(t)
	verifyArgs := []string{"--keyring", e.keyring, "--store", e.store, "--digests", e.digests}

	code, out, errs := run(sign, "--key", e.secret["alice"], "--passphrase-file", e.secret["alice"]+".pass",
		"--digests", e.digests, "--built", e.digests, "--store", e.store, "--timestamp", stamp)
	if code != ExitOK || !strings.Contains(out, "2 new signatures, 0 already present") {
		t.Fatalf("alice signs: exit %d\n%s%s", code, out, errs)
	}
	code, out, _ = run(sign, "--key", e.secret["alice"], "--passphrase-file", e.secret["alice"]+".pass",
		"--digests", e.digests, "--built", e.digests, "--store", e.store, "--timestamp", stamp)
	if code != ExitOK || !strings.Contains(out, "0 new signatures, 2 already present") {
		t.Fatalf("alice signs again: exit %d\n%s", code, out)
	}

	code, out, errs = run(verify, verifyArgs...)
	if code != ExitFailed || !strings.Contains(out, "FAILED, 1 of 2 required") || !strings.Contains(errs, "2 of 2 images lack") {
		t.Fatalf("verify with one signer: exit %d\n%s%s", code, out, errs)
	}

	// bob refuses when his build differs, then signs with the passphrase on
	// a file descriptor.
	bad := e.write(t, "built.txt", h1+" core-busybox\n"+strings.Repeat("3", 64)+" core-make\n")
	code, _, errs = run(sign, "--key", e.secret["bob"], "--passphrase-file", e.secret["bob"]+".pass",
		"--digests", e.digests, "--built", bad, "--store", e.store, "--timestamp", stamp)
	if code != ExitFailed || !strings.Contains(errs, bad+":2: core-make was built as") {
		t.Fatalf("bob with a different build: exit %d\n%s", code, errs)
	}
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	w.Write([]byte("bob-pass\n"))
	w.Close()
	fd, err := syscall.Dup(int(r.Fd()))
	r.Close()
	if err != nil {
		t.Fatal(err)
	}
	good := e.write(t, "good.txt", h1+" core-busybox\n"+h2+" core-make\n")
	code, out, errs = run(sign, "--key", e.secret["bob"], "--passphrase-fd", strconv.Itoa(fd),
		"--digests", e.digests, "--built", good, "--store", e.store, "--timestamp", stamp)
	if code != ExitOK || !strings.Contains(out, "2 new signatures") {
		t.Fatalf("bob signs: exit %d\n%s%s", code, out, errs)
	}

	code, out, errs = run(verify, verifyArgs...)
	if code != ExitOK || !strings.Contains(out, "2 of 2 images verified") || !strings.Contains(out, "signed by: alice (") {
		t.Fatalf("verify with two signers: exit %d\n%s%s", code, out, errs)
	}
	code, out, _ = run(verify, "-q", "--keyring", e.keyring, "--store", e.store, "--image", "core-make", "--digest", "sha256:"+h2)
	if code != ExitOK || out != "1 of 1 images verified\n" {
		t.Fatalf("verify one image quietly: exit %d\n%q", code, out)
	}
	code, out, _ = run(verify, "--keyring", e.keyring, "--store", e.store, "--image", "core-make", "--digest", "sha256:"+h1)
	if code != ExitFailed || !strings.Contains(out, "FAILED, 0 of 2") {
		t.Fatalf("verify the wrong digest: exit %d\n%s", code, out)
	}
	pol := e.write(t, "policy.toml", "threshold = 3\n")
	code, _, errs = run(verify, append(verifyArgs, "--policy", pol)...)
	if code != ExitFailed || !strings.Contains(errs, "policy.toml:1: top level: threshold 3 cannot be met") {
		t.Fatalf("impossible policy: exit %d\n%s", code, errs)
	}

	// A broken key file is reported and the other keys still verify.
	broken := filepath.Join(e.keyring, "zed.asc")
	if err := os.WriteFile(broken, []byte("not a key"), 0o644); err != nil {
		t.Fatal(err)
	}
	code, out, errs = run(verify, verifyArgs...)
	if code != ExitOK || !strings.Contains(out, "2 of 2 images verified") || !strings.Contains(errs, "skipped key file "+broken) {
		t.Fatalf("verify with a broken key file: exit %d\n%s%s", code, out, errs)
	}
}

func TestCommandErrors(t *testing.T) {
	e := newEnv(t)
	key, pass := e.secret["alice"], e.secret["alice"]+".pass"
	built := e.write(t, "built.txt", h1+" core-busybox\n"+h2+" core-make\n")
	signArgs := func(extra ...string) []string {
		return append([]string{"--key", key, "--passphrase-file", pass, "--store", e.store, "--timestamp", stamp}, extra...)
	}
	tests := []struct {
		name string
		f    func([]string, *bytes.Buffer, *bytes.Buffer) int
		args []string
		code int
		want string
	}{
		{"sign: no key", sign, []string{"--digests", e.digests, "--built", built, "--store", e.store}, ExitUsage, "--key is required"},
		{"sign: no pins", sign, []string{"--key", key, "--built", built, "--store", e.store}, ExitUsage, "--digests FILE or --root DIR"},
		{"sign: pins twice", sign, []string{"--key", key, "--digests", e.digests, "--root", e.dir, "--built", built}, ExitUsage, "--digests FILE or --root DIR"},
		{"sign: nothing built", sign, []string{"--key", key, "--digests", e.digests, "--store", e.store}, ExitUsage, "only digests this maintainer built are signed"},
		{"sign: no store", sign, []string{"--key", key, "--digests", e.digests, "--built", built}, ExitUsage, "--store is required"},
		{"sign: two passphrase sources", sign, []string{"--key", key, "--passphrase-file", pass, "--passphrase-fd", "0", "--digests", e.digests, "--built", built, "--store", e.store}, ExitUsage, "not both"},
		{"sign: bad timestamp", sign, []string{"--key", key, "--digests", e.digests, "--built", built, "--store", e.store, "--timestamp", "yesterday"}, ExitUsage, "expected Unix seconds"},
		{"sign: no passphrase for a protected key", sign, []string{"--key", key, "--digests", e.digests, "--built", built, "--store", e.store, "--timestamp", stamp}, ExitFailed, "protected"},
		{"sign: wrong passphrase", sign, []string{"--key", key, "--passphrase-file", e.write(t, "wrong", "nope\n"), "--digests", e.digests, "--built", built, "--store", e.store, "--timestamp", stamp}, ExitFailed, "wrong passphrase"},
		{"sign: bad digests file", sign, signArgs("--digests", e.write(t, "bad.txt", "xyz core-a\n"), "--built", built), ExitFailed, "bad.txt:1: bad digest"},
		{"sign: bad layout argument", sign, signArgs("--digests", e.digests, "--layout", "core-make"), ExitUsage, "--layout: expected NAME=DIR"},
		{"sign: layout is not a layout", sign, signArgs("--digests", e.digests, "--layout", "core-make="+e.dir), ExitFailed, "reading OCI layout"},
		{"sign: image built twice", sign, signArgs("--digests", e.digests, "--built", built, "--layout", "core-make="+writeLayout(t, "x")), ExitUsage, "core-make is given twice"},
		{"sign: missing digests file", sign, signArgs("--digests", filepath.Join(e.dir, "none.txt"), "--built", built), ExitFailed, "none.txt: no such file"},
		{"sign: stray argument", sign, []string{"--key", key, "extra"}, ExitUsage, `unexpected argument "extra"`},
		{"verify: nothing to verify", verify, []string{"--keyring", e.keyring, "--store", e.store}, ExitUsage, "give the images to verify"},
		{"verify: no keyring", verify, []string{"--store", e.store, "--digests", e.digests}, ExitUsage, "no --keyring"},
		{"verify: no store", verify, []string{"--keyring", e.keyring, "--digests", e.digests}, ExitUsage, "--store is required"},
		{"verify: image without digest", verify, []string{"--keyring", e.keyring, "--store", e.store, "--image", "core-make"}, ExitUsage, "go together"},
		{"verify: image differs from its pin", verify, []string{"--keyring", e.keyring, "--store", e.store, "--digests", e.digests, "--image", "core-make", "--digest", "sha256:" + h1}, ExitFailed, "--image: core-make was built as sha256:" + h1 + " but is pinned as sha256:" + h2},
		{"verify: bad digest", verify, []string{"--keyring", e.keyring, "--store", e.store, "--image", "core-make", "--digest", "sha512:" + h1}, ExitUsage, "expected 64 lowercase hex digits"},
		{"verify: bad image name", verify, []string{"--keyring", e.keyring, "--store", e.store, "--image", "Make", "--digest", "sha256:" + h1}, ExitUsage, "expected <stage>-<name>"},
		{"verify: missing keyring", verify, []string{"--keyring", e.dir + "/nokeys", "--store", e.store, "--digests", e.digests}, ExitFailed, "no such file"},
		{"verify: keyring without keys", verify, []string{"--keyring", t.TempDir(), "--store", e.store, "--digests", e.digests}, ExitFailed, "no maintainer keys"},
		{"verify: bad layout argument", verify, []string{"--keyring", e.keyring, "--store", e.store, "--layout", "=x"}, ExitUsage, "--layout: expected NAME=DIR"},
		{"verify: unknown flag", verify, []string{"--nope"}, ExitUsage, "flag provided but not defined"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, _, errs := run(tc.f, tc.args...)
			if code != tc.code || !strings.Contains(errs, tc.want) {
				t.Errorf("exit %d (want %d), stderr:\n%s\nwant it to mention %q", code, tc.code, errs, tc.want)
			}
		})
	}
	if code, _, errs := run(verify, "-h"); code != ExitOK || !strings.Contains(errs, "usage: stagex-verify") {
		t.Errorf("-h: exit %d\n%s", code, errs)
	}
}

// writeLayout writes an OCI layout of an empty image core-<title>, whose
// manifest names its source repository after title, and returns its
// directory; different titles give different digests.
func writeLayout(t *testing.T, title string) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), title+".oci")
	_, err := ociimage.WriteImage(dir, ociimage.Image{
		Config:      ociimage.Config{OS: "linux", Architecture: "amd64"},
		Annotations: map[string]string{ociimage.AnnotationSource: "stagex/core-" + title},
		Name:        "core-" + title,
	})
	if err != nil {
		t.Fatal(err)
	}
	return dir
}

func layoutHex(t *testing.T, dir string) string {
	t.Helper()
	d, err := ociimage.LayoutDigest(dir)
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimPrefix(d, "sha256:")
}

// TestLayoutCommands signs and verifies built OCI layouts against the pins
// of a source tree, as `bazel run //:sign` does.
func TestLayoutCommands(t *testing.T) {
	e := newEnv(t)
	box, mk := writeLayout(t, "box"), writeLayout(t, "make")
	root := filepath.Join(e.dir, "tree")
	pins := filepath.Join(root, "digests", "core.txt")
	os.MkdirAll(filepath.Dir(pins), 0o755)
	if err := os.WriteFile(pins, []byte(layoutHex(t, box)+" core-box\n"+layoutHex(t, mk)+" core-make\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	store := filepath.Join(root, "signatures")
	signAs := func(who string, extra ...string) (int, string, string) {
		args := append([]string{"--key", e.secret[who], "--passphrase-file", e.secret[who] + ".pass", "--root", root, "--timestamp", stamp}, extra...)
		return run(sign, args...)
	}
	steps := []struct {
		name     string
		who      string
		layouts  []string
		code     int
		wantOut  string
		wantErr  string
		wantSigs int // signature files in the store afterwards
	}{
		{"alice signs both", "alice", []string{"core-box=" + box, "core-make=" + mk}, ExitOK, "2 new signatures, 0 already present", "", 2},
		{"alice again is a no-op", "alice", []string{"core-make=" + mk, "core-box=" + box}, ExitOK, "0 new signatures, 2 already present", "", 2},
		{"bob built another make", "bob", []string{"core-box=" + box, "core-make=" + box}, ExitFailed, "",
			box + ": core-make was built as sha256:" + layoutHex(t, box) + " but is pinned as sha256:" + layoutHex(t, mk) + " (" + pins + ":2); refusing to sign", 2},
		{"bob built an unpinned image", "bob", []string{"user-tool=" + box}, ExitFailed, "", "user-tool was built but is not pinned", 2},
		{"bob signs one image", "bob", []string{"core-box=" + box}, ExitOK, "1 new signatures, 0 already present", "", 3},
	}
	for _, st := range steps {
		var args []string
		for _, l := range st.layouts {
			args = append(args, "--layout", l)
		}
		code, out, errs := signAs(st.who, args...)
		if code != st.code || !strings.Contains(out, st.wantOut) || !strings.Contains(errs, st.wantErr) {
			t.Fatalf("%s: exit %d (want %d)\nstdout:\n%s\nstderr:\n%s\nwant %q / %q", st.name, code, st.code, out, errs, st.wantOut, st.wantErr)
		}
		var n int
		filepath.WalkDir(store, func(p string, d os.DirEntry, err error) error {
			if err == nil && !d.IsDir() {
				n++
			}
			return nil
		})
		if n != st.wantSigs {
			t.Fatalf("%s: %d signature files in %s, want %d", st.name, n, store, st.wantSigs)
		}
	}

	verifies := []struct {
		name string
		args []string
		code int
		want string
	}{
		{"pinned box, built layout matches", []string{"--digests", pins, "--layout", "core-box=" + box}, ExitFailed, "1 of 2 images verified"},
		{"layout alone", []string{"--layout", "core-box=" + box}, ExitOK, "1 of 1 images verified"},
		{"make has one signature", []string{"--layout", "core-make=" + mk}, ExitFailed, "missing: bob ("},
		{"layout differs from its pin", []string{"--digests", pins, "--layout", "core-make=" + box}, ExitFailed, "but is pinned as sha256:" + layoutHex(t, mk)},
	}
	for _, v := range verifies {
		t.Run(v.name, func(t *testing.T) {
			args := append([]string{"--keyring", e.keyring, "--store", store}, v.args...)
			code, out, errs := run(verify, args...)
			if code != v.code || !strings.Contains(out+errs, v.want) {
				t.Errorf("exit %d (want %d)\n%s%s\nwant %q", code, v.code, out, errs, v.want)
			}
		})
	}
}

// signTrees signs each tree's images into that tree's own store, from the
// pins under its digests/; a tree whose build differs from its pin fails
// without keeping the others from being signed.
func TestSignTrees(t *testing.T) {
	e := newEnv(t)
	ws := t.TempDir()
	amd := filepath.Join(t.TempDir(), "amd.oci")
	amdDigest, err := ociimage.WriteImage(amd, ociimage.Image{Config: ociimage.Config{OS: "linux", Architecture: "amd64"}})
	if err != nil {
		t.Fatal(err)
	}
	arm := filepath.Join(t.TempDir(), "arm.oci")
	armDigest, err := ociimage.WriteImage(arm, ociimage.Image{Config: ociimage.Config{OS: "linux", Architecture: "arm64"}})
	if err != nil {
		t.Fatal(err)
	}
	writePins := func(rel, text string) {
		p := filepath.Join(ws, rel)
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	writePins("digests/core.txt", strings.TrimPrefix(amdDigest, "sha256:")+" core-a\n")
	writePins("fixtures/digests/user.txt", strings.TrimPrefix(armDigest, "sha256:")+" user-b\n")
	// "other" pins user-c to the amd64 image, but arm64 was built.
	writePins("other/digests/user.txt", strings.TrimPrefix(amdDigest, "sha256:")+" user-c\n")
	trees := map[string][]pinmanifest.Entry{
		".":        {{Image: "core-a", Label: "//packages/core/a:a_digest_test", Layout: amd, Pins: "digests/core.txt"}},
		"fixtures": {{Image: "user-b", Label: "//fixtures/packages/user/b:b_digest_test", Layout: arm, Pins: "fixtures/digests/user.txt"}},
		"other":    {{Image: "user-c", Label: "//other/packages/user/c:c_digest_test", Layout: arm, Pins: "other/digests/user.txt"}},
	}
	flags := []string{"--key", e.secret["alice"], "--passphrase-file", e.secret["alice"] + ".pass", "--timestamp", stamp}
	var out, errb bytes.Buffer
	err = signTrees(ws, trees, flags, &out, &errb)
	if err == nil || !strings.Contains(errb.String(), "stagex-sign: other:") {
		t.Fatalf("signTrees: error %v, want the tree other to fail\n%s%s", err, out.String(), errb.String())
	}
	for _, sig := range []string{
		"signatures/stagex/core-a@sha256=" + strings.TrimPrefix(amdDigest, "sha256:") + "/signature-1",
		"fixtures/signatures/stagex/user-b@sha256=" + strings.TrimPrefix(armDigest, "sha256:") + "/signature-1",
	} {
		if _, err := os.Stat(filepath.Join(ws, sig)); err != nil {
			t.Errorf("no signature %s: %v\n%s", sig, err, out.String())
		}
	}
	if _, err := os.Stat(filepath.Join(ws, "other", "signatures")); err == nil {
		t.Errorf("the tree whose build differs from its pin got signatures")
	}
}

func TestSignBuildErrors(t *testing.T) {
	t.Setenv("BUILD_WORKSPACE_DIRECTORY", "")
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"--build", "--key", "k", "//packages/..."}, "BUILD_WORKSPACE_DIRECTORY"},
		{[]string{"--build", "--key", "k", "--root", "x"}, "leave out --root"},
		{[]string{"--build", "--key", "k", "--layout=a=b"}, "leave out --layout"},
	}
	for _, tc := range tests {
		code, _, errs := run(sign, tc.args...)
		if code != ExitUsage || !strings.Contains(errs, tc.want) {
			t.Errorf("stagex-sign %q: exit %d, %q; want %d and %q", tc.args, code, errs, ExitUsage, tc.want)
		}
	}
}
