package pkgspec

import (
	"errors"
	"maps"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/stagex/stagex-bazel/tools/internal/diag"
	"github.com/stagex/stagex-bazel/tools/internal/stagex"
	"github.com/stagex/stagex-bazel/tools/testing/testfs"
)

// Hashes used in the test files; hashB is upper-case on purpose where used.
const (
	hashA = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
	hashB = "fedcba9876543210fedcba9876543210fedcba9876543210fedcba9876543210"
)

// sub replaces @A and @B in s with the test hashes.
func sub(s string) string {
	return strings.NewReplacer("@A", hashA, "@B", hashB).Replace(s)
}

// parseTests are well-formed files and what they parse to. Parse is called
// with stage "core" and name "demo".
var parseTests = []struct {
	name string
	text string
	want Package
}{
	{
		name: "every field",
		text: sub(`release_monitoring_id = 1234
[package]
name = "demo"
version = "2.41.0-rc2"
description = "A demo package"
license = "MIT OR Apache-2.0"
website = "https://demo.example"
platforms = ["linux/amd64", "linux/arm64/v8"]
subpackages = ["demo-libs", "demo_devel"]

[sources.zeta]
hash = "@A"
format = "tar.xz"
file = "demo-{version}.{format}"
mirrors = [
  "https://one.example/v{version_major}.x/{file}",
  "https://two.example/{version_major_minor}/demo-{version_strip_suffix}.{format}",
]

[sources.alpha-tools]
hash = "@B"
version = "1.2.3"
git_sha = "a15adc72f099506fb0d40c8824d7aaa97735f7c3"
file = "tools-{version_dash}-{version_under}.tgz"
mirrors = ["https://three.example/{version}/{file}"]
`),
		want: Package{
			Tier: "core", Name: "demo",
			Version:             "2.41.0-rc2",
			Description:         "A demo package",
			License:             "MIT OR Apache-2.0",
			Website:             "https://demo.example",
			Platforms:           []string{"linux/amd64", "linux/arm64/v8"},
			Subpackages:         []string{"demo-libs", "demo_devel"},
			ReleaseMonitoringID: 1234,
			Sources: []Source{
				{
					ID: "alpha-tools", Line: 20, Hash: hashB, Version: "1.2.3",
					GitSHA:  "a15adc72f099506fb0d40c8824d7aaa97735f7c3",
					File:    "tools-1-2-3-1_2_3.tgz",
					Mirrors: []string{"https://three.example/1.2.3/tools-1-2-3-1_2_3.tgz"},
				},
				{
					ID: "zeta", Line: 11, Hash: hashA, Version: "2.41.0-rc2", InheritsVersion: true,
					Format: "tar.xz",
					File:   "demo-2.41.0-rc2.tar.xz",
					Mirrors: []string{
						"https://one.example/v2.x/demo-2.41.0-rc2.tar.xz",
						"https://two.example/2.41/demo-2.41.0.tar.xz",
					},
				},
			},
		},
	},
	{
		name: "bootstrap package without a version",
		text: sub(`[package]
name = "demo"
description = "TODO"
platforms = ["linux/386"]

[sources.stage0_posix]
hash = "@A"
version = "a15adc72f0"
file = "stage0-posix-{version}.tar.gz"
mirrors = ["https://example.org/archive/{version}.tar.gz",]
`),
		want: Package{
			Tier: "core", Name: "demo", Description: "TODO", Platforms: []string{"linux/386"},
			Sources: []Source{{
				ID: "stage0_posix", Line: 6, Hash: hashA, Version: "a15adc72f0",
				File:    "stage0-posix-a15adc72f0.tar.gz",
				Mirrors: []string{"https://example.org/archive/a15adc72f0.tar.gz"},
			}},
		},
	},
	{
		name: "file name from the first mirror, query and fragment dropped",
		text: sub(`[package]
name = "demo"
version = "30"
[sources.demo]
hash = "@A"
mirrors = ["https://a.example/dl/demo{version}-{version_major_minor}.zip?raw=1#top", "https://b.example/other.zip"]
`),
		want: Package{
			Tier: "core", Name: "demo", Version: "30",
			Sources: []Source{{
				ID: "demo", Line: 4, Hash: hashA, Version: "30", InheritsVersion: true,
				File:    "demo30-None.zip",
				Mirrors: []string{"https://a.example/dl/demo30-None.zip?raw=1#top", "https://b.example/other.zip"},
			}},
		},
	},
	{
		name: "licenses, as many StageX packages spell it",
		text: "[package]\nname = \"demo\"\nlicenses = \"GPL-3.0-or-later\"\n",
		want: Package{Tier: "core", Name: "demo", License: "GPL-3.0-or-later"},
	},
	{
		name: "license list, upper-case hash, literal braces",
		text: `[package]
name = "demo"
version = "1.0"
license = ["MIT", "Apache-2.0 WITH LLVM-exception"]
[sources.demo]
hash = "` + strings.ToUpper(hashB) + `"
file = "demo-{{x}}-{version}.tar"
mirrors = ["https://a.example/{{x}}/{file}"]
`,
		want: Package{
			Tier: "core", Name: "demo", Version: "1.0",
			License: "MIT AND (Apache-2.0 WITH LLVM-exception)",
			Sources: []Source{{
				ID: "demo", Line: 5, Hash: hashB, Version: "1.0", InheritsVersion: true,
				File:    "demo-{x}-1.0.tar",
				Mirrors: []string{"https://a.example/{x}/demo-{x}-1.0.tar"},
			}},
		},
	},
	{
		name: "dotted keys and inline tables",
		text: sub(`package.name = "demo"
package.version = "1.0"

sources.b = { hash = "@B", file = "b.tar" }
[sources.a]
hash = "@A"
mirrors = ["https://a.example/a.tar"]
`),
		want: Package{
			Tier: "core", Name: "demo", Version: "1.0",
			Sources: []Source{
				{ID: "a", Line: 5, Hash: hashA, Version: "1.0", InheritsVersion: true, File: "a.tar", Mirrors: []string{"https://a.example/a.tar"}},
				{ID: "b", Line: 4, Hash: hashB, Version: "1.0", InheritsVersion: true, File: "b.tar", Mirrors: []string{}},
			},
		},
	},
	{
		name: "version_from with a source that needs no version",
		text: sub(`[package]
name = "demo"
version_from = "core-other"
[sources.rust1_94_0]
hash = "@A"
mirrors = ["https://a.example/dist/rustc-1.94.0-src.tar.gz"]
`),
		want: Package{
			Tier: "core", Name: "demo", VersionFrom: "core-other",
			Sources: []Source{{
				ID: "rust1_94_0", Line: 4, Hash: hashA, InheritsVersion: true,
				File:    "rustc-1.94.0-src.tar.gz",
				Mirrors: []string{"https://a.example/dist/rustc-1.94.0-src.tar.gz"},
			}},
		},
	},
	{
		name: "version_from with a source waiting for the version",
		text: sub(`[package]
name = "demo"
version_from = "pallet-other"
[sources.demo]
hash = "@A"
file = "demo-{version}.tar"
mirrors = ["https://a.example/{file}"]
`),
		want: Package{
			Tier: "core", Name: "demo", VersionFrom: "pallet-other",
			Sources: []Source{{ID: "demo", Line: 4, Hash: hashA, InheritsVersion: true}},
		},
	},
	{
		name: "no sources",
		text: `[package]
name = "demo"
version = "1"
`,
		want: Package{Tier: "core", Name: "demo", Version: "1"},
	},
}

