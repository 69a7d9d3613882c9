// Package stagex holds the facts about StageX that the tools share: its
// tiers and bootstrap stages, how its images are named, the platforms it
// builds for, how a digest is written, and the fixed values every build
// sees. Each fact is written here once; rules/private/facts.bzl holds the
// Starlark side of the same tables, and a test checks that the two agree.
package stagex

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode/utf8"
)

// Tiers are the directories under packages/ and the first part of every
// image name, in bootstrap order: a package may use images of its own
// tier and of earlier ones.
var Tiers = []string{"bootstrap", "core", "pallet", "user"}

// IsTier reports whether s is one of Tiers.
func IsTier(s string) bool { return slices.Contains(Tiers, s) }

// BootstrapStages are the packages of the bootstrap tier that packages
// reach through the bootstrap chain (stagex/bootstrap-stage0 to -stage3),
// in build order.
var BootstrapStages = []string{"stage0", "stage1", "stage2", "stage3"}

// namePart is one component of a repository name as OCI distribution
// allows it: lower-case letters and digits, separated by '.', '_', "__" or
// runs of '-'.
const namePart = `[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*`

// NamePattern matches one component of an OCI repository name, and so a
// package or subpackage name, the <name> of an image name <tier>-<name>:
// every name in StageX's trees matches it, and it keeps
// stagex/<tier>-<name> a valid repository.
var NamePattern = regexp.MustCompile(`^` + namePart + `$`)

// ImageName returns the image name of package (or subpackage) name in
// tier: <tier>-<name>.
func ImageName(tier, name string) string { return tier + "-" + name }

// ParseImageName splits an image name <tier>-<name> at its first '-' and
// checks both parts: the tier is one of Tiers and the name matches
// NamePattern.
func ParseImageName(image string) (tier, name string, err error) {
	tier, name, ok := strings.Cut(image, "-")
	if !ok || !IsTier(tier) || name == "" {
		return "", "", fmt.Errorf("bad image name %q: expected <tier>-<name> with stage one of %s, like core-make", image, strings.Join(Tiers, ", "))
	}
	if !NamePattern.MatchString(name) {
		what := "its separators"
		if i := strings.IndexFunc(name, func(r rune) bool {
			return !('a' <= r && r <= 'z' || '0' <= r && r <= '9' || strings.ContainsRune("._-", r))
		}); i >= 0 {
			r, _ := utf8.DecodeRuneInString(name[i:])
			what = fmt.Sprintf("character %q", r)
		}
		return "", "", fmt.Errorf("bad image name %q: %q is not a valid package name (%s): expected lower-case letters and digits, separated by '.', '_', '__' or '-'", image, name, what)
	}
	return tier, name, nil
}

// RepositoryPrefix is the repository namespace StageX publishes and signs
// its images under: stagex/<tier>-<name>.
const RepositoryPrefix = "stagex"

// Repository returns the repository of an image name as Containerfiles
// and signatures name it: stagex/<image>.
func Repository(image string) string { return RepositoryPrefix + "/" + image }

// SourceDateEpoch is the SOURCE_DATE_EPOCH of every build, as StageX's
// build passes it (--build-arg SOURCE_DATE_EPOCH=1): the time of every
// image, history entry and clamped file.
const SourceDateEpoch = 1

// Epoch is SourceDateEpoch as a time.
var Epoch = time.Unix(SourceDateEpoch, 0).UTC()

// Hostname is the host name every RUN step sees.
const Hostname = "stagex"

// IsSHA256Hex reports whether s is a sha256 written as StageX writes
// digests: 64 lower-case hex digits.
func IsSHA256Hex(s string) bool {
	if len(s) != 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}

// ParseDigest checks a digest written "sha256:<hex>" and returns its hex.
func ParseDigest(digest string) (hex string, err error) {
	hex, ok := strings.CutPrefix(digest, "sha256:")
	if !ok || !IsSHA256Hex(hex) {
		return "", fmt.Errorf("digest %q: expected sha256: and 64 lowercase hex digits", digest)
	}
	return hex, nil
}
