"""Module extensions of the StageX rules.

For users of StageX (in a MODULE.bazel, `use_extension("@stagex//rules:extensions.bzl", ...)`):

- `stagex`: published images pinned by digest, each checked against the
  maintainers' signatures before any build uses it.
- `stagex_tree`: whole StageX source trees imported from release archives
  pinned by sha256 and translated while Bazel fetches.

The repository rules they declare live in rules/private/ (registry.bzl,
tree.bzl, sources.bzl). The extensions StageX's own MODULE.bazel uses
(package sources, the translator, the pinned Go SDK) are in
rules/private/extensions.bzl.
"""

load("//rules/private:facts.bzl", "DEFAULT_PLATFORM", "REPOSITORY_PREFIX", "is_sha256_hex")
load("//rules/private:pins.bzl", "find_pin")
load("//rules/private:registry.bzl", "check_digest", "split_repository", "stagex_image_repository")
load("//rules/private:sources.bzl", "source_repo_name", "sources_hub", "stagex_source")
load("//rules/private:tree.bzl", "TRANSLATOR", "describe", "stagex_broken_tree", "stagex_tree_repository")

def _pinned_digest(mctx, tag, where, image_name):
    """The digest a tag pins: its digest, or its image's line in its pin file."""
    if not tag.pins:
        if not tag.digest:
            fail("%s: give the image's digest (digest = \"sha256:...\") or a pin file (pins = \"@stagex//digests:<tier>.txt\")" % where)
        return tag.digest
    found = find_pin(mctx.read(tag.pins), image_name, str(tag.pins))
    if not found:
        fail("%s: %s pins no image named %s" % (where, tag.pins, image_name))
    if tag.digest and tag.digest != found:
        fail("%s: digest %s differs from the pin of %s in %s (%s)" % (where, tag.digest, image_name, tag.pins, found))
    return found

def _stagex_extension_impl(mctx):
    names = {}
    for mod in mctx.modules:
        for tag in mod.tags.image:
            where = "stagex.image(name = %r) in module %s" % (tag.name, mod.name)
            if tag.name in names:
                fail("%s: the name is taken already by %s" % (where, names[tag.name]))
            names[tag.name] = where
            split_repository(where, tag.repository)
            image_name = tag.image_name or tag.repository.split("/")[-1]
            digest = _pinned_digest(mctx, tag, where, image_name)
            check_digest(where, digest)
            stagex_image_repository(
                name = tag.name,
                auth_realm = tag.auth_realm,
                auth_service = tag.auth_service,
                digest = digest,
                image_name = image_name,
                keyring = [str(k) for k in tag.keyring],
                platform = tag.platform,
                policy = str(tag.policy) if tag.policy else "",
                repository = tag.repository,
                repository_prefix = tag.repository_prefix,
                rules_bzl = str(Label("//rules/private:pulled_image.bzl")),
                signatures = str(tag.signatures),
                target_name = tag.name,
                where = where,
            )
    if hasattr(mctx, "extension_metadata"):
        return mctx.extension_metadata(reproducible = True)
    return None

_image_tag = tag_class(
    doc = "One published image, pinned by digest; `@<name>` becomes the image.",
    attrs = {
        "auth_realm": attr.string(
            doc = "Token endpoint of a registry that wants a bearer token even for anonymous pulls (the `realm` of its `WWW-Authenticate` answer); a path such as `/token` means that path on the registry, or on each mirror.",
        ),
        "auth_service": attr.string(
            doc = "The `service` the registry's `WWW-Authenticate` answer names, passed to `auth_realm`.",
        ),
        "digest": attr.string(
            doc = "The manifest or image index digest, `sha256:<hex>`: what the maintainers signed. Give this or `pins`.",
        ),
        "image_name": attr.string(
            doc = "The published name the signatures name (`core-busybox`); defaults to the last part of `repository`.",
        ),
        "keyring": attr.label_list(
            doc = "The maintainers' public keys (`.asc` files).",
            default = [Label("//keys")],
            allow_files = [".asc"],
        ),
        "name": attr.string(
            doc = "The repository name: `@<name>` is the image.",
            mandatory = True,
        ),
        "pins": attr.label(
            doc = "A pin file (`@stagex//digests:<tier>.txt`) to take the digest from, by `image_name`.",
            allow_single_file = [".txt"],
        ),
        "platform": attr.string(
            doc = "The platform to take when the digest names a multi-platform index.",
            default = DEFAULT_PLATFORM,
        ),
        "policy": attr.label(
            doc = "The signing policy; none means stagex-verify's default (2 distinct keys of the keyring).",
            default = Label("//keys:policy.toml"),
            allow_single_file = [".toml"],
        ),
        "repository": attr.string(
            doc = "Where the image is published: `HOST[:PORT]/NAMESPACE/NAME`.",
            mandatory = True,
        ),
        "repository_prefix": attr.string(
            doc = "The repository prefix of the signed identity, `<prefix>/<image_name>`.",
            default = REPOSITORY_PREFIX,
        ),
        "signatures": attr.label(
            doc = "The lookaside signature store: a filegroup of its signature files declared in the store's root package, or one directory.",
            default = Label("//signatures"),
        ),
    },
)