// exported returns a copy of p with its exported fields only.
func exported(p *Package) Package {
	return Package{
		Path: p.Path, Tier: p.Tier, Name: p.Name,
		Version: p.Version, VersionFrom: p.VersionFrom, Description: p.Description,
		License: p.License, Website: p.Website, Platforms: p.Platforms,
		Subpackages: p.Subpackages, ReleaseMonitoringID: p.ReleaseMonitoringID, Sources: p.Sources,
	}
}

func TestParse(t *testing.T) {
	for _, tc := range parseTests {
		t.Run(tc.name, func(t *testing.T) {
			p, err := Parse("x/package.toml", "core", "demo", []byte(tc.text))
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			want := tc.want
			want.Path = "x/package.toml"
			if got := exported(p); !reflect.DeepEqual(got, want) {
				t.Errorf("Parse =\n%#v\nwant\n%#v", got, want)
			}
			if got, wantResolved := p.Resolved(), want.VersionFrom == ""; got != wantResolved {
				t.Errorf("Resolved() = %v, want %v", got, wantResolved)
			}
		})
	}
}

func TestVersionForms(t *testing.T) {
	tests := []struct {
		in                                          string
		major, majorMinor, dash, under, stripSuffix string
	}{
		{"1.2.3", "1", "1.2", "1-2-3", "1_2_3", "1.2.3"},
		{"1.2.3-rc.1", "1", "1.2", "1-2-3-rc-1", "1_2_3-rc_1", "1.2.3"},
		// common.py's version_to_major_minor returns None without a ".".
		{"30", "30", "None", "30", "30", "30"},
		{"6.6", "6", "6.6", "6-6", "6_6", "6.6"},
		{"2024-01-02", "2024-01-02", "None", "2024-01-02", "2024-01-02", "2024"},
		{"1.2.3+build.5", "1", "1.2", "1-2-3+build-5", "1_2_3+build_5", "1.2.3+build.5"},
	}
	for _, tc := range tests {
		got := VersionForms(tc.in)
		want := map[string]string{
			"version": tc.in, "version_major": tc.major, "version_major_minor": tc.majorMinor,
			"version_dash": tc.dash, "version_under": tc.under, "version_strip_suffix": tc.stripSuffix,
		}
		if !maps.Equal(got, want) {
			t.Errorf("VersionForms(%q) = %v, want %v", tc.in, got, want)
		}
	}
}

