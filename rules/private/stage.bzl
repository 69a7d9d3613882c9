"""stagex_stage: builds one stage of a Containerfile into an OCI image layout.

`stagex_stage` is a macro around the rule `stagex_stage_rule`: it adds the
constraints that skip a stage whose sources cannot be had on this machine.
"""

load(":compat.bzl", "sources_compatibility")
load(":facts.bzl", "SOURCE_DATE_EPOCH")
load(":platform.bzl", "platform_attrs", "target_oci_platform")
load(":providers.bzl", "StagexImageInfo")
load(":transition.bzl", "check_pinned_platform", "pinned_platform_transition")

def _context_file(ctx, target, path):
    """Returns (path in the build context, File) for one context entry."""
    files = target.files.to_list()
    if len(files) != 1:
        fail("%s: context entry %s gives %d files, expected exactly one" % (ctx.label, target.label, len(files)))
    f = files[0]
    if path:
        return path, f
    pkg = ctx.label.package + "/"
    if f.short_path.startswith(pkg):
        return f.short_path[len(pkg):], f
    return f.basename, f

def _check_one_line(ctx, attr, key, value):
    """Fails on a line break: the runner reads one flag per parameter file line."""
    for text in [key, value]:
        if "\n" in text or "\r" in text:
            fail("%s: %s[%r] = %r: a line break would pass the stage runner a flag of its own; values must be on one line" % (
                ctx.label,
                attr,
                key,
                value,
            ))

def _stage_impl(ctx):
    os, arch = target_oci_platform(ctx)
    check_pinned_platform(ctx, "%s/%s" % (os, arch))
    layout = ctx.actions.declare_directory(ctx.label.name + ".oci")
    digest = ctx.actions.declare_file(ctx.label.name + ".digest")

    args = ctx.actions.args()
    args.use_param_file("@%s", use_always = True)
    args.set_param_file_format("multiline")
    args.add("--containerfile", ctx.file.containerfile)
    args.add("--stage", ctx.attr.stage)
    args.add("--platform", "%s/%s" % (os, arch))
    args.add("--out", layout.path)
    args.add("--digest-out", digest.path)
    if ctx.attr.image_name:
        args.add("--image-name", ctx.attr.image_name)
    if ctx.attr.step_timeout:
        args.add("--step-timeout", ctx.attr.step_timeout)
    if ctx.attr.max_processes:
        args.add("--max-processes", str(ctx.attr.max_processes))
    for key, value in sorted(ctx.attr.build_args.items()):
        _check_one_line(ctx, "build_args", key, value)
        args.add("--build-arg", "%s=%s" % (key, value))
    for key, value in sorted(ctx.attr.annotations.items()):
        _check_one_line(ctx, "annotations", key, value)
        args.add("--annotation", "%s=%s" % (key, value))

    inputs = [ctx.file.containerfile]
    if ctx.attr.base:
        base = ctx.attr.base[StagexImageInfo]
        args.add("--base", base.layout.path)
        inputs.append(base.layout)
    for target, ref in ctx.attr.images.items():
        image = target[StagexImageInfo]
        args.add("--image", "%s=%s" % (ref, image.layout.path))
        inputs.append(image.layout)
    for target, path in ctx.attr.sources.items():
        path, f = _context_file(ctx, target, path)
        args.add("--context", "%s=%s" % (path, f.path))
        inputs.append(f)
    for target, path in ctx.attr.context.items():
        path, f = _context_file(ctx, target, path)
        args.add("--context", "%s=%s" % (path, f.path))
        inputs.append(f)

    ctx.actions.run(
        executable = ctx.executable._runner,
        arguments = [args],
        inputs = inputs,
        outputs = [layout, digest],
        mnemonic = "StagexStage",
        progress_message = "Building stage %s of %s" % (ctx.attr.stage, ctx.label),
        env = {
            "LANG": "C.UTF-8",
            "LC_ALL": "C",
            "SOURCE_DATE_EPOCH": str(SOURCE_DATE_EPOCH),
            "TZ": "UTC",
        },
        # The runner creates user, mount, pid and network namespaces itself;
        # executors must allow unprivileged user namespaces (Bazel's
        # linux-sandbox does).
    )
    return [
        DefaultInfo(files = depset([layout, digest])),
        StagexImageInfo(
            layout = layout,
            digest = digest,
            os = os,
            architecture = arch,
            image_name = ctx.attr.image_name,
        ),
        OutputGroupInfo(digest = depset([digest])),
    ]

