"""Skips targets whose sources cannot be had on this machine."""

load("@stagex_sources//:availability.bzl", "MISSING")

def sources_compatibility(sources, missing = MISSING):
    """target_compatible_with entries for a target that reads `sources`.

    Offline (STAGEX_OFFLINE=1, which tools/scripts/setup sets where the registries
    are out of reach), a package whose source files are neither in the
    repository cache, a --distdir directory nor fetch/ is incompatible, so
    `bazel build //packages/...` and `bazel test //...` skip it instead of
    failing on a download; asking for it by name says which constraint is
    missing (`@stagex_sources//<tier>/<name>:sources_missing`).

    Args:
      sources: the `sources` attribute of a stagex_stage: label strings of
        the form `@<hub>//<tier>/<name>:<file>`.
      missing: package directory -> its source files that cannot be had;
        by default what the `stagex_sources` hub found on this machine.

    Returns:
      A list of constraint labels, empty when every source is available.
    """
    out = []
    for label in sources:
        if "//" not in label or ":" not in label:
            continue
        repo, _, rest = label.partition("//")
        if repo != "@stagex_sources":
            # Only this module's own hub is probed; a tree imported with
            # stagex_tree fails on a missing download, naming it.
            continue
        pkg, _, file = rest.partition(":")
        entry = "%s//%s:sources_missing" % (repo, pkg)
        if file in missing.get(pkg, []) and entry not in out:
            out.append(entry)
    return out
