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
