#!/usr/bin/env bash
# Re-pins image digests from a build: `bazel run //:update_digests` builds
# every published image (or those under the patterns given after --), then
# writes each image's manifest digest into <tree>/digests/<stage>.txt, where
# <tree> is the directory holding the image's packages/ directory.
set -euo pipefail

tool=$(realpath "$1")
shift
if [ -z "${BUILD_WORKSPACE_DIRECTORY:-}" ]; then
  echo "update_digests: run me with 'bazel run //:update_digests'" >&2
  exit 2
fi
cd "$BUILD_WORKSPACE_DIRECTORY"

patterns=("$@")
[ ${#patterns[@]} -gt 0 ] || patterns=(//packages/... //fixtures/packages/...)

echo "update_digests: building ${patterns[*]}"
bazel build "${patterns[@]}"

key='//rules/private:providers.bzl%StagexImageInfo'
expr="' '.join([str(target.label), providers(target)['$key'].image_name, providers(target)['$key'].layout.path]) if '$key' in providers(target) and providers(target)['$key'].image_name else ''"
# The images the digest tests check, in the configuration they check them
# (an image index also builds them for other platforms).
query="kind(stagex_stage, deps(kind(stagex_digest_test, set(${patterns[*]})), 1))"

declare -A layouts
while read -r label image layout; do
  [ -n "$label" ] || continue
  pkg=${label#*//}
  pkg=${pkg%%:*}
  case "$pkg" in
    packages/*) tree=. ;;
    */packages/*/*) tree=${pkg%/packages/*} ;;
    *) echo "update_digests: $label is not in a <tree>/packages/<stage>/<name> directory" >&2; exit 1 ;;
  esac
  layouts[$tree]+=" --layout $image=$(bazel info execution_root 2>/dev/null)/$layout"
done < <(bazel cquery "$query" --output=starlark --starlark:expr="$expr" 2>/dev/null)

if [ ${#layouts[@]} -eq 0 ]; then
  echo "update_digests: no published image under ${patterns[*]}" >&2
  exit 1
fi
for tree in "${!layouts[@]}"; do
  # shellcheck disable=SC2086 # the --layout arguments hold no spaces
  "$tool" update --root "$BUILD_WORKSPACE_DIRECTORY/$tree" ${layouts[$tree]}
done