// errorTests are bad files, the line the error must point at and words the
// message must contain.
var errorTests = []struct {
	name  string
	text  string
	line  int
	words []string
}{
	{"invalid TOML", "[package]\nname = \"demo\"\nversion = 1.0.0\n", 3, []string{"invalid TOML"}},
	{"duplicate key", "[package]\nname = \"demo\"\nname = \"demo\"\n", 3, []string{"invalid TOML", "already been defined"}},
	{"unknown top-level key", "[package]\nname = \"demo\"\n[build]\nx = 1\n", 3, []string{`unknown key "build"`, "package, sources, release_monitoring_id"}},
	{"unknown key in package", "[package]\nname = \"demo\"\nurl = \"https://x\"\n", 3, []string{`unknown key "url" in [package]`, "website"}},
	{"unknown key in source", sub("[package]\nname = \"demo\"\n[sources.s]\nhash = \"@A\"\nsha256 = \"@A\"\nfile = \"f\"\n"), 5, []string{`unknown key "sha256" in [sources.s]`, "hash, version, format, file, git_sha, mirrors"}},
	{"missing package", "release_monitoring_id = 3\n", 0, []string{"missing [package]"}},
	{"package not a table", "package = \"demo\"\n", 1, []string{"package must be a table", "a string"}},
	{"missing name", "[package]\nversion = \"1\"\n", 1, []string{"no name", `name = "demo"`}},
	{"name mismatch", "[package]\nname = \"other\"\n", 2, []string{`"other" does not match`, `"demo"`}},
	{"name not a string", "[package]\nname = 7\n", 2, []string{"name must be a string", "an integer"}},
	{"name a table", "[package]\nname = { x = 1 }\n", 2, []string{"name must be a string", "a table"}},
	{"empty version", "[package]\nname = \"demo\"\nversion = \"\"\n", 3, []string{"version must not be empty"}},
	{"version and version_from", "[package]\nname = \"demo\"\nversion = \"1\"\nversion_from = \"core-x\"\n", 4, []string{"both version and version_from"}},
	{"version_from without stage", "[package]\nname = \"demo\"\nversion_from = \"rust\"\n", 3, []string{"version_from", "<tier>-<name>"}},
	{"version_from unknown tier", "[package]\nname = \"demo\"\nversion_from = \"kernel-linux\"\n", 3, []string{"version_from", "bootstrap, core, pallet, user"}},
	{"version_from bad name", "[package]\nname = \"demo\"\nversion_from = \"core-Rust\"\n", 3, []string{"not a valid package name"}},
	{"missing hash", "[package]\nname = \"demo\"\n\n[sources.s]\nfile = \"f\"\n", 4, []string{"[sources.s] has no hash"}},
	{"short hash", "[package]\nname = \"demo\"\n[sources.s]\nhash = \"abc\"\nfile = \"f\"\n", 4, []string{`hash "abc" is not a sha256`, "64 hex digits", "got 3"}},
	{"non-hex hash", "[package]\nname = \"demo\"\n[sources.s]\nfile = \"f\"\nhash = \"" + strings.Repeat("g", 64) + "\"\n", 5, []string{"is not a sha256"}},
	{"prefixed hash", "[package]\nname = \"demo\"\n[sources.s]\nhash = \"sha256:" + hashA + "\"\nfile = \"f\"\n", 4, []string{"is not a sha256"}},
	{"hash not a string", "[package]\nname = \"demo\"\n[sources.s]\nhash = 12\nfile = \"f\"\n", 4, []string{"hash must be a string"}},
	{"unknown placeholder in file", sub("[package]\nname = \"demo\"\nversion = \"1\"\n[sources.s]\nhash = \"@A\"\nfile = \"s-{verison}.tar\"\n"), 6, []string{"unknown placeholder {verison}", "{version_strip_suffix}"}},
	{"unknown placeholder in mirror", sub("[package]\nname = \"demo\"\nversion = \"1\"\n[sources.s]\nhash = \"@A\"\nmirrors = [\n \"https://a/{file}\",\n \"https://b/{name}\",\n]\nfile = \"f\"\n"), 6, []string{"mirrors[1]", "unknown placeholder {name}"}},
	{"format spec", sub("[package]\nname = \"demo\"\nversion = \"1\"\n[sources.s]\nhash = \"@A\"\nfile = \"s-{version!r}.tar\"\n"), 6, []string{"unknown placeholder {version!r}"}},
	{"file placeholder in file", sub("[package]\nname = \"demo\"\n[sources.s]\nhash = \"@A\"\nfile = \"{file}.tar\"\n"), 5, []string{"{file} may only be used in mirrors"}},
	{"file placeholder without file", sub("[package]\nname = \"demo\"\n[sources.s]\nhash = \"@A\"\nmirrors = [\"https://a/{file}\"]\n"), 5, []string{"mirrors[0] uses {file}", "has no file"}},
	{"unclosed brace", sub("[package]\nname = \"demo\"\n[sources.s]\nhash = \"@A\"\nfile = \"s-{version.tar\"\n"), 5, []string{"unclosed"}},
	{"lone closing brace", sub("[package]\nname = \"demo\"\n[sources.s]\nhash = \"@A\"\nfile = \"s-}.tar\"\n"), 5, []string{"unmatched"}},
	{"no file and no mirrors", sub("[package]\nname = \"demo\"\n[sources.s]\nhash = \"@A\"\nversion = \"1\"\n"), 3, []string{"neither file nor mirrors"}},
	{"empty mirrors", sub("[package]\nname = \"demo\"\n[sources.s]\nhash = \"@A\"\nmirrors = []\n"), 3, []string{"neither file nor mirrors"}},
	{"version placeholder without a version", sub("[package]\nname = \"demo\"\n[sources.s]\nhash = \"@A\"\nfile = \"s-{version_major}.tar\"\n"), 5, []string{"uses {version_major}", "nor [package] has a version"}},
	{"format placeholder without format", sub("[package]\nname = \"demo\"\nversion = \"1\"\n[sources.s]\nhash = \"@A\"\nmirrors = [\"https://a/s.{format}\"]\n"), 6, []string{"uses {format}", "no format"}},
	{"format placeholder in file without format", sub("[package]\nname = \"demo\"\nversion_from = \"core-x\"\n[sources.s]\nhash = \"@A\"\nfile = \"s-{version}.{format}\"\n"), 6, []string{"file uses {format}", "[sources.s] has no format"}},
	{"relative mirror", sub("[package]\nname = \"demo\"\n[sources.s]\nhash = \"@A\"\nmirrors = [\"a.example/s.tar\"]\n"), 5, []string{"not an absolute URL"}},
	{"mirror ending in a slash", sub("[package]\nname = \"demo\"\n[sources.s]\nhash = \"@A\"\nmirrors = [\"https://a.example/dir/\"]\n"), 5, []string{"cannot take a file name", "set file"}},
	{"mirror without a path", sub("[package]\nname = \"demo\"\n[sources.s]\nhash = \"@A\"\nmirrors = [\"https://a.example\"]\n"), 5, []string{"cannot take a file name"}},
	{"file with a slash", sub("[package]\nname = \"demo\"\nversion = \"1\"\n[sources.s]\nhash = \"@A\"\nfile = \"dir/s-{version}.tar\"\n"), 6, []string{`file "dir/s-1.tar"`, "cannot contain '/'"}},
	{"file is dot-dot", sub("[package]\nname = \"demo\"\n[sources.s]\nhash = \"@A\"\nfile = \"..\"\n"), 5, []string{"not a file name"}},
	{"mirror not a string", sub("[package]\nname = \"demo\"\n[sources.s]\nhash = \"@A\"\nmirrors = [\"https://a/x\", 3]\n"), 5, []string{"mirrors[1] must be a string", "an integer"}},
	{"mirrors not a list", sub("[package]\nname = \"demo\"\n[sources.s]\nhash = \"@A\"\nmirrors = \"https://a/x\"\n"), 5, []string{"mirrors must be a list of strings", "a string"}},
	{"colliding source ids", sub("[package]\nname = \"demo\"\n[sources.foo-bar]\nhash = \"@A\"\nfile = \"a\"\n[sources.FOO-bar]\nhash = \"@A\"\nfile = \"b\"\n"), 6, []string{`"foo-bar" and "FOO-bar"`, "FOO-BAR_*"}},
	{"license and licenses", "[package]\nname = \"demo\"\nlicense = \"MIT\"\nlicenses = \"MIT\"\n", 4, []string{"both license and licenses"}},
	{"own version, file uses version_major", sub("[package]\nname = \"demo\"\n[sources.s]\nhash = \"@A\"\nversion = \"1.2\"\nfile = \"s-{version_major}.tar\"\n"), 3, []string{"[sources.s] sets its own version", "{version_major}", "targets.py"}},
	{"own version, first mirror uses version_major", sub("[package]\nname = \"demo\"\n[sources.s]\nhash = \"@A\"\nversion = \"1.2\"\nmirrors = [\"https://a/v{version}/s-{version_major}.tar\"]\n"), 3, []string{"{version_major}"}},
	{"source id with a dot", sub("[package]\nname = \"demo\"\n[sources.\"a.b\"]\nhash = \"@A\"\nfile = \"a\"\n"), 3, []string{`source id "a.b"`}},
	{"sources not a table", "[package]\nname = \"demo\"\n[[sources]]\nhash = \"x\"\n", 3, []string{"sources must be a table", "an array"}},
	{"source not a table", "[package]\nname = \"demo\"\n[sources]\ns = \"x\"\n", 4, []string{"sources.s must be a table", "a string"}},
	{"git_sha not hex", sub("[package]\nname = \"demo\"\n[sources.s]\nhash = \"@A\"\nfile = \"f\"\ngit_sha = \"main\"\n"), 6, []string{`git_sha "main"`}},
	{"empty format", sub("[package]\nname = \"demo\"\n[sources.s]\nhash = \"@A\"\nfile = \"f\"\nformat = \"\"\n"), 6, []string{"format must not be empty"}},
	{"platform without arch", "[package]\nname = \"demo\"\nplatforms = [\"linux\"]\n", 3, []string{`platforms[0] = "linux"`, "os/arch"}},
	{"platform with four parts", "[package]\nname = \"demo\"\nplatforms = [\"linux/amd64\", \"linux/arm64/v8/x\"]\n", 3, []string{"platforms[1]"}},
	{"platform upper-case", "[package]\nname = \"demo\"\nplatforms = [\"Linux/amd64\"]\n", 3, []string{"platforms[0]"}},
	{"platform empty part", "[package]\nname = \"demo\"\nplatforms = [\"linux//amd64\"]\n", 3, []string{"platforms[0]"}},
	{"platform twice", "[package]\nname = \"demo\"\nplatforms = [\"linux/386\", \"linux/386\"]\n", 3, []string{`"linux/386" twice`}},
	{"platforms a string", "[package]\nname = \"demo\"\nplatforms = \"linux/386\"\n", 3, []string{"platforms must be a list of strings"}},
	{"bad subpackage", "[package]\nname = \"demo\"\nsubpackages = [\"ok\", \"Not OK\"]\n", 3, []string{`subpackages[1] = "Not OK"`}},
	{"subpackage twice", "[package]\nname = \"demo\"\nsubpackages = [\"a\", \"a\"]\n", 3, []string{`"a" twice`}},
	{"license a number", "[package]\nname = \"demo\"\nlicense = 1\n", 3, []string{"license must be an SPDX expression", "an integer"}},
	{"license empty list", "[package]\nname = \"demo\"\nlicense = []\n", 3, []string{"license must not be empty"}},
	{"release_monitoring_id a string", "release_monitoring_id = \"12\"\n[package]\nname = \"demo\"\n", 1, []string{"release_monitoring_id must be a positive integer", "a string"}},
	{"release_monitoring_id a datetime", "release_monitoring_id = 1979-05-27\n[package]\nname = \"demo\"\n", 1, []string{"a datetime"}},
	{"key after a multi-line string", "[package]\nname = \"demo\"\ndescription = \"\"\"\nline one\nline two\n\"\"\"\nhomepage = \"x\"\n", 7, []string{`unknown key "homepage"`}},
	{"multi-line string points at its first line", "[package]\nname = \"\"\"\nother\n\"\"\"\n", 2, []string{`name "other\n"`, "one line"}},
	{"line feed in version", "[package]\nname = \"demo\"\nversion = \"1.0\\n--context=stolen=/etc/shadow\"\n", 3, []string{"version", `"\n" at byte 3`, "without CR, LF or NUL"}},
	{"carriage return in a source file", sub("[package]\nname = \"demo\"\n[sources.s]\nhash = \"@A\"\nfile = \"s.tar\\r\"\n"), 5, []string{"file", "CR, LF or NUL"}},
	{"NUL in a mirror", sub("[package]\nname = \"demo\"\n[sources.s]\nhash = \"@A\"\nmirrors = [\"https://a/s.tar\\u0000\"]\n"), 5, []string{"mirrors[0]", "CR, LF or NUL"}},
	{"line feed in version_from", "[package]\nname = \"demo\"\nversion_from = \"core-x\\n\"\n", 3, []string{"version_from", "one line"}},
	{"first error in file order", "[package]\nname = \"demo\"\nzzz = 1\naaa = 2\n", 3, []string{`"zzz"`}},
}

