#!/usr/bin/env bash
# Compares building the fixture images with this repository's runner
# (stagex_stage actions under Bazel) and with buildah, cold and warm.
#
#   tools/bench/buildah.sh [--work DIR] [--runs N] [--driver D] [PACKAGE_DIR...]
#
# PACKAGE_DIRs are fixture package directories in dependency order
# (default: fixtures/packages/core/{box,hex0,hello} and
# fixtures/packages/user/greeter). DIR (default: <checkout>/../stagex-bench,
# not under /tmp) holds a Bazel output base of its own and buildah's
# storage; it is kept between runs so that the tools need not be rebuilt.
#
# Ours, cold: the stage actions run again with the tools already built:
#   the script deletes the image outputs of the packages (Bazel notices and
#   re-runs exactly those actions) and times `bazel build` of them.
# Ours, warm: `bazel build` again with nothing to do (server running).
# Buildah, cold: empty storage; each package's Containerfile is built with
#   `buildah build --isolation chroot --timestamp 1 --layers --pull=never`
#   up to its published stage, with the same build arguments and context
#   files the stage actions got (read from their parameter files), and is
#   tagged stagex/<image name> so that later packages find it. "RUN
#   --network=none" becomes "RUN": Debian's buildah 1.28 knows no RUN
#   --network, and chroot isolation cannot remove the network anyway (it
#   refuses --network none), so buildah's RUN steps see the host network.
# Buildah, warm: the same builds again, every step from buildah's cache.
# Each figure is the median of N runs (default 3). D is buildah's storage
# driver (default overlay; vfs copies every layer and is slower).
#
# Needs buildah (Debian: apt-get install buildah) and root, as buildah's
# chroot isolation does. Prints a table; exit status 1 when a build fails.
set -euo pipefail

root=$(git -C "$(dirname "$0")" rev-parse --show-toplevel)
work="$(dirname "$root")/stagex-bench"
runs=3
driver=overlay
pkgs=()
while [ $# -gt 0 ]; do
  case "$1" in
    --work) work=$2; shift 2 ;;
    --runs) runs=$2; shift 2 ;;
    --driver) driver=$2; shift 2 ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 2 ;;
    -*) echo "buildah.sh: unknown option $1" >&2; exit 2 ;;
    *) pkgs+=("${1%/}"); shift ;;
  esac
