"""The platform a package pins in its package.toml, as a Bazel transition.

StageX builds some packages for one platform only, whatever platform was
asked for: bootstrap-stage0 runs 32-bit x86 programs from the hex0 seed
and is always `linux/386`. Such a package's package.toml says
`platforms = ["linux/386"]`; the translator copies that list into the
stage's `platforms` attribute, and the incoming-edge transition here sets
`--platforms` to the matching `//platforms` target before the stage is
analysed. Everything the stage depends on is then built for that platform
too, and packages that depend on the stage read its output across the
transition, as StageX forces the platform of its bootstrap packages.

A stage that lists several platforms is built for the first one: making a
multi-platform image index out of one build per platform is the job of a
rule above stagex_stage, not of this transition.
"""

load(":platform.bzl", "OCI_ARCHITECTURES")

_PLATFORMS_SETTING = "//command_line_option:platforms"

# OCI platform ("os/architecture") -> the //platforms target that selects it.
PLATFORM_LABELS = {
    "linux/" + arch: Label("//platforms:linux_" + arch)
    for arch in OCI_ARCHITECTURES
}

def check_pinned_platform(ctx, built_for):
    """Fails unless a pinned stage was built for the platform it pins.

    The transition cannot report errors well (Bazel shows them without the
    target), so it leaves an unknown platform alone and the rule
    implementation calls this.

    Args:
      ctx: the context of a rule with the `platforms` attribute.
      built_for: the OCI platform, `os/architecture`, the stage is being
        built for.
    """
    platforms = ctx.attr.platforms
    if not platforms:
        return
    if platforms[0] not in PLATFORM_LABELS:
        fail("%s: package.toml pins platform %r, which has no //platforms target; known: %s" % (
            ctx.label,
            platforms[0],
            ", ".join(sorted(PLATFORM_LABELS.keys())),
        ))
    if built_for != platforms[0]:
        fail("%s: package.toml pins %s, but the stage is being built for %s" % (ctx.label, platforms[0], built_for))

def _pinned_platform_transition_impl(settings, attr):
    label = PLATFORM_LABELS.get(attr.platforms[0]) if attr.platforms else None
    if label == None:
        return {_PLATFORMS_SETTING: settings[_PLATFORMS_SETTING]}
    return {_PLATFORMS_SETTING: [label]}

pinned_platform_transition = transition(
    implementation = _pinned_platform_transition_impl,
    inputs = [_PLATFORMS_SETTING],
    outputs = [_PLATFORMS_SETTING],
)
