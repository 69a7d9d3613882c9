"""The repository rules of the `stagex_tree` module extension (rules/extensions.bzl).

`stagex_tree_repository` is one StageX source tree from a release archive,
translated with the translator rules/private/translator.bzl compiles: a BUILD
file in every package directory, loading the rules from `@stagex//rules:defs.bzl`.
`stagex_broken_tree` stands for a tree that cannot be had or translated, and
says why where it is used.
"""

TRANSLATOR = Label("@stagex_translator//:stagex-translate")
_RULES = "@stagex//rules:defs.bzl"

def describe(attr):
    """A tree for messages: its name and first URL.

    Args:
      attr: the tag or attributes, with `name` and `urls`.

    Returns:
      A string.
    """
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

stagex_tree_repository = repository_rule(
    implementation = _tree_repo_impl,
    doc = "A StageX source tree from an archive, with a BUILD file in every package directory.",
    attrs = {
        "sha256": attr.string(doc = "The archive's sha256, hex.", mandatory = True),
        "sources_repo": attr.string(doc = "The name of the tree's sources hub.", mandatory = True),
        "strip_prefix": attr.string(doc = "The directory inside the archive that holds packages/."),
        "tree": attr.string(doc = "The tree's name and first URL, for messages.", mandatory = True),
        "urls": attr.string_list(doc = "Mirrors of the archive, tried in order.", mandatory = True),
        "_translator": attr.label(default = TRANSLATOR, allow_single_file = True),
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

stagex_broken_tree = repository_rule(
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
