#!/usr/bin/env bash
# The main job: builds maple (Release, build/release) and runs the example
# program maple-vma-demo, which loads a real /proc/PID/maps snapshot into a
# maple tree and checks it. With no arguments it uses its embedded default
# (data/maps.threads-fork.txt); arguments go to the program, e.g.
#   bash scripts/run.sh data/maps.gcc-cc1plus.txt
#   bash scripts/run.sh --full-dump /proc/self/maps
set -euo pipefail
# File arguments are relative to the caller's directory.
args=()
for a in "$@"; do
  if [[ "$a" != -* && "$a" != /* && -e "$a" ]]; then a="$PWD/$a"; fi
  args+=("$a")
done
cd "$(dirname "${BASH_SOURCE[0]}")/.."

bash scripts/deps.sh
jobs=$(nproc 2>/dev/null || echo 2)
# Options already in the cache (e.g. set by scripts/test.sh) are kept.
cmake -S . -B build/release -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build/release --target maple-vma-demo -j "$jobs"
exec build/release/examples/maple-vma-demo "${args[@]}"
