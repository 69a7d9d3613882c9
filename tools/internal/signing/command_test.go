package signing

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/ProtonMail/go-crypto/openpgp/armor"
	"github.com/ProtonMail/go-crypto/openpgp/packet"

	"github.com/stagex/stagex-bazel/tools/internal/cli"
	"github.com/stagex/stagex-bazel/tools/internal/ociimage"
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

// signOpts returns the options of who signing with their passphrase file
// at the fixed time stamp.
func (e *env) signOpts(who string) SignBuildsOptions {
	return SignBuildsOptions{KeyFile: e.secret[who], PassphraseFile: e.secret[who] + ".pass", PassphraseFD: -1, Prefix: "stagex", Timestamp: stamp}
}

// verifyOpts returns the options that verify against e's keys and store.
func (e *env) verifyOpts() VerifyImagesOptions {
	return VerifyImagesOptions{Keyrings: []string{e.keyring}, Store: e.store, Prefix: "stagex"}
}

// exitCode is the exit code the commands give err.
func exitCode(err error) int { return cli.Exit("test", err, io.Discard) }

func errText(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// runSign signs with o and returns the exit code, what was printed and
// the error.
func runSign(o SignBuildsOptions) (int, string, string) {
	var out bytes.Buffer
	o.Out = &out
	err := SignBuilds(o)
	return exitCode(err), out.String(), errText(err)
}

// runVerify verifies with o and returns the exit code, the printed report
// and the error.
func runVerify(o VerifyImagesOptions, quiet bool) (int, string, string) {
	rep, err := VerifyImages(o)
	var out bytes.Buffer
	if err == nil {
		rep.Print(&out, quiet)
		err = rep.Err()
	}
	return exitCode(err), out.String(), errText(err)
}

func TestSignAndVerifyBuilds(t *testing.T) {
	e := newEnv(t)
	verifyAll := e.verifyOpts()
	verifyAll.PinFiles = []string{e.digests}

	alice := e.signOpts("alice")
	alice.PinFiles, alice.Built, alice.Store = []string{e.digests}, e.digests, e.store
	code, out, errs := runSign(alice)
	if code != cli.ExitOK || !strings.Contains(out, "2 new signatures, 0 already present") {
		t.Fatalf("alice signs: exit %d\n%s%s", code, out, errs)
	}
	code, out, _ = runSign(alice)
	if code != cli.ExitOK || !strings.Contains(out, "0 new signatures, 2 already present") {
		t.Fatalf("alice signs again: exit %d\n%s", code, out)
	}

	code, out, errs = runVerify(verifyAll, false)
	if code != cli.ExitFailed || !strings.Contains(out, "FAILED, 1 of 2 required") || !strings.Contains(errs, "2 of 2 images lack") {
		t.Fatalf("verify with one signer: exit %d\n%s%s", code, out, errs)
	}

	// bob refuses when his build differs, then signs with the passphrase on
	// a file descriptor.
	bad := e.write(t, "built.txt", h1+" core-busybox\n"+strings.Repeat("3", 64)+" core-make\n")
	bob := e.signOpts("bob")
	bob.PinFiles, bob.Built, bob.Store = []string{e.digests}, bad, e.store
	code, _, errs = runSign(bob)
	if code != cli.ExitFailed || !strings.Contains(errs, bad+":2: core-make was built as") {
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
	bob.Built = e.write(t, "good.txt", h1+" core-busybox\n"+h2+" core-make\n")
	bob.PassphraseFile, bob.PassphraseFD = "", fd
	code, out, errs = runSign(bob)
	if code != cli.ExitOK || !strings.Contains(out, "2 new signatures") {
		t.Fatalf("bob signs: exit %d\n%s%s", code, out, errs)
	}

	code, out, errs = runVerify(verifyAll, false)
	if code != cli.ExitOK || !strings.Contains(out, "2 of 2 images verified") || !strings.Contains(out, "signed by: alice (") {
		t.Fatalf("verify with two signers: exit %d\n%s%s", code, out, errs)
	}
	one := e.verifyOpts()
	one.Image, one.Digest = "core-make", "sha256:"+h2
	code, out, _ = runVerify(one, true)
	if code != cli.ExitOK || out != "1 of 1 images verified\n" {
		t.Fatalf("verify one image quietly: exit %d\n%q", code, out)
	}
	one.Digest = "sha256:" + h1
	code, out, _ = runVerify(one, false)
	if code != cli.ExitFailed || !strings.Contains(out, "FAILED, 0 of 2") {
		t.Fatalf("verify the wrong digest: exit %d\n%s", code, out)
	}
	strict := verifyAll
	strict.Policy = e.write(t, "policy.toml", "threshold = 3\n")
	code, _, errs = runVerify(strict, false)
	if code != cli.ExitFailed || !strings.Contains(errs, "policy.toml:1: top level: threshold 3 cannot be met") {
		t.Fatalf("impossible policy: exit %d\n%s", code, errs)
	}

	// A broken key file is reported and the other keys still verify.
	broken := filepath.Join(e.keyring, "zed.asc")
	if err := os.WriteFile(broken, []byte("not a key"), 0o644); err != nil {
		t.Fatal(err)
	}
	rep, err := VerifyImages(verifyAll)
	if err != nil || rep.Err() != nil || len(rep.SkippedKeys) != 1 || !strings.Contains(rep.SkippedKeys[0].Error(), broken) {
		t.Fatalf("verify with a broken key file: %v, report %+v", err, rep)
	}
}

func TestCommandErrors(t *testing.T) {
	e := newEnv(t)
	key, pass := e.secret["alice"], e.secret["alice"]+".pass"
	built := e.write(t, "built.txt", h1+" core-busybox\n"+h2+" core-make\n")
	// sign returns alice's options, complete but for what set adds.
	sign := func(set func(o *SignBuildsOptions)) func() error {
		return func() error {
			o := SignBuildsOptions{KeyFile: key, PassphraseFile: pass, PassphraseFD: -1, Store: e.store, Prefix: "stagex", Timestamp: stamp, Out: io.Discard}
			set(&o)
			return SignBuilds(o)
		}
	}
	verify := func(set func(o *VerifyImagesOptions)) func() error {
		return func() error {
			o := e.verifyOpts()
			set(&o)
			_, err := VerifyImages(o)
			return err
		}
	}
	tests := []struct {
		name string
		run  func() error
		code int
		want string
	}{
		{"sign: no key", sign(func(o *SignBuildsOptions) { o.KeyFile, o.PinFiles, o.Built = "", []string{e.digests}, built }), cli.ExitUsage, "--key is required"},
		{"sign: no pins", sign(func(o *SignBuildsOptions) { o.Built = built }), cli.ExitUsage, "--digests FILE or --root DIR"},
		{"sign: pins twice", sign(func(o *SignBuildsOptions) { o.PinFiles, o.Root, o.Built = []string{e.digests}, e.dir, built }), cli.ExitUsage, "--digests FILE or --root DIR"},
		{"sign: nothing built", sign(func(o *SignBuildsOptions) { o.PinFiles = []string{e.digests} }), cli.ExitUsage, "only digests this maintainer built are signed"},
		{"sign: no store", sign(func(o *SignBuildsOptions) { o.Store, o.PinFiles, o.Built = "", []string{e.digests}, built }), cli.ExitUsage, "--store is required"},
		{"sign: two passphrase sources", sign(func(o *SignBuildsOptions) { o.PassphraseFD, o.PinFiles, o.Built = 0, []string{e.digests}, built }), cli.ExitUsage, "not both"},
		{"sign: bad timestamp", sign(func(o *SignBuildsOptions) { o.Timestamp, o.PinFiles, o.Built = "yesterday", []string{e.digests}, built }), cli.ExitUsage, "expected Unix seconds"},
		{"sign: no passphrase for a protected key", sign(func(o *SignBuildsOptions) { o.PassphraseFile, o.PinFiles, o.Built = "", []string{e.digests}, built }), cli.ExitFailed, "protected"},
		{"sign: wrong passphrase", sign(func(o *SignBuildsOptions) {
			o.PassphraseFile, o.PinFiles, o.Built = e.write(t, "wrong", "nope\n"), []string{e.digests}, built
		}), cli.ExitFailed, "wrong passphrase"},
		{"sign: bad digests file", sign(func(o *SignBuildsOptions) {
			o.PinFiles, o.Built = []string{e.write(t, "bad.txt", "xyz core-a\n")}, built
		}), cli.ExitFailed, "bad.txt:1: bad digest"},
		{"sign: bad layout argument", sign(func(o *SignBuildsOptions) { o.PinFiles, o.Layouts = []string{e.digests}, []string{"core-make"} }), cli.ExitUsage, "--layout: expected NAME=DIR"},
		{"sign: layout is not a layout", sign(func(o *SignBuildsOptions) {
			o.PinFiles, o.Layouts = []string{e.digests}, []string{"core-make=" + e.dir}
		}), cli.ExitFailed, "reading OCI layout"},
		{"sign: image built twice", sign(func(o *SignBuildsOptions) {
			o.PinFiles, o.Built, o.Layouts = []string{e.digests}, built, []string{"core-make=" + writeLayout(t, "x")}
		}), cli.ExitUsage, "core-make is given twice"},
		{"sign: missing digests file", sign(func(o *SignBuildsOptions) { o.PinFiles, o.Built = []string{filepath.Join(e.dir, "none.txt")}, built }), cli.ExitFailed, "none.txt: no such file"},
		{"verify: nothing to verify", verify(func(o *VerifyImagesOptions) {}), cli.ExitUsage, "give the images to verify"},
		{"verify: no keyring", verify(func(o *VerifyImagesOptions) { o.Keyrings, o.PinFiles = nil, []string{e.digests} }), cli.ExitUsage, "no --keyring"},
		{"verify: no store", verify(func(o *VerifyImagesOptions) { o.Store, o.PinFiles = "", []string{e.digests} }), cli.ExitUsage, "--store is required"},
		{"verify: image without digest", verify(func(o *VerifyImagesOptions) { o.Image = "core-make" }), cli.ExitUsage, "go together"},
		{"verify: image differs from its pin", verify(func(o *VerifyImagesOptions) {
			o.PinFiles, o.Image, o.Digest = []string{e.digests}, "core-make", "sha256:"+h1
		}),
			cli.ExitFailed, "--image: core-make was built as sha256:" + h1 + " but is pinned as sha256:" + h2},
		{"verify: bad digest", verify(func(o *VerifyImagesOptions) { o.Image, o.Digest = "core-make", "sha512:"+h1 }), cli.ExitUsage, "expected 64 lowercase hex digits"},
		{"verify: bad image name", verify(func(o *VerifyImagesOptions) { o.Image, o.Digest = "Make", "sha256:"+h1 }), cli.ExitUsage, "expected <tier>-<name>"},
		{"verify: missing keyring", verify(func(o *VerifyImagesOptions) {
			o.Keyrings, o.PinFiles = []string{e.dir + "/nokeys"}, []string{e.digests}
		}), cli.ExitFailed, "no such file"},
		{"verify: keyring without keys", verify(func(o *VerifyImagesOptions) { o.Keyrings, o.PinFiles = []string{t.TempDir()}, []string{e.digests} }), cli.ExitFailed, "no maintainer keys"},
		{"verify: bad layout argument", verify(func(o *VerifyImagesOptions) { o.Layouts = []string{"=x"} }), cli.ExitUsage, "--layout: expected NAME=DIR"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.run()
			if code := exitCode(err); code != tc.code || !strings.Contains(errText(err), tc.want) {
				t.Errorf("exit %d (want %d), error: %v\nwant it to mention %q", code, tc.code, err, tc.want)
			}
		})
	}
	if err := (&Report{}).Err(); err != nil {
		t.Errorf("an empty report fails: %v", err)
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

// TestSignAndVerifyLayouts signs and verifies built OCI layouts against the pins
// of a source tree, as `bazel run //:sign` does.
func TestSignAndVerifyLayouts(t *testing.T) {
	e := newEnv(t)
	box, mk := writeLayout(t, "box"), writeLayout(t, "make")
	root := filepath.Join(e.dir, "tree")
	pins := filepath.Join(root, "digests", "core.txt")
	os.MkdirAll(filepath.Dir(pins), 0o755)
	if err := os.WriteFile(pins, []byte(layoutHex(t, box)+" core-box\n"+layoutHex(t, mk)+" core-make\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	store := filepath.Join(root, "signatures")
	signAs := func(who string, layouts []string) (int, string, string) {
		o := e.signOpts(who)
		o.Root, o.Layouts = root, layouts
		return runSign(o)
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
		{"alice signs both", "alice", []string{"core-box=" + box, "core-make=" + mk}, cli.ExitOK, "2 new signatures, 0 already present", "", 2},
		{"alice again is a no-op", "alice", []string{"core-make=" + mk, "core-box=" + box}, cli.ExitOK, "0 new signatures, 2 already present", "", 2},
		{"bob built another make", "bob", []string{"core-box=" + box, "core-make=" + box}, cli.ExitFailed, "",
			box + ": core-make was built as sha256:" + layoutHex(t, box) + " but is pinned as sha256:" + layoutHex(t, mk) + " (" + pins + ":2); refusing to sign", 2},
		{"bob built an unpinned image", "bob", []string{"user-tool=" + box}, cli.ExitFailed, "", "user-tool was built but is not pinned", 2},
		{"bob signs one image", "bob", []string{"core-box=" + box}, cli.ExitOK, "1 new signatures, 0 already present", "", 3},
	}
	for _, st := range steps {
		code, out, errs := signAs(st.who, st.layouts)
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
		name    string
		pins    []string
		layouts []string
		code    int
		want    string
	}{
		{"pinned box, built layout matches", []string{pins}, []string{"core-box=" + box}, cli.ExitFailed, "1 of 2 images verified"},
		{"layout alone", nil, []string{"core-box=" + box}, cli.ExitOK, "1 of 1 images verified"},
		{"make has one signature", nil, []string{"core-make=" + mk}, cli.ExitFailed, "missing: bob ("},
		{"layout differs from its pin", []string{pins}, []string{"core-make=" + box}, cli.ExitFailed, "but is pinned as sha256:" + layoutHex(t, mk)},
	}
	for _, v := range verifies {
		t.Run(v.name, func(t *testing.T) {
			o := e.verifyOpts()
			o.Store, o.PinFiles, o.Layouts = store, v.pins, v.layouts
			code, out, errs := runVerify(o, false)
			if code != v.code || !strings.Contains(out+errs, v.want) {
				t.Errorf("exit %d (want %d)\n%s%s\nwant %q", code, v.code, out, errs, v.want)
			}
		})
	}
}
