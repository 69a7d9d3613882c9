"""stagex_digest_test: fails when an image's digest differs from its pin."""

load(":providers.bzl", "StagexImageInfo")

def _runfiles_path(f):
    # Tests start in the main repository's runfiles directory; files of other
    # repositories sit beside it, which is what short_path's "../" says.
    return f.short_path

def _digest_test_impl(ctx):
    image = ctx.attr.image[StagexImageInfo]
    name = ctx.attr.image_name or image.image_name
    if not name:
        fail("%s: %s is not a published image; set image_name" % (ctx.label, ctx.attr.image.label))
    tool = ctx.executable._digests

    script = ctx.actions.declare_file(ctx.label.name + ".sh")
    ctx.actions.write(
        output = script,
        is_executable = True,
        content = "#!/bin/sh\nexec '%s' check --pins '%s' --image '%s' --layout '%s' --pins-owner '%s'\n" % (
            _runfiles_path(tool),
            _runfiles_path(ctx.file.pins),
            name,
            _runfiles_path(image.layout),
            # Pins of another repository (an imported tree) cannot be
            # rewritten from here; the message says so.
            ctx.file.pins.owner.workspace_name,
        ),
    )
    runfiles = ctx.runfiles(files = [ctx.file.pins, image.layout])
    runfiles = runfiles.merge(ctx.attr._digests[DefaultInfo].default_runfiles)
    return [DefaultInfo(executable = script, runfiles = runfiles)]

stagex_digest_test = rule(
    implementation = _digest_test_impl,
    test = True,
    doc = """Checks that an image's manifest digest equals its pin in `digests/<tier>.txt`.

On a mismatch the test prints both digests; `bazel run //:update_digests`
rewrites the pins from a build. Pins of another repository (a tree imported
with `stagex_tree`, or StageX's own when it is a dependency) are that
repository's: a mismatch there means the build is not reproducible here or
the pin is wrong.""",
    attrs = {
        "image": attr.label(
            doc = "The image whose digest is checked.",
            providers = [StagexImageInfo],
            mandatory = True,
        ),
        "image_name": attr.string(
            doc = "The name the image is pinned under, `<tier>-<name>`; defaults to the image's own published name.",
        ),
        "pins": attr.label(
            doc = "The pin file, `//digests:<tier>.txt`.",
            allow_single_file = [".txt"],
            mandatory = True,
        ),
        "_digests": attr.label(
            default = "//tools/cmd/stagex-digests",
            executable = True,
            cfg = "exec",
        ),
    },
)
