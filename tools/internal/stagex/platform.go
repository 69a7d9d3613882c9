package stagex

import (
	"fmt"
	"strings"
)

// Platforms are the OCI platforms StageX builds images for, each with a
// Bazel platform //platforms:<os>_<architecture>.
var Platforms = []string{"linux/386", "linux/amd64", "linux/arm64", "linux/riscv64"}

// DefaultPlatform is the platform StageX builds for when package.toml
// names none (PLATFORM in its Makefile).
const DefaultPlatform = "linux/amd64"

// Platform is an OCI platform: os/architecture[/variant].
type Platform struct {
	OS, Arch, Variant string
}

// String formats the platform as os/arch[/variant].
func (p Platform) String() string {
	if p.Variant != "" {
		return p.OS + "/" + p.Arch + "/" + p.Variant
	}
	return p.OS + "/" + p.Arch
}

// ParsePlatform parses os/arch[/variant] exactly as written: two or three
// parts of lower-case letters, digits and '_'. The error names s and what
// was expected.
func ParsePlatform(s string) (Platform, error) {
	parts := strings.Split(s, "/")
	if len(parts) < 2 || len(parts) > 3 || !allPlatformParts(parts) {
		return Platform{}, fmt.Errorf("bad platform %q: expected os/architecture[/variant], e.g. linux/amd64", s)
	}
	p := Platform{OS: parts[0], Arch: parts[1]}
	if len(parts) == 3 {
		p.Variant = parts[2]
	}
	return p, nil
}

func allPlatformParts(parts []string) bool {
	for _, part := range parts {
		if part == "" || strings.IndexFunc(part, func(r rune) bool {
			return !('a' <= r && r <= 'z' || '0' <= r && r <= '9' || r == '_')
		}) >= 0 {
			return false
		}
	}
	return true
}

// NormalizePlatform parses a platform the way BuildKit reads --platform:
// case-insensitively, with the common aliases of architectures and
// variants written one way (x86_64 → amd64, aarch64 → arm64, arm64/v8 →
// arm64, arm → arm/v7, i386 → 386).
func NormalizePlatform(s string) (Platform, error) {
	p, err := ParsePlatform(strings.ToLower(s))
	if err != nil {
		return Platform{}, fmt.Errorf("bad platform %q: expected os/architecture[/variant], e.g. linux/amd64", s)
	}
	switch p.Arch {
	case "x86_64":
		p.Arch = "amd64"
	case "i386", "i486", "i586", "i686":
		p.Arch = "386"
	case "aarch64":
		p.Arch = "arm64"
	case "armhf":
		p.Arch, p.Variant = "arm", "v7"
	case "armel":
		p.Arch, p.Variant = "arm", "v6"
	}
	switch {
	case p.Arch == "arm64" && p.Variant == "v8":
		p.Variant = ""
	case p.Arch == "arm" && p.Variant == "":
		p.Variant = "v7"
	case p.Arch == "amd64" && p.Variant == "v1":
		p.Variant = ""
	}
	return p, nil
}
