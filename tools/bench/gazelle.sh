#!/usr/bin/env bash
# Benchmark: Gazelle with the StageX language over a generated tree shaped
# like the real one (450 packages by default). Prints the wall time of a
# first run, of a second run, and whether the second run changed anything.
#
#   tools/bench/gazelle.sh [PACKAGES]
#
# It times the Gazelle binary that `bazel run //:gazelle` runs (built
# first), in the generated tree, without Bazel's own start-up.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
n=${1:-450}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

bazel build //:gazelle_bin //tools/cmd/benchtree >/dev/null 2>&1
bin=$(bazel cquery --output=files //:gazelle_bin 2>/dev/null)
gen=$(bazel cquery --output=files //tools/cmd/benchtree 2>/dev/null)

"$gen" -out "$work/tree" -packages "$n"
cp -r "$work/tree" "$work/pristine"

run() {
  local start end
  start=$(date +%s%N)
  (cd "$work/tree" && "$OLDPWD/$bin" -repo_root="$work/tree" -go_prefix=bench >/dev/null)
  end=$(date +%s%N)
  echo $(( (end - start) / 1000000 ))
}
first=$(run)
builds=$(find "$work/tree" -name BUILD.bazel | wc -l)
sum1=$(cd "$work/tree" && find . -type f | sort | xargs sha256sum | sha256sum)
second=$(run)
sum2=$(cd "$work/tree" && find . -type f | sort | xargs sha256sum | sha256sum)

echo "gazelle over $n packages: first run ${first} ms ($builds BUILD files written), second run ${second} ms"
if [ "$sum1" = "$sum2" ]; then
  echo "second run: no file changed"
else
  echo "second run: files changed (not idempotent)" >&2
  exit 1
fi
