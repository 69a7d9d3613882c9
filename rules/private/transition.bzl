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

A stage that lists several platforms keeps the requested platform when it
is one of them, and is built for the first one otherwise.
`stagex_image_index` builds one image per listed platform (a split
transition) and joins them in a multi-platform image index.

The same transition keeps images that hold Go programs (tools Bazel builds
and a stage copies in) the same whether StageX is the main module or a
dependency of another: Go records each source file's path, which is
`tools/testing/box/box.go` in the first case and `external/<canonical name
of StageX>/tools/testing/box/box.go` in the second. The transition adds a
`-trimpath` rewrite to rules_go's `gc_goopts` that removes that prefix, so
the programs, and the images' digests, come out as pinned.

The same rewrite gives the packages in `RECORDED_GO_PATHS` the paths they
had when the fixture images were pinned: they moved since (the busybox
clone and hex0 into tools/testing, diag into tools/internal), and their
programs record the old paths so that the images stay byte for byte as
pinned. Their BUILD files keep the old import paths as `importmap`, for
the same reason: Go records each package's path in its symbols.
"""

load(":facts.bzl", "PLATFORMS")
load(":platform.bzl", "platform_target_name")

_PLATFORMS_SETTING = "//command_line_option:platforms"
_GC_GOOPTS = str(Label("@io_bazel_rules_go//go/config:gc_goopts"))

# Source folders whose Go programs record another path (see above): the
# folder -> the path recorded, the folder the package had when the fixture
# images were pinned.
RECORDED_GO_PATHS = {
    "tools/internal/diag": "tools/diag",
    "tools/testing/box": "tools/box",
    "tools/testing/cmd/hex0": "tools/cmd/hex0",
    "tools/testing/cmd/stagex-box": "tools/cmd/stagex-box",
    "tools/testing/hex0": "tools/hex0",
}

# The canonical name of StageX's repository: empty when it is the main one.
_SELF = Label("//:MODULE.bazel").workspace_name
_PREFIX = "external/%s/" % _SELF if _SELF else ""

# One -trimpath flag: rules_go's builder merges the first one it finds with
# its own and drops any other. Go applies the first rewrite that matches,
# so the moved folders come before the repository's own prefix.
_TRIMPATH = "-trimpath=" + ";".join(
    ["%s%s=>%s" % (_PREFIX, folder, recorded) for folder, recorded in sorted(RECORDED_GO_PATHS.items())] +
    (["external/%s=>" % _SELF] if _SELF else []),
)

def _stable_go_paths(settings):
    """rules_go's gc_goopts, with the rewrite described above."""
    opts = list(settings[_GC_GOOPTS])
    if _TRIMPATH not in opts:
        opts.append(_TRIMPATH)
    return opts

# OCI platform ("os/architecture") -> the //platforms target that selects it.
PLATFORM_LABELS = {
    platform: Label("//platforms:" + platform_target_name(platform))
    for platform in PLATFORMS
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
    for p in platforms:
        if p not in PLATFORM_LABELS:
            fail("%s: package.toml pins platform %r, which has no //platforms target; known: %s" % (
                ctx.label,
                p,
                ", ".join(sorted(PLATFORM_LABELS.keys())),
            ))
    if built_for not in platforms:
        fail("%s: package.toml pins %s, but the stage is being built for %s" % (ctx.label, ", ".join(platforms), built_for))

def _pinned_platform(settings, attr):
    current = settings[_PLATFORMS_SETTING]
    if not attr.platforms:
        return current
    labels = [PLATFORM_LABELS[p] for p in attr.platforms if p in PLATFORM_LABELS]
    if not labels:
        return current
    for label in labels:
        if len(current) == 1 and str(current[0]) == str(label):
            return current
    return [labels[0]]

def _pinned_platform_transition_impl(settings, attr):
    return {
        _GC_GOOPTS: _stable_go_paths(settings),
        _PLATFORMS_SETTING: _pinned_platform(settings, attr),
    }

pinned_platform_transition = transition(
    implementation = _pinned_platform_transition_impl,
    inputs = [_GC_GOOPTS, _PLATFORMS_SETTING],
    outputs = [_GC_GOOPTS, _PLATFORMS_SETTING],
)
