package containerfile

import (
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/stagex/stagex-bazel/tools/internal/diag"
	"github.com/stagex/stagex-bazel/tools/internal/stagex"
)

// cf builds a Containerfile from lines.
func cf(lines ...string) []byte { return []byte(strings.Join(lines, "\n") + "\n") }

func mustParse(t *testing.T, src []byte, opts Options) *File {
	t.Helper()
	f, err := Parse("pkg/Containerfile", src, opts)
	if err != nil {
		t.Fatalf("Parse: %v\n%s", err, src)
	}
	return f
}

// stepAt returns the step starting at line.
func stepAt(t *testing.T, f *File, line int) *Step {
	t.Helper()
	for _, st := range f.Stages {
		for i := range st.Steps {
			if st.Steps[i].Line == line {
				return &st.Steps[i]
			}
		}
	}
	t.Fatalf("no step at line %d", line)
	return nil
}

func envValue(env []string, key string) (string, bool) {
	for _, kv := range env {
		if k, v, _ := strings.Cut(kv, "="); k == key {
			return v, true
		}
	}
	return "", false
}

func TestStages(t *testing.T) {
	src := cf(
		"ARG BASE=core-busybox",                                 // 1
		"FROM scratch AS Sources",                               // 2
		"FROM --platform=linux/386 stagex/${BASE}:1.2 AS build", // 3
		"COPY --from=sources /a /a",                             // 4
		"COPY --from=stagex/core-linux-headers . /",             // 5
		"COPY --from=0 /b /b",                                   // 6
		"COPY --from=stagex/core-linux-headers@sha256:"+strings.Repeat("ab", 32)+" /c /c", // 7
		"FROM build AS install",                // 8
		"FROM stagex/pallet-clang-gnu-busybox", // 9
		"COPY --from=install / /",              // 10
	)
	f := mustParse(t, src, Options{})
	type want struct {
		name, platform string
		base           Ref
		deps           []string
	}
	wants := []want{
		{"sources", "", Ref{Kind: Scratch, Raw: "scratch"}, nil},
		{"build", "linux/386", Ref{Kind: PackageRef, Raw: "stagex/core-busybox:1.2", PkgTier: "core", PkgName: "busybox"},
			[]string{"package:core/busybox", "stage:0", "package:core/linux-headers"}},
		{"install", "linux/386", Ref{Kind: StageRef, Raw: "build", Stage: 1}, []string{"stage:1"}},
		{"", "", Ref{Kind: PackageRef, Raw: "stagex/pallet-clang-gnu-busybox", PkgTier: "pallet", PkgName: "clang-gnu-busybox"},
			[]string{"package:pallet/clang-gnu-busybox", "stage:2"}},
	}
	if len(f.Stages) != len(wants) {
		t.Fatalf("got %d stages, want %d", len(f.Stages), len(wants))
	}
	for i, w := range wants {
		st := f.Stages[i]
		if st.Index != i || st.Name != w.name || st.Platform != w.platform || st.Base != w.base {
			t.Errorf("stage %d = {%d %q %q %+v}, want {%d %q %q %+v}", i, st.Index, st.Name, st.Platform, st.Base, i, w.name, w.platform, w.base)
		}
		var deps []string
		for _, r := range st.Deps() {
			deps = append(deps, r.key())
		}
		if !reflect.DeepEqual(deps, w.deps) {
			t.Errorf("stage %d Deps = %v, want %v", i, deps, w.deps)
		}
	}
	var pkgs []string
	for _, r := range f.PackageDeps() {
		pkgs = append(pkgs, r.Package())
	}
	if want := []string{"core/busybox", "core/linux-headers", "pallet/clang-gnu-busybox"}; !reflect.DeepEqual(pkgs, want) {
		t.Errorf("PackageDeps = %v, want %v", pkgs, want)
	}
	if got := stepAt(t, f, 7).From.Raw; !strings.HasSuffix(got, strings.Repeat("ab", 32)) {
		t.Errorf("digest not kept in Raw: %q", got)
	}
	for _, tc := range []struct {
		name string
		want int
		ok   bool
	}{{"sources", 0, true}, {"BUILD", 1, true}, {"2", 2, true}, {"3", 3, true}, {"4", 0, false}, {"nope", 0, false}} {
		st, ok := f.Stage(tc.name)
		if ok != tc.ok || (ok && st.Index != tc.want) {
			t.Errorf("Stage(%q) = %v, %v; want index %d, %v", tc.name, st, ok, tc.want, tc.ok)
		}
	}
	if got := f.Args; !reflect.DeepEqual(got, []KeyValue{{Key: "BASE", Value: "core-busybox"}}) {
		t.Errorf("Args = %+v", got)
	}
}

