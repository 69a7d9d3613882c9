"""StageX's facts as the rules need them, each written once.

These are the Starlark side of the Go package tools/internal/stagex, which
holds the same tables; its test (`//tools/internal/stagex:stagex_test`)
reads this file and fails when the two differ, so change them together.
"""

# The tiers: the directories under packages/ and the first part of every
# image name `<tier>-<name>`, in bootstrap order.
TIERS = ["bootstrap", "core", "pallet", "user"]

# The bootstrap stages packages reach through the bootstrap chain
# (`stagex/bootstrap-stage0` to `-stage3`), in build order.
BOOTSTRAP_STAGES = ["stage0", "stage1", "stage2", "stage3"]

# The OCI platforms StageX builds images for (all linux) -> the @platforms
# CPU constraint that selects each. //platforms has one platform for each,
# named by platform_target_name in platform.bzl.
PLATFORMS = {
    "linux/386": "@platforms//cpu:x86_32",
    "linux/amd64": "@platforms//cpu:x86_64",
    "linux/arm64": "@platforms//cpu:aarch64",
    "linux/riscv64": "@platforms//cpu:riscv64",
}

# The platform StageX builds for when package.toml names none.
DEFAULT_PLATFORM = "linux/amd64"

# The SOURCE_DATE_EPOCH of every build, as StageX's build passes it.
SOURCE_DATE_EPOCH = 1

# The repository namespace StageX publishes and signs its images under:
# `stagex/<tier>-<name>`.
REPOSITORY_PREFIX = "stagex"

_HEX_DIGITS = "0123456789abcdef"

_PLATFORM_PART_CHARS = "abcdefghijklmnopqrstuvwxyz0123456789_"

def is_sha256_hex(s):
    """Whether s is a sha256 as StageX writes digests: 64 lower-case hex digits.

    Args:
      s: the string to check.

    Returns:
      True or False.
    """
    return len(s) == 64 and not [c for c in s.elems() if c not in _HEX_DIGITS]

def parse_platform(platform):
    """Splits an OCI platform written `os/architecture[/variant]`.

    Each part is lower-case letters, digits and `_`, as in the Go parser
    (stagex.ParsePlatform).

    Args:
      platform: the platform as written.

    Returns:
      A struct with `os`, `architecture` and `variant` (empty when not
      given), or None when platform is not of that shape; the caller fails
      naming it and where it came from.
    """
    parts = platform.split("/")
    if len(parts) < 2 or len(parts) > 3:
        return None
    for part in parts:
        if not part or [c for c in part.elems() if c not in _PLATFORM_PART_CHARS]:
            return None
    return struct(
        os = parts[0],
        architecture = parts[1],
        variant = parts[2] if len(parts) == 3 else "",
    )
