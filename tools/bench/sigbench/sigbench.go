// Package sigbench measures how long checking a release's signatures takes:
// it makes throwaway maintainer keys, signs made-up image digests with every
// key into a lookaside store, and times signing.Verify over all the images.
package sigbench

import (
	"bytes"
	"crypto"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/ProtonMail/go-crypto/openpgp/armor"
	"github.com/ProtonMail/go-crypto/openpgp/packet"

	"github.com/stagex/stagex-bazel/tools/internal/signing"
	"github.com/stagex/stagex-bazel/tools/internal/signing/trust"
	"github.com/stagex/stagex-bazel/tools/internal/stagex"
)

// Algorithms are the key algorithms Options.Algorithm accepts.
var Algorithms = []string{"ed25519", "rsa3072"}

// Options configure Run.
type Options struct {
	// Dir is an empty work directory for the keyring and the store.
	Dir string
	// Images is the number of images, each signed by every key.
	Images int
	// Signers is the number of maintainer keys; all must sign every image.
	Signers int
	// Algorithm is the key algorithm, one of Algorithms.
	Algorithm string
	// Runs is how many times the whole set is verified.
	Runs int
}

// Setup is what Prepare made: the inputs of one verification run.
type Setup struct {
	// Verify points at the keyring, policy and store Prepare made.
	Verify signing.VerifyOptions
	// Images are the made-up images, each signed by every key.
	Images []signing.Image
}

// Result is the outcome of Run.
type Result struct {
	Options
	// Signatures is the number of signature files checked per run.
	Signatures int
	// Best and Median are the fastest and the median wall time of a run.
	Best, Median time.Duration
}

// String describes the result on one line.
func (r Result) String() string {
	return fmt.Sprintf("verified %d images x %d signatures (%s keys, %d signature files) in %.3f s (best of %d runs; median %.3f s)",
		r.Images, r.Signers, r.Algorithm, r.Signatures, r.Best.Seconds(), r.Runs, r.Median.Seconds())
}

func keyConfig(algo string, t time.Time) (*packet.Config, error) {
	cfg := &packet.Config{Time: func() time.Time { return t }, DefaultHash: crypto.SHA256}
	switch algo {
	case "ed25519":
		cfg.Algorithm = packet.PubKeyAlgoEdDSA
		cfg.Curve = packet.Curve25519
	case "rsa3072":
		cfg.Algorithm = packet.PubKeyAlgoRSA
		cfg.RSABits = 3072
	default:
		return nil, fmt.Errorf("unknown key algorithm %q; expected one of %v", algo, Algorithms)
	}
	return cfg, nil
}

// Prepare makes the keys, images and signatures for a run in opts.Dir.
func Prepare(opts Options) (*Setup, error) {
	if opts.Images < 1 || opts.Signers < 1 {
		return nil, errors.New("need at least one image and one signer")
	}
	keyTime := time.Now().Add(-time.Hour).Truncate(time.Second)
	cfg, err := keyConfig(opts.Algorithm, keyTime)
	if err != nil {
		return nil, err
	}
	keyDir := filepath.Join(opts.Dir, "keys")
	store := filepath.Join(opts.Dir, "store")
	if err := os.MkdirAll(keyDir, 0o755); err != nil {
		return nil, err
	}
	images := make([]signing.Image, opts.Images)
	for i := range images {
		sum := sha256.Sum256([]byte(fmt.Sprint("image ", i)))
		if images[i], err = signing.NewImage(fmt.Sprintf("core-pkg%04d", i), hex.EncodeToString(sum[:])); err != nil {
			return nil, err
		}
	}
	for i := 0; i < opts.Signers; i++ {
		name := fmt.Sprintf("maintainer%d", i)
		e, err := openpgp.NewEntity(name, "benchmark key", name+"@example.invalid", cfg)
		if err != nil {
			return nil, err
		}
		var buf bytes.Buffer
		w, err := armor.Encode(&buf, openpgp.PublicKeyType, nil)
		if err != nil {
			return nil, err
		}
		if err := e.Serialize(w); err != nil {
			return nil, err
		}
		if err := w.Close(); err != nil {
			return nil, err
		}
		if err := os.WriteFile(filepath.Join(keyDir, name+".asc"), buf.Bytes(), 0o644); err != nil {
			return nil, err
		}
		if _, err := signing.Sign(signing.SignOptions{Key: e, Store: store, Prefix: stagex.RepositoryPrefix, Time: keyTime.Add(time.Minute)}, images, nil); err != nil {
			return nil, err
		}
	}
	kr, err := trust.LoadKeyring(keyDir)
	if err != nil {
		return nil, err
	}
	pol := trust.DefaultPolicy(kr)
	pol.Default.Threshold = opts.Signers
	return &Setup{
		Verify: signing.VerifyOptions{Store: store, Prefix: stagex.RepositoryPrefix, Keyring: kr, Policy: pol},
		Images: images,
	}, nil
}

// Once verifies the set once and fails unless every image passed with
// every key.
func (s *Setup) Once() error {
	rep, err := signing.Verify(s.Verify, s.Images)
	if err != nil {
		return err
	}
	if !rep.OK() {
		return fmt.Errorf("verification failed:\n%s", rep)
	}
	for _, r := range rep.Images {
		if len(r.Signed) != len(s.Verify.Keyring.Keys) || len(r.Rejected) > 0 {
			return fmt.Errorf("unexpected result: %s", r.Message())
		}
	}
	return nil
}

// Run prepares the set and verifies it opts.Runs times.
func Run(opts Options) (Result, error) {
	if opts.Runs < 1 {
		opts.Runs = 1
	}
	s, err := Prepare(opts)
	if err != nil {
		return Result{}, err
	}
	times := make([]time.Duration, opts.Runs)
	for i := range times {
		start := time.Now()
		if err := s.Once(); err != nil {
			return Result{}, err
		}
		times[i] = time.Since(start)
	}
	slices.Sort(times)
	return Result{
		Options:    opts,
		Signatures: opts.Images * opts.Signers,
		Best:       times[0],
		Median:     times[len(times)/2],
	}, nil
}
