"""stagex_push: an executable that uploads an image to a registry."""

load(":providers.bzl", "StagexImageIndexInfo", "StagexImageInfo", "published_image")
load(":shell.bzl", "shell_quote", "shell_words")

def _push_impl(ctx):
    image = published_image(ctx.attr.image)
    tool = ctx.executable._push
    args = ["--layout", image.layout.short_path]
    if image.image_name:
        args += ["--image-name", image.image_name]
    if ctx.attr.repository:
        args += ["--repository", ctx.attr.repository]
    for tag in ctx.attr.remote_tags:
        args += ["--tag", tag]

    script = ctx.actions.declare_file(ctx.label.name)
    ctx.actions.expand_template(
        template = ctx.file._launcher,
        output = script,
        is_executable = True,
        substitutions = {
            "%{command}": shell_words([tool.short_path] + args),
            "%{label}": str(ctx.label),
            "%{layout}": shell_quote(image.layout.short_path),
            "%{workspace}": shell_quote(ctx.workspace_name),
        },
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
            doc = "The image to push: a `stagex_stage` target or anything else with StagexImageInfo, or a `stagex_image_index` (StagexImageIndexInfo), whose index and every platform's image are pushed.",
            providers = [[StagexImageInfo], [StagexImageIndexInfo]],
            mandatory = True,
        ),
        "remote_tags": attr.string_list(
            doc = "Tags to add on every push (for example the package version).",
        ),
        "repository": attr.string(
            doc = "The default destination, `HOST[:PORT]/NAMESPACE/NAME`; empty means it must be given on the command line.",
        ),
        "_launcher": attr.label(
            doc = "The template of the launcher.",
            default = "//rules/private:push.sh.tpl",
            allow_single_file = True,
        ),
        "_push": attr.label(
            doc = "The tool that pushes, stagex-push.",
            default = "//tools/cmd/stagex-push",
            executable = True,
            cfg = "exec",
        ),
    },
)
