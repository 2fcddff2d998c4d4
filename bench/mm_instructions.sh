#!/usr/bin/env bash
# bench/mm_instructions.sh - instructions per replayed syscall under
# callgrind: the noise-free companion of maple_bench_mm's mm_replay
# benchmarks (same traces, same replay options, counts instead of times).
#
#   bench/mm_instructions.sh                         # every trace bench_mm finds
#   bench/mm_instructions.sh --traces=threads-fork   # names, comma separated
#   bench/mm_instructions.sh --before=OLD/maple_bench_mm   # adds old and old/new
#   bench/mm_instructions.sh --lockless              # the /lockless variants
#
# Builds maple_bench_mm (BUILD_DIR, default build/bench, configured Release if
# new), then runs
# each mm_replay benchmark for one iteration under valgrind --tool=callgrind
# with collection on only inside maple::vma_tool::replayer::run (parsing,
# snapshot loading and the benchmark library are left out), and prints
# instructions per syscall the replay applied or skipped (the benchmark's
# syscalls counter). With --before, the old binary runs the same way in the
# same session and the table adds its count and the ratio old / new (above
# 1: the new one is cheaper).
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD_DIR:-$root/build/bench}
traces=
before=
suffix=
for arg in "$@"; do
  case $arg in
    --traces=*) traces=${arg#--traces=} ;;
    --before=*) before=${arg#--before=} ;;
    --lockless) suffix=/lockless ;;
    *) echo "mm_instructions.sh: unknown argument $arg" >&2; exit 2 ;;
  esac
done
command -v valgrind >/dev/null || { echo "mm_instructions.sh: valgrind not found" >&2; exit 1; }
if [[ -n $before && ! -x $before ]]; then
  echo "mm_instructions.sh: $before is not an executable" >&2
  exit 2
fi

# An existing build directory keeps its own options (it must build benchmarks).
[[ -f $build/CMakeCache.txt ]] ||
  cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release -DMAPLE_BUILD_BENCH=ON \
    -DMAPLE_BUILD_TESTS=OFF -DMAPLE_BUILD_EXAMPLES=OFF >/dev/null
cmake --build "$build" -j"$(nproc)" --target maple_bench_mm >/dev/null
bin=$build/bench/maple_bench_mm

work=$(mktemp -d "${TMPDIR:-/tmp}/maple-mm-instr.XXXXXX")
trap 'rm -rf "$work"' EXIT

# Instructions inside replayer::run and the syscalls it replayed, for one
# benchmark of one binary: "IR SYSCALLS".
count() {
  local exe=$1 bench=$2 out=$work/cg
  valgrind --tool=callgrind --collect-atstart=no \
    --toggle-collect='maple::vma_tool::replayer::run*' --callgrind-out-file="$out" \
    "$exe" --benchmark_filter="^${bench}\$" --benchmark_min_time=0 \
    --benchmark_format=json >"$work/json" 2>"$work/err" || {
    echo "mm_instructions.sh: $bench failed under $exe:" >&2
    tail -n 5 "$work/err" >&2
    return 1
  }
  local ir iters calls
  ir=$(sed -n 's/^totals: *\([0-9]*\).*/\1/p' "$out")
  # syscalls_per_s is a rate over the CPU time (kIsRate without
  # UseRealTime): rate * cpu_time gives the count back (cpu_time is per
  # iteration).
  iters=$(/usr/bin/python3 -c 'import json,sys
b=json.load(open(sys.argv[1]))["benchmarks"][0]
print(b["iterations"], round(b["syscalls_per_s"]*b["cpu_time"]*b["iterations"]/{"ms":1e3,"us":1e6,"ns":1e9}[b["time_unit"]]))' "$work/json")
  read -r iters calls <<<"$iters"
  echo "$ir $calls"
}

mapfile -t all < <("$bin" --benchmark_list_tests | grep '^mm_replay/' | grep -v '/lockless$' |
  sed "s|\$|$suffix|")
printf '%-44s %12s' "benchmark (instructions per syscall)" "now"
[[ -n $before ]] && printf ' %12s %10s' "before" "before/now"
printf '\n'
for b in "${all[@]}"; do
  name=${b#mm_replay/*/}
  name=${name%/lockless}
  if [[ -n $traces && ",$traces," != *",$name,"* ]]; then continue; fi
  read -r ir calls <<<"$(count "$bin" "$b")"
  now=$(awk -v i="$ir" -v c="$calls" 'BEGIN { printf "%.0f", i / c }')
  printf '%-44s %12s' "$b" "$now"
  if [[ -n $before ]]; then
    read -r oir ocalls <<<"$(count "$before" "$b")"
    old=$(awk -v i="$oir" -v c="$ocalls" 'BEGIN { printf "%.0f", i / c }')
    printf ' %12s %10s' "$old" "$(awk -v o="$old" -v n="$now" 'BEGIN { printf "%.2f", o / n }')"
  fi
  printf '\n'
done
