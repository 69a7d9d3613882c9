// Package containerfile turns a StageX Containerfile into a typed model of
// its build stages, with build arguments and environment variables expanded
// the way BuildKit expands them.
//
// The model serves two users: the Gazelle extension, which reads the
// dependencies of each stage (base image and COPY --from sources), and the
// stage runner, which executes the steps. Lexing is BuildKit's own parser
// (heredocs, line continuations, instruction flags) and shell lexer
// (variable expansion); the meaning given to each instruction is this
// package's.
//
// Only the StageX dialect is accepted: every image a stage starts from or
// copies from must be scratch, an earlier stage, or a StageX package named
// stagex/<tier>-<name>.
package containerfile

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/stagex/stagex-bazel/tools/internal/stagex"
)

// Options are the inputs of a build that are not in the Containerfile.
type Options struct {
	// BuildArgs are the values passed like docker build --build-arg
	// (VERSION, <ID>_SOURCE, ... from package.toml). A value is only
	// visible where an ARG of the same name is declared.
	BuildArgs map[string]string
	// TargetPlatform is the platform built for; zero means stagex.DefaultPlatform.
	TargetPlatform stagex.Platform
	// BuildPlatform is the platform the build runs on; zero means the
	// target platform.
	BuildPlatform stagex.Platform
	// StrictVars makes a variable that is used but never defined (no ARG
	// or ENV, no ${X:-fallback}) an error naming it, as BuildKit's
	// UndefinedVar check does when BUILDKIT_DOCKERFILE_CHECK makes checks
	// errors. Without it such a variable expands to nothing, which is what
	// BuildKit does otherwise (StageX's 2025 releases build that way).
	StrictVars bool
	// BaseImage, if set, returns the configuration of the image of a
	// StageX package that a stage starts FROM, so that its environment,
	// working directory, user and shell carry into the stage as they do
	// in BuildKit. When nil, or when it returns nil, a package image is
	// taken to have an empty configuration (BuildKit then adds the
	// default PATH).
	BaseImage func(Ref) (*ImageConfig, error)
}

// File is a parsed Containerfile.
type File struct {
	// Path is the name the file was parsed under, used in errors.
	Path string
	// Args are the global ARGs, declared before the first FROM, with the
	// values they resolved to.
	Args []KeyValue
	// Stages are the build stages in file order; the last one is the
	// package image.
	Stages []*Stage
}

// Stage returns the stage with the given name (case-insensitive, as in
// BuildKit) or, if name is a decimal number, with that index.
func (f *File) Stage(name string) (*Stage, bool) {
	if i, err := strconv.Atoi(name); err == nil {
		if i >= 0 && i < len(f.Stages) {
			return f.Stages[i], true
		}
		return nil, false
	}
	name = strings.ToLower(name)
	for _, s := range f.Stages {
		if s.Name != "" && s.Name == name {
			return s, true
		}
	}
	return nil, false
}

// PackageDeps returns every StageX package the file uses, as base image or
// COPY --from source, in order of first use, each package once.
func (f *File) PackageDeps() []Ref {
	var out []Ref
	seen := map[string]bool{}
	for _, s := range f.Stages {
		for _, r := range s.Deps() {
			if r.Kind == PackageRef && !seen[r.Package()] {
				seen[r.Package()] = true
				out = append(out, r)
			}
		}
	}
	return out
}

// Stage is one FROM section of a Containerfile.
type Stage struct {
	// Index is the position of the stage in the file, from 0.
	Index int
	// Name is the lower-cased name given with AS, or "".
	Name string
	// Line is the line of the FROM instruction.
	Line int
	// Base is the image the stage starts from.
	Base Ref
	// Platform is the expanded --platform of the FROM (inherited from the
	// base stage when that is an earlier stage), or "".
	Platform string
	// Steps are the instructions of the stage after FROM, in order.
	Steps []Step
	// Config is the image configuration at the end of the stage.
	Config ImageConfig
}

// Deps returns the base image (unless it is scratch) and every COPY --from
// source of the stage, in order, each stage or package once.
func (s *Stage) Deps() []Ref {
	var out []Ref
	seen := map[string]bool{}
	add := func(r Ref) {
		if r.Kind == Scratch {
			return
		}
		key := r.key()
		if !seen[key] {
			seen[key] = true
			out = append(out, r)
		}
	}
	add(s.Base)
	for i := range s.Steps {
		if s.Steps[i].From != nil {
			add(*s.Steps[i].From)
		}
	}
	return out
}

// ImageConfig is the part of an OCI image configuration that instructions
// change.
type ImageConfig struct {
	Env        []string // KEY=value, in order of first definition
	WorkingDir string
	User       string
	Shell      []string
	Entrypoint []string
	Cmd        []string
	Labels     map[string]string
	// ExposedPorts and Volumes accumulate over EXPOSE and VOLUME.
	ExposedPorts []string
	Volumes      []string
	StopSignal   string
	// ArgsEscaped is set by CMD, as BuildKit sets it (a field of Docker's
	// image format that the config carries on).
	ArgsEscaped bool
}

