#!/usr/bin/env bash
# Refresh the MathJax copy in static/offline/mathjax/ from the npm registry (maintainers only;
# the copy is committed so that the build and the HTML need no network).
#   tools/fetch_mathjax.sh [VERSION]      (default 3.2.2)
# Kept: es5/tex-mml-chtml.js, its CHTML fonts and the TeX extensions it autoloads.
set -euo pipefail
version=${1:-3.2.2}
root=$(cd "$(dirname "$0")/.." && pwd)
dest=$root/static/offline/mathjax
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
command -v npm >/dev/null || { echo "error: needs npm (Debian: sudo apt-get install npm)" >&2; exit 1; }
(cd "$tmp" && npm pack --silent "mathjax@$version" >/dev/null && tar xzf "mathjax-$version.tgz")
pkg=$tmp/package
rm -rf "$dest"
mkdir -p "$dest/es5/output/chtml" "$dest/es5/input/tex"
cp "$pkg/LICENSE" "$dest/"
cp "$pkg/es5/tex-mml-chtml.js" "$dest/es5/"
cp -r "$pkg/es5/output/chtml/fonts" "$dest/es5/output/chtml/"
cp -r "$pkg/es5/input/tex/extensions" "$dest/es5/input/tex/"
echo "mathjax@$version from the npm registry (npm pack), by tools/fetch_mathjax.sh" > "$dest/VERSION"
du -sh "$dest"
