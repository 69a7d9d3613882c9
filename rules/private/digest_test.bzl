"""stagex_digest_test: fails when an image's digest differs from its pin."""

load(":providers.bzl", "StagexImageIndexInfo", "StagexImageInfo", "published_image")
load(":shell.bzl", "shell_words")

def _path_in_repository(f):
    """The path of a source file inside its own repository."""
    path = f.short_path
    if path.startswith("../"):
        # ../<repository>/<path>: a file of another repository.
        path = path.split("/", 2)[2]
    return path

def _digest_test_impl(ctx):
    image = published_image(ctx.attr.image)
    name = ctx.attr.image_name or image.image_name
    if not name:
        fail("%s: %s is not a published image; set image_name" % (ctx.label, ctx.attr.image.label))
    tool = ctx.executable._digests
    pins = ctx.file.pins

    # Tests start in the main repository's runfiles directory; files of
    # other repositories sit beside it, which is what short_path's "../"
    # says. Pins of another repository (an imported tree) cannot be
    # rewritten from here; --pins-owner lets the message say so.
    script = ctx.actions.declare_file(ctx.label.name + ".sh")
    ctx.actions.expand_template(
        template = ctx.file._launcher,
        output = script,
        is_executable = True,
        substitutions = {
            "%{command}": shell_words([
                tool.short_path,
                "check",
                "--pins",
                pins.short_path,
                "--image",
                name,
                "--layout",
                image.layout.short_path,
                "--pins-owner",
                pins.owner.workspace_name,
            ]),
            "%{label}": str(ctx.label),
        },
    )

    # What `bazel run //:update_digests` and `//:sign` read: the image, where
    # its layout is built and the pin file this test checks it against.
    manifest = ctx.actions.declare_file(ctx.label.name + ".stagex-pin.json")
    ctx.actions.write(
        output = manifest,
        content = json.encode({
            "image": name,
            "index": image.is_index,
            "label": str(ctx.label),
            "layout": image.layout.path,
            "manifest": manifest.path,
            "pins": _path_in_repository(pins),
            "pins_repository": pins.owner.workspace_name,
        }) + "\n",
    )

    runfiles = ctx.runfiles(files = [pins, image.layout])
    runfiles = runfiles.merge(ctx.attr._digests[DefaultInfo].default_runfiles)
    return [
        DefaultInfo(executable = script, runfiles = runfiles),
        OutputGroupInfo(stagex_pins = depset([manifest, image.layout])),
    ]

stagex_digest_test = rule(
    implementation = _digest_test_impl,
    test = True,
    doc = """Checks that an image's digest equals its pin in `digests/<tier>.txt`.

For a multi-platform image (a `stagex_image_index`) the digest compared is
the first platform's manifest digest, the one StageX pins and signs.

On a mismatch the test prints both digests; `bazel run //:update_digests`
rewrites the pins from a build. Pins of another repository (a tree imported
with `stagex_tree`, or StageX's own when it is a dependency) are that
repository's: a mismatch there means the build is not reproducible here or
the pin is wrong.

The output group `stagex_pins` holds `<name>.stagex-pin.json` (the image's
name, the exec path of its layout, the pin file as this test reads it, and
the label) and the layout itself: `stagex-digests repin` and
`stagex-sign --build` build it to learn which image goes with which pin
file.""",
    attrs = {
        "image": attr.label(
            doc = "The image whose digest is checked: a `stagex_stage` (StagexImageInfo) or a `stagex_image_index` (StagexImageIndexInfo).",
            providers = [[StagexImageInfo], [StagexImageIndexInfo]],
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
            doc = "The tool that compares the digests, stagex-digests.",
            default = "//tools/cmd/stagex-digests",
            executable = True,
            cfg = "exec",
        ),
        "_launcher": attr.label(
            doc = "The template of the test's launcher.",
            default = "//rules/private:digest_test.sh.tpl",
            allow_single_file = True,
        ),
    },
)
