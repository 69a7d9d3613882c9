"""The StageX bootstrap chain as toolchains, chosen by the target platform.

StageX packages start from `stagex/bootstrap-stage0` through
`stagex/bootstrap-stage3`. Here each stage is a toolchain type, and a
*chain* registers, for the platforms it serves, one toolchain per stage
that hands out the stage's image. A package never names a chain or an
architecture: the translator turns `FROM stagex/bootstrap-stageN` (and
`COPY --from=stagex/bootstrap-stageN`) into a dependency on the tree's
`//<tree>/toolchains:bootstrap-stageN`, a *stage resolver* that asks
toolchain resolution for the stage on the current target platform and
forwards the image it gets (StagexImageInfo and its files).

A tree (`packages/` and its `toolchains/` beside it; the test fixtures
have their own) declares, in its toolchains package:

- one `toolchain_type` per stage, named like the stage (`:stage0`);
- one resolver per stage, `:bootstrap-stageN`, of a rule made with
  `stagex_bootstrap_stage_rule` (a rule can only name its toolchain types
  when it is defined, so each stage of each tree has its own rule; see
  toolchains/bootstrap.bzl);
- its chains, with `stagex_bootstrap_chain`, and registers them in
  MODULE.bazel with `register_toolchains("//<tree>/toolchains:all")`.

Stages are separate toolchain types rather than one type carrying every
stage because stage N+1 is built from stage N: a toolchain holding the
whole chain would depend on the package that asks for it.

A platform without a chain for a stage fails at analysis with an error
naming the platform and the stage.
"""

load(":facts.bzl", "BOOTSTRAP_STAGES", "PLATFORMS")
load(":platform.bzl", "OCI_ARCHITECTURES", "platform_constraints", "platform_target_name")
load(":providers.bzl", "StagexBootstrapInfo", "StagexImageInfo")

def _bootstrap_toolchain_impl(ctx):
    return [platform_common.ToolchainInfo(
        stage = ctx.attr.stage,
        image = ctx.attr.image[StagexImageInfo],
        image_label = ctx.attr.image.label,
        files = ctx.attr.image[DefaultInfo].files,
        label = ctx.label,
    )]

stagex_bootstrap_toolchain = rule(
    implementation = _bootstrap_toolchain_impl,
    doc = """One stage of a bootstrap chain: the image a `toolchain()` registration hands out.

Use `stagex_bootstrap_chain`, which declares these together with their
registrations.""",
    attrs = {
        "image": attr.label(
            doc = "The stage's image: a stagex_stage, normally `//packages/bootstrap/<stage>`.",
            providers = [StagexImageInfo],
            mandatory = True,
        ),
        "stage": attr.string(
            doc = "The bootstrap stage this image is; the resolver checks it against the toolchain type.",
            mandatory = True,
            values = BOOTSTRAP_STAGES,
        ),
    },
)

def _label_text(label):
    """A label as users write it: without `@@` for this repository."""
    if label.workspace_name:
        return str(label)
    return "//%s:%s" % (label.package, label.name)

def _platform_name(ctx):
    """The target platform, for error messages: its label and OCI name."""
    name = _label_text(ctx.fragments.platform.platform)
    oci = None
    if ctx.target_platform_has_constraint(ctx.attr._os_linux[platform_common.ConstraintValueInfo]):
        for arch in OCI_ARCHITECTURES:
            if ctx.target_platform_has_constraint(getattr(ctx.attr, "_cpu_" + arch)[platform_common.ConstraintValueInfo]):
                oci = "linux/" + arch
                break
    return "%s (%s)" % (name, oci) if oci else name

