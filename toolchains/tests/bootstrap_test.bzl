"""Analysis tests of the bootstrap toolchains and the pinned-platform transition.

Each test analyses a target for one target platform and checks what
toolchain resolution chose (StagexBootstrapInfo), which platform the image
was built for (StagexImageInfo), or that analysis fails with a message
naming the platform and the stage.
"""

load("@bazel_skylib//lib:unittest.bzl", "analysistest", "asserts")
load("//rules:defs.bzl", "StagexBootstrapInfo", "StagexImageInfo")

def _platforms(name):
    return {"//command_line_option:platforms": str(Label("//platforms:" + name))}

def _image_test_impl(ctx):
    env = analysistest.begin(ctx)
    target = analysistest.target_under_test(env)
    image = target[StagexImageInfo]
    asserts.equals(env, "linux", image.os, "image os")
    asserts.equals(env, ctx.attr.architecture, image.architecture, "image architecture")
    if ctx.attr.toolchain:
        asserts.true(env, StagexBootstrapInfo in target, "%s resolves no bootstrap toolchain" % target.label)
        info = target[StagexBootstrapInfo]
        asserts.equals(env, Label(ctx.attr.toolchain), info.toolchain, "chosen toolchain")
        asserts.equals(env, Label(ctx.attr.image), info.image, "image of the chosen toolchain")
        asserts.equals(env, ctx.attr.stage, info.stage, "stage")
    return analysistest.end(env)

_IMAGE_ATTRS = {
    "architecture": attr.string(doc = "The OCI architecture the image must be built for.", mandatory = True),
    "image": attr.string(doc = "The image target the chosen toolchain must hand out."),
    "stage": attr.string(doc = "The bootstrap stage resolved."),
    "toolchain": attr.string(doc = "The stagex_bootstrap_toolchain that must be chosen; empty for a plain image."),
}

# One rule per requested platform: a test rule's configuration is fixed
# when the rule is defined.
image_386_test = analysistest.make(_image_test_impl, attrs = _IMAGE_ATTRS, config_settings = _platforms("linux_386"))
image_amd64_test = analysistest.make(_image_test_impl, attrs = _IMAGE_ATTRS, config_settings = _platforms("linux_amd64"))
image_arm64_test = analysistest.make(_image_test_impl, attrs = _IMAGE_ATTRS, config_settings = _platforms("linux_arm64"))
image_riscv64_test = analysistest.make(_image_test_impl, attrs = _IMAGE_ATTRS, config_settings = _platforms("linux_riscv64"))

def _failure_test_impl(ctx):
    env = analysistest.begin(ctx)
    for text in ctx.attr.messages:
        asserts.expect_failure(env, text)
    return analysistest.end(env)

_FAILURE_ATTRS = {
    "messages": attr.string_list(doc = "Texts the analysis error must contain.", mandatory = True),
}

failure_arm64_test = analysistest.make(_failure_test_impl, attrs = _FAILURE_ATTRS, expect_failure = True, config_settings = _platforms("linux_arm64"))
failure_riscv64_test = analysistest.make(_failure_test_impl, attrs = _FAILURE_ATTRS, expect_failure = True, config_settings = _platforms("linux_riscv64"))
