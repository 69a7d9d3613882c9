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

def pinned_platform(platforms, what):
    """The //platforms target a stage pinned to `platforms` is built for.

    Args:
      platforms: the stage's `platforms` attribute: OCI platforms,
        `os/architecture`, from package.toml; empty when not pinned.
      what: the stage, for error messages.

    Returns:
      A Label, or None when the stage is not pinned.
    """
    if not platforms:
        return None
    label = PLATFORM_LABELS.get(platforms[0])
    if label == None:
        fail("%s: package.toml pins platform %r, which has no //platforms target; known: %s" % (
            what,
            platforms[0],
            ", ".join(sorted(PLATFORM_LABELS.keys())),
        ))
    return label

def _pinned_platform_transition_impl(settings, attr):
    label = pinned_platform(attr.platforms, "stagex_stage %s" % attr.name)
    if label == None:
        return {_PLATFORMS_SETTING: settings[_PLATFORMS_SETTING]}
    return {_PLATFORMS_SETTING: [label]}

pinned_platform_transition = transition(
    implementation = _pinned_platform_transition_impl,
    inputs = [_PLATFORMS_SETTING],
    outputs = [_PLATFORMS_SETTING],
)
