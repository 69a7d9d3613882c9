"""Analysis tests of stagex_stage: the stage runner's flags from the attributes.

Each test analyses a stagex_stage target and compares the command line of
its one StagexStage action, after the runner's path, with the expected
flags. `{bin}` in an expected flag stands for the directory the target's
outputs go to (it depends on the configuration, which a pinned platform
changes), `{pkg}` for this package's directory.
"""

load("@bazel_skylib//lib:unittest.bzl", "analysistest", "asserts")
load("//rules:defs.bzl", "StagexImageInfo")

def _stage_args_test_impl(ctx):
    env = analysistest.begin(ctx)
    target = analysistest.target_under_test(env)
    actions = [a for a in analysistest.target_actions(env) if a.mnemonic == "StagexStage"]
    asserts.equals(env, 1, len(actions), "StagexStage actions")
    if len(actions) != 1:
        return analysistest.end(env)
    action = actions[0]
    layout = target[StagexImageInfo].layout
    bin_dir = layout.dirname
    want = [
        a.replace("{bin}", bin_dir).replace("{pkg}", ctx.label.package)
        for a in ctx.attr.want_args
    ]
    asserts.equals(env, want, action.argv[1:], "the runner's flags")
    asserts.true(env, action.argv[0].endswith("/stagex-build"), "the runner is stagex-build, not %s" % action.argv[0])
    for key, value in ctx.attr.want_env.items():
        asserts.equals(env, value, action.env.get(key), "environment variable %s" % key)

    # The runner's own files (its binary, runfiles and their middleman) aside.
    inputs = sorted([
        f.short_path
        for f in action.inputs.to_list()
        if f.short_path.startswith(ctx.label.package + "/")
    ])
    asserts.equals(env, sorted([i.replace("{pkg}", ctx.label.package) for i in ctx.attr.want_inputs]), inputs, "the action's inputs")
    asserts.equals(env, ctx.attr.want_platform, "%s/%s" % (target[StagexImageInfo].os, target[StagexImageInfo].architecture), "the image's platform")
    return analysistest.end(env)

stage_args_test = analysistest.make(
    _stage_args_test_impl,
    doc = "Checks the flags, environment and inputs of a stagex_stage's runner action.",
    attrs = {
        "want_args": attr.string_list(doc = "The runner's flags, in order, after its path.", mandatory = True),
        "want_env": attr.string_dict(doc = "Environment variables the action must set, to their values."),
        "want_inputs": attr.string_list(doc = "The short paths of the action's inputs of this module, but the runner's own files."),
        "want_platform": attr.string(doc = "The platform the image says it is for, `os/architecture`.", default = "linux/amd64"),
    },
    config_settings = {"//command_line_option:platforms": str(Label("//platforms:linux_amd64"))},
)

def _top_level_outputs_test_impl(ctx):
    env = analysistest.begin(ctx)
    layout = analysistest.target_under_test(env)[StagexImageInfo].layout
    asserts.equals(
        env,
        ctx.bin_dir.path,
        layout.root.path,
        "a stage that pins no platform must write under bazel-bin: the Go path rewrite in .bazelrc and the stage transition's (RECORDED_GO_PATHS) must agree",
    )
    return analysistest.end(env)

top_level_outputs_test = analysistest.make(
    _top_level_outputs_test_impl,
    doc = "Checks that a stage that pins no platform is built in the top-level configuration.",
)
