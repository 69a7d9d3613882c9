#!/bin/sh
# %{...} are expand_template placeholders, filled in by the rule.
# shellcheck disable=SC1083
# Written by stagex_digest_test %{label} from rules/private/digest_test.sh.tpl.
# Paths are relative to the runfiles directory the test starts in.
exec %{command}