func TestParseErrors(t *testing.T) {
	for _, tc := range errorTests {
		t.Run(tc.name, func(t *testing.T) {
			p, err := Parse("pkgs/core/demo/package.toml", "core", "demo", []byte(tc.text))
			if err == nil {
				t.Fatalf("Parse succeeded: %+v", exported(p))
			}
			if p != nil {
				t.Errorf("Parse returned a package along with the error")
			}
			checkDiag(t, err, "pkgs/core/demo/package.toml", tc.line, tc.words...)
		})
	}
}

// checkDiag fails unless err is a *diag.Error at file:line whose message
// has every word.
func checkDiag(t *testing.T, err error, file string, line int, words ...string) {
	t.Helper()
	var d *diag.Error
	if !errors.As(err, &d) {
		t.Fatalf("error %q (%T) is not a *diag.Error", err, err)
	}
	if d.File != file || d.Line != line {
		t.Errorf("error at %s:%d, want %s:%d (%v)", d.File, d.Line, file, line, err)
	}
	for _, w := range words {
		if !strings.Contains(d.Msg, w) {
			t.Errorf("error %q does not mention %q", d.Msg, w)
		}
	}
}

func TestParseArguments(t *testing.T) {
	text := []byte("[package]\nname = \"demo\"\n")
	tests := []struct {
		stage, name, word string
	}{
		{"kernel", "demo", `unknown tier "kernel"`},
		{"", "demo", `unknown tier ""`},
		{"core", "Demo", `directory name "Demo"`},
		{"core", "", `directory name ""`},
	}
	for _, tc := range tests {
		_, err := Parse("f.toml", tc.stage, tc.name, text)
		if err == nil {
			t.Errorf("Parse(stage %q, name %q) succeeded", tc.stage, tc.name)
			continue
		}
		checkDiag(t, err, "f.toml", 0, tc.word)
	}
}

