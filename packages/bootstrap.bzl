"""The bootstrap stages of this tree, for the chain in toolchains/BUILD.bazel.

Written by `bazel run //:gazelle` from packages/bootstrap/stageN directories that hold a
Containerfile and a package.toml; do not edit.
"""

BOOTSTRAP_PACKAGES = {
    "stage0": "//packages/bootstrap/stage0",
}
