"""Public API of the StageX rules: load everything from this file.

- `stagex_stage` builds one stage of a Containerfile into an OCI image layout.
- `stagex_digest_test` checks a built image's digest against its pin.
- `StagexImageInfo` is what both pass around.
"""

load("//rules/private:compat.bzl", "sources_compatibility")
load("//rules/private:digest_test.bzl", _stagex_digest_test = "stagex_digest_test")
load("//rules/private:providers.bzl", _StagexImageInfo = "StagexImageInfo")
load("//rules/private:stage.bzl", _stagex_stage = "stagex_stage")

StagexImageInfo = _StagexImageInfo

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
