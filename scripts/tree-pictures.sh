#!/usr/bin/env bash
# Regenerates the tree pictures of the docs (docs/images/tree/*.svg) from
# tools/tree-pictures (maple-tree-pictures writes one DOT file per picture)
# with Graphviz's dot (Debian graphviz).
#
#   bash scripts/tree-pictures.sh [BUILD_DIR]
#
# BUILD_DIR (default build/pictures) is configured when it has no cache yet
# and only the program is built there. Each SVG carries the SHA-256 of its
# DOT source in a comment; the test docs.tree_pictures compares it with
# the program's output, so a change to the drawing or to the engine's
# shapes fails that test until this script is run again.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

build=${1:-build/pictures}
command -v dot >/dev/null 2>&1 || { echo "tree-pictures: dot not found (apt-get install graphviz)" >&2; exit 1; }
if [[ ! -f $build/CMakeCache.txt ]]; then
  cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release >/dev/null
fi
cmake --build "$build" -j"${MAPLE_BUILD_JOBS:-2}" --target maple-tree-pictures >/dev/null

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
"$build/tools/tree-pictures/maple-tree-pictures" "$tmp" >/dev/null

out=docs/images/tree
mkdir -p "$out"
rm -f "$out"/*.svg
for src in "$tmp"/*.dot; do
  name=$(basename "$src" .dot)
  sum=$(sha256sum "$src" | cut -d' ' -f1)
  dot -Tsvg -Gcomment="source sha256 $sum" "$src" -o "$out/$name.svg"
  echo "$out/$name.svg"
done
