"""Package sources as hermetic downloads through Bazel's downloader.

`bazel run //:gazelle` writes `packages/sources.json`, the list of every
package's sources (file name, sha256, mirrors). The `stagex_sources` module
extension (rules/private/extensions.bzl) reads it and makes one repository per source plus a hub,
`@stagex_sources`, in which `//<tier>/<name>:<file>` is that package's file.

Each download is pinned by sha256 and tries every mirror in order. Bazel
takes the file from its repository cache or from a `--distdir` directory
without network when name and hash match; a file placed in the workspace's
`fetch/` directory (or the directory named by STAGEX_SOURCES) is used too.
"""

_SOURCES_DIR_ENV = "STAGEX_SOURCES"
_OFFLINE_ENV = "STAGEX_OFFLINE"

def _module_root(rctx):
    """The directory of the module whose trees the sources belong to.

    That is this module (StageX) even when another module depends on it,
    not the workspace Bazel runs in.
    """
    return str(rctx.path(Label("//:MODULE.bazel")).dirname)

def _local_candidates(rctx, file, fetch_dir):
    """file:// URLs of copies of `file` in the local sources directories.

    Those are the directory STAGEX_SOURCES names, if set, and the tree's
    fetch/ directory (beside its packages/) in the workspace, unless
    fetch_dir is empty (a tree imported from an archive has no workspace).
    """
    dirs = []
    env_dir = rctx.os.environ.get(_SOURCES_DIR_ENV, "")
    if env_dir:
        dirs.append(env_dir)
    if fetch_dir:
        dirs.append(_module_root(rctx) + "/" + fetch_dir)
    urls = []
    for d in dirs:
        p = rctx.path(d + "/" + file)
        if p.exists:
            urls.append("file://" + str(p))
    return urls

def source_repo_name(pkg, file, prefix = "stagex_src_"):
    """The name of the repository holding one source file of a package.

    Args:
      pkg: the package directory, e.g. "packages/core/make".
      file: the source's file name.
      prefix: what the name starts with: one per tree.

    Returns:
      A repository name.
    """
    out = []
    for c in (pkg + "_" + file).elems():
        out.append(c if c.isalnum() or c in "_-." else "_")
    return prefix + "".join(out)

def _mirror_report(urls):
    return "\n".join(["    " + u for u in urls]) if urls else "    (none)"

def _source_impl(rctx):
    local = _local_candidates(rctx, rctx.attr.file, rctx.attr.fetch_dir)
    urls = local + rctx.attr.urls
    out = "file/" + rctx.attr.file
    result = rctx.download(
        url = urls,
        output = out,
        sha256 = rctx.attr.sha256,
        allow_fail = True,
    )
    rctx.file("BUILD.bazel", content = "")
    if result.success:
        rctx.file("file/BUILD.bazel", content = 'filegroup(\n    name = "file",\n    srcs = ["%s"],\n    visibility = ["//visibility:public"],\n)\n' % rctx.attr.file)
        return
    found = []
    for url in local:
        probe = rctx.download(url = url, output = "wrong/" + rctx.attr.file, allow_fail = True)
        if probe.success:
            found.append("%s has sha256 %s" % (url[len("file://"):], probe.sha256))
    rctx.delete("wrong")
    message = ("stagex: cannot get source file %s of package %s\n" +
               "  expected sha256: %s\n" +
               "  actual sha256:   %s\n" +
               "  mirrors tried, in order:\n%s\n" +
               "  Without network, put the file in a directory given to --distdir, or in fetch/ of the workspace;\n" +
               "  then run `bazel fetch --force --repo=@@%s` (a file added to fetch/ is noticed by itself).\n") % (
        rctx.attr.file,
        rctx.attr.package,
        rctx.attr.sha256,
        "; ".join(found) if found else "(no copy found: not in the repository cache, --distdir, fetch/, nor on any mirror)",
        _mirror_report(rctx.attr.urls),
        rctx.name,
    )

    # Analysis does not need the file: the repository is made all the
    # same, and building the file fails with the message above.
    if rctx.attr.fetch_dir and hasattr(rctx, "watch"):
        rctx.watch(rctx.path(_module_root(rctx) + "/" + rctx.attr.fetch_dir + "/" + rctx.attr.file))
    rctx.file("file/missing.txt", content = message)
    rctx.file("file/BUILD.bazel", content = """genrule(
    name = "file",
    srcs = ["missing.txt"],
    outs = ["{file}"],
    cmd = "cat $(location missing.txt) >&2; exit 1",
    visibility = ["//visibility:public"],
)
""".format(file = rctx.attr.file))

