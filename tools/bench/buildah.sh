#!/usr/bin/env bash
# Compares building the fixture images with this repository's runner
# (stagex_stage actions under Bazel) and with buildah, cold and warm.
#
#   tools/bench/buildah.sh [--work DIR] [--runs N] [--driver D]
#                          [--buildah PATH] [PACKAGE_DIR...]
#
# PACKAGE_DIRs are fixture package directories in dependency order
# (default: fixtures/packages/core/{box,hex0,hello} and
# fixtures/packages/user/greeter). DIR (default: <checkout>/../stagex-bench,
# not under /tmp) holds a Bazel output base of its own and buildah's
# storage; it is kept between runs so that the tools need not be rebuilt.
# PATH is the buildah to run (default: buildah on $PATH).
#
# Ours, cold: the stage actions run again with the tools already built:
#   the script deletes the image outputs of the packages (Bazel notices and
#   re-runs exactly those actions) and times `bazel build` of them.
# Ours, warm: `bazel build` again with nothing to do (server running).
# Buildah, cold: empty storage; each package's Containerfile is built with
#   `buildah build --isolation chroot --timestamp 1 --layers --pull=never`
#   up to its published stage, with the same build arguments and context
#   files the stage actions got (read from their parameter files), and is
#   tagged stagex/<image name> so that later packages find it.
# Buildah, warm: the same builds again, every step from buildah's cache.
# Each figure is the median of N runs (default 3). D is buildah's storage
# driver (default overlay; vfs copies every layer and is slower).
#
# Before timing, the script asks the buildah binary what it can do, by
# building tiny Containerfiles on a static shell (//tools/testing/cmd/stagex-box):
# - heredocs (RUN <<-EOF, COPY <<-EOF, with the shell, not buildah,
#   expanding the script's variables): upstream added them in 1.33; when
#   they are missing (Debian 12's 1.28), a heredoc RUN script goes to the
#   context and runs through a bind mount (no trace in the image), and a
#   heredoc COPY source becomes a context file;
# - RUN --network=none: upstream added it in 1.30; when it is missing,
#   "RUN --network=none" becomes "RUN";
# - whether a RUN --network=none step, or one of a build given
#   `--network none`, sees no network interface but loopback. Chroot
#   isolation refuses `--network none` (1.28 and 1.43 alike), and 1.43
#   accepts RUN --network=none there but leaves the step in the host's
#   network; when `--network none` does isolate, the builds get it.
# A buildah that has both features gets the fixture Containerfiles
# unchanged; the script says which it did. Buildah 1.43, run as root,
# raises the RUN steps' RLIMIT_NOFILE and RLIMIT_NPROC to 1048576, which
# fails where the hard limits are lower and cannot be raised; the builds
# then get `--ulimit` with the current limits.
#
# LD_LIBRARY_PATH, when set, is for buildah only (Bazel runs without it).
# Buildah's chroot isolation re-executes buildah with an environment of
# its own, which drops LD_LIBRARY_PATH, so buildah then runs in a mount
# namespace of its own (unshare --mount) with a loader cache that also
# lists those directories (ldconfig -C, in DIR) bound over
# /etc/ld.so.cache. The machine's own files are not changed.
#
# Needs buildah (Debian: apt-get install buildah) and root, as buildah's
# chroot isolation does. Prints a table; exit status 1 when a build fails.
set -euo pipefail

root=$(git -C "$(dirname "$0")" rev-parse --show-toplevel)
work="$(dirname "$root")/stagex-bench"
runs=3
driver=overlay
buildah_bin=buildah
pkgs=()
while [ $# -gt 0 ]; do
  case "$1" in
    --work) work=$2; shift 2 ;;
    --runs) runs=$2; shift 2 ;;
    --driver) driver=$2; shift 2 ;;
    --buildah) buildah_bin=$2; shift 2 ;;
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
buildah_bin=$(command -v "$buildah_bin") ||
  { echo "buildah.sh: no buildah at ${buildah_bin} (Debian: apt-get install buildah)" >&2; exit 2; }
mkdir -p "$work"

# bh runs buildah; with LD_LIBRARY_PATH set, in a mount namespace where the
# loader finds those directories without the environment (see above).
libpath=${LD_LIBRARY_PATH:-}
unset LD_LIBRARY_PATH
bh_cmd=("$buildah_bin")
if [ -n "$libpath" ]; then
  { tr ':' '\n' <<<"$libpath" | grep .; echo 'include /etc/ld.so.conf'; } >"$work/ld.so.conf"
  ldconfig -X -C "$work/ld.so.cache" -f "$work/ld.so.conf"
  # shellcheck disable=SC2016 # $0 and $@ belong to the inner shell
  bh_cmd=(env "LD_LIBRARY_PATH=$libpath" unshare --mount
    sh -c 'mount --bind "$0" /etc/ld.so.cache && exec "$@"' "$work/ld.so.cache" "$buildah_bin")
