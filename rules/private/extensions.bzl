"""Module extensions that only StageX's own MODULE.bazel uses.

A module that depends on StageX gets what they make through StageX; users'
extensions (`stagex`, `stagex_tree`) are in rules/extensions.bzl.

- `stagex_sources`: one pinned download per package source, and the hub
  `@stagex_sources` (rules/private/sources.bzl).
- `translator`: `@stagex_translator`, the translator compiled for the host
  (rules/private/translator.bzl).
- `go_sdk_pin`: the pinned Go SDK that builds StageX's tools
  (rules/private/go_sdk.bzl).
"""

load(":go_sdk.bzl", "PIN_ATTRS", "stagex_go_sdk")
load(":sources.bzl", "source_repo_name", "sources_hub", "stagex_source")
load(":translator.bzl", "stagex_translator")

def _sources_extension_impl(mctx):
    for mod in mctx.modules:
        for tag in mod.tags.index:
            index = json.decode(mctx.read(tag.file))
            for pkg in sorted(index.keys()):
                for src in index[pkg]:
                    stagex_source(
                        name = source_repo_name(pkg, src["file"]),
                        fetch_dir = src.get("fetch_dir", "fetch"),
                        file = src["file"],
                        package = pkg,
                        sha256 = src["sha256"],
                        urls = src.get("urls", []),
                    )
            sources_hub(name = tag.name, index = tag.file)
    return mctx.extension_metadata(reproducible = True) if hasattr(mctx, "extension_metadata") else None

stagex_sources = module_extension(
    implementation = _sources_extension_impl,
    doc = "Makes every package source in an index a pinned download, reachable through a hub repository.",
    tag_classes = {
        "index": tag_class(
            doc = "An index of package sources, as `bazel run //:gazelle` writes it.",
            attrs = {
                "file": attr.label(doc = "The index, `//packages:sources.json`.", mandatory = True),
                "name": attr.string(doc = "The hub repository's name.", default = "stagex_sources"),
            },
        ),
    },
)

def _translator_extension_impl(mctx):
    stagex_translator(name = "stagex_translator")
    return mctx.extension_metadata(reproducible = True) if hasattr(mctx, "extension_metadata") else None

translator = module_extension(
    implementation = _translator_extension_impl,
    doc = "Makes `@stagex_translator`, the translator compiled for this host.",
)

def _go_sdk_extension_impl(mctx):
    pins = [tag for mod in mctx.modules if mod.is_root for tag in mod.tags.pin]
    if len(pins) > 1:
        fail("stagex: go_sdk_pin.pin may be given once")
    for tag in pins:
        stagex_go_sdk(name = "stagex_go_sdk", version = tag.version, sha256 = tag.sha256)

go_sdk_pin = module_extension(
    implementation = _go_sdk_extension_impl,
    doc = "Pins the Go SDK that builds StageX's tools (repository `stagex_go_sdk`).",
    tag_classes = {
        "pin": tag_class(
            doc = "The Go release and the sha256 of its toolchain module zip per host platform.",
            attrs = PIN_ATTRS,
        ),
    },
)
