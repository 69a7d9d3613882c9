#!/usr/bin/env bash
# Re-pins image digests from a build: `bazel run //:update_digests` builds
# every published image (or those under the patterns given after --), then
# writes each image's manifest digest into <tree>/digests/<tier>.txt, where
# <tree> is the directory holding the image's packages/ directory.
set -euo pipefail

# shellcheck source=tools/scripts/published_images.sh
source "$1"
tool=$(realpath "$2")
shift 2
if [ -z "${BUILD_WORKSPACE_DIRECTORY:-}" ]; then
  echo "update_digests: run me with 'bazel run //:update_digests'" >&2
  exit 2
fi
cd "$BUILD_WORKSPACE_DIRECTORY"

patterns=("$@")
[ ${#patterns[@]} -gt 0 ] || patterns=(//packages/... //fixtures/packages/...)

echo "update_digests: building ${patterns[*]}"
collect_published_layouts update_digests "${patterns[@]}"
for tree in "${!layouts[@]}"; do
  # shellcheck disable=SC2086 # the --layout arguments hold no spaces
  "$tool" update --root "$BUILD_WORKSPACE_DIRECTORY/$tree" ${layouts[$tree]}
done
