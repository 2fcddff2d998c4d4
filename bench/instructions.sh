#!/usr/bin/env bash
# bench/instructions.sh - instructions per operation under callgrind: the
# noise-free companion of run.sh (same data, counts instead of times).
#
#   bench/instructions.sh                        # W1-W6 + W7b at N = 10^3, 10^4, 10^5
#   bench/instructions.sh --sizes=1000,1000000   # other sizes (10^6 is slow)
#   bench/instructions.sh --peers=maple,maple_rcu --workloads=W3,W5
#   bench/instructions.sh --before=old/instructions.tsv   # adds now/before ratios
#   bench/instructions.sh --repeat=5             # runs of the *_rcu peers (default 3)
#   bench/instructions.sh --cache                # also simulated last-level cache misses
#
# Builds maple_bench_instr (Release) like run.sh, then runs every (workload,
# peer, N) once under valgrind --tool=callgrind with instrumentation and
# collection off until the program's measured loop (bench/instr_main.cpp).
# W1-W6 run for --peers (default maple, maple_rcu, absl_btree, std_map);
# W7b for maple_alloc and maple_alloc_rcu. The RCU peers' counts vary a
# little between runs (their frees run on another thread meanwhile, which
# changes the writer's malloc paths): they run --repeat times and the median
# is kept. --cache adds callgrind's cache simulation (--cache-sim=yes, the
# host's cache sizes) and a table of last-level data misses per operation:
# the cost that grows with N while instruction counts stay flat. Environment: BUILD_DIR (default
# build/bench), JOBS (parallel valgrind runs, default nproc). Writes
# $BUILD_DIR/instructions.tsv (workload, peer, N, ops, calls, instructions)
# and $BUILD_DIR/instructions.md (bench/instr_table.py), and prints the table.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD_DIR:-$root/build/bench}
jobs=${JOBS:-$(nproc)}
sizes=1000,10000,100000
peers=maple,maple_rcu,absl_btree,std_map
workloads=W1,W2,W3,W4,W5,W6,W7b
repeat=3
cache_sim=no
table_args=()
for arg in "$@"; do
  case $arg in
    --sizes=*) sizes=${arg#--sizes=} ;;
    --peers=*) peers=${arg#--peers=} ;;
    --workloads=*) workloads=${arg#--workloads=} ;;
    --before=*) table_args+=("$arg") ;;
    --repeat=*) repeat=${arg#--repeat=} ;;
    --cache) cache_sim=yes ;;
    *) echo "instructions.sh: unknown argument $arg" >&2; exit 2 ;;
  esac
done
[[ $repeat =~ ^[1-9][0-9]*$ ]] || { echo "instructions.sh: --repeat needs a count" >&2; exit 2; }
command -v valgrind >/dev/null || { echo "instructions.sh: valgrind not found" >&2; exit 1; }

cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release -DMAPLE_BUILD_BENCH=ON \
  -DMAPLE_BUILD_TESTS=OFF -DMAPLE_BUILD_EXAMPLES=OFF >/dev/null
cmake --build "$build" -j"$jobs" --target maple_bench_instr
bin=$build/bench/maple_bench_instr
[ -x "$bin" ] || { echo "instructions.sh: $bin not built (valgrind headers missing?)" >&2; exit 1; }

work=$(mktemp -d "${TMPDIR:-/tmp}/maple-instr.XXXXXX")
trap 'rm -rf "$work"' EXIT

# One job: its TSV row to $work/<job>.row (none when a run fails).
one() {
  local w=$1 p=$2 n=$3 job="$work/$1.$2.$3" runs=1 i irs=() lls=()
  case $p in *_rcu) runs=$repeat ;; esac
  for ((i = 0; i < runs; i++)); do
    if ! valgrind --tool=callgrind --instr-atstart=no --collect-atstart=no --cache-sim=$cache_sim \
      --callgrind-out-file="$job.cg" "$bin" "$w" "$p" "$n" >"$job.out" 2>"$job.err"; then
      echo "instructions.sh: $w/$p/N:$n failed:" >&2
      tail -n 5 "$job.err" >&2
      return 1
    fi
    irs+=("$(sed -n 's/^totals: *\([0-9]*\).*/\1/p' "$job.cg")")
    # With --cache-sim the totals are Ir Dr Dw I1mr D1mr D1mw ILmr DLmr DLmw.
    lls+=("$(awk '/^totals:/ { print (NF >= 10) ? $9 + $10 : 0 }' "$job.cg")")
  done
  local ir ll
  ir=$(printf '%s\n' "${irs[@]}" | sort -n | sed -n "$(((runs + 1) / 2))p")  # the median
  ll=$(printf '%s\n' "${lls[@]}" | sort -n | sed -n "$(((runs + 1) / 2))p")
  printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$w" "$p" "$n" \
    "$(sed -n 's/^ops=\([0-9]*\) calls=\([0-9]*\)$/\1\t\2/p' "$job.out")" "${ir:-0}" \
    "${ll:-0}" >"$job.row"
}

list=()
IFS=, read -r -a ns <<<"$sizes"
IFS=, read -r -a ps <<<"$peers"
IFS=, read -r -a ws <<<"$workloads"
for w in "${ws[@]}"; do
  if [ "$w" = W7b ]; then wps=(maple_alloc maple_alloc_rcu); else wps=("${ps[@]}"); fi
  for n in "${ns[@]}"; do
    for p in "${wps[@]}"; do list+=("$w $p $n"); done
  done
done

echo "== ${#list[@]} callgrind runs, $jobs at a time"
start=$SECONDS
running=0
for job in "${list[@]}"; do
  # shellcheck disable=SC2086 # job is "workload peer n"
  one $job &
  running=$((running + 1))
  if [ "$running" -ge "$jobs" ]; then
    wait -n || true
    running=$((running - 1))
  fi
done
wait
echo "== done in $((SECONDS - start)) s"

printf 'workload\tpeer\tn\tops\tcalls\tinstructions\tll_misses\n' >"$build/instructions.tsv"
failed=0
for job in "${list[@]}"; do
  read -r w p n <<<"$job"
  if [ -s "$work/$w.$p.$n.row" ]; then cat "$work/$w.$p.$n.row"; else failed=$((failed + 1)); fi
done >>"$build/instructions.tsv"

python3 "$root/bench/instr_table.py" "${table_args[@]}" "$build/instructions.tsv" |
  tee "$build/instructions.md"
if [ "$failed" -ne 0 ]; then
  echo "instructions.sh: $failed run(s) failed" >&2
  exit 1
fi
