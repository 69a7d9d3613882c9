#!/usr/bin/env bash
# Reproducibility check: builds the fixture images from scratch twice under
# different conditions and shows that every image digest (and every byte of
# every image layout) is the same; then builds them a third time from a
# checkout at yet another path that shares only a --disk_cache with the
# first build, and reports how many actions came from that cache.
#
#   tools/scripts/repro.sh [--work DIR] [--keep] [--jobs N] [TARGET_PATTERN...]
#
# Default patterns: //fixtures/... . DIR (default: <checkout>/../stagex-repro)
# is wiped and must not be under /tmp: Bazel's sandbox mounts an empty /tmp
# over it. The script copies the working tree (tracked and untracked files
# that are not ignored, plus the machine's .bazelrc.offline), so uncommitted
# changes are part of the check.
#
# What differs between build A and build B:
#   - checkout path       DIR/a/stagex      vs DIR/b/some/deeper/path/checkout
#   - output base         DIR/ob-a          vs DIR/ob-b (separate servers, no
#                                              shared cache of any kind)
#   - umask (checkout and Bazel server)  022 vs 077, so files on disk are
#     0644/0755 in A and 0600/0700 in B
#   - TMPDIR              DIR/tmp-a         vs DIR/tmp-b
#   - locale              LANG=C.UTF-8 LC_ALL=C vs LANG=fr_FR.UTF-8
#                         LC_ALL=fr_FR.UTF-8
#   - time zone           TZ=UTC            vs TZ=Pacific/Kiritimati (UTC+14)
#   - parallelism         --jobs=N          vs --jobs=1
#   - wall clock          B starts after A has finished (minutes later).
#     No fake clock: faketime is not installed here, and a time namespace
#     (unshare --time) shifts only the monotonic and boot clocks, not the
#     wall clock. The runner clamps every time it writes to
#     SOURCE_DATE_EPOCH=1 whatever the clock says.
# Build C: checkout DIR/c/elsewhere/x, output base DIR/ob-c, same
# --disk_cache as A, every output fetched from it (--remote_download_outputs=
# all). Its processes must all be disk cache hits (or internal).
#
# Output: a report on stdout and in DIR/report.txt; exit status 1 when a
# digest differs or C missed the cache for a StagexStage action.
set -euo pipefail

root=$(git -C "$(dirname "$0")" rev-parse --show-toplevel)
# shellcheck source=tools/scripts/lib/checkout.sh
. "$root/tools/scripts/lib/checkout.sh"
work="$(dirname "$root")/stagex-repro"
keep=0
jobs=$(nproc)
targets=()
while [ $# -gt 0 ]; do
  case "$1" in
    --work) work=$2; shift 2 ;;
    --keep) keep=1; shift ;;
    --jobs) jobs=$2; shift 2 ;;
    -h|--help) usage ;;
    -*) echo "repro: unknown option $1" >&2; usage ;;
    *) targets+=("$1"); shift ;;
  esac
done
[ ${#targets[@]} -gt 0 ] || targets=(//fixtures/...)

work=$(work_dir repro "$work" "$root")

servers=()
# shellcheck disable=SC2317 # the EXIT trap runs it
cleanup() {
  # Stop only the Bazel servers this script started, each by its output base.
  for ob in "${servers[@]}"; do
    bazel --output_base="$ob" shutdown >/dev/null 2>&1 || true
  done
  if [ "$keep" = 0 ]; then
    chmod -R u+w "$work" 2>/dev/null || true
    rm -rf "$work/ob-a" "$work/ob-b" "$work/ob-c" "$work/a" "$work/b" "$work/c" "$work/tmp-a" "$work/tmp-b" "$work/tmp-c" "$work/disk-cache" "$work/a.exec.json" "$work/c.exec.json"
  fi
}
trap cleanup EXIT

fresh_work_dir repro "$work"
report="$work/report.txt"
: >"$report"
say() { echo "$*" | tee -a "$report"; }

# build NAME TREE UMASK LANG LC_ALL TZ BAZEL_FLAGS...: a cold `bazel test`
# of the targets in its own output base; writes DIR/NAME.log,
# DIR/NAME.digests and DIR/NAME.files. The digest tests compare with the
# pins: their failures are reported, but what this script checks is that
# the builds agree with each other.
build() {
  local name=$1 tree=$2 mask=$3 lang=$4 lcall=$5 tz=$6
  shift 6
  local ob="$work/ob-$name" tmp="$work/tmp-$name" start end status=0
  mkdir -p "$tmp"
  servers+=("$ob")
  start=$(date +%s.%N)
  (
    cd "$tree"
    umask "$mask"
    export TMPDIR="$tmp" LANG="$lang" LC_ALL="$lcall" TZ="$tz"
    bazel --output_base="$ob" test --keep_going --test_output=errors "$@" "${targets[@]}"
  ) >"$work/$name.log" 2>&1 || status=$?
  end=$(date +%s.%N)
  say "build $name: exit $status in $(awk "BEGIN {printf \"%.2f\", $end - $start}") s ($(grep -E '^INFO: [0-9]+ processes' "$work/$name.log" | tail -1 | sed 's/^INFO: //'))"
  case "$status" in
    0) ;;
    3) # Built, but tests failed: digests differ from the pins.
      say "build $name: digest tests failed (pins out of date?):"
      grep -E '^stagex-digests: ' "$work/$name.log" | LC_ALL=C sort -u | sed 's/^/  /' | tee -a "$report" ;;
    *) tail -30 "$work/$name.log" >&2
      say "build $name failed; see $work/$name.log"
      exit 1 ;;
  esac
  local out
  out=$(cd "$tree" && bazel --output_base="$ob" info output_path 2>/dev/null)
  image_digests "$out" >"$work/$name.digests"
  layout_files "$out" >"$work/$name.files"
}