func TestRun(t *testing.T) {
	tests := []struct {
		name string
		src  []byte
		line int
		want Step // only the RUN fields compared
		argv []string
	}{
		{
			name: "heredoc with chomp",
			src:  cf("FROM scratch", "RUN --network=none <<-EOF", "\tset -eux", "\t\tmake -j$(nproc)", "EOF"),
			line: 2,
			want: Step{Script: "set -eux\nmake -j$(nproc)\n", Network: "none",
				Heredocs: []Heredoc{{Name: "EOF", Content: "set -eux\nmake -j$(nproc)\n", Expand: true, Chomp: true}}},
			argv: []string{"/bin/sh", "-c", "set -eux\nmake -j$(nproc)\n"},
		},
		{
			name: "quoted heredoc without chomp keeps tabs",
			src:  cf("FROM scratch", "RUN <<'EOF'", "\techo $HOME", "EOF"),
			line: 2,
			want: Step{Script: "\techo $HOME\n", Heredocs: []Heredoc{{Name: "EOF", Content: "\techo $HOME\n"}}},
			argv: []string{"/bin/sh", "-c", "\techo $HOME\n"},
		},
		{
			name: "heredoc with shebang runs as a file",
			src:  cf("FROM scratch", "RUN <<-SCRIPT", "\t#!/usr/bin/env python3", "\tprint(1)", "SCRIPT"),
			line: 2,
			want: Step{Script: "#!/usr/bin/env python3\nprint(1)\n", Shebang: true, ScriptPath: "/dev/pipes/SCRIPT",
				Heredocs: []Heredoc{{Name: "SCRIPT", Content: "#!/usr/bin/env python3\nprint(1)\n", Expand: true, Chomp: true}}},
			argv: []string{"/dev/pipes/SCRIPT"},
		},
		{
			name: "heredoc feeding a command",
			src:  cf("FROM scratch", "RUN cat <<-EOF > /etc/motd", "\thello", "EOF"),
			line: 2,
			want: Step{Script: "cat <<-EOF > /etc/motd\n\thello\nEOF",
				Heredocs: []Heredoc{{Name: "EOF", Content: "hello\n", Expand: true, Chomp: true}}},
			argv: []string{"/bin/sh", "-c", "cat <<-EOF > /etc/motd\n\thello\nEOF"},
		},
		{
			name: "exec form",
			src:  cf("FROM scratch", `RUN ["/hex0-seed", "/x86/hex0_x86.hex0", "hex0"]`),
			line: 2,
			want: Step{Exec: []string{"/hex0-seed", "/x86/hex0_x86.hex0", "hex0"}, ExecForm: true},
			argv: []string{"/hex0-seed", "/x86/hex0_x86.hex0", "hex0"},
		},
		{
			name: "shell form with continuation and test bracket",
			src:  cf("FROM scratch", "RUN [ ! -d /usr/lib64 ] \\", "  || rm -rf /usr/lib64"),
			line: 2,
			want: Step{Script: "[ ! -d /usr/lib64 ]   || rm -rf /usr/lib64"},
			argv: []string{"/bin/sh", "-c", "[ ! -d /usr/lib64 ]   || rm -rf /usr/lib64"},
		},
		{
			name: "SHELL changes the interpreter",
			src:  cf("FROM scratch", `SHELL ["/usr/bin/kaem","--verbose","--file"]`, "RUN pass1.kaem"),
			line: 3,
			want: Step{Script: "pass1.kaem"},
			argv: []string{"/usr/bin/kaem", "--verbose", "--file", "pass1.kaem"},
		},
		{
			name: "mount security and device flags are recorded",
			src:  cf("FROM scratch", "RUN --mount=type=cache,target=/c --security=insecure --network=host --device=x make"),
			line: 2,
			want: Step{Script: "make", Mounts: []string{"type=cache,target=/c"}, Security: "insecure", Network: "host", Devices: []string{"x"}},
			argv: []string{"/bin/sh", "-c", "make"},
		},
		{
			name: "variables are not expanded in RUN",
			src:  cf("FROM scratch", "RUN echo ${UNDEFINED} $HOME"),
			line: 2,
			want: Step{Script: "echo ${UNDEFINED} $HOME"},
			argv: []string{"/bin/sh", "-c", "echo ${UNDEFINED} $HOME"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := stepAt(t, mustParse(t, tc.src, Options{}), tc.line)
			got := Step{Script: s.Script, Exec: s.Exec, Shebang: s.Shebang, ScriptPath: s.ScriptPath, Heredocs: s.Heredocs,
				Network: s.Network, Security: s.Security, Mounts: s.Mounts, Devices: s.Devices, ExecForm: s.ExecForm}
			if s.Kind != "RUN" || !reflect.DeepEqual(got, tc.want) {
				t.Errorf("%s step = %+v\nwant %+v", s.Kind, got, tc.want)
			}
			if argv := s.Argv(); !reflect.DeepEqual(argv, tc.argv) {
				t.Errorf("Argv = %q, want %q", argv, tc.argv)
			}
		})
	}
}

