package signing

import (
	"bytes"
	"crypto"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/ProtonMail/go-crypto/openpgp/packet"

	"github.com/stagex/stagex-bazel/tools/internal/signing/trust"
)

var repoPolicy = flag.String("policy", "", "rlocation path of //keys:policy.toml; its directory in the runfiles holds every file of keys/")

// TestRepositoryKeyring checks the committed keyring: no file in keys/
// holds secret key material, every *.asc is one public key, and the policy
// parses and can be met (with test keys added should there be too few
// maintainer keys yet).
func TestRepositoryKeyring(t *testing.T) {
	if *repoPolicy == "" {
		t.Skip("needs the runfiles that `bazel test //tools/integration/signing:signing_test` provides")
	}
	policy := rlocation(t, *repoPolicy)
	dir := filepath.Dir(policy)
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var keys []trust.Key
	for _, de := range ents {
		p := filepath.Join(dir, de.Name())
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		if bytes.Contains(data, []byte("PRIVATE KEY")) {
			t.Errorf("keys/%s holds a secret key; only public keys belong in keys/", de.Name())
		}
		if !strings.HasSuffix(de.Name(), ".asc") {
			continue
		}
		e, err := trust.ParsePublicKey("keys/"+de.Name(), data)
		if err != nil {
			t.Error(err)
			continue
		}
		keys = append(keys, trust.Key{Name: strings.TrimSuffix(de.Name(), ".asc"), Fingerprint: trust.Fingerprint(e), File: p, Entity: e})
	}
	if len(ents) < 3 { // BUILD.bazel, README.md, policy.toml at least
		t.Fatalf("keys/ in the runfiles holds only %d files; is //keys:all_files a data dependency?", len(ents))
	}
	// The policy's threshold may exceed the maintainer keys committed so
	// far; test keys stand in for the missing ones.
	cfg := &packet.Config{Algorithm: packet.PubKeyAlgoEdDSA, DefaultHash: crypto.SHA256}
	for i := 0; len(keys) < 5; i++ {
		e, err := openpgp.NewEntity("stand-in", "", "", cfg)
		if err != nil {
			t.Fatal(err)
		}
		keys = append(keys, trust.Key{Name: "zz-stand-in-" + string(rune('a'+i)), Fingerprint: trust.Fingerprint(e), Entity: e})
	}
	kr, err := trust.NewKeyring(keys)
	if err != nil {
		t.Fatal(err)
	}
	pol, err := trust.LoadPolicy(policy, kr)
	if err != nil {
		t.Fatal(err)
	}
	rules := map[string]trust.Rule{"top level": pol.Default}
	for stage, r := range pol.Tiers {
		rules["stage "+stage] = r
	}
	for where, r := range rules {
		if r.Threshold < 2 {
			t.Errorf("keys/policy.toml: %s: threshold %d; StageX needs at least 2 maintainers per image", where, r.Threshold)
		}
	}
}
