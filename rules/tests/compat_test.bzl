"""Unit tests of source compatibility (rules/private/compat.bzl).

`sources_compatibility` turns a stage's `sources` and what the sources hub
found missing into target_compatible_with entries; these tests give it the
missing files themselves, so that they do not depend on this machine.
"""

load("@bazel_skylib//lib:unittest.bzl", "asserts", "unittest")
load("//rules/private:compat.bzl", "sources_compatibility")

_MISSING = {
    "packages/core/make": ["make-4.4.tar.gz"],
    "packages/core/zlib": ["zlib-1.3.tar.xz", "zlib.patch"],
}

_CASES = [
    # (sources, expected constraints)
    ({}, []),
    ({"@stagex_sources//packages/core/gcc:gcc.tar.xz": "fetch/gcc.tar.xz"}, []),
    ({"@stagex_sources//packages/core/make:make-4.4.tar.gz": "fetch/make-4.4.tar.gz"}, ["@stagex_sources//packages/core/make:sources_missing"]),
    # Two missing files of one package give one constraint.
    (
        {
            "@stagex_sources//packages/core/zlib:zlib-1.3.tar.xz": "fetch/zlib-1.3.tar.xz",
            "@stagex_sources//packages/core/zlib:zlib.patch": "fetch/zlib.patch",
        },
        ["@stagex_sources//packages/core/zlib:sources_missing"],
    ),
    # A present file of a package with a missing one is not a reason.
    ({"@stagex_sources//packages/core/make:other.tar": "fetch/other.tar"}, []),
    # Another hub (an imported tree's) is not probed, nor a plain label.
    ({"@stagex_tree_sources//packages/core/make:make-4.4.tar.gz": "fetch/make-4.4.tar.gz"}, []),
    ({":local.txt": "local.txt"}, []),
]

def _compat_test_impl(ctx):
    env = unittest.begin(ctx)
    for sources, want in _CASES:
        asserts.equals(env, want, sources_compatibility(sources, missing = _MISSING), "sources %s" % sources.keys())
    return unittest.end(env)

compat_test = unittest.make(
    _compat_test_impl,
    doc = "Checks sources_compatibility against a table of sources and missing files.",
)