func TestCopyAdd(t *testing.T) {
	build := Options{BuildArgs: map[string]string{"VERSION": "1.2", "MAKE_SOURCE": "make-1.2.tar.gz", "UID": "1000"}}
	tests := []struct {
		name string
		src  []byte
		line int
		want Step // COPY/ADD fields compared
	}{
		{
			name: "from earlier stage",
			src:  cf("FROM scratch AS a", "FROM scratch", "COPY --from=a /x/ /y/"),
			line: 3,
			want: Step{From: &Ref{Kind: StageRef, Raw: "a", Stage: 0}, Srcs: []string{"/x/"}, Dest: "/y/"},
		},
		{
			name: "whole package image",
			src:  cf("FROM scratch", "COPY --from=stagex/core-busybox . /"),
			line: 2,
			want: Step{From: &Ref{Kind: PackageRef, Raw: "stagex/core-busybox", PkgTier: "core", PkgName: "busybox"}, Srcs: []string{"."}, Dest: "/"},
		},
		{
			name: "stage index and several sources",
			src:  cf("FROM scratch AS a", "FROM scratch", "COPY --from=0 /x /y /z/"),
			line: 3,
			want: Step{From: &Ref{Kind: StageRef, Raw: "0", Stage: 0}, Srcs: []string{"/x", "/y"}, Dest: "/z/"},
		},
		{
			name: "chmod chown link and expansion",
			src:  cf("FROM scratch", "ARG UID VERSION", "COPY --link --chmod=755 --chown=${UID}:0 bin/tool-$VERSION /usr/bin/"),
			line: 3,
			want: Step{Srcs: []string{"bin/tool-1.2"}, Dest: "/usr/bin/", Chmod: "755", Chown: "1000:0", Link: true},
		},
		{
			name: "heredoc file expanded and chomped",
			src:  cf("FROM scratch", "ARG VERSION", "ENV P=/usr", "COPY --chmod=644 <<-EOF /etc/v", "\tv=${VERSION} p=$P \\$P", "EOF"),
			line: 4,
			want: Step{Dest: "/etc/v", Chmod: "644", Files: []Heredoc{{Name: "EOF", Content: "v=1.2 p=/usr $P\n", Expand: true, Chomp: true}}},
		},
		{
			name: "quoted heredoc file is not expanded",
			src:  cf("FROM scratch", `COPY <<-"EOF" /shell.sh`, "\t#!/bin/sh", "\t$@ $UNDEFINED", "EOF"),
			line: 2,
			want: Step{Dest: "/shell.sh", Files: []Heredoc{{Name: "EOF", Content: "#!/bin/sh\n$@ $UNDEFINED\n", Chomp: true}}},
		},
		{
			name: "two heredoc files",
			src:  cf("FROM scratch", "COPY <<A <<B /etc/", "a", "A", "b", "B"),
			line: 2,
			want: Step{Dest: "/etc/", Files: []Heredoc{{Name: "A", Content: "a\n", Expand: true}, {Name: "B", Content: "b\n", Expand: true}}},
		},
		{
			name: "copy from the fetch context",
			src:  cf("FROM scratch", "COPY --from=fetch . /external/distfiles/"),
			line: 2,
			want: Step{From: &Ref{Kind: ContextRef, Raw: "fetch"}, Srcs: []string{"."}, Dest: "/external/distfiles/"},
		},
		{
			name: "add source archive",
			src:  cf("FROM scratch", "ARG MAKE_SOURCE", "ADD fetch/${MAKE_SOURCE} ."),
			line: 3,
			want: Step{Srcs: []string{"fetch/make-1.2.tar.gz"}, Dest: "."},
		},
		{
			name: "add with version and unpack flag",
			src:  cf("FROM scratch", "ARG VERSION", "ADD --unpack=false fetch/make-${VERSION}.tar.gz /src/"),
			line: 3,
			want: Step{Srcs: []string{"fetch/make-1.2.tar.gz"}, Dest: "/src/", Unpack: "false"},
		},
		{
			name: "exec form copy",
			src:  cf("FROM scratch", `COPY ["a b", "/c/"]`),
			line: 2,
			want: Step{Srcs: []string{"a b"}, Dest: "/c/"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := stepAt(t, mustParse(t, tc.src, build), tc.line)
			got := Step{From: s.From, Srcs: s.Srcs, Dest: s.Dest, Chmod: s.Chmod, Chown: s.Chown, Files: s.Files, Link: s.Link, Unpack: s.Unpack}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("%s step = %+v\nwant %+v", s.Kind, got, tc.want)
			}
		})
	}
}

