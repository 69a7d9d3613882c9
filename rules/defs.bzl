"""Public API of the StageX rules: load everything from this file.

- `stagex_stage` builds one stage of a Containerfile into an OCI image layout.
- `stagex_image_index` builds an image for several platforms and joins them
  in a multi-platform image index.
- `stagex_digest_test` checks a built image's digest against its pin.
- `stagex_signature_test` checks that images carry a threshold of maintainer signatures.
- `StagexImageInfo` is what they pass around.
- `stagex_push` makes `bazel run` push an image to a registry by digest.
- `stagex` is the module extension for published images pinned by digest
  (`use_extension("@stagex//rules:defs.bzl", "stagex")`; rules/private/image.bzl).
- `stagex_untranslated` stands for a package that does not translate: what
  uses it fails with the translator's error (rules/private/untranslated.bzl).
- `stagex_tree` is the module extension that imports a whole StageX source
  tree from a release archive pinned by sha256 and translates it
  (rules/private/tree.bzl).
- `stagex_bootstrap_chain`, `stagex_bootstrap_stage_rule`,
  `stagex_bootstrap_toolchain`, `StagexBootstrapInfo` and `BOOTSTRAP_STAGES`
  make the bootstrap stages toolchains chosen by the target platform
  (rules/private/toolchain.bzl, toolchains/).
- `PLATFORM_TARGETS` names the platforms StageX builds for and their
  constraints, from which platforms/ declares its targets.
"""

load("//rules/private:compat.bzl", "sources_compatibility")
load("//rules/private:digest_test.bzl", _stagex_digest_test = "stagex_digest_test")
load("//rules/private:facts.bzl", _BOOTSTRAP_STAGES = "BOOTSTRAP_STAGES")
load("//rules/private:image.bzl", _stagex = "stagex")
load("//rules/private:index.bzl", _stagex_image_index = "stagex_image_index")
load("//rules/private:platform.bzl", _PLATFORM_TARGETS = "PLATFORM_TARGETS")
load("//rules/private:providers.bzl", _StagexImageInfo = "StagexImageInfo")
load("//rules/private:push.bzl", _stagex_push = "stagex_push")
load("//rules/private:signature.bzl", _stagex_signature_test = "stagex_signature_test")
load("//rules/private:stage.bzl", _stagex_stage = "stagex_stage")
load(
    "//rules/private:toolchain.bzl",
    _StagexBootstrapInfo = "StagexBootstrapInfo",
    _stagex_bootstrap_chain = "stagex_bootstrap_chain",
    _stagex_bootstrap_stage_rule = "stagex_bootstrap_stage_rule",
    _stagex_bootstrap_toolchain = "stagex_bootstrap_toolchain",
)
load("//rules/private:tree.bzl", _stagex_tree = "stagex_tree")
load("//rules/private:untranslated.bzl", _stagex_untranslated = "stagex_untranslated")

StagexImageInfo = _StagexImageInfo
StagexBootstrapInfo = _StagexBootstrapInfo
BOOTSTRAP_STAGES = _BOOTSTRAP_STAGES
PLATFORM_TARGETS = _PLATFORM_TARGETS
stagex_bootstrap_chain = _stagex_bootstrap_chain
stagex_bootstrap_stage_rule = _stagex_bootstrap_stage_rule
stagex_bootstrap_toolchain = _stagex_bootstrap_toolchain

def stagex_stage(name, sources = {}, target_compatible_with = [], **kwargs):
    """Builds one stage of a Containerfile; see the rule's documentation.

    Beyond the rule, this macro skips the stage on machines where its
    `sources` cannot be downloaded (see rules/private/compat.bzl).

    Args:
      name: the target name.
      sources: downloaded source files, label to path in the build context.
      target_compatible_with: further constraints, as for any target.
      **kwargs: the other attributes of the stagex_stage rule.
    """
    _stagex_stage(
        name = name,
        sources = sources,
        target_compatible_with = target_compatible_with + sources_compatibility(sources),
        **kwargs
    )

stagex_digest_test = _stagex_digest_test

stagex_signature_test = _stagex_signature_test

stagex_push = _stagex_push

stagex = _stagex

stagex_tree = _stagex_tree

stagex_untranslated = _stagex_untranslated

stagex_image_index = _stagex_image_index
