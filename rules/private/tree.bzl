"""Whole StageX source trees, imported from a release archive pinned by hash.

    tree = use_extension("@stagex//rules:defs.bzl", "stagex_tree")
    tree.archive(
        name = "stagex_tree",
        urls = ["https://<host>/stagex-<release>.tar.gz"],
        sha256 = "<sha256 of the archive>",
        strip_prefix = "stagex-<release>",
    )
    use_repo(tree, "stagex_tree")

`@stagex_tree//packages/core/make` then builds like a package of this
repository (a package that does not translate, or that StageX's build
skips, gets targets that fail with the translator's `file:line: message`
where they are used; the rest of the tree is unaffected): the extension downloads the archive through Bazel's downloader
(pinned by sha256, kept in the repository cache, taken from a --distdir
without network), translates it with the same translator as `bazel run
//:gazelle` (tools/internal/tree, compiled by rules/private/translator.bzl), makes
one pinned download per package source (`@<name>_sources`), and writes a
digest test per published image against the tree's own digests/*.txt.

References to stagex/bootstrap-stageN name the tree's own
packages/bootstrap/stageN: no toolchains are registered for an imported
tree.
"""

load(":facts.bzl", "is_sha256_hex")
load(":sources.bzl", "source_repo_name", "sources_hub", "stagex_source")

_TRANSLATOR = Label("@stagex_translator//:stagex-translate")
_RULES = "@stagex//rules:defs.bzl"

def _describe(attr):
    return "%s (%s)" % (attr.name, attr.urls[0] if attr.urls else "no URL")

def _tree_repo_impl(rctx):
    rctx.download_and_extract(
        url = rctx.attr.urls,
        sha256 = rctx.attr.sha256,
        stripPrefix = rctx.attr.strip_prefix,
    )
    res = rctx.execute([
        rctx.path(rctx.attr._translator),
        "build",
        "-root",
        str(rctx.path(".")),
        "-rules",
        _RULES,
        "-sources-repo",
        "@" + rctx.attr.sources_repo,
        "-keep-going",
    ])
    if res.return_code != 0:
        fail("stagex: cannot translate the StageX tree %s:\n%s" % (rctx.attr.tree, res.stderr))
    if res.stderr:
        # buildifier: disable=print
        print("stagex: tree %s: %s" % (rctx.attr.tree, res.stderr.strip()))
    if not rctx.path("BUILD.bazel").exists and not rctx.path("BUILD").exists:
        rctx.file("BUILD.bazel", content = "")

_tree_repo = repository_rule(
    implementation = _tree_repo_impl,
    doc = "A StageX source tree from an archive, with a BUILD file in every package directory.",
    attrs = {
        "sha256": attr.string(doc = "The archive's sha256, hex.", mandatory = True),
        "sources_repo": attr.string(doc = "The name of the tree's sources hub.", mandatory = True),
        "strip_prefix": attr.string(doc = "The directory inside the archive that holds packages/."),
        "tree": attr.string(doc = "The tree's name and first URL, for messages.", mandatory = True),
        "urls": attr.string_list(doc = "Mirrors of the archive, tried in order.", mandatory = True),
        "_translator": attr.label(default = _TRANSLATOR, allow_single_file = True),
    },
)

def _broken_tree_impl(rctx):
    if not rctx.attr.message:
        # The archive could not be had: downloading it again here lets
        # Bazel say why (a checksum that differs, with both sums, or the
        # mirrors it tried).
        rctx.download_and_extract(
            url = rctx.attr.urls,
            sha256 = rctx.attr.sha256,
            stripPrefix = rctx.attr.strip_prefix,
        )
    fail(rctx.attr.message or "stagex: the StageX tree %s could not be downloaded" % rctx.attr.tree)

_broken_tree = repository_rule(
    implementation = _broken_tree_impl,
    doc = "Stands for a tree that cannot be used, and says why when something uses it.",
    attrs = {
        "message": attr.string(doc = "Why the tree cannot be used; empty when its archive could not be downloaded."),
        "sha256": attr.string(doc = "The archive's sha256, hex."),
        "strip_prefix": attr.string(doc = "The directory inside the archive that holds packages/."),
        "tree": attr.string(doc = "The tree's name and first URL, for messages.", mandatory = True),
        "urls": attr.string_list(doc = "Mirrors of the archive, tried in order."),
    },
)

def _tree_extension_impl(mctx):
    translator = mctx.path(_TRANSLATOR)
    seen = {}
    for mod in mctx.modules:
        for tag in mod.tags.archive:
            if tag.name in seen:
                fail("stagex_tree.archive: two trees are named %s" % tag.name)
            seen[tag.name] = True
            if not is_sha256_hex(tag.sha256):
                fail("stagex_tree.archive %s: sha256 must be 64 lowercase hex digits, got %r" % (_describe(tag), tag.sha256))

            # The extension reads the tree once, for its list of sources:
            # every download must be declared here, before any build. A tree
            # that cannot be had or translated fails only where it is used,
            # not every other tree and image of the extension.
            out = "trees/" + tag.name
            got = mctx.download_and_extract(
                url = tag.urls,
                output = out,
                sha256 = tag.sha256,
                stripPrefix = tag.strip_prefix,
                allow_fail = True,
            )
            if not got.success:
                _broken_tree(name = tag.name, sha256 = tag.sha256, strip_prefix = tag.strip_prefix, tree = _describe(tag), urls = tag.urls)
                continue

            # A package that does not translate is left out of the index;
            # the tree's repository gives it targets that fail with why.
            res = mctx.execute([translator, "sources", "-keep-going", "-root", str(mctx.path(out))])
            if res.return_code != 0:
                _broken_tree(
                    name = tag.name,
                    message = "stagex: cannot translate the StageX tree %s:\n%s" % (_describe(tag), res.stderr),
                    tree = _describe(tag),
                )
                continue
            index = json.decode(res.stdout)
            prefix = tag.name + "_src_"
            for pkg in sorted(index.keys()):
                for src in index[pkg]:
                    stagex_source(
                        name = source_repo_name(pkg, src["file"], prefix),
                        fetch_dir = "",
                        file = src["file"],
                        package = "%s//%s" % (tag.name, pkg),
                        sha256 = src["sha256"],
                        urls = src.get("urls", []),
                    )
            sources_hub(
                name = tag.name + "_sources",
                index_json = json.encode(index),
                probe = False,
                repo_prefix = prefix,
            )
            _tree_repo(
                name = tag.name,
                sha256 = tag.sha256,
                sources_repo = tag.name + "_sources",
                strip_prefix = tag.strip_prefix,
                tree = _describe(tag),
                urls = tag.urls,
            )
    return mctx.extension_metadata(reproducible = True) if hasattr(mctx, "extension_metadata") else None

stagex_tree = module_extension(
    implementation = _tree_extension_impl,
    doc = "Imports whole StageX source trees from release archives pinned by sha256 (see this file's documentation).",
    tag_classes = {
        "archive": tag_class(
            doc = "One StageX tree: `@<name>//packages/<tier>/<pkg>` builds its packages, `@<name>_sources` holds its downloads.",
            attrs = {
                "name": attr.string(doc = "The repository's name.", default = "stagex_tree"),
                "sha256": attr.string(doc = "The archive's sha256, hex: the tree is used only when it matches.", mandatory = True),
                "strip_prefix": attr.string(doc = "The directory inside the archive that holds packages/ and digests/."),
                "urls": attr.string_list(doc = "Mirrors of the archive (tar.gz, tar.xz, zip, ...), tried in order.", mandatory = True),
            },
        ),
    },
)
