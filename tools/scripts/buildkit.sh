#!/usr/bin/env bash
# tools/scripts/buildkit.sh: build BuildKit's buildkitd and buildctl, at the version
# go.mod names, for the differential tests (tools/integration/buildkit). Prints the
# directory that holds them; a second run finds them there and builds
# nothing. `go install` refuses BuildKit's module (its go.mod has exclude
# directives), so the module is downloaded and built in a copy.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."

version=$(awk '$1 == "github.com/moby/buildkit" { print $2 }' go.mod)
if [ -z "$version" ]; then
  echo "buildkit.sh: go.mod names no github.com/moby/buildkit" >&2
  exit 1
fi
out="${XDG_CACHE_HOME:-$HOME/.cache}/stagex/buildkit-$version"
if [ -x "$out/buildkitd" ] && [ -x "$out/buildctl" ]; then
  echo "$out"
  exit 0
fi
src=$(go mod download -json "github.com/moby/buildkit@$version" | sed -n 's/^\t"Dir": "\(.*\)",$/\1/p')
if [ -z "$src" ] || [ ! -d "$src" ]; then
  echo "buildkit.sh: could not download github.com/moby/buildkit@$version" >&2
  exit 1
fi
work=$(mktemp -d)
trap 'chmod -R u+w "$work"; rm -rf "$work"' EXIT
cp -r "$src" "$work/buildkit"
chmod -R u+w "$work/buildkit"
mkdir -p "$out.tmp"
(cd "$work/buildkit" && CGO_ENABLED=0 go build -trimpath -o "$out.tmp/" ./cmd/buildkitd ./cmd/buildctl) >&2
rm -rf "$out"
mv "$out.tmp" "$out"
echo "$out"
