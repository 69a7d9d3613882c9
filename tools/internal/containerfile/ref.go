package containerfile

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// RefKind says what an image reference of FROM or COPY --from points at.
type RefKind int

const (
	// Scratch is the empty image.
	Scratch RefKind = iota
	// StageRef is an earlier stage of the same file.
	StageRef
	// PackageRef is a StageX package image, stagex/<stage>-<name>.
	PackageRef
	// ContextRef is a named build context: one of BuildContexts.
	ContextRef
)

// FetchContext is the named build context StageX's build passes to every
// package (--build-context fetch=fetch/<stage>/<name>): the directory of
// the package's downloaded sources, which it also copies into the
// package's own fetch/. So `COPY --from=fetch X` reads what `COPY fetch/X`
// reads.
const FetchContext = "fetch"

// BuildContexts are the named build contexts COPY --from may name besides
// stages and packages. As in BuildKit, a named context takes precedence
// over a stage of the same name.
var BuildContexts = []string{FetchContext}

// String names the kind: scratch, stage or package.
func (k RefKind) String() string {
	switch k {
	case Scratch:
		return "scratch"
	case StageRef:
		return "stage"
	case PackageRef:
		return "package"
	case ContextRef:
		return "context"
	}
	return fmt.Sprintf("RefKind(%d)", int(k))
}

// Ref is a resolved image reference.
type Ref struct {
	Kind RefKind
	// Raw is the reference as written (after ARG expansion for FROM),
	// including any :tag or @digest.
	Raw string
	// Stage is the index of the stage for a StageRef.
	Stage int
	// PkgStage and PkgName locate a PackageRef at
	// packages/<PkgStage>/<PkgName>.
	PkgStage, PkgName string
}

// Package returns "<stage>/<name>" for a PackageRef, else "".
func (r Ref) Package() string {
	if r.Kind != PackageRef {
		return ""
	}
	return r.PkgStage + "/" + r.PkgName
}

// String returns the reference as written.
func (r Ref) String() string { return r.Raw }

// key identifies what the reference points at, ignoring tag and spelling.
func (r Ref) key() string {
	switch r.Kind {
	case StageRef:
		return "stage:" + strconv.Itoa(r.Stage)
	case PackageRef:
		return "package:" + r.Package()
	case ContextRef:
		return "context:" + r.Raw
	}
	return "scratch"
}

// PackageStages are the stages of the StageX tree, in bootstrap order.
var PackageStages = []string{"bootstrap", "core", "pallet", "user"}

// PackagePrefix starts every StageX package image name.
const PackagePrefix = "stagex/"

var (
	pkgNameRe = regexp.MustCompile(`^[a-z0-9]+(?:[._-]+[a-z0-9]+)*$`)
	tagRe     = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$`)
	digestRe  = regexp.MustCompile(`^[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[0-9a-fA-F]{32,}$`)
)

// ParseRef resolves an image reference of FROM or COPY --from against the
// stages defined so far: "scratch", a named build context (BuildContexts),
// the name (case-insensitive) or index of one of stages, or
// stagex/<stage>-<name> with an optional :tag and @digest, which are kept
// in Raw but do not change the package.
func ParseRef(raw string, stages []*Stage) (Ref, error) {
	if raw == "" {
		return Ref{}, fmt.Errorf("empty image reference")
	}
	if raw == "scratch" {
		return Ref{Kind: Scratch, Raw: raw}, nil
	}
	for _, c := range BuildContexts {
		if raw == c {
			return Ref{Kind: ContextRef, Raw: raw}, nil
		}
	}
	if i, err := strconv.Atoi(raw); err == nil {
		if i < 0 || i >= len(stages) {
			return Ref{}, fmt.Errorf("stage index %d is out of range: only %d earlier stage(s)", i, len(stages))
		}
		return Ref{Kind: StageRef, Raw: raw, Stage: i}, nil
	}
	lower := strings.ToLower(raw)
	for _, s := range stages {
		if s.Name != "" && s.Name == lower {
			return Ref{Kind: StageRef, Raw: raw, Stage: s.Index}, nil
		}
	}
	if strings.HasPrefix(raw, PackagePrefix) {
		return parsePackageRef(raw)
	}
	return Ref{}, fmt.Errorf("image %q is not allowed: only scratch, earlier stages, the build context %s and %s<stage>-<name> are allowed", raw, strings.Join(BuildContexts, ", "), PackagePrefix)
}

func parsePackageRef(raw string) (Ref, error) {
	rest := strings.TrimPrefix(raw, PackagePrefix)
	if name, digest, ok := strings.Cut(rest, "@"); ok {
		if !digestRe.MatchString(digest) {
			return Ref{}, fmt.Errorf("image %q: bad digest %q", raw, digest)
		}
		rest = name
	}
	if name, tag, ok := strings.Cut(rest, ":"); ok {
		if !tagRe.MatchString(tag) {
			return Ref{}, fmt.Errorf("image %q: bad tag %q", raw, tag)
		}
		rest = name
	}
	stage, name, ok := strings.Cut(rest, "-")
	if !ok || !isPackageStage(stage) || !pkgNameRe.MatchString(name) {
		return Ref{}, fmt.Errorf("image %q is not a StageX package: want %s<stage>-<name> with stage one of %s",
			raw, PackagePrefix, strings.Join(PackageStages, ", "))
	}
	return Ref{Kind: PackageRef, Raw: raw, PkgStage: stage, PkgName: name}, nil
}

func isPackageStage(s string) bool {
	for _, p := range PackageStages {
		if s == p {
			return true
		}
	}
	return false
}

// Platform is an OCI platform.
type Platform struct {
	OS, Arch, Variant string
}

var platformPartRe = regexp.MustCompile(`^[a-z0-9_]+$`)

// ParsePlatform parses os/arch[/variant], normalizing common aliases
// (x86_64 → amd64, aarch64 → arm64, arm64/v8 → arm64, arm → arm/v7,
// i386 → 386) the way container platforms are normalized.
func ParsePlatform(s string) (Platform, error) {
	parts := strings.Split(strings.ToLower(s), "/")
	if len(parts) < 2 || len(parts) > 3 {
		return Platform{}, fmt.Errorf("bad platform %q: want os/arch[/variant]", s)
	}
	for _, p := range parts {
		if !platformPartRe.MatchString(p) {
			return Platform{}, fmt.Errorf("bad platform %q: want os/arch[/variant]", s)
		}
	}
	p := Platform{OS: parts[0], Arch: parts[1]}
	if len(parts) == 3 {
		p.Variant = parts[2]
	}
	switch p.Arch {
	case "x86_64", "x86-64":
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

// String formats the platform as os/arch[/variant].
func (p Platform) String() string {
	if p.Variant != "" {
		return p.OS + "/" + p.Arch + "/" + p.Variant
	}
	return p.OS + "/" + p.Arch
}

func (p Platform) isZero() bool { return p == Platform{} }
