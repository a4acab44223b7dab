#!/usr/bin/env bash
# Builds the SketchUp extension package: build/tds_render-<version>.rbz (or into the folder given
# as $1). An .rbz is a ZIP with exactly two items at its root: the loader tds_render.rb and its
# support folder tds_render/. Tests and build outputs stay out.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
out="${1:-$here/build}"
mkdir -p "$out"
out="$(cd "$out" && pwd)"
version="$(sed -n "s/^ *VERSION = '\(.*\)'$/\1/p" "$here/src/tds_render/core/version.rb")"
package="$out/tds_render-$version.rbz"
rm -f "$package"
cd "$here/src"
zip -q -r -X "$package" tds_render.rb tds_render -x '*/.*' '*~' '*.orig'
echo "$package"
