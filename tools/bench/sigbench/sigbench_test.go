package sigbench

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestRun(t *testing.T) {
	tests := []struct {
		opts    Options
		wantErr string
	}{
		{Options{Images: 4, Signers: 3, Algorithm: "ed25519", Runs: 2}, ""},
		{Options{Images: 1, Signers: 1, Algorithm: "dsa"}, "unknown key algorithm"},
		{Options{Images: 0, Signers: 1, Algorithm: "ed25519"}, "at least one image"},
	}
	for _, tc := range tests {
		t.Run(tc.opts.Algorithm, func(t *testing.T) {
			tc.opts.Dir = t.TempDir()
			res, err := Run(tc.opts)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if res.Signatures != tc.opts.Images*tc.opts.Signers || res.Best <= 0 || res.Median < res.Best {
				t.Errorf("result %+v", res)
			}
			sigs, _ := filepath.Glob(filepath.Join(tc.opts.Dir, "store", "stagex", "*", "signature-*"))
			if len(sigs) != res.Signatures {
				t.Errorf("%d signature files, want %d", len(sigs), res.Signatures)
			}
			if !strings.Contains(res.String(), "verified 4 images x 3 signatures") {
				t.Errorf("String() = %q", res.String())
			}
		})
	}
}

// A set missing one key's signature on one image must not pass.
func TestOnceFailsOnMissingSignature(t *testing.T) {
	dir := t.TempDir()
	s, err := Prepare(Options{Dir: dir, Images: 2, Signers: 2, Algorithm: "ed25519"})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Once(); err != nil {
		t.Fatal(err)
	}
	sigs, _ := filepath.Glob(filepath.Join(dir, "store", "stagex", "core-pkg0001@*", "signature-2"))
	if len(sigs) != 1 {
		t.Fatalf("found %v", sigs)
	}
	if err := os.Remove(sigs[0]); err != nil {
		t.Fatal(err)
	}
	if err := s.Once(); err == nil || !strings.Contains(err.Error(), "FAILED") {
		t.Errorf("err = %v, want a failed verification", err)
	}
}

// BenchmarkVerify450 verifies 450 images with 3 signatures each (one op is
// the whole set), with Ed25519 and with RSA-3072 maintainer keys; the goal
// is under 2 s per op. Run with
//
//	go test -run '^$' -bench Verify450 ./tools/bench/sigbench/
//
// or `bazel run //tools/internal/signing:bench` for a printed figure.
func BenchmarkVerify450(b *testing.B) {
	for _, algo := range Algorithms {
		b.Run(algo, func(b *testing.B) {
			s, err := Prepare(Options{Dir: b.TempDir(), Images: 450, Signers: 3, Algorithm: algo})
			if err != nil {
				b.Fatal(err)
			}
			for b.Loop() {
				if err := s.Once(); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