func TestVariables(t *testing.T) {
	tests := []struct {
		name    string
		src     []byte
		opts    Options
		line    int
		kv      []KeyValue        // if set, the step's KV
		value   string            // if set, the step's Value
		dest    string            // if set, the step's Dest
		env     map[string]string // entries of the step's Env ("" value: must be absent)
		workdir string
	}{
		{
			name: "ENV key value form keeps spaces",
			src:  cf("FROM scratch", "ENV PATH /opt/bin:$PATH", "RUN x"),
			line: 3, env: map[string]string{"PATH": "/opt/bin:" + DefaultPath},
		},
		{
			name: "ENV pairs see the environment before the instruction",
			src:  cf("FROM scratch", "ENV A=1", `ENV A=2 B=$A C="x y" D='$A'`),
			line: 3,
			kv:   []KeyValue{{Key: "A", Value: "2"}, {Key: "B", Value: "1"}, {Key: "C", Value: "x y"}, {Key: "D", Value: "$A"}},
		},
		{
			name: "global ARG must be re-declared and inherits its value",
			src:  cf("ARG V=1", "FROM scratch", "ARG V", "WORKDIR /src-${V}"),
			line: 4, value: "/src-1", workdir: "/src-1", env: map[string]string{"V": "1"},
		},
		{
			name: "build arg overrides default and global value",
			src:  cf("ARG V=1", "FROM scratch", "ARG V=2", "WORKDIR /src-${V}"),
			opts: Options{BuildArgs: map[string]string{"V": "9"}},
			line: 4, value: "/src-9",
		},
		{
			name: "global ARG default sees earlier global ARGs and build args",
			src:  cf("ARG A", "ARG B=x-${A}", "FROM scratch", "ARG B", "USER $B"),
			opts: Options{BuildArgs: map[string]string{"A": "a"}},
			line: 5, value: "x-a",
		},
		{
			name: "ARG defaults on one line see earlier ones",
			src:  cf("FROM scratch", "ARG A=1 B=${A}2 C"),
			line: 2,
			kv:   []KeyValue{{Key: "A", Value: "1"}, {Key: "B", Value: "12"}, {Key: "C", Unset: true}},
			env:  map[string]string{"A": "1", "B": "12", "C": ""},
		},
		{
			name: "declared ARG without value expands to empty",
			src:  cf("FROM scratch", "ARG X", "WORKDIR /a${X}b"),
			line: 3, value: "/ab",
		},
		{
			name: "default operator covers an undefined variable",
			src:  cf("FROM scratch", "WORKDIR ${NOPE:-/build}"),
			line: 2, value: "/build",
		},
		{
			name: "automatic platform args",
			src:  cf("FROM scratch", "ARG TARGETARCH TARGETPLATFORM BUILDARCH TARGETVARIANT", "WORKDIR /$TARGETARCH-$BUILDARCH"),
			opts: Options{TargetPlatform: stagex.Platform{OS: "linux", Arch: "arm64"}, BuildPlatform: stagex.Platform{OS: "linux", Arch: "amd64"}},
			line: 3, value: "/arm64-amd64",
			env: map[string]string{"TARGETPLATFORM": "linux/arm64", "TARGETVARIANT": ""},
		},
		{
			name: "automatic args default to linux/amd64 and are usable in FROM",
			src:  cf("FROM --platform=$BUILDPLATFORM scratch", "ARG TARGETOS BUILDOS TARGETARCH", "USER ${TARGETOS}-${BUILDOS}-${TARGETARCH}"),
			line: 3, value: "linux-linux-amd64",
		},
		{
			name: "build arg overrides an automatic arg",
			src:  cf("FROM scratch", "ARG TARGETARCH", "USER $TARGETARCH"),
			opts: Options{BuildArgs: map[string]string{"TARGETARCH": "riscv64"}},
			line: 3, value: "riscv64",
		},
		{
			name: "ARG and ENV carry into a stage built FROM a stage",
			src:  cf("FROM scratch AS a", "ARG V=1", "ENV E=2", "WORKDIR /w", "FROM a", "COPY x $V$E/"),
			line: 6, dest: "12/", env: map[string]string{"V": "1", "E": "2"}, workdir: "/w",
		},
		{
			name: "ARG values do not leak into an unrelated stage",
			src:  cf("FROM scratch AS a", "ARG V=1", "FROM scratch", "RUN x"),
			line: 4, env: map[string]string{"V": ""},
		},
		{
			name: "relative WORKDIR joins the current one",
			src:  cf("FROM scratch", "WORKDIR /a", "WORKDIR b/../c", "RUN x"),
			line: 4, workdir: "/a/c",
		},
		{
			name: "LABEL expands",
			src:  cf("FROM scratch", "ARG V=3", `LABEL org.opencontainers.image.version=$V other="a b"`),
			line: 3,
			kv:   []KeyValue{{Key: "org.opencontainers.image.version", Value: "3"}, {Key: "other", Value: "a b"}},
		},
		{
			name: "escape directive changes the escape character",
			src:  cf("# escape=`", "FROM scratch", "ENV A=1", "WORKDIR /x`$A/$A"),
			line: 4, value: "/x$A/1",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := stepAt(t, mustParse(t, tc.src, tc.opts), tc.line)
			if tc.kv != nil && !reflect.DeepEqual(s.KV, tc.kv) {
				t.Errorf("KV = %+v, want %+v", s.KV, tc.kv)
			}
			if tc.value != "" && s.Value != tc.value {
				t.Errorf("Value = %q, want %q", s.Value, tc.value)
			}
			if tc.dest != "" && s.Dest != tc.dest {
				t.Errorf("Dest = %q, want %q", s.Dest, tc.dest)
			}
			if tc.workdir != "" && s.Workdir != tc.workdir {
				t.Errorf("Workdir = %q, want %q", s.Workdir, tc.workdir)
			}
			for k, want := range tc.env {
				got, ok := envValue(s.Env, k)
				if want == "" && ok && got != "" {
					t.Errorf("Env has %s=%q, want it absent", k, got)
				}
				if want != "" && got != want {
					t.Errorf("Env[%s] = %q, want %q", k, got, want)
				}
			}
			if !sortedStrings(s.Env) {
				t.Errorf("Env not sorted: %q", s.Env)
			}
		})
	}
}

