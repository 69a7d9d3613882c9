package benchtree

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stagex/stagex-bazel/tools/internal/translate"
)

// Every generated package must translate, and the graph must be acyclic:
// otherwise the benchmark would time error paths.
func TestGeneratedTreeTranslates(t *testing.T) {
	for _, n := range []int{5, 60} {
		dir := t.TempDir()
		rels, err := Generate(dir, Options{Packages: n, Seed: 1})
		if err != nil {
			t.Fatal(err)
		}
		if len(rels) != n {
			t.Fatalf("Generate made %d packages, want %d", len(rels), n)
		}
		pkgs := map[string]*translate.Package{}
		for _, rel := range rels {
			p, err := translate.Dir(translate.DefaultConfig(dir), rel)
			if err != nil {
				t.Fatalf("%d packages: %v", n, err)
			}
			pkgs[rel] = p
		}
		if err := translate.FindCycle(pkgs); err != nil {
			t.Fatal(err)
		}
	}
}

func TestGenerateIsDeterministic(t *testing.T) {
	a, b := t.TempDir(), t.TempDir()
	for _, d := range []string{a, b} {
		if _, err := Generate(d, Options{Packages: 20, Seed: 7}); err != nil {
			t.Fatal(err)
		}
	}
	x, _ := os.ReadFile(filepath.Join(a, "packages/user/pkg019/Containerfile"))
	y, _ := os.ReadFile(filepath.Join(b, "packages/user/pkg019/Containerfile"))
	if len(x) == 0 || string(x) != string(y) {
		t.Errorf("same seed gave different trees:\n%s\n---\n%s", x, y)
	}
}

func TestGenerateTooSmall(t *testing.T) {
	if _, err := Generate(t.TempDir(), Options{Packages: 2}); err == nil {
		t.Error("Generate with 2 packages succeeded")
	}
}
