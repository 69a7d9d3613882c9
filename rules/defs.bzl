"""Public API of the StageX rules: load the rules from this file.

This file only re-exports; the rules live in rules/private/, the module
extensions (`stagex`, `stagex_tree`) in rules/extensions.bzl.

- `stagex_stage` builds one stage of a Containerfile into an OCI image layout
  (a macro around `stagex_stage_rule`, which holds the attributes).
- `stagex_image_index` builds an image for several platforms and joins them
  in a multi-platform image index.
- `stagex_digest_test` checks a built image's (or index's) digest against its pin.
- `stagex_signature_test` checks that images carry a threshold of maintainer signatures.
- `stagex_push` makes `bazel run` push an image or index to a registry by digest.
- `stagex_untranslated` stands for a package that does not translate: what
  uses it fails with the translator's error.
- `stagex_bootstrap_chain`, `stagex_bootstrap_stage_rule` and
  `stagex_bootstrap_toolchain` make the bootstrap stages toolchains chosen
  by the target platform (toolchains/).
- `StagexImageInfo`, `StagexImageIndexInfo` and `StagexBootstrapInfo` are the
  providers; `BOOTSTRAP_STAGES` lists the bootstrap stages.
- `PLATFORM_TARGETS` names the platforms StageX builds for and their
  constraints, from which platforms/ declares its targets.
"""

load("//rules/private:digest_test.bzl", _stagex_digest_test = "stagex_digest_test")
load("//rules/private:facts.bzl", _BOOTSTRAP_STAGES = "BOOTSTRAP_STAGES")
load("//rules/private:index.bzl", _stagex_image_index = "stagex_image_index")
load("//rules/private:platform.bzl", _PLATFORM_TARGETS = "PLATFORM_TARGETS")
load(
    "//rules/private:providers.bzl",
    _StagexBootstrapInfo = "StagexBootstrapInfo",
    _StagexImageIndexInfo = "StagexImageIndexInfo",
    _StagexImageInfo = "StagexImageInfo",
)
load("//rules/private:push.bzl", _stagex_push = "stagex_push")
load("//rules/private:signature.bzl", _stagex_signature_test = "stagex_signature_test")
load("//rules/private:stage.bzl", _stagex_stage = "stagex_stage", _stagex_stage_rule = "stagex_stage_rule")
load(
    "//rules/private:toolchain.bzl",
    _stagex_bootstrap_chain = "stagex_bootstrap_chain",
    _stagex_bootstrap_stage_rule = "stagex_bootstrap_stage_rule",
    _stagex_bootstrap_toolchain = "stagex_bootstrap_toolchain",
)
load("//rules/private:untranslated.bzl", _stagex_untranslated = "stagex_untranslated")

StagexImageInfo = _StagexImageInfo
StagexImageIndexInfo = _StagexImageIndexInfo
StagexBootstrapInfo = _StagexBootstrapInfo
BOOTSTRAP_STAGES = _BOOTSTRAP_STAGES
PLATFORM_TARGETS = _PLATFORM_TARGETS

stagex_stage = _stagex_stage
stagex_stage_rule = _stagex_stage_rule
stagex_image_index = _stagex_image_index
stagex_digest_test = _stagex_digest_test
stagex_signature_test = _stagex_signature_test
stagex_push = _stagex_push
stagex_untranslated = _stagex_untranslated
stagex_bootstrap_chain = _stagex_bootstrap_chain
stagex_bootstrap_stage_rule = _stagex_bootstrap_stage_rule
stagex_bootstrap_toolchain = _stagex_bootstrap_toolchain
