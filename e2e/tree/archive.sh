#!/usr/bin/env bash
# Packs the e2e StageX tree (e2e/tree/stagex-tree-e2e/) as a release
# archive would be: distdir/stagex-tree-e2e.tar.gz, the same bytes on every
# run (sorted names, fixed times, owners and modes, gzip without a name or
# time). e2e/consumer pins its sha256. A second archive,
# stagex-tree-e2e-mispinned.tar.gz, is the same tree with a wrong pin for
# core-hello: its digest test must fail. A third,
# stagex-tree-e2e-broken.tar.gz, has a Containerfile line the translator
# rejects: using that tree must fail, naming the file and line. A fourth,
# stagex-tree-e2e-unfetchable.tar.gz, pins the seed download to a sha256 no
# file has: building stage0 must fail, naming the file, package and sums.
#
#   e2e/tree/archive.sh           rewrite the archive, print its sha256
#   e2e/tree/archive.sh --check   fail when the archive is not what the tree gives
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# pack DIR: the tree in DIR/stagex-tree-e2e as a tar.gz on stdout.
pack() {
  tar --sort=name --mtime=@1 --owner=0 --group=0 --numeric-owner \
    --mode='a+rX,u+w,go-w' --format=gnu -C "$1" -cf - stagex-tree-e2e | gzip -n -9
}

cp -r "$here/stagex-tree-e2e" "$tmp/"
pack "$tmp" >"$tmp/stagex-tree-e2e.tar.gz"
sed -i 's/^[0-9a-f]\{64\} core-hello$/0000000000000000000000000000000000000000000000000000000000000000 core-hello/' \
  "$tmp/stagex-tree-e2e/digests/core.txt"
grep -q '^0\{64\} core-hello$' "$tmp/stagex-tree-e2e/digests/core.txt" || {
  echo "archive.sh: digests/core.txt has no pin for core-hello" >&2
  exit 1
}
pack "$tmp" >"$tmp/stagex-tree-e2e-mispinned.tar.gz"
cp "$here/stagex-tree-e2e/digests/core.txt" "$tmp/stagex-tree-e2e/digests/core.txt"
echo "FROBNICATE the build" >>"$tmp/stagex-tree-e2e/packages/core/hello/Containerfile"
pack "$tmp" >"$tmp/stagex-tree-e2e-broken.tar.gz"
cp "$here/stagex-tree-e2e/packages/core/hello/Containerfile" "$tmp/stagex-tree-e2e/packages/core/hello/Containerfile"
sed -i 's/^hash = "[0-9a-f]\{64\}"$/hash = "1111111111111111111111111111111111111111111111111111111111111111"/' \
  "$tmp/stagex-tree-e2e/packages/bootstrap/stage0/package.toml"
grep -q '^hash = "1\{64\}"$' "$tmp/stagex-tree-e2e/packages/bootstrap/stage0/package.toml" || {
  echo "archive.sh: packages/bootstrap/stage0/package.toml has no source hash" >&2
  exit 1
}
pack "$tmp" >"$tmp/stagex-tree-e2e-unfetchable.tar.gz"

for name in stagex-tree-e2e.tar.gz stagex-tree-e2e-mispinned.tar.gz stagex-tree-e2e-broken.tar.gz \
  stagex-tree-e2e-unfetchable.tar.gz; do
  if [ "${1:-}" = --check ]; then
    want=$(sha256sum <"$tmp/$name" | cut -d' ' -f1)
    have=$(sha256sum <"$here/distdir/$name" | cut -d' ' -f1)
    if [ "$want" != "$have" ]; then
      echo "archive.sh: distdir/$name is stale: it has sha256 $have, the tree gives $want." >&2
      echo "archive.sh: run e2e/tree/archive.sh and put the new sha256 in e2e/consumer/MODULE.bazel" >&2
      exit 1
    fi
  else
    mv "$tmp/$name" "$here/distdir/$name"
    echo "$(sha256sum <"$here/distdir/$name" | cut -d' ' -f1)  $name"
  fi
done
