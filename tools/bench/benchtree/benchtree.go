// Package benchtree generates a StageX-shaped package tree for benchmarks:
// packages spread over the bootstrap, core, pallet and user stages, each
// built from an earlier package, copying from a few others, with sources,
// heredoc RUN scripts, local patches and the occasional subpackage.
package benchtree

import (
	"fmt"
	"math/rand"
	"os"
	"path/filepath"
	"strings"
)

// Options shape the generated tree.
type Options struct {
	Packages int   // how many packages (the real tree has about 450)
	Seed     int64 // the same seed gives the same tree
}

type pkg struct{ stage, name string }

// Generate writes MODULE.bazel and packages/<tier>/<name>/{Containerfile,
// package.toml,...} under dir, and returns the package directories.
func Generate(dir string, o Options) ([]string, error) {
	if o.Packages < 5 {
		return nil, fmt.Errorf("need at least 5 packages, got %d", o.Packages)
	}
	r := rand.New(rand.NewSource(o.Seed))
	if err := write(dir, "MODULE.bazel", "module(name = \"benchtree\")\n"); err != nil {
		return nil, err
	}
	var pkgs []pkg
	var dirs []string
	for i := 0; i < o.Packages; i++ {
		var stage string
		switch {
		case i < 4:
			stage = "bootstrap"
		case i < o.Packages*2/5:
			stage = "core"
		case i < o.Packages*3/5:
			stage = "pallet"
		default:
			stage = "user"
		}
		name := fmt.Sprintf("pkg%03d", i)
		if stage == "bootstrap" {
			name = fmt.Sprintf("stage%d", i)
		}
		var from string
		var copies []pkg
		if i > 0 {
			// A third start from a bootstrap stage, the rest from any
			// earlier package.
			base := pkgs[r.Intn(i)]
			if r.Intn(3) == 0 {
				base = pkgs[r.Intn(min(i, 4))]
			}
			from = fmt.Sprintf("stagex/%s-%s", base.stage, base.name)
			for n := r.Intn(min(i, 6)); n > 0; n-- {
				copies = append(copies, pkgs[r.Intn(i)])
			}
		}
		p := pkg{stage, name}
		rel := filepath.Join("packages", stage, name)
		if err := writePackage(dir, rel, r, p.stage, p.name, from, copies, i); err != nil {
			return nil, err
		}
		pkgs = append(pkgs, p)
		dirs = append(dirs, filepath.ToSlash(rel))
	}
	return dirs, nil
}

func writePackage(dir, rel string, r *rand.Rand, stage, name, from string, copies []pkg, i int) error {
	version := fmt.Sprintf("%d.%d.%d", 1+r.Intn(9), r.Intn(20), r.Intn(10))
	var cf strings.Builder
	if from == "" {
		cf.WriteString("FROM scratch AS build\n")
	} else {
		fmt.Fprintf(&cf, "FROM %s AS build\n", from)
	}
	cf.WriteString("ARG VERSION\n")
	seen := map[string]bool{}
	for _, c := range copies {
		ref := fmt.Sprintf("stagex/%s-%s", c.stage, c.name)
		if seen[ref] || ref == from {
			continue
		}
		seen[ref] = true
		fmt.Fprintf(&cf, "COPY --from=%s . /\n", ref)
	}
	fmt.Fprintf(&cf, "ADD fetch/%s-${VERSION}.tar.xz .\n", name)
	patches := r.Intn(3)
	for p := 0; p < patches; p++ {
		fmt.Fprintf(&cf, "COPY patches/%02d.patch /patches/\n", p)
	}
	fmt.Fprintf(&cf, "WORKDIR /%s-${VERSION}\n", name)
	cf.WriteString("RUN --network=none <<-EOF\n\tset -eux\n\t./configure --prefix=/usr\n\tmake -j\"$(nproc)\"\nEOF\n")
	cf.WriteString("RUN --network=none <<-EOF\n\tset -eux\n\tmake DESTDIR=/rootfs install\nEOF\n\n")
	var subs []string
	if i%17 == 5 {
		// As StageX's core/llvm: a package with subpackages publishes
		// only those, so it lists itself among them to keep its image.
		sub := name + "-dev"
		subs = append(subs, name, sub)
		fmt.Fprintf(&cf, "FROM scratch AS package-%s\nCOPY --from=build /rootfs/ /\n", name)
		fmt.Fprintf(&cf, "\nFROM scratch AS package-%s\nCOPY --from=build /rootfs/usr/include /usr/include\n", sub)
	} else {
		cf.WriteString("FROM scratch AS package\nCOPY --from=build /rootfs/ /\n")
	}
	toml := fmt.Sprintf("[package]\nname = %q\nversion = %q\ndescription = \"Benchmark package %d\"\nlicense = \"MIT\"\n", name, version, i)
	if len(subs) > 0 {
		toml += fmt.Sprintf("subpackages = [%q, %q]\n", subs[0], subs[1])
	}
	toml += fmt.Sprintf("\n[sources.%s]\nhash = \"%064x\"\nformat = \"tar.xz\"\nfile = \"%s-{version}.{format}\"\nmirrors = [\"https://mirror.example.invalid/%s/{file}\"]\n", name, r.Uint64(), name, name)
	if err := write(dir, filepath.Join(rel, "Containerfile"), cf.String()); err != nil {
		return err
	}
	if err := write(dir, filepath.Join(rel, "package.toml"), toml); err != nil {
		return err
	}
	for p := 0; p < patches; p++ {
		if err := write(dir, filepath.Join(rel, "patches", fmt.Sprintf("%02d.patch", p)), "--- a\n+++ b\n"); err != nil {
			return err
		}
	}
	return nil
}

func write(dir, rel, content string) error {
	p := filepath.Join(dir, rel)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return err
	}
	return os.WriteFile(p, []byte(content), 0o644)
}
