"""Maps the target platform's constraints to OCI os/architecture names."""

# OCI architecture name -> the @platforms cpu constraint that selects it.
OCI_ARCHITECTURES = {
    "386": "@platforms//cpu:x86_32",
    "amd64": "@platforms//cpu:x86_64",
    "arm64": "@platforms//cpu:aarch64",
    "riscv64": "@platforms//cpu:riscv64",
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
