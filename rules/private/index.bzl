"""stagex_image_index: one image per platform, joined in an image index."""

load(":providers.bzl", "StagexImageIndexInfo", "StagexImageInfo")
load(":transition.bzl", "PLATFORM_LABELS")

def _per_platform_impl(settings, attr):
    out = {}
    for p in attr.platforms:
        if p not in PLATFORM_LABELS:
            # Reported by the rule, which can name the target.
            continue
        out[p] = {"//command_line_option:platforms": [PLATFORM_LABELS[p]]}
    if not out:
        return {"none": {"//command_line_option:platforms": settings["//command_line_option:platforms"]}}
    return out

_per_platform = transition(
    implementation = _per_platform_impl,
    inputs = ["//command_line_option:platforms"],
    outputs = ["//command_line_option:platforms"],
)

def _index_impl(ctx):
    for p in ctx.attr.platforms:
        if p not in PLATFORM_LABELS:
            fail("%s: unknown platform %r; known: %s" % (ctx.label, p, ", ".join(sorted(PLATFORM_LABELS.keys()))))
    layout = ctx.actions.declare_directory(ctx.label.name + ".oci")
    digest = ctx.actions.declare_file(ctx.label.name + ".digest")
    args = ctx.actions.args()
    args.add("--out", layout.path)
    args.add("--digest-out", digest.path)
    inputs = []
    images = []
    name = ""
    for p in ctx.attr.platforms:
        image = ctx.split_attr.image[p][StagexImageInfo]
        images.append(image)
        name = name or image.image_name
        if "%s/%s" % (image.os, image.architecture) != p:
            fail("%s: the image built for %s says it is %s/%s" % (ctx.label, p, image.os, image.architecture))
        args.add("--image", image.layout.path)
        inputs.append(image.layout)
    if name:
        args.add("--name", name)
    ctx.actions.run(
        executable = ctx.executable._tool,
        arguments = [args],
        inputs = inputs,
        outputs = [layout, digest],
        mnemonic = "StagexIndex",
        progress_message = "Joining %d platform images of %s" % (len(inputs), ctx.label),
    )
    return [
        DefaultInfo(files = depset([layout, digest])),
        StagexImageIndexInfo(
            layout = layout,
            digest = digest,
            image_name = name,
            images = images,
            platforms = ctx.attr.platforms,
        ),
        OutputGroupInfo(digest = depset([digest])),
    ]

stagex_image_index = rule(
    implementation = _index_impl,
    doc = """Builds an image once per platform and joins them in a multi-platform OCI image index.

The output `<name>.oci` is an OCI image layout whose index.json lists one
image index, as BuildKit writes a build for several platforms;
`<name>.digest` holds that index's digest. It provides
StagexImageIndexInfo, which `stagex_push`, `stagex_digest_test` and
`stagex_signature_test` take as they take an image. The translator writes
one for each published image of a package whose package.toml lists several
platforms, and points the package's push at it.""",
    attrs = {
        "image": attr.label(
            doc = "The image to build for each platform (a stagex_stage).",
            cfg = _per_platform,
            mandatory = True,
            providers = [StagexImageInfo],
        ),
        "platforms": attr.string_list(
            doc = "OCI platforms, `os/architecture`, in the order the index lists them.",
            mandatory = True,
        ),
        "_allowlist_function_transition": attr.label(
            doc = "Lets the rule use a transition.",
            default = "@bazel_tools//tools/allowlists/function_transition_allowlist",
        ),
        "_tool": attr.label(
            doc = "The tool that joins the images, stagex-index.",
            default = "//tools/cmd/stagex-index",
            executable = True,
            cfg = "exec",
        ),
    },
)
