"""Maps the target platform's constraints to OCI os/architecture names."""

load(":facts.bzl", "PLATFORMS", "parse_platform")

# OCI architecture name -> the @platforms cpu constraint that selects it.
OCI_ARCHITECTURES = {
    parse_platform(platform).architecture: cpu
    for platform, cpu in PLATFORMS.items()
}

def platform_target_name(platform):
    """The name of the //platforms target of an OCI platform: `linux/amd64` -> `linux_amd64`.

    Args:
      platform: one of PLATFORMS.

    Returns:
      The target's name.
    """
    return platform.replace("/", "_")

def platform_constraints(platform):
    """The constraint values that select an OCI platform: its OS and its CPU.

    Args:
      platform: one of PLATFORMS.

    Returns:
      A list of two constraint value labels.
    """
    return ["@platforms//os:" + parse_platform(platform).os, PLATFORMS[platform]]

# The targets of //platforms: name -> constraint values, one per entry of
# PLATFORMS (platforms/BUILD.bazel declares them from this).
PLATFORM_TARGETS = {
    platform_target_name(platform): platform_constraints(platform)
    for platform in PLATFORMS
}

def platform_attrs():
    """Private attributes through which a rule can see the target platform.

    Returns:
      A dict of attributes to add to a rule.
    """
    attrs = {
        "_os_linux": attr.label(default = "@platforms//os:linux"),
    }
    for arch, label in OCI_ARCHITECTURES.items():
        attrs["_cpu_" + arch] = attr.label(default = label)
    return attrs

def target_oci_platform(ctx):
    """Returns the OCI (os, architecture) pair of the target platform.

    Args:
      ctx: the rule context of a rule built with platform_attrs().

    Returns:
      A tuple (os, architecture); fails for a platform StageX does not build for.
    """
    if not ctx.target_platform_has_constraint(ctx.attr._os_linux[platform_common.ConstraintValueInfo]):
        fail("%s: StageX images are built for linux only; the target platform is not linux" % ctx.label)
    for arch in OCI_ARCHITECTURES:
        if ctx.target_platform_has_constraint(getattr(ctx.attr, "_cpu_" + arch)[platform_common.ConstraintValueInfo]):
            return ("linux", arch)
    fail("%s: the target platform has none of the CPUs StageX builds for (%s); pass --platforms=//platforms:linux_<arch>" % (
        ctx.label,
        ", ".join(OCI_ARCHITECTURES.keys()),
    ))
