"""stagex_push: an executable that uploads an image to a registry."""

load(":providers.bzl", "StagexImageInfo")

def _shell_quote(s):
    return "'" + s.replace("'", "'\\''") + "'"

def _push_impl(ctx):
    image = ctx.attr.image[StagexImageInfo]
    tool = ctx.executable._push
    args = ["--layout", image.layout.short_path]
    if image.image_name:
        args += ["--image-name", image.image_name]
    if ctx.attr.repository:
        args += ["--repository", ctx.attr.repository]
    for tag in ctx.attr.remote_tags:
        args += ["--tag", tag]

    script = ctx.actions.declare_file(ctx.label.name)
    ctx.actions.write(
        output = script,
        is_executable = True,
        content = "\n".join([
            "#!/bin/sh",
            "# Written by stagex_push %s." % ctx.label,
            "set -eu",
            "# Paths below are relative to the main repository's runfiles directory,",
            "# where `bazel run` starts; find it when run from elsewhere.",
            "if [ ! -e %s ]; then" % _shell_quote(image.layout.short_path),
            "  r=\"${RUNFILES_DIR:-$0.runfiles}\"",
            "  cd \"$r/%s\"" % ctx.workspace_name,
            "fi",
            "exec %s %s \"$@\"" % (_shell_quote(tool.short_path), " ".join([_shell_quote(a) for a in args])),
            "",
        ]),
    )
    runfiles = ctx.runfiles(files = [image.layout])
    runfiles = runfiles.merge(ctx.attr._push[DefaultInfo].default_runfiles)
    return [DefaultInfo(executable = script, runfiles = runfiles)]

stagex_push = rule(
    implementation = _push_impl,
    executable = True,
    doc = """Uploads an image to a registry: `bazel run` it.

    bazel run //packages/core/busybox:busybox.push -- --repository HOST/NAMESPACE/NAME [--tag T ...]

The manifest is pushed under its digest first, so the image is reachable
exactly as StageX pins it, then under each tag. Blobs the registry holds
already are skipped; large uploads report progress. Each request that fails
in a way worth retrying (dropped connection, timeout, 408/429/5xx) is tried
`--attempts` times (default 3); a refused connection or an unknown host fails
at once, and `--timeout` (default 30m) bounds the whole push. Registries on
loopback are spoken to over plain HTTP, others over HTTPS (`--plain-http`
forces HTTP). Credentials come from Docker's or Podman's auth files
(`docker login`, `podman login`, `$REGISTRY_AUTH_FILE`).

Arguments after `--` go to `stagex-push` after the ones this rule sets, so
they can replace `repository` and add tags; `--namespace HOST/NAMESPACE`
pushes to `HOST/NAMESPACE/<image_name>` instead. It prints the pushed
reference, `HOST/NAMESPACE/NAME@sha256:<hex>`, on stdout.""",
    attrs = {
        "image": attr.label(
            doc = "The image to push: a `stagex_stage` target or anything else with StagexImageInfo.",
            providers = [StagexImageInfo],
            mandatory = True,
        ),
        "remote_tags": attr.string_list(
            doc = "Tags to add on every push (for example the package version).",
        ),
        "repository": attr.string(
            doc = "The default destination, `HOST[:PORT]/NAMESPACE/NAME`; empty means it must be given on the command line.",
        ),
        "_push": attr.label(
            default = "//tools/cmd/stagex-push",
            executable = True,
            cfg = "exec",
        ),
    },
)
