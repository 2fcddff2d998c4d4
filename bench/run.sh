#!/usr/bin/env bash
# bench/run.sh - build the workload benchmarks (Release) and run them.
#
#   bench/run.sh                       # full run: 5 repetitions, medians
#   bench/run.sh --sizes=1000 --scale=0.1          # quick pass
#   bench/run.sh --benchmark_filter='W3_lookup/.*/N:1000000'
#
# Extra arguments go to the benchmark program. Environment: BUILD_DIR
# (default build/bench), REPS (default 5), JOBS (default nproc), PLOT_DIR
# (default $BUILD_DIR/plots).
# Writes $BUILD_DIR/results.json (Google Benchmark JSON, median aggregates)
# and $BUILD_DIR/results.md (the table of bench/table.py), and prints the table;
# with matplotlib importable by /usr/bin/python3, also one SVG per workload
# into $PLOT_DIR (bench/plot.py).
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD_DIR:-$root/build/bench}
reps=${REPS:-5}
jobs=${JOBS:-$(nproc)}

cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release -DMAPLE_BUILD_BENCH=ON \
  -DMAPLE_BUILD_TESTS=OFF -DMAPLE_BUILD_EXAMPLES=OFF >/dev/null
cmake --build "$build" -j"$jobs" --target maple_bench maple_bench_check

bin=$build/bench
[ -x "$bin/maple_bench" ] || { echo "run.sh: $bin/maple_bench not built" >&2; exit 1; }

echo "== adapter check"
"$bin/maple_bench_check"

echo "== benchmarks (repetitions: $reps)"
"$bin/maple_bench" \
  --benchmark_repetitions="$reps" \
  --benchmark_report_aggregates_only=true \
  --benchmark_out="$build/results.json" \
  --benchmark_out_format=json \
  "$@"

python3 "$root/bench/table.py" "$build/results.json" | tee "$build/results.md"

# Plots only where Debian's matplotlib is there; quietly skipped otherwise.
if [ -x /usr/bin/python3 ] && /usr/bin/python3 -c 'import matplotlib' >/dev/null 2>&1; then
  plots=${PLOT_DIR:-$build/plots}
  /usr/bin/python3 "$root/bench/plot.py" --out="$plots" "$build/results.json" >/dev/null
  echo "plots: $plots/"
fi
