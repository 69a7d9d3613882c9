"""stagex_signature_test: fails unless images carry enough maintainer signatures."""

load(":facts.bzl", "REPOSITORY_PREFIX")
load(":providers.bzl", "StagexImageIndexInfo", "StagexImageInfo", "published_image")
load(":shell.bzl", "shell_words")

def _store_root(ctx):
    """Returns the store's root directory, relative to the runfiles directory."""
    files = ctx.files.store
    if len(files) == 1 and files[0].is_directory:
        return files[0].short_path
    label = ctx.attr.store.label
    root = label.package
    if label.workspace_name:
        # Files of other repositories sit beside the main one in runfiles.
        root = "../" + label.workspace_name + ("/" + root if root else "")
    if not root:
        root = "."
    for f in files:
        if not f.short_path.startswith(root + "/") and root != ".":
            fail("%s: store file %s lies outside the store's root %s (the package of %s)" % (ctx.label, f.short_path, root, label))
    return root

def _signature_test_impl(ctx):
    if not ctx.attr.images and not ctx.files.pins:
        fail("%s: give the images to verify in images or pins" % ctx.label)
    args = ["--store", _store_root(ctx), "--repository-prefix", ctx.attr.repository_prefix]
    for f in ctx.files.keyring:
        if not f.basename.endswith(".asc"):
            fail("%s: keyring file %s is not an armored public key (<maintainer>.asc)" % (ctx.label, f.short_path))
        args += ["--keyring", f.short_path]
    if ctx.file.policy:
        args += ["--policy", ctx.file.policy.short_path]
    for f in ctx.files.pins:
        args += ["--digests", f.short_path]
    layouts = []
    for target in ctx.attr.images:
        image = published_image(target)
        if not image.image_name:
            fail("%s: %s is not a published image (it has no image_name)" % (ctx.label, target.label))
        args += ["--layout", "%s=%s" % (image.image_name, image.layout.short_path)]
        layouts.append(image.layout)

    tool = ctx.executable._verify
    script = ctx.actions.declare_file(ctx.label.name + ".sh")
    ctx.actions.expand_template(
        template = ctx.file._launcher,
        output = script,
        is_executable = True,
        substitutions = {
            "%{command}": shell_words([tool.short_path] + args),
            "%{label}": str(ctx.label),
        },
    )
    runfiles = ctx.runfiles(files = ctx.files.keyring + ctx.files.pins + ctx.files.store + layouts + ([ctx.file.policy] if ctx.file.policy else []))
    runfiles = runfiles.merge(ctx.attr._verify[DefaultInfo].default_runfiles)
    return [DefaultInfo(executable = script, runfiles = runfiles)]

stagex_signature_test = rule(
    implementation = _signature_test_impl,
    test = True,
    doc = """Passes only when every image carries valid signatures by at least the policy's threshold of distinct maintainer keys.

The images are those pinned in `pins` and those built by `images`; an image in
both must have been built with its pinned digest. Each signature is a
containers "simple signing" signature in the lookaside `store`
(`<store>/<repository_prefix>/<image>@sha256=<hex>/signature-<n>`) over the
identity `<repository_prefix>/<image>` and the exact manifest digest. Only
signatures by keys in `keyring` that the `policy` lets count for the image's
stage count, each key once. The test log names, per image, the keys that
signed, the keys missing, and every signature that did not count and why.

The test runs `stagex-verify`; arguments given with `--test_arg` (or `args`)
are passed on to it after the rule's own.""",
    attrs = {
        "images": attr.label_list(
            doc = "Published images (`stagex_stage` targets with an `image_name`, or `stagex_image_index` targets) whose built digests must be signed. Building them is part of the test.",
            providers = [[StagexImageInfo], [StagexImageIndexInfo]],
        ),
        "keyring": attr.label_list(
            doc = "The maintainers' armored public keys, one `<maintainer>.asc` file each (usually `//keys`). Secret keys are refused; no key at all fails the test.",
            # Any files, so that a keyring still without keys is a test
            # failure rather than an analysis error; the rule checks names.
            allow_files = True,
        ),
        "pins": attr.label_list(
            doc = "Pin files (`//digests:<tier>.txt`) whose every image must be signed; its signatures are checked without building it.",
            allow_files = [".txt"],
        ),
        "policy": attr.label(
            doc = "The policy file (TOML: `threshold`, `keys`, `[tier.<name>]`); without one, 2 distinct keys of the keyring must sign.",
            allow_single_file = [".toml"],
        ),
        "repository_prefix": attr.string(
            doc = "The repository prefix of the signed identities.",
            default = REPOSITORY_PREFIX,
        ),
        "store": attr.label(
            doc = "The signature store: a filegroup of the signature files declared in the store's root package (e.g. `//signatures`), or one directory.",
            allow_files = True,
            mandatory = True,
        ),
        "_launcher": attr.label(
            doc = "The template of the test's launcher.",
            default = "//rules/private:signature_test.sh.tpl",
            allow_single_file = True,
        ),
        "_verify": attr.label(
            doc = "The tool that verifies, stagex-verify.",
            default = "//tools/cmd/stagex-verify",
            executable = True,
            cfg = "exec",
        ),
    },
)
