#!/usr/bin/env bash
# End-to-end check of depending on StageX from another Bazel module: the
# workspace e2e/consumer, which has `bazel_dep(name = "stagex")`.
#
#   tools/scripts/e2e.sh
#
# 1. Builds, here, the loopback registry, stagex-sign and the fixture image
#    core-box, serves a registry on 127.0.0.1 and pushes core-box to it with
#    `bazel run //tools/integration/push:box.push`.
# 2. Makes two throw-away maintainer keys with gpg and signs core-box's
#    pinned digest with both into e2e/consumer/trust/ (git-ignored), plus a
#    store that holds one signature only.
# 3. Runs `bazel test //...` in e2e/consumer: it pulls core-box by its
#    pinned digest through Bazel's downloader (the loopback registry named
#    as a mirror), checks the signatures, builds an image of its own on top
#    and tests it.
#    The same run builds StageX's fixture packages as a dependency and
#    checks them against StageX's pins, pulls core-hello from a second
#    registry that wants a bearer token, and builds and tests @stagex_tree,
#    a whole StageX source tree (e2e/tree) that the stagex_tree extension
#    imports from an archive pinned by sha256 (e2e/tree/distdir is passed
#    as --distdir).
# 4. Checks that the undersigned image, a digest the registry lacks, an
#    image without the token and an unreachable registry fail, and say why;
#    that a tree whose pin is wrong fails its digest test showing both
#    digests; that a tree that does not translate fails naming the file
#    and line; and that a source download nothing has fails naming the
#    file, the package and the sha256 it must have.
#
# Needs bazel, gpg and keytool, and nothing beyond loopback. The consumer workspace
# has its own Bazel server and output base (its server exits after five idle
# minutes); downloaded blobs land in the shared repository cache.
#
# Environment:
#   STAGEX_E2E_OVERRIDE   a StageX checkout to use instead of this one in the
#                         consumer (passed as --override_module=stagex=...)
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
consumer=$root/e2e/consumer
trust=$consumer/trust

say() { printf 'e2e: %s\n' "$*"; }
die() { printf 'e2e: FAILED: %s\n' "$*" >&2; exit 1; }

command -v bazel >/dev/null || die "bazel is not installed (tools/scripts/setup installs it)"
command -v gpg >/dev/null || die "gpg is needed to make throw-away maintainer keys (apt-get install gnupg)"
command -v keytool >/dev/null || die "keytool (from the JDK Bazel runs on) is needed to trust the loopback registry's HTTPS certificate"

tmp=$(mktemp -d)
registry_pids=()
cleanup() {
  for pid in "${registry_pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  GNUPGHOME=$tmp/gnupg gpgconf --kill gpg-agent 2>/dev/null || true
  rm -rf "$tmp"
}
trap cleanup EXIT

cd "$root"
say "checking the e2e tree's archives against the tree"
bazel run //tools/testing/cmd/stagex-tree-archive -- --check --dir "$root/e2e/tree"
say "building the registry, the signer, core-box and core-hello"
bazel build //tools/testing/cmd/stagex-registry //tools/cmd/stagex-sign //tools/integration/push:box.push //tools/integration/push:hello.push \
  //fixtures/packages/core/box //fixtures/packages/core/hello