func sortedStrings(s []string) bool {
	for i := 1; i < len(s); i++ {
		if s[i-1] > s[i] {
			return false
		}
	}
	return true
}

func TestOtherInstructions(t *testing.T) {
	src := cf(
		"FROM scratch AS base",                  // 1
		`CMD ["/bin/true"]`,                     // 2
		"FROM base",                             // 3
		"ARG PORT=80",                           // 4
		"USER 1000:1000",                        // 5
		"EXPOSE $PORT 443/tcp",                  // 6
		`VOLUME ["/data"]`,                      // 7
		"STOPSIGNAL SIGTERM",                    // 8
		"HEALTHCHECK --interval=5s CMD curl -f", // 9
		"ONBUILD RUN echo hi",                   // 10
		"MAINTAINER someone",                    // 11
		"ENTRYPOINT exec server",                // 12
		`SHELL ["/bin/bash", "-c"]`,             // 13
		"CMD serve --port 80",                   // 14
	)
	f := mustParse(t, src, Options{})
	tests := []struct {
		line  int
		kind  string
		args  []string
		value string
		exec  bool
	}{
		{2, "CMD", []string{"/bin/true"}, "", true},
		{5, "USER", nil, "1000:1000", false},
		{6, "EXPOSE", []string{"80", "443/tcp"}, "", false},
		{7, "VOLUME", []string{"/data"}, "", false},
		{8, "STOPSIGNAL", nil, "SIGTERM", false},
		{9, "HEALTHCHECK", []string{"CMD", "curl -f"}, "", false},
		{10, "ONBUILD", nil, "RUN echo hi", false},
		{11, "MAINTAINER", nil, "someone", false},
		{12, "ENTRYPOINT", []string{"/bin/sh", "-c", "exec server"}, "exec server", false},
		{13, "SHELL", []string{"/bin/bash", "-c"}, "", true},
		{14, "CMD", []string{"/bin/bash", "-c", "serve --port 80"}, "serve --port 80", false},
	}
	for _, tc := range tests {
		s := stepAt(t, f, tc.line)
		if s.Kind != tc.kind || !reflect.DeepEqual(s.Args, tc.args) || s.Value != tc.value || s.ExecForm != tc.exec {
			t.Errorf("line %d: %s Args=%q Value=%q ExecForm=%v; want %s %q %q %v", tc.line, s.Kind, s.Args, s.Value, s.ExecForm, tc.kind, tc.args, tc.value, tc.exec)
		}
	}
	if got := stepAt(t, f, 9).Flags; !reflect.DeepEqual(got, []string{"--interval=5s"}) {
		t.Errorf("HEALTHCHECK Flags = %q", got)
	}
	cfg := f.Stages[1].Config
	want := ImageConfig{
		Env:          []string{"PATH=" + DefaultPath},
		User:         "1000:1000",
		Shell:        []string{"/bin/bash", "-c"},
		Entrypoint:   []string{"/bin/sh", "-c", "exec server"},
		Cmd:          []string{"/bin/bash", "-c", "serve --port 80"},
		ExposedPorts: []string{"80", "443/tcp"},
		Volumes:      []string{"/data"},
		StopSignal:   "SIGTERM",
		ArgsEscaped:  true,
	}
	if !reflect.DeepEqual(cfg, want) {
		t.Errorf("Config = %+v\nwant %+v", cfg, want)
	}
	// ENTRYPOINT without a CMD in the same stage drops the inherited CMD.
	g := mustParse(t, cf("FROM scratch AS a", `CMD ["x"]`, "FROM a", `ENTRYPOINT ["y"]`), Options{})
	if c := g.Stages[1].Config; c.Cmd != nil || !reflect.DeepEqual(c.Entrypoint, []string{"y"}) {
		t.Errorf("after ENTRYPOINT: Cmd=%q Entrypoint=%q; want nil, [y]", c.Cmd, c.Entrypoint)
	}
	if c := g.Stages[0].Config; !reflect.DeepEqual(c.Cmd, []string{"x"}) {
		t.Errorf("base stage Cmd = %q, want [x]", c.Cmd)
	}
}

