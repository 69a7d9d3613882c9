package signing

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"testing"

	"github.com/ProtonMail/go-crypto/openpgp"

	"github.com/stagex/stagex-bazel/tools/signing/digestfile"
	"github.com/stagex/stagex-bazel/tools/signing/trust"
)

// BenchmarkVerify450 verifies 450 images with 3 signatures each (one op is
// the whole set), with Ed25519 and with RSA-3072 maintainer keys. Run with
//
//	go test -run '^$' -bench Verify450 ./tools/signing/
func BenchmarkVerify450(b *testing.B) {
	for _, algo := range []string{"ed25519", "rsa3072"} {
		b.Run(algo, func(b *testing.B) {
			const images, signers = 450, 3
			ents := map[string]*openpgp.Entity{}
			for i := 0; i < signers; i++ {
				name := fmt.Sprintf("m%d", i)
				ents[name] = newKey(b, name, algo)
			}
			_, kr := writeKeyring(b, ents)
			var pinned digestfile.File
			for i := 0; i < images; i++ {
				sum := sha256.Sum256([]byte(fmt.Sprint(i)))
				pinned.Entries = append(pinned.Entries, digestfile.Entry{
					Name: fmt.Sprintf("core-pkg%03d", i), Stage: "core",
					Digest: "sha256:" + hex.EncodeToString(sum[:]), Line: i + 1,
				})
			}
			store := b.TempDir()
			for _, e := range ents {
				if _, err := Sign(SignOptions{Key: e, Store: store, Prefix: testPrefix, Time: signTime}, &pinned, nil); err != nil {
					b.Fatal(err)
				}
			}
			pol := trust.DefaultPolicy(kr)
			pol.Default.Threshold = signers
			opts := VerifyOptions{Store: store, Prefix: testPrefix, Keyring: kr, Policy: pol, Now: verifyTime}
			for b.Loop() {
				rep, err := Verify(opts, pinned.Entries)
				if err != nil {
					b.Fatal(err)
				}
				if !rep.OK() {
					b.Fatalf("verification failed:\n%s", rep)
				}
			}
		})
	}
}
