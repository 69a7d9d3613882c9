#!/usr/bin/env bash
# Signs built images with a maintainer's key:
#
#   bazel run //tools/internal/signing:sign -- --key FILE --passphrase-file FILE [PATTERN...]
#
# builds every published image under the patterns (default //packages/...),
# then runs stagex-sign once per source tree (the directory holding a
# packages/ directory) with --root <tree> and --layout <image>=<built layout>
# for each image. stagex-sign refuses to sign when a built digest differs
# from <tree>/digests/<tier>.txt and writes the signatures into
# <tree>/signatures unless --store says otherwise. Arguments starting with
# // or @ are target patterns; all others go to stagex-sign, and relative
# paths in them are taken from the directory `bazel run` was started in.
set -euo pipefail

# shellcheck source=tools/scripts/published_images.sh
source "$1"
tool=$(realpath "$2")
shift 2
if [ -z "${BUILD_WORKSPACE_DIRECTORY:-}" ]; then
  echo "sign: run me with 'bazel run //tools/internal/signing:sign -- --key FILE --passphrase-file FILE [PATTERN...]'" >&2
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

echo "sign: building ${patterns[*]}" >&2
collect_published_layouts sign "${patterns[@]}"

cd "${BUILD_WORKING_DIRECTORY:-$BUILD_WORKSPACE_DIRECTORY}"
status=0
for tree in "${!layouts[@]}"; do
  echo "sign: images of $tree/packages" >&2
  # shellcheck disable=SC2086 # the --layout arguments hold no spaces
  "$tool" "${flags[@]}" --root "$BUILD_WORKSPACE_DIRECTORY/$tree" ${layouts[$tree]} || status=$?
done
exit $status
