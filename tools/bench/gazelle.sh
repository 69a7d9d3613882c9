#!/usr/bin/env bash
# Benchmark: Gazelle with the StageX language over a tree of packages.
# Prints the wall and CPU time of a first run, of a second run, and whether
# the second run changed anything.
#
#   tools/bench/gazelle.sh [PACKAGES]      a generated tree shaped like
#                                          the real one (450 packages)
#   tools/bench/gazelle.sh ARCHIVE.tar.gz  a real StageX release, e.g.
#                                          ../shared/stagex-trees/stagex-2026.01.0.tar.gz
#
# It times the Gazelle binary that `bazel run //:gazelle` runs (built
# first), in the tree, without Bazel's own start-up. The real tree's
# packages/ and digests/ are copied as a user would copy them next to ours.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
arg=${1:-450}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

bazel build //:gazelle_bin //tools/bench/cmd/benchtree >/dev/null 2>&1
bin=$(bazel cquery --output=files //:gazelle_bin 2>/dev/null)
gen=$(bazel cquery --output=files //tools/bench/cmd/benchtree 2>/dev/null)

if [[ $arg == *.tar.gz ]]; then
  mkdir -p "$work/tree"
  tar -xzf "$arg" -C "$work/tree" --strip-components=1 --wildcards '*/packages/*' '*/digests/*'
  what="$(basename "$arg" .tar.gz) ($(find "$work/tree/packages" -mindepth 3 -maxdepth 3 -name Containerfile | wc -l) Containerfiles)"
else
  "$gen" -out "$work/tree" -packages "$arg" >/dev/null
  what="$arg generated packages"
fi

run() {
  local start end
  start=$(date +%s%N)
  (cd "$work/tree" && /usr/bin/time -f "%U %S" -o "$work/cpu" "$OLDPWD/$bin" -repo_root="$work/tree" -go_prefix=bench >/dev/null 2>"$work/stderr") ||
    { cat "$work/stderr" >&2; exit 1; }
  end=$(date +%s%N)
  read -r user sys <"$work/cpu"
  echo "$(( (end - start) / 1000000 )) ms wall, ${user}+${sys} s CPU"
}
first=$(run)
builds=$(find "$work/tree" -name BUILD.bazel | wc -l)
sum1=$(cd "$work/tree" && find . -type f | sort | xargs sha256sum | sha256sum)
second=$(run)
sum2=$(cd "$work/tree" && find . -type f | sort | xargs sha256sum | sha256sum)

echo "gazelle over $what: first run $first ($builds BUILD files written), second run $second"
if [ "$sum1" = "$sum2" ]; then
  echo "second run: no file changed"
else
  echo "second run: files changed (not idempotent)" >&2
  exit 1
fi
