package translate

import (
	"reflect"
	"strings"
	"testing"
)

// TestBootstrapRefs checks that references to the bootstrap stages go
// through the tree's toolchains package, and that pinned platforms reach
// every stage, normalized.
func TestBootstrapRefs(t *testing.T) {
	const consumer = `FROM stagex/bootstrap-stage3 AS build
COPY --from=stagex/bootstrap-stage0 /bin/hex0 /bin/hex0
COPY --from=stagex/bootstrap-other /x /x
RUN true

FROM scratch AS package
COPY --from=build /out /
`
	files := map[string]string{
		"packages/bootstrap/stage0/Containerfile": "FROM scratch AS package\n",
		"packages/bootstrap/stage0/package.toml":  "[package]\nname = \"stage0\"\nplatforms = [\"linux/i386\", \"linux/amd64\"]\n",
		"packages/bootstrap/other/Containerfile":  "FROM scratch AS package\n",
		"packages/bootstrap/other/package.toml":   pkgToml("other"),
		"packages/core/tool/Containerfile":        consumer,
		"packages/core/tool/package.toml":         pkgToml("tool"),
	}
	tests := []struct {
		name, packagesDir, toolchains string
	}{
		{"main tree", "packages", "//toolchains"},
		{"nested tree", "fixtures/packages", "//fixtures/toolchains"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tf := map[string]string{}
			for name, content := range files {
				tf[tc.packagesDir+name[len("packages"):]] = content
			}
			root := tree(t, tf)
			cfg := DefaultConfig(root)
			cfg.PackagesDir = tc.packagesDir
			if got := cfg.ToolchainsPackage(); got != tc.toolchains {
				t.Fatalf("ToolchainsPackage() = %q, want %q", got, tc.toolchains)
			}
			p, err := Dir(cfg, tc.packagesDir+"/core/tool")
			if err != nil {
				t.Fatal(err)
			}
			build := p.Targets[0]
			if want := tc.toolchains + ":bootstrap-stage3"; build.Base != want {
				t.Errorf("base = %q, want %q", build.Base, want)
			}
			wantImages := map[string]string{
				tc.toolchains + ":bootstrap-stage0":        "stagex/bootstrap-stage0",
				"//" + tc.packagesDir + "/bootstrap/other": "stagex/bootstrap-other",
			}
			if !reflect.DeepEqual(build.Images, wantImages) {
				t.Errorf("images = %v, want %v", build.Images, wantImages)
			}
			// stage3 is not in the tree (its chain may come from anywhere);
			// stage0 and other are, and stay edges of the package graph.
			var deps []string
			for _, d := range p.Deps {
				deps = append(deps, d.Key)
			}
			wantDeps := []string{tc.packagesDir + "/bootstrap/stage0", tc.packagesDir + "/bootstrap/other"}
			if !reflect.DeepEqual(deps, wantDeps) {
				t.Errorf("deps = %q, want %q", deps, wantDeps)
			}
			if len(build.Platforms) != 0 {
				t.Errorf("unpinned package has platforms %q", build.Platforms)
			}

			s0, err := Dir(cfg, tc.packagesDir+"/bootstrap/stage0")
			if err != nil {
				t.Fatal(err)
			}
			if want := []string{"linux/386", "linux/amd64"}; !reflect.DeepEqual(s0.Targets[0].Platforms, want) {
				t.Errorf("stage0 platforms = %q, want %q", s0.Targets[0].Platforms, want)
			}
		})
	}
}

// TestBootstrapMissingPackage checks that a reference to a bootstrap stage
// needs no package directory, while other missing packages are errors.
func TestBootstrapMissingPackage(t *testing.T) {
	tests := []struct {
		from    string
		wantErr bool
	}{
		{"stagex/bootstrap-stage2", false},
		{"stagex/bootstrap-stage9", true},
		{"stagex/core-missing", true},
	}
	for _, tc := range tests {
		root := tree(t, map[string]string{
			"packages/core/a/Containerfile": "FROM " + tc.from + " AS package\n",
			"packages/core/a/package.toml":  pkgToml("a"),
		})
		_, err := Dir(DefaultConfig(root), "packages/core/a")
		if (err != nil) != tc.wantErr {
			t.Errorf("FROM %s: err = %v, want error %v", tc.from, err, tc.wantErr)
		}
	}
}

// TestBootstrapFromTree checks that a tree translated whole resolves the
// bootstrap stages to its own packages, and that a stage it lacks is then
// an error naming the missing directory.
func TestBootstrapFromTree(t *testing.T) {
	tests := []struct {
		name    string
		from    string
		want    string // base label; "" when an error is expected
		wantErr string
	}{
		{"stage in the tree", "stagex/bootstrap-stage0", "//packages/bootstrap/stage0", ""},
		{"stage not in the tree", "stagex/bootstrap-stage2", "", "no package of this tree publishes bootstrap-stage2"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			root := tree(t, map[string]string{
				"packages/bootstrap/stage0/Containerfile": "FROM scratch AS package\n",
				"packages/bootstrap/stage0/package.toml":  pkgToml("stage0"),
				"packages/core/a/Containerfile":           "FROM " + tc.from + " AS package\n",
				"packages/core/a/package.toml":            pkgToml("a"),
			})
			cfg := DefaultConfig(root)
			cfg.BootstrapFromTree = true
			p, err := Dir(cfg, "packages/core/a")
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want it to say %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := p.Targets[0].Base; got != tc.want {
				t.Errorf("base = %q, want %q", got, tc.want)
			}
			if len(p.Deps) != 1 || p.Deps[0].Key != "packages/bootstrap/stage0" {
				t.Errorf("deps = %+v, want packages/bootstrap/stage0", p.Deps)
			}
		})
	}
}