func TestBaseImage(t *testing.T) {
	var asked []string
	opts := Options{BaseImage: func(r Ref) (*ImageConfig, error) {
		asked = append(asked, r.Package())
		return &ImageConfig{Env: []string{"PATH=/usr/bin", "CC=clang"}, WorkingDir: "/home", User: "user",
			Shell: []string{"/bin/bash", "-c"}, Cmd: []string{"old"}}, nil
	}}
	f := mustParse(t, cf("FROM stagex/pallet-clang", "ENV PATH=/opt:$PATH", "RUN cc"), opts)
	s := stepAt(t, f, 3)
	if !reflect.DeepEqual(s.Env, []string{"CC=clang", "PATH=/opt:/usr/bin"}) || s.Workdir != "/home" || s.User != "user" ||
		!reflect.DeepEqual(s.Argv(), []string{"/bin/bash", "-c", "cc"}) {
		t.Errorf("step = Env %q Workdir %q User %q Argv %q", s.Env, s.Workdir, s.User, s.Argv())
	}
	if !reflect.DeepEqual(asked, []string{"pallet/clang"}) {
		t.Errorf("BaseImage asked for %q", asked)
	}
	// BuildKit keeps the CMD of an image a stage starts from.
	if got := f.Stages[0].Config.Cmd; !reflect.DeepEqual(got, []string{"old"}) {
		t.Errorf("CMD of the base image = %q, want [old]", got)
	}
	// Without the hook a package base gets the default PATH.
	g := mustParse(t, cf("FROM stagex/core-busybox", "RUN x"), Options{})
	if got := stepAt(t, g, 2).Env; !reflect.DeepEqual(got, []string{"PATH=" + DefaultPath}) {
		t.Errorf("Env = %q", got)
	}
}

