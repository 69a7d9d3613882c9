#!/bin/sh
# %{...} are expand_template placeholders, filled in by the rule.
# shellcheck disable=SC1083
# Written by stagex_push %{label} from rules/private/push.sh.tpl.
set -eu
# Paths below are relative to the main repository's runfiles directory,
# where `bazel run` starts; find it when run from elsewhere.
if [ ! -e %{layout} ]; then
  r="${RUNFILES_DIR:-$0.runfiles}"
  cd "$r"/%{workspace}
fi
exec %{command} "$@"
