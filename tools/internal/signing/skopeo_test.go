package signing

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stagex/stagex-bazel/tools/internal/signing/trust"
)

// requireEnv, when set to 1 (e.g. `bazel test --test_env=STAGEX_REQUIRE_SKOPEO=1`
// on CI, which installs skopeo and gnupg), turns the interop test's skip for
// a missing skopeo or gpg into a failure, so that it cannot pass unrun.
const requireEnv = "STAGEX_REQUIRE_SKOPEO"

// lookTool finds a program on PATH, or skips the test (fails it when
// requireEnv is set) naming the Debian package to install.
func lookTool(t *testing.T, name, why string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err == nil {
		return p
	}
	msg := name + " is not on PATH (" + os.Getenv("PATH") + "); " + why
	if os.Getenv(requireEnv) == "1" {
		t.Fatal(msg + "; " + requireEnv + "=1 requires this test to run")
	}
	t.Skip(msg)
	return ""
}

// TestSkopeoInterop checks that skopeo (containers/image with GPGME) accepts
// a signature made by Sign and rejects a tampered one. It needs skopeo and
// gpg on PATH (Debian: apt-get install skopeo gnupg).
func TestSkopeoInterop(t *testing.T) {
	skopeo := lookTool(t, "skopeo", "install it (Debian: apt-get install skopeo gnupg) to run this interop test")
	gpg := lookTool(t, "gpg", "skopeo verifies through GPGME, which needs it (Debian: apt-get install gnupg)")
	// gpg's socket paths must stay short, so the home lives in a short
	// temporary directory rather than under t.TempDir's long name.
	home, err := os.MkdirTemp("", "gpg")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(home, 0o700); err != nil {
		t.Fatal(err)
	}
	env := append(os.Environ(), "GNUPGHOME="+home, "HOME="+home)
	t.Cleanup(func() {
		if gpgconf, err := exec.LookPath("gpgconf"); err == nil {
			cmd := exec.Command(gpgconf, "--kill", "all")
			cmd.Env = env
			cmd.Run()
		}
		os.RemoveAll(home)
	})

	key := newKey(t, "interop", "ed25519")
	fpr := trust.Fingerprint(key)
	work := t.TempDir()
	pubFile := filepath.Join(work, "interop.asc")
	if err := os.WriteFile(pubFile, publicArmor(t, key), 0o644); err != nil {
		t.Fatal(err)
	}
	imp := exec.Command(gpg, "--batch", "--import", pubFile)
	imp.Env = env
	if out, err := imp.CombinedOutput(); err != nil {
		t.Fatalf("gpg --import: %v\n%s", err, out)
	}

	manifest := []byte(`{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a","size":2},"layers":[]}`)
	manifestFile := filepath.Join(work, "manifest.json")
	if err := os.WriteFile(manifestFile, manifest, 0o644); err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(manifest)
	pinned := []Image{{Name: "core-interop", Tier: "core", Digest: "sha256:" + hex.EncodeToString(sum[:])}}
	// Sign at the present time: gpg checks the signature against its own clock.
	res, err := Sign(SignOptions{Key: key, Store: filepath.Join(work, "store"), Prefix: testPrefix}, pinned, nil)
	if err != nil {
		t.Fatal(err)
	}
	sigFile := res[0].Path
	ref := res[0].Identity

	verify := func(sig string) (string, error) {
		cmd := exec.Command(skopeo, "standalone-verify", manifestFile, ref, fpr, sig)
		cmd.Env = env
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	out, err := verify(sigFile)
	if err != nil {
		t.Fatalf("skopeo rejected our signature: %v\n%s", err, out)
	}
	if !strings.Contains(out, "Signature verified") {
		t.Errorf("skopeo output: %s", out)
	}

	sig, err := os.ReadFile(sigFile)
	if err != nil {
		t.Fatal(err)
	}
	i := bytes.Index(sig, []byte("core-interop"))
	if i < 0 {
		t.Fatal("payload not found in the signature")
	}
	sig[i] ^= 0x01
	tampered := filepath.Join(work, "tampered")
	if err := os.WriteFile(tampered, sig, 0o644); err != nil {
		t.Fatal(err)
	}
	out, err = verify(tampered)
	if err == nil {
		t.Fatalf("skopeo accepted a tampered signature:\n%s", out)
	}
	t.Logf("skopeo on the tampered signature: %s", strings.TrimSpace(out))
}
