# shellcheck shell=bash
# Shell functions shared by tools/scripts/repro.sh and tools/scripts/remote_cache.sh, which
# build the same sources from several checkouts. Source it; it sets nothing
# else.

# usage: the calling script's header comment (line 2 up to `set -euo`) as
# its help; exits 2.
usage() {
  sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'
  exit 2
}

# work_dir TOOL DIR ROOT: DIR made absolute, after checking that it may be
# the tool's scratch directory: not under /tmp (Bazel's sandbox mounts an
# empty /tmp over it), not inside the checkout ROOT, and, when it exists,
# made by TOOL before (it holds .stagex-TOOL), since it will be wiped.
# Exits 2 otherwise.
work_dir() {
  local tool=$1 dir
  dir=$(realpath -m "$2")
  case "$dir/" in
    /tmp/*) echo "$tool: $dir is under /tmp, which Bazel's sandbox hides; choose another --work" >&2; exit 2 ;;
    "$3"/*) echo "$tool: $dir is inside the checkout; choose a directory outside it" >&2; exit 2 ;;
  esac
  if [ -e "$dir" ] && [ ! -e "$dir/.stagex-$tool" ]; then
    echo "$tool: $dir exists and was not made by this script; refusing to wipe it" >&2
    exit 2
  fi
  echo "$dir"
}

# fresh_work_dir TOOL DIR: wipes DIR (output bases in it hold read-only
# trees) and makes it again, marked as TOOL's.
fresh_work_dir() {
  if [ -e "$2" ]; then
    chmod -R u+w "$2" 2>/dev/null || true
    rm -rf "$2"
  fi
  mkdir -p "$2"
  touch "$2/.stagex-$1"
}

# copy_tree ROOT DEST UMASK: the working tree of ROOT as a fresh checkout made
# under UMASK would be (modes from the umask, not from the source tree):
# tracked files and untracked ones that are not ignored, so uncommitted
# changes count, plus the machine's .bazelrc.offline.
copy_tree() {
  local root=$1 dest=$2 mask=$3
  mkdir -p "$dest"
  (cd "$root" && git ls-files -z -co --exclude-standard) |
    tar -C "$root" --null --ignore-failed-read -T - -cf - 2>/dev/null |
    (umask "$mask" && tar -C "$dest" --no-same-permissions --no-same-owner -xf -)
  if [ -f "$root/.bazelrc.offline" ]; then
    cp "$root/.bazelrc.offline" "$dest/"
  fi
}

# image_digests OUTPUT_PATH: "<path under bazel-out> <digest>" for every
# image layout built there (every configuration: a stage pinned to another
# platform builds in a configuration of its own), sorted.
image_digests() {
  (cd "$1" && find . -path './*/bin/*' -name '*.digest' -type f | LC_ALL=C sort | while read -r f; do
    [ -d "${f%.digest}.oci" ] && echo "${f#./} $(cat "$f")"
  done)
}

# layout_files OUTPUT_PATH: sha256 and path of every file of every image
# layout built there, sorted by path.
layout_files() {
  (cd "$1" && find . -path './*/bin/*.oci/*' -type f -print0 | xargs -0 -r sha256sum | LC_ALL=C sort -k2)
}

# spawn_stats EXEC_LOG_JSON: per mnemonic, spawns and cache hits (disk or
# remote), from an execution log
# written by --execution_log_json_file.
spawn_stats() {
  jq -r '[.mnemonic, (.cacheHit // false)] | @tsv' "$1" |
    awk -F'\t' '{n[$1]++; if ($2 == "true") h[$1]++} END {for (m in n) printf "  %-22s %4d spawns, %4d cache hits (%.0f%%)\n", m, n[m], h[m], 100 * h[m] / n[m]}' |
    LC_ALL=C sort
}

# spawn_misses EXEC_LOG_JSON: "<mnemonic> <target>" of each spawn that was
# executed instead of taken from a cache.
spawn_misses() {
  jq -r 'select((.cacheHit // false) == false) | "\(.mnemonic) \(.targetLabel // "?")"' "$1"
}
