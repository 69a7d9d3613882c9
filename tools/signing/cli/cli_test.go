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
		"--digests", e.digests, "--store", e.store, "--timestamp", stamp)
	if code != ExitOK || !strings.Contains(out, "2 new signatures, 0 already present") {
		t.Fatalf("alice signs: exit %d\n%s%s", code, out, errs)
	}
	code, out, _ = run(sign, "--key", e.secret["alice"], "--passphrase-file", e.secret["alice"]+".pass",
		"--digests", e.digests, "--store", e.store, "--timestamp", stamp)
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
}

func TestCommandErrors(t *testing.T) {
	e := newEnv(t)
	key, pass := e.secret["alice"], e.secret["alice"]+".pass"
	tests := []struct {
		name string
		f    func([]string, *bytes.Buffer, *bytes.Buffer) int
		args []string
		code int
		want string
	}{
		{"sign: missing flags", sign, []string{"--key", key}, ExitUsage, "are required"},
		{"sign: two passphrase sources", sign, []string{"--key", key, "--passphrase-file", pass, "--passphrase-fd", "0", "--digests", e.digests, "--store", e.store}, ExitUsage, "not both"},
		{"sign: bad timestamp", sign, []string{"--key", key, "--digests", e.digests, "--store", e.store, "--timestamp", "yesterday"}, ExitUsage, "expected Unix seconds"},
		{"sign: no passphrase for a protected key", sign, []string{"--key", key, "--digests", e.digests, "--store", e.store, "--timestamp", stamp}, ExitFailed, "protected"},
		{"sign: wrong passphrase", sign, []string{"--key", key, "--passphrase-file", e.write(t, "wrong", "nope\n"), "--digests", e.digests, "--store", e.store, "--timestamp", stamp}, ExitFailed, "wrong passphrase"},
		{"sign: bad digests file", sign, []string{"--key", key, "--passphrase-file", pass, "--digests", e.write(t, "bad.txt", "xyz core-a\n"), "--store", e.store, "--timestamp", stamp}, ExitFailed, "bad.txt:1: expected 64 lowercase hex"},
		{"sign: stray argument", sign, []string{"--key", key, "extra"}, ExitUsage, `unexpected argument "extra"`},
		{"verify: nothing to verify", verify, []string{"--keyring", e.keyring, "--store", e.store}, ExitUsage, "give either"},
		{"verify: image without digest", verify, []string{"--keyring", e.keyring, "--store", e.store, "--image", "core-make"}, ExitUsage, "go together"},
		{"verify: both modes", verify, []string{"--keyring", e.keyring, "--store", e.store, "--digests", e.digests, "--image", "core-make", "--digest", "sha256:" + h1}, ExitUsage, "give either"},
		{"verify: bad digest", verify, []string{"--keyring", e.keyring, "--store", e.store, "--image", "core-make", "--digest", h1}, ExitUsage, "--digest: expected"},
		{"verify: bad image name", verify, []string{"--keyring", e.keyring, "--store", e.store, "--image", "Make", "--digest", "sha256:" + h1}, ExitUsage, "--image: expected"},
		{"verify: empty keyring", verify, []string{"--keyring", e.dir + "/nokeys", "--store", e.store, "--digests", e.digests}, ExitFailed, "no such file"},
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
