"""The StageX translator, compiled for the machine that runs Bazel.

The `stagex_tree` module extension and its repositories run the translator
(tools/cmd/stagex-translate) while Bazel fetches, before anything can be
built, so it is compiled here with the Go SDK rules_go uses on this host.
The Go toolchain runs in GOPATH mode over symbolic links to the sources
Bazel already has (StageX itself and the Go modules go_deps fetched), so
it needs no network and no module cache.

Two things keep the compile short (it was 45 to 48 s on two cores):

- Of BuildKit, only the Dockerfile parser, lexer and command names are
  compiled, and its util/stack, which the parser calls for one thing
  (Enable: attach a stack trace to an error; the message stays the same)
  and which pulls in protocol buffers, is replaced by a stand-in that
  returns the error as it is. The translator never prints stack traces,
  so its output is the same.
- Go's build cache lives outside the repository, in
  `$XDG_CACHE_HOME/stagex/translator-go-build` (default `~/.cache/...`;
  `--repo_env=STAGEX_TRANSLATOR_GOCACHE=DIR` chooses another, `off` uses
  a fresh one each time), so that the standard library, most of the
  compile, is compiled once per machine rather than once per output base.
  Go's cache is keyed by the hash of every input (sources, compiler,
  flags, environment): what it returns is what a compile would write, so
  the binary is the same as from an empty cache.
"""

load("@go_host_compatible_sdk_label//:defs.bzl", "HOST_COMPATIBLE_SDK")

_BUILDKIT = Label("@com_github_moby_buildkit//:REPO.bazel")

def _go_deps_repo(name):
    """A file at the root of the go_deps repository `name`.

    Modules that StageX's code does not import itself (BuildKit's parser
    does) are not among the repositories MODULE.bazel may name: go_deps
    reports them as indirect. Their canonical names differ from BuildKit's
    only in the last part, the apparent name.
    """
    canonical = _BUILDKIT.workspace_name
    prefix = canonical[:len(canonical) - len("com_github_moby_buildkit")]
    return Label("@@%s%s//:REPO.bazel" % (prefix, name))

# Import path of each Go module the translator is built from -> a file at
# the root of its sources. `go list -deps ./tools/cmd/stagex-translate`
# names the packages; a missing one fails the build below, naming it.
_GO_SOURCES = {
    Label("//:go.mod"): "github.com/stagex/stagex-bazel",
    Label("@bazel_gazelle//:MODULE.bazel"): "github.com/bazelbuild/bazel-gazelle",
    Label("@com_github_bazelbuild_buildtools//:REPO.bazel"): "github.com/bazelbuild/buildtools",
    Label("@com_github_burntsushi_toml//:REPO.bazel"): "github.com/BurntSushi/toml",
    _go_deps_repo("com_github_pkg_errors"): "github.com/pkg/errors",
}

# The packages of BuildKit the translator compiles (see above).
_BUILDKIT_PACKAGES = [
    "frontend/dockerfile/command",
    "frontend/dockerfile/parser",
    "frontend/dockerfile/shell",
]

_STACK_STANDIN = """// Package stack stands in for BuildKit's util/stack in the translator that
// rules/private/translator.bzl compiles while Bazel fetches: BuildKit's
// Dockerfile parser calls only Enable, to attach a stack trace to an error
// whose message stays the same, and the translator prints no stack trace.
// Written by rules/private/translator.bzl.
package stack

// Enable returns err as it is.
func Enable(err error) error { return err }
"""

_GOCACHE_ENV = "STAGEX_TRANSLATOR_GOCACHE"

def _gocache(rctx):
    """The Go build cache to use: shared by every output base of the machine."""
    env = rctx.os.environ
    chosen = env.get(_GOCACHE_ENV, "")
    if chosen == "off":
        return None
    if chosen:
        return chosen
    base = env.get("XDG_CACHE_HOME", "")
    if not base and env.get("HOME", ""):
        base = env["HOME"] + "/.cache"
    if not base:
        return None
    return base + "/stagex/translator-go-build"

_TRANSLATOR_PACKAGE = "github.com/stagex/stagex-bazel/tools/cmd/stagex-translate"

def _translator_impl(rctx):
    goroot = rctx.path(rctx.attr.go_sdk).dirname
    go = goroot.get_child("bin").get_child("go")
    if not go.exists:
        fail("stagex: no go binary in the Go SDK at %s" % goroot)
    for label, importpath in rctx.attr.srcs.items():
        src = rctx.path(label).dirname
        rctx.symlink(src, "gopath/src/" + importpath)
        if label.workspace_name == rctx.attr.self_repo and hasattr(rctx, "watch_tree"):
            # The translator's own sources: a change rebuilds it.
            rctx.watch_tree(src.get_child("tools"))
    buildkit = rctx.path(rctx.attr.buildkit).dirname
    for pkg in _BUILDKIT_PACKAGES:
        rctx.symlink(buildkit.get_child(pkg), "gopath/src/github.com/moby/buildkit/" + pkg)
    rctx.file("gopath/src/github.com/moby/buildkit/util/stack/stack.go", content = _STACK_STANDIN)
    gopath = rctx.path("gopath")
    gocache = _gocache(rctx) or str(rctx.path("gocache"))
    env = {
        "CGO_ENABLED": "0",
        "GO111MODULE": "off",
        "GOCACHE": gocache,
        "GOENV": "off",
        "GOFLAGS": "",
        "GOPATH": str(gopath),
        "GOPROXY": "off",
        "GOROOT": str(goroot),
        "GOTOOLCHAIN": "local",
        "HOME": str(rctx.path(".")),
    }
    res = rctx.execute(
        [go, "build", "-trimpath", "-o", str(rctx.path("stagex-translate")), _TRANSLATOR_PACKAGE],
        environment = env,
        working_directory = str(gopath),
        timeout = 900,
    )
    rctx.delete("gocache")
    rctx.delete("gopath")
    if res.return_code != 0:
        fail("stagex: cannot build the translator (%s) with the Go SDK at %s:\n%s%s" % (
            _TRANSLATOR_PACKAGE,
            goroot,
            res.stdout,
            res.stderr,
        ))
    rctx.file("BUILD.bazel", content = 'exports_files(["stagex-translate"])\n')

stagex_translator = repository_rule(
    implementation = _translator_impl,
    doc = "Compiles tools/cmd/stagex-translate for the host; `//:stagex-translate` is the binary.",
    environ = [_GOCACHE_ENV],
    attrs = {
        "buildkit": attr.label(
            doc = "A file at the root of BuildKit's module sources.",
            default = _BUILDKIT,
        ),
        "go_sdk": attr.label(
            doc = "A file at the root of the Go SDK to build with.",
            default = HOST_COMPATIBLE_SDK,
        ),
        "self_repo": attr.string(
            doc = "The canonical name of StageX's own repository, whose tools/ is watched.",
            default = Label("//:go.mod").workspace_name,
        ),
        "srcs": attr.label_keyed_string_dict(
            doc = "A file at the root of each Go module's sources -> the module's import path.",
            default = _GO_SOURCES,
        ),
    },
)
