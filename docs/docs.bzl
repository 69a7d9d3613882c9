"""The API documents in docs/: //docs:update writes them with Stardoc and //tools/lint/docs:docs_test checks that they are current."""

# Each document: docs/<name>.md, the starlark_doc_extract target of its
# .bzl file (in docs/BUILD.bazel), that file as a user loads it, and the
# document's title.
DOCS = [
    struct(
        name = "rules",
        extract = "//docs:defs_doc",
        bzl = "@stagex//rules:defs.bzl",
        title = "StageX rules",
    ),
    struct(
        name = "extensions",
        extract = "//docs:extensions_doc",
        bzl = "@stagex//rules:extensions.bzl",
        title = "StageX module extensions",
    ),
]

def docs_args():
    """The documents as the --doc flags of stardoc-update and of the check.

    Returns:
      One `--doc=PROTO=HEADER=OUT` per document (tools/internal/stardoc), as
      paths in the runfiles tree, which are also the paths in the workspace.
    """
    return [
        "--doc=$(rootpath %s.binaryproto)=$(rootpath //docs:%s_header)=$(rootpath //docs:%s.md)" % (d.extract, d.name, d.name)
        for d in DOCS
    ]

def docs_data():
    """The files docs_args names.

    Returns:
      The extracted protos, the header templates and the committed documents.
    """
    return [d.extract + ".binaryproto" for d in DOCS] + \
           ["//docs:%s_header" % d.name for d in DOCS] + \
           ["//docs:%s.md" % d.name for d in DOCS]