func TestImageNames(t *testing.T) {
	p, err := Parse("f", "core", "llvm", []byte("[package]\nname = \"llvm\"\nsubpackages = [\"clang\", \"llvm-libs\"]\n"))
	if err != nil {
		t.Fatal(err)
	}
	if got := p.ImageName(); got != "core-llvm" {
		t.Errorf("ImageName() = %q, want core-llvm", got)
	}
	var subs []string
	for _, s := range p.Subpackages {
		subs = append(subs, p.SubpackageImageName(s))
	}
	if want := []string{"core-clang", "core-llvm-libs"}; !reflect.DeepEqual(subs, want) {
		t.Errorf("subpackage images = %q, want %q", subs, want)
	}
}

func TestBuildArgs(t *testing.T) {
	tests := []struct {
		name string
		text string
		want map[string]string
	}{
		{
			name: "versioned package",
			text: sub(`[package]
name = "demo"
version = "1.2.3-rc1"
[sources.demo]
hash = "@A"
file = "demo-{version}.tar"
mirrors = ["https://a/{file}"]
[sources.live-bootstrap]
hash = "@B"
version = "4.5"
git_sha = "15cb1064ee9cc54f880586fb814752c459a5c897"
file = "lb-{version_under}.tar"
mirrors = ["https://a/{file}"]
[sources.pinned]
hash = "@B"
git_sha = "abcdef0"
mirrors = ["https://a/pinned.tar"]
`),
			want: map[string]string{
				"VERSION":              "1.2.3-rc1",
				"VERSION_UNDER":        "1_2_3-rc1",
				"VERSION_DASH":         "1-2-3-rc1",
				"VERSION_MAJOR":        "1",
				"VERSION_MAJOR_MINOR":  "1.2",
				"VERSION_STRIP_SUFFIX": "1.2.3",
				// targets.py: the id only upper-cased, and the file
				// name's {version_under} is the package's.
				"LIVE-BOOTSTRAP_VERSION": "4.5",
				"LIVE-BOOTSTRAP_SOURCE":  "lb-1_2_3-rc1.tar",
				"LIVE-BOOTSTRAP_GIT_SHA": "15cb1064ee9cc54f880586fb814752c459a5c897",
				"PINNED_GIT_SHA":         "abcdef0",
			},
		},
		{
			name: "package without a version",
			text: sub(`[package]
name = "demo"
[sources.M2libc]
hash = "@A"
version = "3a70001"
file = "m2libc-{version}.tar.gz"
mirrors = ["https://a/{version}.tar.gz"]
`),
			want: map[string]string{
				"M2LIBC_VERSION": "3a70001",
				"M2LIBC_SOURCE":  "m2libc-3a70001.tar.gz",
			},
		},
		{
			name: "file name from the first mirror as written",
			text: sub(`[package]
name = "demo"
version = "2.0"
[sources.dep]
hash = "@A"
version = "4.5"
mirrors = ["https://a.example/{version_dash}/dep-{version}.tar.gz?x=1#f", "https://b/other.tar.gz"]
`),
			want: map[string]string{
				"VERSION": "2.0", "VERSION_UNDER": "2_0", "VERSION_DASH": "2-0", "VERSION_MAJOR": "2",
				"VERSION_MAJOR_MINOR": "2.0", "VERSION_STRIP_SUFFIX": "2.0",
				"DEP_VERSION": "4.5",
				"DEP_SOURCE":  "dep-4.5.tar.gz",
			},
		},
		{
			name: "nothing to pass",
			text: "[package]\nname = \"demo\"\n",
			want: map[string]string{},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p, err := Parse("f", "core", "demo", []byte(tc.text))
			if err != nil {
				t.Fatal(err)
			}
			if got := p.BuildArgs(); !maps.Equal(got, tc.want) {
				t.Errorf("BuildArgs() =\n%v\nwant\n%v", got, tc.want)
			}
		})
	}
}