func (c ImageConfig) clone() ImageConfig {
	out := c
	out.Env = append([]string(nil), c.Env...)
	out.Shell = append([]string(nil), c.Shell...)
	out.Entrypoint = append([]string(nil), c.Entrypoint...)
	out.Cmd = append([]string(nil), c.Cmd...)
	out.ExposedPorts = append([]string(nil), c.ExposedPorts...)
	out.Volumes = append([]string(nil), c.Volumes...)
	if c.Labels != nil {
		out.Labels = make(map[string]string, len(c.Labels))
		for k, v := range c.Labels {
			out.Labels[k] = v
		}
	}
	return out
}

// KeyValue is one pair of an ENV, ARG or LABEL instruction, expanded.
type KeyValue struct {
	Key   string
	Value string
	// Unset is true for an ARG that got no value: no default, no build
	// argument and no global value. Such an ARG is declared (expanding
	// it gives "") but is not in the environment.
	Unset bool
}

// Heredoc is an inline document of a RUN, COPY or ADD instruction.
type Heredoc struct {
	// Name is the delimiter word; for COPY and ADD it is also the file
	// name when the destination is a directory.
	Name string
	// Content is the document with each line's newline; leading tabs are
	// already stripped for <<- documents, and for COPY and ADD variables
	// are already expanded when Expand is set.
	Content string
	// Expand is false when the delimiter was quoted (<<'EOF', <<"EOF").
	Expand bool
	// Chomp is true for <<- (leading tabs stripped).
	Chomp bool
}

// DefaultShell is the shell of a stage whose image sets none.
var DefaultShell = []string{"/bin/sh", "-c"}

// DefaultPath is the PATH BuildKit gives an image that sets none.
const DefaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// ScriptDir is where BuildKit mounts a RUN heredoc that starts with #! to
// execute it as a file.
const ScriptDir = "/dev/pipes"

// Step is one instruction of a stage. Which fields are set depends on Kind.
type Step struct {
	// Line is the line where the instruction starts.
	Line int
	// Kind is the instruction in upper case: RUN, COPY, ADD, ENV, ARG,
	// WORKDIR, USER, SHELL, ENTRYPOINT, CMD, LABEL, EXPOSE, VOLUME,
	// STOPSIGNAL, HEALTHCHECK, ONBUILD or MAINTAINER.
	Kind string
	// Original is the instruction text with continuation lines joined
	// (heredoc bodies not included), for messages.
	Original string
	// Flags are the --flags of the instruction as written.
	Flags []string

	// RUN. Exactly one of Exec (exec form) and Script (shell form or
	// heredoc) is set.
	//
	// Script is the text handed to Shell: the command line, or the body
	// of a lone heredoc (RUN <<EOF), or the command line followed by the
	// heredoc bodies when heredocs feed a command (RUN cat <<EOF). When
	// Shebang is set, Script instead is a file to write at ScriptPath with
	// mode 0755 and execute directly, as BuildKit does.
	Script     string
	Exec       []string
	Shebang    bool
	ScriptPath string
	Heredocs   []Heredoc
	Network    string   // --network: "", "default", "none" or "host"
	Security   string   // --security: "", "sandbox" or "insecure"
	Mounts     []string // --mount values as written
	Devices    []string // --device values as written

	// COPY and ADD. From is the --from source (COPY only); Srcs are the
	// expanded source paths and Files the heredoc sources.
	From   *Ref
	Srcs   []string
	Dest   string
	Chmod  string
	Chown  string
	Files  []Heredoc
	Link   bool
	Unpack string // ADD --unpack as written ("", "true", "false")

	// ENV, ARG and LABEL pairs, expanded.
	KV []KeyValue
	// SHELL, ENTRYPOINT, CMD and HEALTHCHECK argv (for ENTRYPOINT and CMD
	// in shell form: the stage's shell followed by the command line);
	// EXPOSE ports and VOLUME paths, expanded.
	Args []string
	// WORKDIR and USER (expanded), STOPSIGNAL (expanded), MAINTAINER,
	// ONBUILD (the trigger instruction), and the command line of a shell
	// form ENTRYPOINT or CMD.
	Value string
	// ExecForm is true when RUN, CMD, ENTRYPOINT or HEALTHCHECK was
	// written as a JSON array.
	ExecForm bool

	// Env is the environment in effect for the step (base image
	// environment, ENV values, and the values of ARGs in scope), sorted,
	// as KEY=value; for an ENV or ARG step, the environment after it.
	// Steps with the same environment share one slice: do not modify it.
	Env []string
	// Workdir is the absolute working directory in effect; for a WORKDIR
	// step, the new directory.
	Workdir string
	// User is the user in effect; for a USER step, the new user.
	User string
	// Shell is the shell in effect (DefaultShell unless SHELL changed it).
	Shell []string

	// History is the created_by text of the entry BuildKit records in the
	// image's history for the step, Recorded tells whether it records
	// one, and Layer whether the step adds a layer (RUN, COPY, ADD, and
	// WORKDIR of a directory other than /).
	History  string
	Recorded bool
	Layer    bool
}

// Argv returns the command line a RUN step executes: the exec form as
// written, the script path for a heredoc with a shebang, or the shell
// followed by the script.
func (s *Step) Argv() []string {
	switch {
	case s.Kind != "RUN":
		return nil
	case s.Exec != nil:
		return append([]string(nil), s.Exec...)
	case s.Shebang:
		return []string{s.ScriptPath}
	default:
		return append(append([]string(nil), s.Shell...), s.Script)
	}
}

// String names the step for messages: "RUN at line 12".
func (s *Step) String() string {
	return fmt.Sprintf("%s at line %d", s.Kind, s.Line)
}
