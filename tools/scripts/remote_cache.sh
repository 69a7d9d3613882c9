#!/usr/bin/env bash
# Remote cache check with a real HTTP cache: nginx (Debian's nginx-light, its
# WebDAV module taking Bazel's PUTs) on loopback, as a farm's shared cache.
#
#   tools/scripts/remote_cache.sh [--work DIR] [--keep] [TARGET_PATTERN...]
#
# Two fresh checkouts at different paths, each with its own output base and
# no other cache, build the targets with --remote_cache=http://127.0.0.1:PORT:
# A fills the cache, B must execute nothing (every process a remote cache
# hit, StagexStage ones included) and end with the same image digests and
# layout files. A third checkout C builds from a local --disk_cache that A
# filled too, so that B's time can be set against the local cache's.
#
# Default patterns: //fixtures/..., and //packages/bootstrap/stage0:all when
# ../shared/stage0-sources is there (StageX's real stage0, from those files
# as --distdir). DIR (default: <checkout>/../stagex-remote-cache) is wiped,
# must not be under /tmp (Bazel's sandbox hides /tmp) nor in the checkout.
#
# Needs nginx with the http_dav_module, and jq. Exit status 1 when B executed
# anything or a digest differs; 2 on bad usage or a missing tool.
set -euo pipefail

root=$(git -C "$(dirname "$0")" rev-parse --show-toplevel)
# shellcheck source=tools/scripts/lib/checkout.sh
. "$root/tools/scripts/lib/checkout.sh"
work="$(dirname "$root")/stagex-remote-cache"
keep=0
targets=()
while [ $# -gt 0 ]; do
  case "$1" in
    --work) work=$2; shift 2 ;;
    --keep) keep=1; shift ;;
    -h|--help) usage ;;
    -*) echo "remote_cache: unknown option $1" >&2; usage ;;
    *) targets+=("$1"); shift ;;
  esac
done