// fakeTree maps references to package.toml texts and parses them on demand.
type fakeTree map[string]string

func (ft fakeTree) lookup(ref string) (*Package, error) {
	text, ok := ft[ref]
	if !ok {
		return nil, errors.New("no such package")
	}
	stage, name, err := stagex.ParseImageName(ref)
	if err != nil {
		return nil, err
	}
	return Parse(ref+".toml", stage, name, []byte(text))
}

const pendingText = `[package]
name = "demo"
version_from = "pallet-mid"
[sources.demo]
hash = "` + hashA + `"
file = "demo-{version_major_minor}.tar"
mirrors = ["https://a/{version}/{file}"]
[sources.fixed]
hash = "` + hashB + `"
version = "9.9"
mirrors = ["https://a/fixed-{version}.tar"]
`

func TestResolveVersion(t *testing.T) {
	tree := fakeTree{
		"pallet-mid": "[package]\nname = \"mid\"\nversion_from = \"core-base\"\n",
		"core-base":  "[package]\nname = \"base\"\nversion = \"3.4.5\"\n",
	}
	p, err := Parse("user/demo/package.toml", "user", "demo", []byte(pendingText))
	if err != nil {
		t.Fatal(err)
	}
	if p.Resolved() {
		t.Fatal("Resolved() before ResolveVersion")
	}
	if _, ok := p.BuildArgs()["VERSION"]; ok {
		t.Error("BuildArgs has VERSION before ResolveVersion")
	}
	if err := p.ResolveVersion(tree.lookup); err != nil {
		t.Fatal(err)
	}
	if !p.Resolved() || p.Version != "3.4.5" {
		t.Errorf("after ResolveVersion: Version = %q, Resolved() = %v", p.Version, p.Resolved())
	}
	want := []Source{
		{ID: "demo", Line: 4, Hash: hashA, Version: "3.4.5", InheritsVersion: true, File: "demo-3.4.tar", Mirrors: []string{"https://a/3.4.5/demo-3.4.tar"}},
		{ID: "fixed", Line: 8, Hash: hashB, Version: "9.9", File: "fixed-9.9.tar", Mirrors: []string{"https://a/fixed-9.9.tar"}},
	}
	if !reflect.DeepEqual(p.Sources, want) {
		t.Errorf("Sources =\n%#v\nwant\n%#v", p.Sources, want)
	}
	if got := p.BuildArgs()["VERSION_MAJOR_MINOR"]; got != "3.4" {
		t.Errorf("VERSION_MAJOR_MINOR = %q after ResolveVersion, want 3.4", got)
	}
	// Resolving again changes nothing.
	if err := p.ResolveVersion(tree.lookup); err != nil || p.Version != "3.4.5" || !reflect.DeepEqual(p.Sources, want) {
		t.Errorf("second ResolveVersion: err %v, Version %q", err, p.Version)
	}
}