stagex = module_extension(
    implementation = _stagex_extension_impl,
    doc = """Published StageX images pinned by digest, checked against the maintainers' signatures before use.

In a consumer's MODULE.bazel:

    stagex = use_extension("@stagex//rules:extensions.bzl", "stagex")
    stagex.image(
        name = "core_busybox",
        repository = "<registry>/stagex/core-busybox",
        digest = "sha256:<hex>",   # or pins = "@stagex//digests:core.txt"
    )
    use_repo(stagex, "core_busybox")

`@core_busybox` is then an image usable as the `base` (or in `images`) of a
`stagex_stage`, and, as a plain OCI image layout directory, by any rule that
takes one (rules_oci's `oci_image(base = ...)`, for example).

The downloads are pinned by digest and the signatures are checked by a
build action before the image is used; see rules/private/registry.bzl.
""",
    tag_classes = {"image": _image_tag},
)

def _tree_extension_impl(mctx):
    translator = mctx.path(TRANSLATOR)
    seen = {}
    for mod in mctx.modules:
        for tag in mod.tags.archive:
            if tag.name in seen:
                fail("stagex_tree.archive: two trees are named %s" % tag.name)
            seen[tag.name] = True
            if not is_sha256_hex(tag.sha256):
                fail("stagex_tree.archive %s: sha256 must be 64 lowercase hex digits, got %r" % (describe(tag), tag.sha256))

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
                stagex_broken_tree(name = tag.name, sha256 = tag.sha256, strip_prefix = tag.strip_prefix, tree = describe(tag), urls = tag.urls)
                continue

            # A package that does not translate is left out of the index;
            # the tree's repository gives it targets that fail with why.
            res = mctx.execute([translator, "sources", "-keep-going", "-root", str(mctx.path(out))])
            if res.return_code != 0:
                stagex_broken_tree(
                    name = tag.name,
                    message = "stagex: cannot translate the StageX tree %s:\n%s" % (describe(tag), res.stderr),
                    tree = describe(tag),
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
            stagex_tree_repository(
                name = tag.name,
                sha256 = tag.sha256,
                sources_repo = tag.name + "_sources",
                strip_prefix = tag.strip_prefix,
                tree = describe(tag),
                urls = tag.urls,
            )
    return mctx.extension_metadata(reproducible = True) if hasattr(mctx, "extension_metadata") else None

stagex_tree = module_extension(
    implementation = _tree_extension_impl,
    doc = """Imports whole StageX source trees from release archives pinned by sha256 and translated while Bazel fetches.

    tree = use_extension("@stagex//rules:extensions.bzl", "stagex_tree")
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
where they are used; the rest of the tree is unaffected). The extension
downloads the archive through Bazel's downloader (pinned by sha256, kept in the repository cache, taken from a --distdir
without network), translates it with the same translator as `bazel run
//:gazelle` (tools/internal/tree, compiled by rules/private/translator.bzl), makes
one pinned download per package source (`@<name>_sources`), and writes a
digest test per published image against the tree's own digests/*.txt.

References to stagex/bootstrap-stageN name the tree's own
packages/bootstrap/stageN: no toolchains are registered for an imported
tree.
""",
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