def _bootstrap_stage_impl(ctx):
    stage = ctx.attr.stage
    toolchain_type = ctx.attr._toolchain_type.label
    chosen = ctx.toolchains[toolchain_type]
    if chosen == None:
        fail(("no bootstrap chain provides %s for platform %s: no toolchain of type %s is " +
              "registered for it. Register a chain for this platform with " +
              "stagex_bootstrap_chain in %s, or build for a platform that has one " +
              "(--toolchain_resolution_debug='%s' shows what was tried).") % (
            stage,
            _platform_name(ctx),
            _label_text(toolchain_type),
            "//%s" % toolchain_type.package,
            _label_text(toolchain_type),
        ))
    if chosen.stage != stage:
        fail("%s: the toolchain %s registered for %s hands out %s, not %s" % (
            ctx.label,
            chosen.label,
            toolchain_type,
            chosen.stage,
            stage,
        ))
    return [
        DefaultInfo(files = chosen.files),
        chosen.image,
        StagexBootstrapInfo(
            image = chosen.image_label,
            stage = stage,
            toolchain = chosen.label,
        ),
    ]

def stagex_bootstrap_stage_rule(toolchain_type):
    """Makes the resolver rule of one bootstrap stage of one tree.

    The rule's targets forward the image that toolchain resolution picks
    for `toolchain_type` on the target platform; without one they fail,
    naming the platform and the stage. Assign the result to a global of a
    .bzl file (rules are named by that), one per stage:

        bootstrap_stage0 = stagex_bootstrap_stage_rule(Label("//toolchains:stage0"))

    Args:
      toolchain_type: the Label of the stage's toolchain_type.

    Returns:
      A rule with one attribute, `stage` (the stage's name, for messages
      and to check the registered toolchains).
    """
    return rule(
        implementation = _bootstrap_stage_impl,
        doc = "Resolves bootstrap stage `%s` for the target platform and forwards its image." % toolchain_type.name,
        attrs = {
            "stage": attr.string(
                doc = "The bootstrap stage resolved, as the Containerfiles name it (`stagex/bootstrap-<stage>`).",
                mandatory = True,
                values = BOOTSTRAP_STAGES,
            ),
            "_os_linux": attr.label(default = "@platforms//os:linux"),
            "_toolchain_type": attr.label(default = toolchain_type),
        } | {
            "_cpu_" + arch: attr.label(default = label)
            for arch, label in OCI_ARCHITECTURES.items()
        },
        fragments = ["platform"],
        toolchains = [config_common.toolchain_type(toolchain_type, mandatory = False)],
    )

def stagex_bootstrap_chain(name, platforms, stages, visibility = None):
    """Declares a bootstrap chain and registers it for some platforms.

    For every stage, a `stagex_bootstrap_toolchain` named `<name>_<stage>`
    holding the stage's image, and for every platform a `toolchain()`
    named `<name>_<stage>_<os>_<arch>` of type `:<stage>` (the toolchain
    types live in the same package) whose target constraints are the
    platform's OS and CPU. Toolchain resolution then gives a package built
    for one of `platforms` this chain's images.

    Args:
      name: the chain's name, a prefix of the targets declared.
      platforms: OCI platforms (`linux/amd64`, ...) the chain serves.
      stages: stage name (`stage0`...) -> label of its image.
      visibility: visibility of the declared targets.
    """
    for platform in platforms:
        if platform not in PLATFORMS:
            fail("stagex_bootstrap_chain %s: unknown platform %r; known: %s" % (
                name,
                platform,
                ", ".join(PLATFORMS),
            ))
    for stage in sorted(stages.keys()):
        if stage not in BOOTSTRAP_STAGES:
            fail("stagex_bootstrap_chain %s: unknown stage %r; known: %s" % (name, stage, ", ".join(BOOTSTRAP_STAGES)))
        impl = "%s_%s" % (name, stage)
        stagex_bootstrap_toolchain(
            name = impl,
            image = stages[stage],
            stage = stage,
            visibility = visibility,
        )
        for platform in platforms:
            native.toolchain(
                name = "%s_%s" % (impl, platform_target_name(platform)),
                target_compatible_with = platform_constraints(platform),
                toolchain = ":" + impl,
                toolchain_type = ":" + stage,
                visibility = visibility,
            )