func TestResolveVersionErrors(t *testing.T) {
	tests := []struct {
		name  string
		tree  fakeTree
		words []string
	}{
		{"cycle", fakeTree{"pallet-mid": "[package]\nname = \"mid\"\nversion_from = \"user-demo\"\n"}, []string{"version_from cycle: user-demo -> pallet-mid -> user-demo"}},
		{"longer cycle", fakeTree{
			"pallet-mid": "[package]\nname = \"mid\"\nversion_from = \"core-a\"\n",
			"core-a":     "[package]\nname = \"a\"\nversion_from = \"pallet-mid\"\n",
		}, []string{"cycle: user-demo -> pallet-mid -> core-a -> pallet-mid"}},
		{"missing package", fakeTree{}, []string{`version_from "pallet-mid"`, "no such package"}},
		{"broken target", fakeTree{"pallet-mid": "[package]\nname = \"mid\"\nbogus = 1\n"}, []string{`version_from "pallet-mid"`, `unknown key "bogus"`}},
		{"target without a version", fakeTree{"pallet-mid": "[package]\nname = \"mid\"\n"}, []string{"pallet-mid has neither version nor version_from"}},
		{"version unusable in a file name", fakeTree{"pallet-mid": "[package]\nname = \"mid\"\nversion = \"1.2/3\"\n"}, []string{`file "demo-1.2/3.tar"`}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p, err := Parse("user/demo/package.toml", "user", "demo", []byte(pendingText))
			if err != nil {
				t.Fatal(err)
			}
			before := exported(p)
			before.Sources = append([]Source(nil), p.Sources...)
			err = p.ResolveVersion(tc.tree.lookup)
			if err == nil {
				t.Fatal("ResolveVersion succeeded")
			}
			line := 3 // version_from
			if tc.name == "version unusable in a file name" {
				line = 6 // file
			}
			checkDiag(t, err, "user/demo/package.toml", line, tc.words...)
			if got := exported(p); !reflect.DeepEqual(got, before) {
				t.Errorf("failed ResolveVersion changed the package:\n%#v\nwas\n%#v", got, before)
			}
		})
	}
}

