#!/usr/bin/env bash
# The main job: builds maple (Release, build/release) and runs maple-vma, the
# trace replayer (tools/maple-vma): it replays a real strace log of a
# program's memory syscalls into maple::mm address spaces and checks them
# against the kernel's /proc/PID/maps snapshots. With no arguments it uses
# its embedded default, the shipped trace data/traces/threads-fork with
# --check --stats; arguments go to the program, e.g.
#   bash scripts/run.sh replay data/corpus/sh-pipeline/trace.strace.xz --check --quiet
#   bash scripts/run.sh replay data/traces/threads-fork/trace.strace.xz --pid 9671
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
cmake --build build/release --target maple-vma -j "$jobs"
exec build/release/tools/maple-vma "${args[@]}"