stagex_stage_rule = rule(
    implementation = _stage_impl,
    # A package that pins its platform (package.toml `platforms`) is built
    # for it whatever platform was asked for; see transition.bzl.
    cfg = pinned_platform_transition,
    doc = """Builds one stage of a Containerfile into an OCI image layout.

The stage runs hermetically: its RUN steps execute in new user, mount, pid,
network, uts and ipc namespaces, chrooted into the root filesystem assembled
from `base`, with no network but loopback and a fixed environment
(SOURCE_DATE_EPOCH=1, TZ=UTC, LANG=C.UTF-8, LC_ALL=C). Every file the stage
reads is a declared input: the Containerfile, the context files, the sources
and the images named by `base` and `images`. The output is a directory
`<name>.oci` holding an OCI image layout, and `<name>.digest` with its
manifest digest.

`bazel run //:gazelle` writes these targets from each package's Containerfile
and package.toml; they can be written by hand too.""",
    attrs = platform_attrs() | {
        "annotations": attr.string_dict(
            doc = "Extra annotations on the image manifest. The version and title annotations come from `build_args` and `image_name`.",
        ),
        "base": attr.label(
            doc = "The image this stage starts from (its FROM), or none for `FROM scratch`.",
            providers = [StagexImageInfo],
        ),
        "build_args": attr.string_dict(
            doc = "Build arguments, as `--build-arg` gives them to BuildKit: VERSION, <ID>_SOURCE and the like from package.toml.",
        ),
        "containerfile": attr.label(
            doc = "The Containerfile that defines the stage.",
            allow_single_file = True,
            mandatory = True,
        ),
        "context": attr.label_keyed_string_dict(
            doc = "Files of the build context that COPY and ADD read, each mapped to its path in the context (empty: its path relative to this package).",
            allow_files = True,
        ),
        "image_name": attr.string(
            doc = "The published image name, `<tier>-<name>` or `<tier>-<subpackage>`; empty for a stage that is not published.",
        ),
        "images": attr.label_keyed_string_dict(
            doc = "Other images the stage copies from (`COPY --from`), each mapped to the reference the Containerfile uses: a stage name or `stagex/<tier>-<name>`.",
            providers = [StagexImageInfo],
        ),
        "max_processes": attr.int(
            doc = "The most processes and threads one RUN step of this stage may have at once (at least 300); beyond it a fork fails with EAGAIN, and the step with the error its program gives. Enforced on Linux 6.14 or later. 0: the runner's default, 16384.",
        ),
        "platforms": attr.string_list(
            doc = "The platforms package.toml pins the package to, `os/architecture` (`linux/386`). When set, the stage is built for the requested platform if it is one of them, and for the first of them otherwise (an incoming-edge transition to `//platforms:<os>_<architecture>`); empty builds for the requested platform.",
        ),
        "sources": attr.label_keyed_string_dict(
            doc = "Downloaded source files, each mapped to its path in the build context (`fetch/<file>`).",
            allow_files = True,
        ),
        "stage": attr.string(
            doc = "The name (or index) of the stage in the Containerfile.",
            mandatory = True,
        ),
        "step_timeout": attr.string(
            doc = "The longest one RUN step of this stage may take, as a Go duration (`90m`, `36h`); a step that takes longer is ended and fails the build, naming the step, its line and the limit. Empty: the runner's default, 24 hours.",
        ),
        "_runner": attr.label(
            doc = "The stage runner, stagex-build.",
            default = "//tools/cmd/stagex-build",
            executable = True,
            cfg = "exec",
        ),
    },
)

def stagex_stage(name, sources = {}, target_compatible_with = [], **kwargs):
    """Builds one stage of a Containerfile; see `stagex_stage_rule` for the attributes.

    Beyond the rule, this macro skips the stage on machines where its
    `sources` cannot be downloaded (see rules/private/compat.bzl).

    Args:
      name: the target name.
      sources: downloaded source files, label to path in the build context.
      target_compatible_with: further constraints, as for any target.
      **kwargs: the other attributes of `stagex_stage_rule`.
    """
    stagex_stage_rule(
        name = name,
        sources = sources,
        target_compatible_with = target_compatible_with + sources_compatibility(sources),
        **kwargs
    )
