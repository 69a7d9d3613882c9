package containerfile

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/stagex/stagex-bazel/tools/internal/stagex"
)

// RefKind says what an image reference of FROM or COPY --from points at.
type RefKind int

const (
	// Scratch is the empty image.
	Scratch RefKind = iota
	// StageRef is an earlier stage of the same file.
	StageRef
	// PackageRef is a StageX package image, stagex/<tier>-<name>.
	PackageRef
	// ContextRef is a named build context: one of BuildContexts.
	ContextRef
)

// FetchContext is the named build context StageX's build passes to every
// package (--build-context fetch=fetch/<tier>/<name>): the directory of
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
	// PkgTier and PkgName locate a PackageRef at
	// packages/<PkgTier>/<PkgName>.
	PkgTier, PkgName string
}

// Package returns "<tier>/<name>" for a PackageRef, else "".
func (r Ref) Package() string {
	if r.Kind != PackageRef {
		return ""
	}
	return r.PkgTier + "/" + r.PkgName
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

// PackagePrefix starts every StageX package image name: stagex/.
const PackagePrefix = stagex.RepositoryPrefix + "/"

var (
	tagRe    = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$`)
	digestRe = regexp.MustCompile(`^[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[0-9a-fA-F]{32,}$`)
)

// ParseRef resolves an image reference of FROM or COPY --from against the
// stages defined so far: "scratch", a named build context (BuildContexts),
// the name (case-insensitive) or index of one of stages, or
// stagex/<tier>-<name> with an optional :tag and @digest, which are kept
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
	return Ref{}, fmt.Errorf("image %q is not allowed: only scratch, earlier stages, the build context %s and %s<tier>-<name> are allowed", raw, strings.Join(BuildContexts, ", "), PackagePrefix)
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
	stage, name, err := stagex.ParseImageName(rest)
	if err != nil {
		return Ref{}, fmt.Errorf("image %q is not a StageX package: %v", raw, err)
	}
	return Ref{Kind: PackageRef, Raw: raw, PkgTier: stage, PkgName: name}, nil
}

// isZero reports whether a platform was left unset.
func isZero(p stagex.Platform) bool { return p == stagex.Platform{} }