func TestResolveVersionSelf(t *testing.T) {
	p, err := Parse("f", "core", "demo", []byte("[package]\nname = \"demo\"\nversion_from = \"core-demo\"\n"))
	if err != nil {
		t.Fatal(err)
	}
	err = p.ResolveVersion(func(string) (*Package, error) { t.Error("lookup called"); return nil, nil })
	checkDiag(t, err, "f", 3, "cycle: core-demo -> core-demo")
}

func TestParseFile(t *testing.T) {
	root := testfs.WriteFiles(t, map[string]string{
		"packages/core/go/package.toml":    sub("[package]\nname = \"go\"\nversion = \"1.26.1\"\n[sources.go]\nhash = \"@A\"\nmirrors = [\"https://a/go{version}.src.tar.gz\"]\n"),
		"packages/user/wrong/package.toml": "[package]\nname = \"right\"\n",
		"package.toml":                     "[package]\nname = \"x\"\n",
	})
	p, err := ParseFile(filepath.Join(root, "packages/core/go/package.toml"))
	if err != nil {
		t.Fatal(err)
	}
	if p.Tier != "core" || p.Name != "go" || p.Sources[0].File != "go1.26.1.src.tar.gz" {
		t.Errorf("ParseFile: stage %q name %q file %q", p.Tier, p.Name, p.Sources[0].File)
	}

	wrong := filepath.Join(root, "packages", "user", "wrong", "package.toml")
	_, err = ParseFile(wrong)
	checkDiag(t, err, wrong, 2, `"right" does not match`)

	missing := filepath.Join(root, "packages", "core", "nope", "package.toml")
	_, err = ParseFile(missing)
	checkDiag(t, err, missing, 0, "cannot read")

	_, err = ParseFile(filepath.Join(root, "package.toml"))
	checkDiag(t, err, filepath.Join(root, "package.toml"), 0, "unknown tier")
}