flags=()
if [ ${#targets[@]} -eq 0 ]; then
  targets=(//fixtures/...)
  if [ -d "$root/../shared/stage0-sources" ]; then
    targets+=(//packages/bootstrap/stage0:all)
    flags+=("--distdir=$(cd "$root/../shared/stage0-sources" && pwd)")
  fi
fi

for tool in nginx jq; do
  command -v "$tool" >/dev/null || { echo "remote_cache: $tool is not installed" >&2; exit 2; }
done
if ! nginx -V 2>&1 | grep -q -- '--with-http_dav_module'; then
  echo "remote_cache: this nginx has no WebDAV module (Debian's nginx-light has it)" >&2
  exit 2
fi

work=$(work_dir remote_cache "$work" "$root")

servers=()
nginx_pid=""
# shellcheck disable=SC2317 # the EXIT trap runs it
cleanup() {
  for ob in "${servers[@]}"; do
    bazel --output_base="$ob" shutdown >/dev/null 2>&1 || true
  done
  if [ -n "$nginx_pid" ]; then
    kill "$nginx_pid" 2>/dev/null || true
  fi
  if [ "$keep" = 0 ]; then
    chmod -R u+w "$work" 2>/dev/null || true
    rm -rf "$work"
  fi
}
trap cleanup EXIT

fresh_work_dir remote_cache "$work"
mkdir -p "$work/nginx/cache" "$work/nginx/tmp"
report="$work/report.txt"
: >"$report"
say() { echo "$*" | tee -a "$report"; }

# nginx on a free loopback port: it says when a port is taken, so try a few.
start_nginx() {
  local port conf
  for _ in 1 2 3 4 5 6 7 8; do
    port=$((20000 + RANDOM % 40000))
    conf="$work/nginx/nginx.conf"
    cat >"$conf" <<CONF
daemon off;
worker_processes 2;
user root root;
error_log $work/nginx/error.log warn;
pid $work/nginx/nginx.pid;
events {}
http {
  access_log $work/nginx/access.log;
  client_body_temp_path $work/nginx/tmp/body;
  proxy_temp_path $work/nginx/tmp/proxy;
  fastcgi_temp_path $work/nginx/tmp/fastcgi;
  uwsgi_temp_path $work/nginx/tmp/uwsgi;
  scgi_temp_path $work/nginx/tmp/scgi;
  server {
    listen 127.0.0.1:$port;
    root $work/nginx/cache;
    client_max_body_size 0;
    location / {
      dav_methods PUT;
      create_full_put_path on;
      dav_access user:rw group:r all:r;
    }
  }
}
CONF
    nginx -p "$work/nginx" -c "$conf" -e "$work/nginx/error.log" &
    nginx_pid=$!
    for _ in $(seq 50); do
      if curl -s -o /dev/null "http://127.0.0.1:$port/"; then
        cache_url="http://127.0.0.1:$port"
        return 0
      fi
      kill -0 "$nginx_pid" 2>/dev/null || break
      sleep 0.1
    done
    kill "$nginx_pid" 2>/dev/null || true
    wait "$nginx_pid" 2>/dev/null || true
    nginx_pid=""
  done
  echo "remote_cache: nginx did not start; see $work/nginx/error.log" >&2
  tail -5 "$work/nginx/error.log" >&2 || true
  exit 1
}

# build NAME TREE BAZEL_FLAGS...: `bazel test` of the targets in a new output
# base, every output fetched (--remote_download_outputs=all) so that the
# layouts can be compared; writes DIR/NAME.{log,exec.json,digests,files} and
# sets $seconds.
build() {
  local name=$1 tree=$2
  shift 2
  local ob="$work/ob-$name" start end status=0
  servers+=("$ob")
  start=$(date +%s.%N)
  (cd "$tree" && bazel --output_base="$ob" test --keep_going --test_output=errors \
    --remote_download_outputs=all --execution_log_json_file="$work/$name.exec.json" \
    "${flags[@]}" "$@" "${targets[@]}") >"$work/$name.log" 2>&1 || status=$?
  end=$(date +%s.%N)
  seconds=$(awk "BEGIN {printf \"%.2f\", $end - $start}")
  say "build $name: exit $status in $seconds s ($(grep -E '^INFO: [0-9]+ processes' "$work/$name.log" | tail -1 | sed 's/^INFO: //'))"
  if [ "$status" != 0 ]; then
    tail -30 "$work/$name.log" >&2
    say "build $name failed; see $work/$name.log"
    exit 1
  fi
  local out
  out=$(cd "$tree" && bazel --output_base="$ob" info output_path 2>/dev/null)
  image_digests "$out" >"$work/$name.digests"
  layout_files "$out" >"$work/$name.files"
}

start_nginx
say "remote_cache: checkout $root ($(git -C "$root" rev-parse --short HEAD)$(git -C "$root" diff --quiet HEAD || echo ' + uncommitted changes'))"
say "remote_cache: nginx $(nginx -v 2>&1 | sed 's/.*nginx\///') at $cache_url; targets ${targets[*]}"

copy_tree "$root" "$work/a/stagex" 022
copy_tree "$root" "$work/b/another/path/to/stagex" 022
copy_tree "$root" "$work/c/local/stagex" 022

build a "$work/a/stagex" --remote_cache="$cache_url" --disk_cache="$work/disk-cache"
build b "$work/b/another/path/to/stagex" --remote_cache="$cache_url"
seconds_b=$seconds
build c "$work/c/local/stagex" --disk_cache="$work/disk-cache"
seconds_c=$seconds

fail=0
say ""
say "build B (remote cache), spawns per mnemonic:"
spawn_stats "$work/b.exec.json" | tee -a "$report"
total=$(jq -s 'length' "$work/b.exec.json")
hits=$(jq -s 'map(select(.cacheHit // false)) | length' "$work/b.exec.json")
say "build B: $hits of $total spawns were remote cache hits ($(awk "BEGIN {printf \"%.1f\", $total ? 100 * $hits / $total : 0}")%), in $seconds_b s; from the local disk cache (C): $seconds_c s"
say "cache: $(find "$work/nginx/cache" -type f | wc -l) entries, $(du -sh "$work/nginx/cache" | cut -f1)"
misses=$(spawn_misses "$work/b.exec.json")
if [ -n "$misses" ]; then
  say "spawns B executed instead of taking from the remote cache:"
  echo "$misses" | sed 's/^/  /' | tee -a "$report"
  fail=1
fi
stages=$(jq -s 'map(select(.mnemonic == "StagexStage")) | length' "$work/b.exec.json")
if [ "$stages" = 0 ]; then
  say "build B logged no StagexStage spawn: nothing was checked"
  fail=1
fi
if [ ! -s "$work/a.digests" ]; then
  say "no image was built"
  fail=1
fi
for other in b c; do
  if diff -u "$work/a.digests" "$work/$other.digests" >"$work/a-$other.diff" &&
     diff -u "$work/a.files" "$work/$other.files" >>"$work/a-$other.diff"; then
    say "A and ${other^^}: identical ($(wc -l <"$work/a.digests") image digests, $(wc -l <"$work/a.files") layout files)"
  else
    say "A and ${other^^} DIFFER:"
    tee -a "$report" <"$work/a-$other.diff"
    fail=1
  fi
done
say ""
if [ "$fail" = 0 ]; then
  say "remote_cache: OK"
else
  say "remote_cache: FAILED"
fi
exit "$fail"