done
[ ${#pkgs[@]} -gt 0 ] || pkgs=(fixtures/packages/core/box fixtures/packages/core/hex0 fixtures/packages/core/hello fixtures/packages/user/greeter)
work=$(realpath -m "$work")
case "$work/" in
  /tmp/*) echo "buildah.sh: $work is under /tmp, which Bazel's sandbox hides" >&2; exit 2 ;;
esac
command -v buildah >/dev/null || { echo "buildah.sh: buildah is not installed (apt-get install buildah)" >&2; exit 2; }

ob="$work/ob"
store=(--storage-driver "$driver" --root "$work/storage" --runroot "$work/run")
mkdir -p "$work"
# reset_storage empties buildah's storage: no image, no cached layer.
reset_storage() {
  buildah "${store[@]}" rm --all >/dev/null 2>&1 || true
  buildah "${store[@]}" rmi --all --force >/dev/null 2>&1 || true
  awk -v d="$work/" 'index($2, d) == 1 {print $2}' /proc/mounts | LC_ALL=C sort -r | xargs -r umount 2>/dev/null || true
  rm -rf "$work/storage" "$work/run"
}

trap 'bazel --output_base="$ob" shutdown >/dev/null 2>&1 || true; reset_storage' EXIT
cd "$root"

now() { date +%s.%N; }
elapsed() { awk "BEGIN {printf \"%.2f\", $2 - $1}"; }
median() { LC_ALL=C sort -n | awk '{v[NR] = $1} END {print v[int((NR + 1) / 2)]}'; }
b() { bazel --output_base="$ob" "$@"; }

targets=()
for p in "${pkgs[@]}"; do targets+=("//$p:all"); done

: >"$work/buildah.log"
: >"$work/ours.log"
echo "buildah.sh: building the tools and images once in $ob"
b build "${targets[@]}" >"$work/first.log" 2>&1 || { tail -20 "$work/first.log"; exit 1; }
bin=$(b info bazel-bin 2>/dev/null)
execroot=$(b info execution_root 2>/dev/null)

# param VALUE-OF FLAG FILE: the values of FLAG in a parameter file.
param() { awk -v f="$1" 'prev == f {print} {prev = $0}' "$2"; }

# for_buildah IN OUT CTX writes to OUT the Containerfile IN in a form
# Debian 12's buildah (1.28) builds: it knows neither heredocs nor RUN
# --network. A heredoc RUN script goes to the context and is run through a
# bind mount (no trace in the image); a heredoc COPY source becomes a
# context file. "RUN --network=none" becomes "RUN": with chroot isolation
# buildah cannot take the network away at all (it refuses --network none),
# so its RUN steps see the host's network.
for_buildah() {
  python3 - "$@" <<'EOF'
import re, sys
src, out, ctx = sys.argv[1:]
lines = open(src).read().split("\n")
res, i, n = [], 0, 0
while i < len(lines):
    line = lines[i].replace("RUN --network=none ", "RUN ", 1)
    i += 1
    m = re.match(r"^(RUN|COPY)\b(.*?)<<(-?)[\"']?(\w+)[\"']?(.*)$", line)
    if not m:
        res.append(line)
        continue
    kind, pre, dash, delim, post = m.groups()
    body = []
    while i < len(lines) and (lines[i].lstrip("\t") if dash else lines[i]) != delim:
        body.append(lines[i].lstrip("\t") if dash else lines[i])
        i += 1
    i += 1
    n += 1
    name = "heredoc-%d" % n
    with open("%s/%s" % (ctx, name), "w") as f:
        f.write("\n".join(body) + "\n")
    if kind == "RUN":
        res.append("RUN --mount=type=bind,source=%s,target=/.%s%s sh /.%s%s" % (name, name, pre, name, post))
    else:
        res.append("COPY%s %s%s" % (pre, name, post))
open(out, "w").write("\n".join(res))
EOF
}

# Prepare each package's buildah context and arguments from the parameter
# files of its stage actions.
declare -A bargs btarget bname
stages=0
for p in "${pkgs[@]}"; do
  ctx="$work/ctx/$p"
  rm -rf "$ctx"
  mkdir -p "$ctx"
  args=()
  for pf in "$bin/$p"/*.oci-0.params; do
    stages=$((stages + 1))
    while IFS='=' read -r key file; do
      [ -n "$key" ] || continue
      mkdir -p "$(dirname "$ctx/$key")"
      cp -L "$execroot/$file" "$ctx/$key"
    done < <(param --context "$pf")
    name=$(param --image-name "$pf")
    if [ -n "$name" ]; then
      bname[$p]=$name
      btarget[$p]=$(param --stage "$pf")
      while read -r a; do args+=(--build-arg "$a"); done < <(param --build-arg "$pf")
    fi
  done
  [ -n "${bname[$p]:-}" ] || { echo "buildah.sh: $p publishes no image" >&2; exit 1; }
  for_buildah "$root/$p/Containerfile" "$ctx.Containerfile" "$ctx"
  bargs[$p]="${args[*]}"
done

buildah_all() {
  local p
  for p in "${pkgs[@]}"; do
    # shellcheck disable=SC2086 # build arguments hold no spaces
    buildah "${store[@]}" build --isolation chroot --timestamp 1 --layers --pull=never \
      --target "${btarget[$p]}" ${bargs[$p]} -t "stagex/${bname[$p]}" \
      -f "$work/ctx/$p.Containerfile" "$work/ctx/$p" >>"$work/buildah.log" 2>&1 ||
      { echo "buildah.sh: buildah failed on $p; see $work/buildah.log" >&2; tail -20 "$work/buildah.log" >&2; exit 1; }
  done
}

ours_cold() {
  local p
  for p in "${pkgs[@]}"; do
    chmod -R u+w "$bin/$p" 2>/dev/null || true
    find "$bin/$p" -maxdepth 1 \( -name '*.oci' -o -name '*.digest' \) -exec rm -rf {} +
  done
  b build "${targets[@]}" >>"$work/ours.log" 2>&1
}

declare -A times
for i in $(seq "$runs"); do
  s=$(now); ours_cold; times[ours_cold]+="$(elapsed "$s" "$(now)") "
  grep -E '^INFO: [0-9]+ processes' "$work/ours.log" | tail -1 >"$work/ours-cold-processes.txt"
  s=$(now); b build "${targets[@]}" >>"$work/ours.log" 2>&1; times[ours_warm]+="$(elapsed "$s" "$(now)") "
  reset_storage
  s=$(now); buildah_all; times[buildah_cold]+="$(elapsed "$s" "$(now)") "
  s=$(now); buildah_all; times[buildah_warm]+="$(elapsed "$s" "$(now)") "
done

echo
echo "packages: ${pkgs[*]} ($stages stage actions; median of $runs runs, seconds)"
echo "ours cold re-ran: $(sed 's/^INFO: //' "$work/ours-cold-processes.txt")"
printf '%-8s %10s %10s %8s\n' "" ours buildah ratio
for kind in cold warm; do
  o=$(echo "${times[ours_$kind]}" | tr ' ' '\n' | grep . | median)
  h=$(echo "${times[buildah_$kind]}" | tr ' ' '\n' | grep . | median)
  printf '%-8s %10s %10s %8s\n' "$kind" "$o" "$h" "$(awk "BEGIN {printf \"%.2f\", $o / $h}")"
done
echo "(ratio = ours / buildah; all runs: ours cold ${times[ours_cold]}| ours warm ${times[ours_warm]}| buildah cold ${times[buildah_cold]}| buildah warm ${times[buildah_warm]})"
