"""The stage resolvers of this repository's bootstrap chain.

A rule names its toolchain types when it is defined, so each bootstrap
stage has its own resolver rule; see rules/private/toolchain.bzl.
"""

load("//rules:defs.bzl", "stagex_bootstrap_stage_rule")

bootstrap_stage0 = stagex_bootstrap_stage_rule(Label("//toolchains:stage0"))
bootstrap_stage1 = stagex_bootstrap_stage_rule(Label("//toolchains:stage1"))
bootstrap_stage2 = stagex_bootstrap_stage_rule(Label("//toolchains:stage2"))
bootstrap_stage3 = stagex_bootstrap_stage_rule(Label("//toolchains:stage3"))