bin=$(bazel info bazel-bin 2>/dev/null)
execroot=$(bazel info execution_root 2>/dev/null)
# layout_of TARGET: the absolute path of the OCI layout a stage writes,
# wherever its configuration puts it (a stage pinned to a platform writes
# in its own output directory, not under bazel-bin).
layout_of() {
  local out
  out=$(bazel cquery --output=files "$1" 2>/dev/null | grep '\.oci$') || die "$1 writes no OCI layout (*.oci)"
  [ "$(printf '%s\n' "$out" | wc -l)" = 1 ] || die "$1 writes more than one OCI layout: $out"
  printf '%s/%s\n' "$execroot" "$out"
}
layout=$(layout_of //fixtures/packages/core/box)
hello_layout=$(layout_of //fixtures/packages/core/hello)

# start_registry NAME [FLAGS...]: serves a registry on loopback; its address
# lands in $tmp/NAME.
start_registry() {
  "$bin/tools/testing/cmd/stagex-registry/stagex-registry_/stagex-registry" --addr-file "$tmp/$1" "${@:2}" >/dev/null &
  registry_pids+=($!)
  for _ in $(seq 100); do
    [ -s "$tmp/$1" ] && return 0
    sleep 0.1
  done
  die "the registry $1 did not start"
}
start_registry addr
addr=$(cat "$tmp/addr")
say "registry on $addr"
# A second registry wants a bearer token for everything, even pulls, and
# hands it out at /token; only it holds core-hello. Bazel sends a token
# only over HTTPS (it refuses plain-HTTP downloads without a checksum), so
# this registry also serves HTTPS, with a throw-away certificate that the
# consumer's Bazel server is told to trust.
start_registry token_addr --token e2e-token --tls-addr-file "$tmp/token_tls_addr" --tls-cert "$tmp/token.pem"
token_addr=$(cat "$tmp/token_addr")
token_tls_addr=$(cat "$tmp/token_tls_addr")
say "registry that wants a token on $token_addr and https://$token_tls_addr"
keytool -importcert -noprompt -alias stagex-e2e-registry -file "$tmp/token.pem" \
  -keystore "$tmp/trust.p12" -storetype PKCS12 -storepass e2e-trust >/dev/null 2>&1 ||
  die "keytool could not make a trust store of the registry's certificate"

say "pushing core-box, and core-hello to the registry that wants a token"
bazel run //tools/integration/push:box.push -- --repository "$addr/stagex/core-box" --tag e2e
bazel run //tools/integration/push:hello.push -- --repository "$token_addr/stagex/core-hello"

say "making two maintainer keys and signing core-box and core-hello"
rm -rf "$trust"
mkdir -p "$trust/keys" "$trust/signatures" "$trust/undersigned"
mkdir -m 700 "$tmp/gnupg"
export GNUPGHOME=$tmp/gnupg
gpg_batch=(gpg --batch --quiet --pinentry-mode loopback --passphrase '')
for who in alice bob; do
  uid="$who@e2e.stagex.invalid"
  "${gpg_batch[@]}" --quick-gen-key "E2E $who <$uid>" ed25519 sign 1d
  "${gpg_batch[@]}" --armor --export-options export-minimal --export "$uid" >"$trust/keys/$who.asc"
  "${gpg_batch[@]}" --armor --export-secret-keys "$uid" >"$tmp/$who.key"
done
sleep 1 # signatures must be younger than the keys
sign=("$bin/tools/cmd/stagex-sign/stagex-sign_/stagex-sign"
  --digests "$root/fixtures/digests/core.txt" --layout "core-box=$layout" --layout "core-hello=$hello_layout" --timestamp "$(date +%s)")
"${sign[@]}" --key "$tmp/alice.key" --store "$trust/signatures"
"${sign[@]}" --key "$tmp/bob.key" --store "$trust/signatures"
"${sign[@]}" --key "$tmp/alice.key" --store "$trust/undersigned"
cat >"$trust/keys/BUILD.bazel" <<'BUILD'
# Written by tools/scripts/e2e.sh: throw-away maintainer keys.
filegroup(
    name = "keys",
    srcs = glob(["*.asc"]),
    visibility = ["//visibility:public"],
)
BUILD
for store in signatures undersigned; do
  cat >"$trust/$store/BUILD.bazel" <<BUILD
# Written by tools/scripts/e2e.sh: a signature store; its root is this package.
filegroup(
    name = "$store",
    srcs = glob(["**/signature-*"]),
    visibility = ["//visibility:public"],
)
BUILD
done

cd "$consumer"
# The consumer's Bazel server trusts the registry's certificate (and only
# it: nothing else is reachable anyway).
consumer_bazel() {
  bazel --host_jvm_args=-Djavax.net.ssl.trustStore="$tmp/trust.p12" \
    --host_jvm_args=-Djavax.net.ssl.trustStoreType=PKCS12 \
    --host_jvm_args=-Djavax.net.ssl.trustStorePassword=e2e-trust "$@"
}
flags=(--repo_env=STAGEX_REGISTRY_MIRRORS="http://$addr https://$token_tls_addr" --distdir="$root/e2e/tree/distdir")
# StageX's real releases, where this machine has them: from the first run
# on, since the stagex_tree extension reads every archive when it runs.
shared_trees=$root/../shared/stagex-trees
if [ -d "$shared_trees" ]; then
  flags+=(--distdir="$(cd "$shared_trees" && pwd)")
fi
# StageX's stage0 sources (../shared/stage0-sources) under the names the
# real trees' package.toml give them. There, those names are small files
# that hold the name of the archive (a symbolic link written as text); a
# directory of real links to the archives serves them as --distdir.
shared_stage0=$root/../shared/stage0-sources
stage0_distdir=""
if [ -d "$shared_stage0" ]; then
  stage0_distdir=$tmp/stage0-distdir
  mkdir -p "$stage0_distdir"
  for f in "$shared_stage0"/*; do
    name=${f##*/}
    target=$f
    if [ "$(stat -c %s "$f")" -lt 100 ] && [ -f "$shared_stage0/$(cat "$f")" ]; then
      target=$shared_stage0/$(cat "$f")
    fi
    ln -s "$(cd "${target%/*}" && pwd)/${target##*/}" "$stage0_distdir/$name"
  done
  flags+=(--distdir="$stage0_distdir")
fi
if [ -n "${STAGEX_E2E_OVERRIDE:-}" ]; then
  flags+=(--override_module=stagex="$STAGEX_E2E_OVERRIDE")
fi

# StageX's own fixture packages, built here where StageX is a dependency,
# must give the digests StageX pins (Go programs in them record source
# paths; see rules/private/transition.bzl). The bootstrap fixtures need
# toolchains only StageX registers, for itself.
say "bazel test //... @stagex_tree//... and StageX's fixture packages in e2e/consumer"
consumer_bazel test "${flags[@]}" //... @stagex_tree//... @stagex//fixtures/packages/core/... @stagex//fixtures/packages/user/...

# expect_failure TARGET TEXT [FLAGS...]: building TARGET (with FLAGS after
# the usual ones) must fail and say TEXT.
expect_failure() {
  local out
  if out=$(consumer_bazel build "${flags[@]}" "${@:3}" "$1" 2>&1); then
    die "building $1 succeeded; expected it to fail with: $2"
  fi
  grep -qF "$2" <<<"$out" || die "building $1 failed, but without saying \"$2\":
$out"
  say "$1 fails as it should: $2"
}
expect_failure @core_box_undersigned "signatures do not meet the policy"
expect_failure @core_box_missing "cannot get manifest sha256:0000000000000000000000000000000000000000000000000000000000000000"

# core-hello again, with the repository cache off so that every download
# goes to the registries: only the token flow gets it.
consumer_bazel fetch "${flags[@]}" --repository_cache= --force --repo=@core_hello >/dev/null 2>&1 ||
  die "core-hello could not be fetched again from the registry that wants a token:
$(consumer_bazel fetch "${flags[@]}" --repository_cache= --force --repo=@core_hello 2>&1 | tail -20)"
say "@core_hello comes from the registry that wants a token, through the token flow"
expect_failure @core_hello_no_token "https://$token_tls_addr/v2/stagex/core-hello/manifests/sha256:" --repository_cache=

# A registry that nothing answers for (a closed loopback port; the image's
# own host does not resolve): the fetch fails at once, naming each place.
start=$(date +%s)
expect_failure @core_box_missing "http://127.0.0.1:9/v2/stagex/core-box/manifests/sha256:0000000000000000000000000000000000000000000000000000000000000000: not found or unreachable" \
  --repo_env=STAGEX_REGISTRY_MIRRORS=http://127.0.0.1:9
took=$(($(date +%s) - start))
[ "$took" -le 120 ] || die "the unreachable registry took ${took}s to fail (bound: 120s)"
say "an unreachable registry fails in ${took}s"


# The tree's own pins are checked: a wrong one fails, showing both digests.
out=$(consumer_bazel test "${flags[@]}" @stagex_tree_mispinned//packages/core/hello:hello_digest_test 2>&1) &&
  die "the mispinned tree's digest test passed"
want="digest of core-hello changed: pinned sha256:0000000000000000000000000000000000000000000000000000000000000000, built sha256:"
grep -qF "$want" <<<"$out" || die "the mispinned tree's digest test failed without saying \"$want\":
$out"
grep -qF "the pins belong to @" <<<"$out" || die "the mispinned tree's digest test did not say whose pins they are:
$out"
say "a tree with a wrong pin fails its digest test: $(grep -oF "$want" <<<"$out" | head -1)..."

# A package that does not translate fails where it is used, naming the file
# and line; the rest of its tree, and the other trees, stay usable.
expect_failure @stagex_tree_broken//packages/core/hello 'packages/core/hello/Containerfile:12: unknown instruction "FROBNICATE"'
consumer_bazel build --nobuild "${flags[@]}" @stagex_tree_broken//packages/bootstrap/stage0 ||
  die "the broken tree's good package (bootstrap/stage0) does not analyse"
# A source download that no mirror, --distdir or cache has, by its sha256.
expect_failure @stagex_tree_unfetchable//packages/bootstrap/stage0 \
  "cannot get source file hex0-seed-1.0.tar.gz of package stagex_tree_unfetchable//packages/bootstrap/stage0"
expect_failure @stagex_tree_unfetchable//packages/bootstrap/stage0 \
  "expected sha256: 1111111111111111111111111111111111111111111111111111111111111111"

# StageX's real releases (../shared/stagex-trees), imported with
# stagex_tree as a user would: they translate, and the whole graph of both
# analyses without a single source file.
if [ -d "$shared_trees" ]; then
  say "StageX's releases: bazel build --nobuild @stagex_2025_10_0//packages/... @stagex_2026_01_0//packages/..."
  consumer_bazel build --nobuild "${flags[@]}" @stagex_2025_10_0//packages/... @stagex_2026_01_0//packages/... 2>&1 |
    grep -v '^WARNING: Download from' || die "StageX's real releases do not analyse"
  # The one package of a real tree whose sources this machine has: built
  # from the imported 2026.01.0 tree, its image must be the one that tree
  # pins (StageX's published digest), checked by the tree's digest test.
  if [ -n "$stage0_distdir" ]; then
    say "StageX 2026.01.0's bootstrap-stage0, built from the imported tree: bazel test @stagex_2026_01_0//packages/bootstrap/stage0:stage0_digest_test"
    consumer_bazel test "${flags[@]}" @stagex_2026_01_0//packages/bootstrap/stage0:stage0_digest_test ||
      die "StageX 2026.01.0's bootstrap-stage0 is not the image the tree pins"
    grep -F bootstrap-stage0 "$(consumer_bazel info "${flags[@]}" output_base)/external/"*stagex_2026_01_0/digests/bootstrap.txt 2>/dev/null | sed 's/^/e2e: pinned by the tree: /' || true
  elif [ "${STAGEX_REQUIRE_TREES:-}" = 1 ]; then
    die "STAGEX_REQUIRE_TREES=1 but $shared_stage0 is missing"
  fi
elif [ "${STAGEX_REQUIRE_TREES:-}" = 1 ]; then
  die "STAGEX_REQUIRE_TREES=1 but $shared_trees is missing"
else
  say "skipped StageX's real releases: $shared_trees is missing"
fi

say "passed"