func TestErrors(t *testing.T) {
	long := strings.Repeat("a", 70000)
	tests := []struct {
		name string
		src  string
		line int
		want string
	}{
		{"empty file", "", 0, "empty file"},
		{"only comments", "# nothing\n\n", 0, "empty file"},
		{"no FROM", "ARG A=1\n", 0, "no FROM"},
		{"instruction before FROM", "ARG A\nRUN x\nFROM scratch\n", 2, "only ARG may come before FROM"},
		{"unknown instruction", "FROM scratch\nRUN x\nFOO bar\n", 3, `unknown instruction "FOO"`},
		{"unknown instruction before FROM", "BAR x\nFROM scratch\n", 1, `unknown instruction "BAR"`},
		{"unterminated heredoc", "FROM scratch\nRUN <<-EOF\n\techo\n", 2, "unterminated heredoc"},
		{"unknown flag", "FROM scratch\nRUN --netwrk=none x\n", 2, "unknown flag --netwrk"},
		{"flag on flagless instruction", "FROM scratch\nENV --x=1 A=1\n", 2, "takes no flags"},
		{"flag without value", "FROM scratch\nCOPY --from a /\n", 2, "missing a value on flag --from"},
		{"duplicate flag", "FROM scratch\nCOPY --chmod=1 --chmod=2 a /\n", 2, "given twice"},
		{"bad bool flag", "FROM scratch\nCOPY --link=maybe a /\n", 2, "true or false"},
		{"bad network", "FROM scratch\nRUN --network=wifi x\n", 2, "want default, none or host"},
		{"bad security", "FROM scratch\nRUN --security=lax x\n", 2, "want sandbox or insecure"},
		{"undefined variable", "FROM scratch\nADD fetch/${X_SOURCE} .\n", 2, "variable X_SOURCE used but never defined (declare it with ARG)"},
		{"undefined variable with replace operator", "FROM scratch\nWORKDIR ${X#pre}\n", 2, "variable X used but never defined"},
		{"global ARG not re-declared", "ARG VERSION=1\nFROM scratch\nWORKDIR /v$VERSION\n", 3, "re-declare it with ARG VERSION"},
		{"automatic ARG not declared", "FROM scratch\nWORKDIR /$TARGETARCH\n", 2, "ARG TARGETARCH"},
		{"undefined in FROM", "FROM stagex/core-$NAME\n", 1, "variable NAME used but never defined"},
		{"undefined in ENV", "FROM scratch\nENV A=$B\n", 2, "variable B used but never defined"},
		{"undefined in ARG default", "FROM scratch\nARG A=$B\n", 2, "variable B used but never defined"},
		{"undefined in expanded heredoc file", "FROM scratch\nCOPY <<EOF /x\n$1\nEOF\n", 2, "quote the heredoc delimiter"},
		{"bad substitution", "FROM scratch\nWORKDIR ${}\n", 2, "bad substitution"},
		{"required variable", "FROM scratch\nARG A\nWORKDIR ${A:?must be set}\n", 3, "must be set"},
		{"external image", "FROM alpine:3.19\n", 1, "only scratch, earlier stages, the build context fetch and stagex/<tier>-<name> are allowed"},
		{"from the fetch context", "FROM fetch\n", 1, "FROM fetch: the build context fetch holds source files"},
		{"stage named like a context", "FROM scratch AS fetch\n", 1, `stage name "fetch" is the name of a build context`},
		{"copy from external image", "FROM scratch\nCOPY --from=busybox / /\n", 2, "only scratch, earlier stages"},
		{"from later stage", "FROM scratch AS a\nCOPY --from=b / /\nFROM scratch AS b\n", 2, `stage "b" is defined later, at line 3`},
		{"FROM later stage", "FROM b AS a\nFROM scratch AS b\n", 1, "defined later"},
		{"copy from itself", "FROM scratch AS a\nCOPY --from=a / /\n", 2, "cannot copy from itself"},
		{"copy from own index", "FROM scratch\nCOPY --from=0 / /\n", 2, "cannot copy from itself"},
		{"copy from index out of range", "FROM scratch\nFROM scratch\nCOPY --from=5 / /\n", 3, "out of range"},
		{"variable in --from", "ARG S=a\nFROM scratch AS a\nFROM scratch\nCOPY --from=$S / /\n", 4, "not supported in --from"},
		{"stage index in FROM", "FROM scratch\nFROM 0\n", 2, "only allowed in COPY --from"},
		{"bad package stage", "FROM stagex/extra-gcc\n", 1, "not a StageX package"},
		{"package without stage", "FROM stagex/gcc\n", 1, "not a StageX package"},
		{"bad tag", "FROM stagex/core-gcc:\n", 1, "bad tag"},
		{"bad digest", "FROM stagex/core-gcc@md5\n", 1, "bad digest"},
		{"FROM empty after expansion", "ARG B\nFROM ${B}\n", 2, "expands to nothing"},
		{"FROM wrong arity", "FROM scratch AS\n", 1, "one argument or three"},
		{"bad stage name", "FROM scratch AS 1st\n", 1, "bad stage name"},
		{"duplicate stage name", "FROM scratch AS a\nFROM scratch AS A\n", 2, "already used at line 1"},
		{"bad platform", "FROM --platform=linux scratch\n", 1, "bad platform"},
		{"malformed exec form RUN", "FROM scratch\nRUN [\"/bin/sh\", \"-c\"\n", 2, "malformed exec form"},
		{"malformed exec form CMD", "FROM scratch\nCMD ['/bin/sh']\n", 2, "malformed exec form"},
		{"non-string exec form", "FROM scratch\nRUN [\"a\", 1]\n", 2, "strings only"},
		{"SHELL not JSON", "FROM scratch\nSHELL /bin/sh -c\n", 2, "requires the exec form"},
		{"RUN without command", "FROM scratch\nRUN\n", 2, "RUN requires a command"},
		{"RUN empty exec form", "FROM scratch\nRUN []\n", 2, "RUN requires a command"},
		{"COPY without destination", "FROM scratch\nCOPY a\n", 2, "source and a destination"},
		{"COPY heredoc destination", "FROM scratch\nCOPY a <<EOF\nx\nEOF\n", 2, "heredoc as its destination"},
		{"ENV without value", "FROM scratch\nENV A\n", 2, "ENV must have two arguments"},
		{"ENV pair without =", "FROM scratch\nENV A=1 B\n", 2, "can't find ="},
		{"bad ARG name", "FROM scratch\nARG 1A=2\n", 2, "bad name"},
		{"blank ARG name", "ARG =x\nFROM scratch\n", 1, "bad name"},
		{"WORKDIR without argument", "FROM scratch\nWORKDIR\n", 2, "exactly one argument"},
		{"USER without argument", "FROM scratch\nUSER\n", 2, "exactly one argument"},
		{"HEALTHCHECK bad type", "FROM scratch\nHEALTHCHECK PING x\n", 2, "unknown type"},
		{"ONBUILD FROM", "FROM scratch\nONBUILD FROM scratch\n", 2, "not allowed as a trigger"},
		{"ONBUILD unknown", "FROM scratch\nONBUILD FOO\n", 2, "unknown instruction"},
		{"line too long", "FROM scratch\nRUN " + long + "\n", 2, "line longer than"},
		{"invalid UTF-8", "FROM scratch\nRUN a\nRUN \xff\n", 3, "invalid UTF-8"},
		{"NUL byte", "FROM scratch\nWORKDIR /a\x00\n", 2, "NUL byte"},
		{"error after continuation lines", "FROM scratch\nRUN a \\\n  b\nCOPY \\\n  --from=zz / /\n", 4, "only scratch"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse("pkg/Containerfile", []byte(tc.src), Options{StrictVars: true})
			if err == nil {
				t.Fatalf("Parse succeeded, want error containing %q", tc.want)
			}
			file, line, ok := diag.At(err)
			if !ok || file != "pkg/Containerfile" || line != tc.line {
				t.Errorf("error at %q:%d (diag %v), want pkg/Containerfile:%d: %v", file, line, ok, tc.line, err)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q does not contain %q", err, tc.want)
			}
		})
	}
}