stagex_source = repository_rule(
    implementation = _source_impl,
    doc = """Downloads one package source file, pinned by sha256; `//file` is the file.

When no mirror, --distdir, repository cache nor fetch/ has it, the
repository is made all the same, so that analysis does not need the file:
building `//file` then fails, naming the file, its package, the expected
sha256, what the local copies hold, and the mirrors tried.""",
    attrs = {
        "fetch_dir": attr.string(doc = "The tree's directory of pre-fetched sources, relative to the workspace; empty for none.", default = "fetch"),
        "file": attr.string(doc = "The file name (what ADD fetch/<file> names).", mandatory = True),
        "package": attr.string(doc = "The package directory, for error messages.", mandatory = True),
        "sha256": attr.string(doc = "The expected sha256 of the file, hex.", mandatory = True),
        "urls": attr.string_list(doc = "Mirrors, tried in order."),
    },
    environ = [_SOURCES_DIR_ENV],
)

def _watch_fetch_dirs(rctx, index):
    """Re-runs the hub when files appear in (or leave) a tree's fetch/ directory."""
    if not hasattr(rctx, "watch_tree"):
        return
    dirs = {}
    for srcs in index.values():
        for src in srcs:
            dirs[src.get("fetch_dir", "fetch")] = True
    for d in sorted([d for d in dirs.keys() if d]):
        p = rctx.path(_module_root(rctx) + "/" + d)
        if p.exists:
            rctx.watch_tree(p)
        else:
            rctx.watch(p)  # its creation counts as a change

def _hub_impl(rctx):
    if rctx.attr.index:
        index = json.decode(rctx.read(rctx.attr.index))
    else:
        index = json.decode(rctx.attr.index_json)
    offline = rctx.attr.probe and rctx.os.environ.get(_OFFLINE_ENV, "") == "1"
    missing = {}
    if offline:
        _watch_fetch_dirs(rctx, index)
    for pkg in sorted(index.keys()):
        lines = []
        for src in index[pkg]:
            lines.append('alias(\n    name = "%s",\n    actual = "@%s//file",\n    visibility = ["//visibility:public"],\n)\n' % (src["file"], source_repo_name(pkg, src["file"], rctx.attr.repo_prefix)))
            if offline:
                probe = rctx.download(
                    url = _local_candidates(rctx, src["file"], src.get("fetch_dir", "fetch")) + src["urls"],
                    output = "probe/" + src["file"],
                    sha256 = src["sha256"],
                    allow_fail = True,
                )
                rctx.delete("probe")
                if not probe.success:
                    missing.setdefault(pkg, []).append(src["file"])
        if pkg in missing:
            lines.append('constraint_setting(name = "sources")\n')
            lines.append('constraint_value(\n    name = "sources_missing",\n    constraint_setting = ":sources",\n    visibility = ["//visibility:public"],\n)\n')
        rctx.file(pkg + "/BUILD.bazel", content = "\n".join(lines))
    for pkg, files in sorted(missing.items()):
        # buildifier: disable=print
        print("stagex: offline and without these sources, %s is skipped: %s (put them in a --distdir directory or in fetch/)" % (pkg, ", ".join(files)))
    rctx.file("BUILD.bazel", content = "# availability.bzl is loaded by rules/private/compat.bzl, and read by docs/.\nexports_files([\"availability.bzl\"])\n")
    rctx.file("availability.bzl", content = "# Written by the stagex_sources extension.\nMISSING = %s\n" % json.encode_indent(missing, indent = "    "))

sources_hub = repository_rule(
    implementation = _hub_impl,
    doc = "The hub of a tree's downloads: `//<package dir>:<file>` is one source file.",
    attrs = {
        "index": attr.label(doc = "The sources index file (or give index_json).", allow_single_file = True),
        "index_json": attr.string(doc = "The sources index itself, when there is no file.", default = "{}"),
        "probe": attr.bool(doc = "Offline, find out which sources are missing (availability.bzl).", default = True),
        "repo_prefix": attr.string(doc = "The prefix of the source repositories' names.", default = "stagex_src_"),
    },
    environ = [_OFFLINE_ENV, _SOURCES_DIR_ENV],
)
