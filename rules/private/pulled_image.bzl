"""stagex_pulled_image: a downloaded image, usable once its signatures check out."""

load(":facts.bzl", "REPOSITORY_PREFIX")
load(":providers.bzl", "StagexImageInfo")

def _store_root(ctx):
    """The exec path of the signature store's root directory."""
    files = ctx.files.signatures
    if len(files) == 1 and files[0].is_directory:
        return files[0].path
    label = ctx.attr.signatures.label
    parts = [p for p in [label.workspace_root, label.package] if p]
    return "/".join(parts) if parts else "."

def _pulled_image_impl(ctx):
    if not ctx.files.blobs:
        fail("%s: no blobs" % ctx.label)
    blob_dir = ctx.files.blobs[0].dirname
    if not blob_dir.endswith("/sha256"):
        fail("%s: blobs must sit in a directory named sha256, found %s" % (ctx.label, blob_dir))
    layout = ctx.actions.declare_directory(ctx.label.name + ".oci")
    digest = ctx.actions.declare_file(ctx.label.name + ".digest")
    report = ctx.actions.declare_file(ctx.label.name + ".signatures.txt")

    args = ctx.actions.args()
    args.add("--blobs", blob_dir[:-len("/sha256")])
    args.add("--digest", ctx.attr.digest)
    if ctx.attr.platform:
        args.add("--platform", ctx.attr.platform)
    args.add("--image-name", ctx.attr.image_name)
    args.add("--repository-prefix", ctx.attr.repository_prefix)
    args.add_all(ctx.files.keyring, before_each = "--keyring")
    args.add("--store", _store_root(ctx))
    if ctx.file.policy:
        args.add("--policy", ctx.file.policy)
    args.add("--out", layout.path)
    args.add("--digest-out", digest)
    args.add("--report", report)

    ctx.actions.run(
        executable = ctx.executable._import,
        arguments = [args],
        inputs = ctx.files.blobs + ctx.files.keyring + ctx.files.signatures + ([ctx.file.policy] if ctx.file.policy else []),
        outputs = [layout, digest, report],
        mnemonic = "StagexImport",
        progress_message = "Checking the signatures of %s and importing it" % ctx.attr.repository,
    )
    return [
        DefaultInfo(files = depset([layout])),
        StagexImageInfo(
            layout = layout,
            digest = digest,
            os = ctx.attr.os,
            architecture = ctx.attr.architecture,
            image_name = ctx.attr.image_name,
        ),
        OutputGroupInfo(digest = depset([digest]), signatures = depset([report])),
    ]

stagex_pulled_image = rule(
    implementation = _pulled_image_impl,
    doc = """A published image downloaded by the `stagex` module extension, usable once its signatures check out.

The target's output is the image as an OCI image layout directory, with one
image (for an index, the one for `platform`); it provides StagexImageInfo, so
it can be the `base` of a `stagex_stage`. The `digest` output group holds the
image's manifest digest, the `signatures` output group stagex-verify's report.
The module extension writes these targets; they are not meant to be written
by hand.""",
    attrs = {
        "architecture": attr.string(doc = "The image's architecture, from its config."),
        "blobs": attr.label_list(
            doc = "The downloaded blobs, all in one `.../sha256/` directory, named by their hex digests.",
            allow_files = True,
            mandatory = True,
        ),
        "digest": attr.string(doc = "The pinned digest the maintainers signed (a manifest or index).", mandatory = True),
        "image_name": attr.string(doc = "The published name the signatures name.", mandatory = True),
        "keyring": attr.label_list(doc = "The maintainers' public keys.", allow_files = [".asc"], mandatory = True),
        "os": attr.string(doc = "The image's operating system, from its config."),
        "platform": attr.string(doc = "The platform taken from an index; empty for a single image."),
        "policy": attr.label(doc = "The signing policy file.", allow_single_file = [".toml"]),
        "repository": attr.string(doc = "Where the image was published, for messages."),
        "repository_prefix": attr.string(doc = "The repository prefix of the signed identity.", default = REPOSITORY_PREFIX),
        "signatures": attr.label(doc = "The lookaside signature store.", allow_files = True, mandatory = True),
        "_import": attr.label(
            doc = "The tool that checks the signatures and imports the image, stagex-import.",
            default = "//tools/cmd/stagex-import",
            executable = True,
            cfg = "exec",
        ),
    },
)
