#!/usr/bin/env bash
# Times a no-op build: `bazel build` of the patterns (default //fixtures/...)
# right after a build of the same patterns, with the Bazel server running,
# as a developer sees it after editing nothing.
#
#   tools/bench/noop.sh [--runs N] [PATTERN...]
#
# Prints each time and the median, min and max in seconds; exit status 1
# when a "no-op" build ran any action (it then is no no-op).
set -euo pipefail

runs=5
targets=()
while [ $# -gt 0 ]; do
  case "$1" in
    --runs) runs=$2; shift 2 ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 2 ;;
    *) targets+=("$1"); shift ;;
  esac
done
[ ${#targets[@]} -gt 0 ] || targets=(//fixtures/...)
cd "$(git -C "$(dirname "$0")" rev-parse --show-toplevel)"

log=$(mktemp)
trap 'rm -f "$log"' EXIT
bazel build "${targets[@]}" >"$log" 2>&1 || { tail -20 "$log" >&2; exit 1; }
times=()
for _ in $(seq "$runs"); do
  start=$(date +%s.%N)
  bazel build "${targets[@]}" >"$log" 2>&1
  end=$(date +%s.%N)
  t=$(awk "BEGIN {printf \"%.3f\", $end - $start}")
  procs=$(grep -E '^INFO: [0-9]+ process' "$log" | tail -1 | sed 's/^INFO: //')
  echo "no-op build: $t s ($procs)"
  case "$procs" in
    *linux-sandbox*|*processwrapper*|*local*|*disk\ cache*) echo "noop.sh: the build ran actions" >&2; exit 1 ;;
  esac
  times+=("$t")
done
printf '%s\n' "${times[@]}" | LC_ALL=C sort -n |
  awk '{v[NR] = $1} END {printf "median %.3f s, min %.3f s, max %.3f s over %d runs of bazel build %s\n", v[int((NR + 1) / 2)], v[1], v[NR], NR, T}' T="${targets[*]}"
