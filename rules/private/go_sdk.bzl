"""A pinned Go SDK, fetched as the Go toolchain module and checked by sha256.

The gzip bytes of every layer depend on the Go release that compresses them
(Go 1.27 rewrote compress/flate), so the Go SDK that builds StageX's tools is
part of what an image's digest depends on: it cannot be whatever the machine
has. The Go project publishes each release for each platform as the module
`golang.org/toolchain@v0.0.1-go<version>.<goos>-<goarch>`, served by every Go
module proxy; that is the one source of Go SDKs these machines reach. The
proxy comes from the machine (`GOPROXY`, else `go env GOPROXY`); what is
downloaded is checked against the sha256 pinned here, so the proxy is only a
place to look. Bazel's repository cache and `--distdir` (file name
`v0.0.1-go<version>.<goos>-<goarch>.zip`) serve the file without any proxy.

MODULE.bazel hands the SDK to rules_go with `go_sdk.wrap`.
"""

_TOOLCHAIN_MODULE = "golang.org/toolchain"

# What a pin says: the repository rule and the module extension's tag take
# the same attributes.
PIN_ATTRS = {
    "sha256": attr.string_dict(
        mandatory = True,
        doc = "`<goos>_<goarch>` -> sha256 of the zip of `golang.org/toolchain@v0.0.1-go<version>.<goos>-<goarch>`.",
    ),
    "version": attr.string(mandatory = True, doc = "The Go release, e.g. `1.26.8`."),
}

def _module_version(version, platform):
    goos, goarch = platform.split("_")
    return "v0.0.1-go%s.%s-%s" % (version, goos, goarch)

def _host_platform(rctx):
    name = rctx.os.name.lower()
    if name.startswith("linux"):
        goos = "linux"
    elif name.startswith("mac"):
        goos = "darwin"
    else:
        fail("stagex: no pinned Go SDK for the operating system %r" % rctx.os.name)
    arch = rctx.os.arch
    goarch = {"aarch64": "arm64", "amd64": "amd64", "arm64": "arm64", "x86_64": "amd64"}.get(arch)
    if not goarch:
        fail("stagex: no pinned Go SDK for the architecture %r" % arch)
    return goos + "_" + goarch

def _proxies(rctx):
    """The Go module proxies to try, in order, as the machine configures them."""
    setting = rctx.os.environ.get("GOPROXY", "")
    if not setting:
        go = rctx.which("go")
        if go:
            res = rctx.execute([go, "env", "GOPROXY"], environment = {"GOTOOLCHAIN": "local"})
            if res.return_code == 0:
                setting = res.stdout.strip()
    proxies = []
    for part in setting.replace("|", ",").split(","):
        part = part.strip().rstrip("/")
        if part.startswith("https://") or part.startswith("http://"):
            proxies.append(part)
    return proxies

def _go_sdk_impl(rctx):
    platform = _host_platform(rctx)
    sha256 = rctx.attr.sha256.get(platform)
    if not sha256:
        fail("stagex: Go %s is pinned for %s, not for this machine (%s); add its sha256 in MODULE.bazel" % (
            rctx.attr.version,
            ", ".join(sorted(rctx.attr.sha256.keys())),
            platform,
        ))
    version = _module_version(rctx.attr.version, platform)
    file = version + ".zip"
    proxies = _proxies(rctx)
    urls = ["%s/%s/@v/%s" % (p, _TOOLCHAIN_MODULE, file) for p in proxies]
    if not urls:
        # The repository cache or --distdir may still have the file; Bazel
        # needs some URL whose last part is the file's name to look there.
        urls = ["https://go-module-proxy.invalid/%s/@v/%s" % (_TOOLCHAIN_MODULE, file)]
    res = rctx.download_and_extract(
        url = urls,
        sha256 = sha256,
        type = "zip",
        stripPrefix = "%s@%s" % (_TOOLCHAIN_MODULE, version),
        allow_fail = True,
    )
    if not res.success:
        fail(("stagex: cannot get the pinned Go SDK %s (%s, sha256 %s).\n" +
              "Tried: %s\nSet GOPROXY (--repo_env=GOPROXY=URL) to a Go module proxy, " +
              "or put %s in a --distdir directory.") % (
            rctx.attr.version,
            platform,
            sha256,
            ", ".join(urls) if proxies else "no Go module proxy is configured (GOPROXY, go env GOPROXY)",
            file,
        ))

    # A module zip carries no file modes: the Go command sets the executable
    # bits of a toolchain it unpacks itself (bin/ and pkg/tool/), so do we.
    res = rctx.execute(["chmod", "-R", "a+x", "bin", "pkg/tool"])
    if res.return_code != 0:
        fail("stagex: cannot make the Go SDK's programs executable: %s" % res.stderr)
    got = rctx.read("VERSION").splitlines()[0].strip()
    if got != "go" + rctx.attr.version:
        fail("stagex: the pinned Go SDK says it is %s, expected go%s" % (got, rctx.attr.version))
    rctx.file("BUILD.bazel", "exports_files([\"VERSION\"])\n")

stagex_go_sdk = repository_rule(
    implementation = _go_sdk_impl,
    doc = "One Go SDK release for the host, from the Go toolchain module, checked by sha256.",
    attrs = PIN_ATTRS,
    environ = ["GOPROXY"],
)
