#!/bin/sh
# %{...} are expand_template placeholders, filled in by the rule.
# shellcheck disable=SC1083
# Written by stagex_signature_test %{label} from rules/private/signature_test.sh.tpl.
# Paths are relative to the runfiles directory the test starts in, so
# stagex-verify must not move to where `bazel run` was started.
unset BUILD_WORKING_DIRECTORY
exec %{command} "$@"
