#!/usr/bin/env bash
# Signs built images with a maintainer's key:
#
#   bazel run //tools/signing:sign -- --key FILE --passphrase-file FILE [PATTERN...]
#
# builds every published image under the patterns (default //packages/...),
# then runs stagex-sign once per source tree (the directory holding a
# packages/ directory) with --root <tree> and --layout <image>=<built layout>
# for each image. stagex-sign refuses to sign when a built digest differs
# from <tree>/digests/<stage>.txt and writes the signatures into
# <tree>/signatures unless --store says otherwise. Arguments starting with
# // or @ are target patterns; all others go to stagex-sign, and relative
# paths in them are taken from the directory `bazel run` was started in.
set -euo pipefail

tool=$(realpath "$1")
shift
if [ -z "${BUILD_WORKSPACE_DIRECTORY:-}" ]; then
  echo "sign: run me with 'bazel run //tools/signing:sign -- --key FILE --passphrase-file FILE [PATTERN...]'" >&2
  exit 2
fi

patterns=()
flags=()
for a in "$@"; do
  case "$a" in
    //* | @*) patterns+=("$a") ;;
    *) flags+=("$a") ;;
  esac
done
[ ${#patterns[@]} -gt 0 ] || patterns=(//packages/...)

cd "$BUILD_WORKSPACE_DIRECTORY"
echo "sign: building ${patterns[*]}" >&2
bazel build "${patterns[@]}"
execroot=$(bazel info execution_root 2>/dev/null)

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
    *) echo "sign: $label is not in a <tree>/packages/<stage>/<name> directory" >&2; exit 1 ;;
  esac
  layouts[$tree]+=" --layout $image=$execroot/$layout"
done < <(bazel cquery "$query" --output=starlark --starlark:expr="$expr" 2>/dev/null)

if [ ${#layouts[@]} -eq 0 ]; then
  echo "sign: no published image under ${patterns[*]}" >&2
  exit 1
fi
cd "${BUILD_WORKING_DIRECTORY:-$BUILD_WORKSPACE_DIRECTORY}"
status=0
for tree in "${!layouts[@]}"; do
  echo "sign: images of $tree/packages" >&2
  # shellcheck disable=SC2086 # the --layout arguments hold no spaces
  "$tool" "${flags[@]}" --root "$BUILD_WORKSPACE_DIRECTORY/$tree" ${layouts[$tree]} || status=$?
done
exit $status