# cache_stats NAME: per mnemonic, spawns and disk cache hits, from the
# execution log of build NAME.
cache_stats() {
  if ! command -v jq >/dev/null; then
    echo "(jq is not installed: no per-mnemonic figures)"
    return
  fi
  spawn_stats "$work/$1.exec.json"
}

say "repro: checkout $root, targets ${targets[*]}, work $work"
say "repro: $(git -C "$root" rev-parse --short HEAD)$(git -C "$root" diff --quiet HEAD || echo ' + uncommitted changes')"

copy_tree "$root" "$work/a/stagex" 022
copy_tree "$root" "$work/b/some/deeper/path/checkout" 077
copy_tree "$root" "$work/c/elsewhere/x" 022

build a "$work/a/stagex" 022 C.UTF-8 C UTC \
  --jobs="$jobs" --disk_cache="$work/disk-cache" --execution_log_json_file="$work/a.exec.json"

# The same command again right after, with the warm server: nothing to do.
start=$(date +%s.%N)
(cd "$work/a/stagex" && bazel --output_base="$work/ob-a" test --keep_going --test_output=errors \
  --jobs="$jobs" --disk_cache="$work/disk-cache" "${targets[@]}") >"$work/a-noop.log" 2>&1
end=$(date +%s.%N)
say "no-op repeat of A (warm server): $(awk "BEGIN {printf \"%.2f\", $end - $start}") s ($(grep -E '^INFO: [0-9]+ process' "$work/a-noop.log" | tail -1 | sed 's/^INFO: //'))"

build b "$work/b/some/deeper/path/checkout" 077 fr_FR.UTF-8 fr_FR.UTF-8 Pacific/Kiritimati \
  --jobs=1

# Bazel 7 fetches only top-level outputs from a cache; C must have every
# output on disk (the per-platform images of an image index, too) for the
# comparison.
build c "$work/c/elsewhere/x" 022 C.UTF-8 C UTC \
  --jobs="$jobs" --disk_cache="$work/disk-cache" --execution_log_json_file="$work/c.exec.json" \
  --remote_download_outputs=all

fail=0
say ""
say "image digests (A):"
sed 's/^/  /' "$work/a.digests" | tee -a "$report"
if [ ! -s "$work/a.digests" ]; then
  say "no image was built"
  fail=1
fi
for other in b c; do
  if diff -u "$work/a.digests" "$work/$other.digests" >"$work/a-$other.diff" &&
     diff -u "$work/a.files" "$work/$other.files" >>"$work/a-$other.diff"; then
    say "A and ${other^^}: identical ($(wc -l <"$work/a.digests") digests, $(wc -l <"$work/a.files") layout files)"
  else
    say "A and ${other^^} DIFFER: see $work/a-$other.diff"
    fail=1
  fi
done

say ""
say "build A, spawns per mnemonic (disk cache empty at start):"
cache_stats a | tee -a "$report"
say "build C, spawns per mnemonic (disk cache filled by A):"
cache_stats c | tee -a "$report"
line=$(grep -E '^INFO: [0-9]+ processes' "$work/c.log" | tail -1 || true)
total=$(echo "$line" | sed -nE 's/^INFO: ([0-9]+) processes.*/\1/p')
hits=$(echo "$line" | sed -nE 's/.* ([0-9]+) disk cache hit.*/\1/p')
internal=$(echo "$line" | sed -nE 's/.* ([0-9]+) internal.*/\1/p')
total=${total:-0} hits=${hits:-0} internal=${internal:-0}
if [ $((total - internal)) -gt 0 ]; then
  say "build C: $hits of $((total - internal)) non-internal processes were disk cache hits ($((100 * hits / (total - internal)))%)"
fi
if command -v jq >/dev/null; then
  miss=$(spawn_misses "$work/c.exec.json" | awk '$1 == "StagexStage" { print $2 }')
  if [ -n "$miss" ]; then
    say "StagexStage actions C ran instead of taking from the cache:"
    echo "$miss" | sed 's/^/  /' | tee -a "$report"
    fail=1
  fi
fi
say ""
if [ "$fail" = 0 ]; then
  say "repro: OK"
else
  say "repro: FAILED"
fi
exit "$fail"