fi
bh() { "${bh_cmd[@]}" "$@"; }
version=$(bh --version | awk '{print $3}')
[ -n "$version" ] || { echo "buildah.sh: $buildah_bin --version printed no version" >&2; exit 2; }

ob="$work/ob"
store=(--storage-driver "$driver" --root "$work/storage" --runroot "$work/run")
# reset_storage empties buildah's storage: no image, no cached layer.
reset_storage() {
  bh "${store[@]}" rm --all >/dev/null 2>&1 || true
  bh "${store[@]}" rmi --all --force >/dev/null 2>&1 || true
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
b build //tools/testing/cmd/stagex-box "${targets[@]}" >"$work/first.log" 2>&1 || { tail -20 "$work/first.log"; exit 1; }
execroot=$(b info execution_root 2>/dev/null)
box=$execroot/$(b cquery --output=files //tools/testing/cmd/stagex-box 2>/dev/null | head -1)
# Each package's output directory (the directory of the layout its main
# target builds): bazel-bin's, unless its stage pins a platform.
declare -A outdir
for p in "${pkgs[@]}"; do
  layout=$(b cquery --output=files "//$p" 2>/dev/null | grep '\.oci$' | head -1)
  [ -n "$layout" ] || { echo "buildah.sh: no output for //$p" >&2; exit 1; }
  outdir[$p]=$execroot/$(dirname "$layout")
done

# What this buildah can do: each probe builds the base below plus its own
# lines (the base comes from the cache after the first probe); status 0
# when the build succeeds. Probe logs: DIR/probe/*.log.
probes="$work/probe"
rm -rf "$probes"
mkdir -p "$probes/ctx"
cp "$box" "$probes/ctx/stagex-box"
probe_base='FROM scratch
COPY stagex-box /bin/stagex-box
RUN ["/bin/stagex-box", "--install", "/bin"]
ENV PATH=/bin'
# The step fails unless loopback is its only network interface.
# shellcheck disable=SC2016 # expanded by the step's shell
only_lo='test "$(tail -n +3 /proc/net/dev | cut -d: -f1 | tr -d " ")" = lo'
ulimits=()
netflags=()
# probe NAME [BUILD-FLAG...] <LINES: builds the base plus LINES.
probe() {
  local name=$1
  shift
  { echo "$probe_base"; cat; } >"$probes/$name.Containerfile"
  bh "${store[@]}" build --isolation chroot --timestamp 1 --layers --pull=never \
    "${ulimits[@]}" "$@" -f "$probes/$name.Containerfile" "$probes/ctx" >"$probes/$name.log" 2>&1
}
if ! probe base </dev/null; then
  if grep -q RLIMIT_ "$probes/base.log"; then
    lim() { local v; v=$(ulimit "$1"); [ "$v" != unlimited ] || v=-1; echo "$v"; }
    ulimits=(--ulimit "nofile=$(lim -Sn):$(lim -Hn)" --ulimit "nproc=$(lim -Su):$(lim -Hu)")
  fi
  probe base </dev/null ||
    { echo "buildah.sh: buildah $version cannot build a one-step image; see $probes/base.log" >&2; tail -5 "$probes/base.log" >&2; exit 1; }
fi
heredocs=no
# shellcheck disable=SC2016 # $v is the heredoc shell's
printf 'RUN <<-EOF\n\tset -eu\n\tv=shell\n\ttest "$v" = shell\nEOF\nCOPY <<-EOF /probe\n\tx\nEOF\n' | probe heredoc && heredocs=yes
runnet=no
echo 'RUN --network=none ["/bin/stagex-box", "true"]' | probe runnet && runnet=yes
isolation="steps see the host's network"
if echo "RUN $only_lo" | probe buildnet --network none; then
  netflags=(--network none)
  isolation="--network none isolates the steps"
elif [ $runnet = yes ] && echo "RUN --network=none $only_lo" | probe runnetiso; then
  isolation="RUN --network=none isolates its steps; others see the host's network"
elif [ $runnet = yes ]; then
  isolation="$isolation, RUN --network=none ones too"
fi
if [ $heredocs = yes ] && [ $runnet = yes ]; then
  feed="the fixture Containerfiles go to buildah unchanged"
else
  feed="the fixture Containerfiles are rewritten:"
  [ $heredocs = yes ] || feed="$feed heredocs to context files;"
  [ $runnet = yes ] || feed="$feed RUN --network=none to RUN;"
  feed=${feed%;}
fi
echo "buildah.sh: buildah $version ($buildah_bin): heredocs $heredocs, RUN --network $runnet; $feed"
echo "buildah.sh: chroot isolation: $isolation"
[ ${#ulimits[@]} -eq 0 ] || echo "buildah.sh: buildah gets ${ulimits[*]} (the current limits)"
reset_storage

# param VALUE-OF FLAG FILE: the values of FLAG in a parameter file.
param() { awk -v f="$1" 'prev == f {print} {prev = $0}' "$2"; }

# for_buildah IN OUT CTX HEREDOCS RUNNET writes to OUT the Containerfile IN
# in a form a buildah without heredocs (HEREDOCS=no) or without RUN
# --network (RUNNET=no) builds. A heredoc RUN script goes to the context
# and is run through a bind mount (no trace in the image); a heredoc COPY
# source becomes a context file. "RUN --network=none" becomes "RUN".
for_buildah() {
  python3 - "$@" <<'EOF'
import re, sys
src, out, ctx, heredocs, runnet = sys.argv[1:]
lines = open(src).read().split("\n")
res, i, n = [], 0, 0
while i < len(lines):
    line = lines[i]
    if runnet == "no":
        line = line.replace("RUN --network=none ", "RUN ", 1)
    i += 1
    m = None if heredocs == "yes" else re.match(r"^(RUN|COPY)\b(.*?)<<(-?)[\"']?(\w+)[\"']?(.*)$", line)
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
declare -A bargs btarget bname bfile
stages=0
for p in "${pkgs[@]}"; do
  ctx="$work/ctx/$p"
  rm -rf "$ctx" "$ctx.Containerfile"
  mkdir -p "$ctx"
  args=()
  for pf in "${outdir[$p]}"/*.oci-0.params; do
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
  if [ $heredocs = yes ] && [ $runnet = yes ]; then
    bfile[$p]=$root/$p/Containerfile
  else
    for_buildah "$root/$p/Containerfile" "$ctx.Containerfile" "$ctx" $heredocs $runnet
    bfile[$p]=$ctx.Containerfile
  fi
  bargs[$p]="${args[*]}"
done

buildah_all() {
  local p
  for p in "${pkgs[@]}"; do
    # shellcheck disable=SC2086 # build arguments hold no spaces
    bh "${store[@]}" build --isolation chroot --timestamp 1 --layers --pull=never \
      "${ulimits[@]}" "${netflags[@]}" \
      --target "${btarget[$p]}" ${bargs[$p]} -t "stagex/${bname[$p]}" \
      -f "${bfile[$p]}" "$work/ctx/$p" >>"$work/buildah.log" 2>&1 ||
      { echo "buildah.sh: buildah failed on $p; see $work/buildah.log" >&2; tail -20 "$work/buildah.log" >&2; exit 1; }
  done
}

ours_cold() {
  local p
  for p in "${pkgs[@]}"; do
    chmod -R u+w "${outdir[$p]}" 2>/dev/null || true
    find "${outdir[$p]}" -maxdepth 1 \( -name '*.oci' -o -name '*.digest' \) -exec rm -rf {} +
  done
  b build "${targets[@]}" >>"$work/ours.log" 2>&1
}

declare -A times
for _ in $(seq "$runs"); do
  s=$(now); ours_cold; times[ours_cold]+="$(elapsed "$s" "$(now)") "
  grep -E '^INFO: [0-9]+ processes' "$work/ours.log" | tail -1 >"$work/ours-cold-processes.txt"
  s=$(now); b build "${targets[@]}" >>"$work/ours.log" 2>&1; times[ours_warm]+="$(elapsed "$s" "$(now)") "
  reset_storage
  s=$(now); buildah_all; times[buildah_cold]+="$(elapsed "$s" "$(now)") "
  s=$(now); buildah_all; times[buildah_warm]+="$(elapsed "$s" "$(now)") "
done

echo
echo "packages: ${pkgs[*]} ($stages stage actions; median of $runs runs, seconds)"
echo "buildah $version: $feed; $isolation"
echo "ours cold re-ran: $(sed 's/^INFO: //' "$work/ours-cold-processes.txt")"
printf '%-8s %10s %10s %8s\n' "" ours buildah ratio
for kind in cold warm; do
  o=$(echo "${times[ours_$kind]}" | tr ' ' '\n' | grep . | median)
  h=$(echo "${times[buildah_$kind]}" | tr ' ' '\n' | grep . | median)
  printf '%-8s %10s %10s %8s\n' "$kind" "$o" "$h" "$(awk "BEGIN {printf \"%.2f\", $o / $h}")"
done
echo "(ratio = ours / buildah; all runs: ours cold ${times[ours_cold]}| ours warm ${times[ours_warm]}| buildah cold ${times[buildah_cold]}| buildah warm ${times[buildah_warm]})"