func TestParseRef(t *testing.T) {
	stages := []*Stage{{Index: 0, Name: "build"}, {Index: 1}}
	tests := []struct {
		raw  string
		want Ref
		err  string
	}{
		{"scratch", Ref{Kind: Scratch, Raw: "scratch"}, ""},
		{"fetch", Ref{Kind: ContextRef, Raw: "fetch"}, ""},
		{"build", Ref{Kind: StageRef, Raw: "build", Stage: 0}, ""},
		{"Build", Ref{Kind: StageRef, Raw: "Build", Stage: 0}, ""},
		{"1", Ref{Kind: StageRef, Raw: "1", Stage: 1}, ""},
		{"stagex/core-gcc", Ref{Kind: PackageRef, Raw: "stagex/core-gcc", PkgTier: "core", PkgName: "gcc"}, ""},
		{"stagex/core-linux-headers:6.1", Ref{Kind: PackageRef, Raw: "stagex/core-linux-headers:6.1", PkgTier: "core", PkgName: "linux-headers"}, ""},
		{"stagex/bootstrap-stage3", Ref{Kind: PackageRef, Raw: "stagex/bootstrap-stage3", PkgTier: "bootstrap", PkgName: "stage3"}, ""},
		{"stagex/user-libatomic_ops", Ref{Kind: PackageRef, Raw: "stagex/user-libatomic_ops", PkgTier: "user", PkgName: "libatomic_ops"}, ""},
		{"stagex/core-python3.12:latest@sha256:" + strings.Repeat("0", 64),
			Ref{Kind: PackageRef, Raw: "stagex/core-python3.12:latest@sha256:" + strings.Repeat("0", 64), PkgTier: "core", PkgName: "python3.12"}, ""},
		{"2", Ref{}, "out of range"},
		{"", Ref{}, "empty"},
		{"alpine", Ref{}, "not allowed"},
		{"docker.io/stagex/core-gcc", Ref{}, "not allowed"},
		{"stagex/core-", Ref{}, "not a StageX package"},
		{"stagex/core-Gcc", Ref{}, "not a StageX package"},
		{"stagex/core-a/b", Ref{}, "not a StageX package"},
	}
	for _, tc := range tests {
		got, err := ParseRef(tc.raw, stages)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("ParseRef(%q) error = %v, want %q", tc.raw, err, tc.err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("ParseRef(%q) = %+v, %v; want %+v", tc.raw, got, err, tc.want)
		}
	}
}

func TestUnguardedUse(t *testing.T) {
	tests := []struct {
		word, name string
		want       bool
	}{
		{"$X", "X", true},
		{"${X}", "X", true},
		{"${X:-a}", "X", false},
		{"${X-a}", "X", false},
		{"${X:+a}", "X", false},
		{"${X+a}", "X", false},
		{"${X:-a} $X", "X", true},
		{"${X%a}", "X", true},
		{"${X/a/b}", "X", true},
		{"$XY", "X", true}, // no reference to X at all: reported
		{"${A:-$X}", "X", true},
		{"${A:-${X:-b}}", "X", false},
		{`\$X ${X:-a}`, "X", false},
		{"$1", "1", true},
		{"$@", "@", true},
	}
	for _, tc := range tests {
		if got := unguardedUse(tc.word, tc.name, '\\'); got != tc.want {
			t.Errorf("unguardedUse(%q, %q) = %v, want %v", tc.word, tc.name, got, tc.want)
		}
	}
}

// Without StrictVars a variable nobody defined expands to nothing, as in
// BuildKit (StageX 2025.10.0's core/grep, user/wayland, bootstrap/stage3).
func TestUndefinedVarsExpandToNothing(t *testing.T) {
	src := "FROM scratch\nENV A=x${B}y C=\"${C} z\"\nWORKDIR ${HOME}/go\n"
	f, err := Parse("pkg/Containerfile", []byte(src), Options{})
	if err != nil {
		t.Fatal(err)
	}
	cfg := f.Stages[0].Config
	if !slices.Contains(cfg.Env, "A=xy") || !slices.Contains(cfg.Env, "C= z") || cfg.WorkingDir != "/go" {
		t.Errorf("env %q, workdir %q; want A=xy, C= z and /go", cfg.Env, cfg.WorkingDir)
	}
	if _, err := Parse("pkg/Containerfile", []byte(src), Options{StrictVars: true}); err == nil || !strings.Contains(err.Error(), "variable B used but never defined") {
		t.Errorf("strict: error = %v, want variable B used but never defined", err)
	}
}
