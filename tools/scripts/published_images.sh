# shellcheck shell=bash
# Sourced by tools/scripts/update_digests.sh and tools/internal/signing/sign.sh: finds the
# published images under some target patterns, builds them, and groups their
# layouts by source tree.
#
#   collect_published_layouts NAME PATTERN...
#
# NAME prefixes messages. Runs in $BUILD_WORKSPACE_DIRECTORY and fills the
# associative array `layouts`: <tree> -> " --layout <image>=<layout dir>..."
# where <tree> is the directory holding the image's packages/ directory
# ("." for this workspace's own packages/). The images are those the digest
# tests check, in the configuration they check them (an image index also
# builds them for other platforms). Fails when there is none.

declare -A layouts

collect_published_layouts() {
  local name=$1
  shift
  local execroot key expr query label image layout pkg tree
  (cd "$BUILD_WORKSPACE_DIRECTORY" && bazel build "$@")
  execroot=$(cd "$BUILD_WORKSPACE_DIRECTORY" && bazel info execution_root 2>/dev/null)

  key='//rules/private:providers.bzl%StagexImageInfo'
  expr="' '.join([str(target.label), providers(target)['$key'].image_name, providers(target)['$key'].layout.path]) if '$key' in providers(target) and providers(target)['$key'].image_name else ''"
  query="kind(stagex_stage, deps(kind(stagex_digest_test, set($*)), 1))"

  while read -r label image layout; do
    [ -n "$label" ] || continue
    pkg=${label#*//}
    pkg=${pkg%%:*}
    case "$pkg" in
      packages/*) tree=. ;;
      */packages/*/*) tree=${pkg%/packages/*} ;;
      *) echo "$name: $label is not in a <tree>/packages/<tier>/<name> directory" >&2; return 1 ;;
    esac
    layouts[$tree]+=" --layout $image=$execroot/$layout"
  done < <(cd "$BUILD_WORKSPACE_DIRECTORY" && bazel cquery "$query" --output=starlark --starlark:expr="$expr" 2>/dev/null)

  if [ ${#layouts[@]} -eq 0 ]; then
    echo "$name: no published image under $*" >&2
    return 1
  fi
}
