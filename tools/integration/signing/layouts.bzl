"""image_layouts: lists built images for the signing end-to-end test."""

load("//rules:defs.bzl", "StagexImageInfo")

def _rlocation(ctx, f):
    # Runfiles of other repositories have short paths "../<repo>/...".
    if f.short_path.startswith("../"):
        return f.short_path[3:]
    return ctx.workspace_name + "/" + f.short_path

def _image_layouts_impl(ctx):
    lines = []
    layouts = []
    for target in ctx.attr.images:
        image = target[StagexImageInfo]
        if not image.image_name:
            fail("%s: %s is not a published image" % (ctx.label, target.label))
        lines.append("%s=%s" % (image.image_name, _rlocation(ctx, image.layout)))
        layouts.append(image.layout)
    out = ctx.actions.declare_file(ctx.label.name + ".txt")
    ctx.actions.write(out, "\n".join(lines) + "\n")
    return [DefaultInfo(files = depset([out]), runfiles = ctx.runfiles(files = [out] + layouts))]

image_layouts = rule(
    implementation = _image_layouts_impl,
    doc = "Writes `<image name>=<rlocation path of its OCI layout>` per image, one a line, with the layouts as runfiles.",
    attrs = {
        "images": attr.label_list(
            doc = "Published images (`stagex_stage` targets with an image_name).",
            providers = [StagexImageInfo],
            mandatory = True,
        ),
    },
)
