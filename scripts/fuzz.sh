#!/usr/bin/env bash
# Builds the libFuzzer targets (fuzz/) with clang into build/fuzz and runs
# each for a bounded time on a temporary copy of its seed corpus, so that a
# run never writes into the repository. Fails if any target finds a crash,
# a failed check, a leak or a timeout; the input that did it is kept in
# build/fuzz/artifacts/ (see fuzz/README.md for turning it into a
# regression input).
#
#   bash scripts/fuzz.sh [SECONDS-PER-TARGET] [TARGET...]
#
# Defaults: MAPLE_FUZZ_SECONDS or 45 seconds; targets fuzz_tree fuzz_cursor
# fuzz_gap fuzz_dup fuzz_xarray fuzz_trace (45 s, not 60, since there are six: on two
# CPUs the whole run stays near three and a half minutes).
# Environment:
#   MAPLE_FUZZ_SECONDS   seconds per target (when no argument is given)
#   MAPLE_FUZZ_PARALLEL  targets fuzzed at the same time (default: the number
#                        of CPUs, at most the number of targets)
#   MAPLE_FUZZ_MAX_LEN   libFuzzer -max_len (default 2048 bytes)
#   MAPLE_FUZZ_CORPUS    a directory to keep the grown corpora in across runs
#                        (DIR/<target>/); default: a temporary copy, discarded
#   MAPLE_FUZZ_ARGS      more libFuzzer flags, e.g. "-jobs=4 -workers=4"
#   MAPLE_FUZZ_CXX       the compiler (default clang++)
#   MAPLE_BUILD_JOBS     build parallelism (default nproc)
# Prints one line per target: runs, executions per second, coverage.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

secs=${1:-${MAPLE_FUZZ_SECONDS:-45}}
[[ $# -gt 0 ]] && shift
targets=("$@")
[[ ${#targets[@]} -gt 0 ]] || targets=(fuzz_tree fuzz_cursor fuzz_gap fuzz_dup fuzz_xarray fuzz_trace)
max_len=${MAPLE_FUZZ_MAX_LEN:-2048}
ncpu=$(nproc 2>/dev/null || echo 2)
parallel=${MAPLE_FUZZ_PARALLEL:-$ncpu}
build_jobs=${MAPLE_BUILD_JOBS:-$ncpu}
cxx=${MAPLE_FUZZ_CXX:-clang++}
if ! command -v "$cxx" >/dev/null 2>&1; then
  echo "fuzz.sh: $cxx not found (bash scripts/deps.sh installs clang)" >&2
  exit 1
fi

cmake -S . -B build/fuzz -DCMAKE_CXX_COMPILER="$cxx" -DCMAKE_BUILD_TYPE=Debug \
  -DMAPLE_BUILD_FUZZ=ON -DMAPLE_BUILD_TESTS=OFF -DMAPLE_BUILD_EXAMPLES=OFF \
  -DMAPLE_BUILD_BENCH=OFF -DMAPLE_INSTALL=OFF -DMAPLE_SANITIZE= -DMAPLE_WERROR=OFF >/dev/null
cmake --build build/fuzz --target "${targets[@]}" -j "$build_jobs"

artifacts=$PWD/build/fuzz/artifacts
mkdir -p "$artifacts"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/maple-fuzz.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

# Runs one target; its output goes to $tmp/<target>.log.
run_target() {
  local t=$1 corpus
  if [[ -n ${MAPLE_FUZZ_CORPUS:-} ]]; then
    corpus=$MAPLE_FUZZ_CORPUS/$t
    mkdir -p "$corpus"
  else
    corpus=$tmp/corpus-$t
    mkdir -p "$corpus"
  fi
  cp -n fuzz/corpus/"$t"/* "$corpus"/ 2>/dev/null || true
  local extra=()
  [[ -d fuzz/regressions/$t ]] && extra+=("fuzz/regressions/$t")  # read, never written
  # shellcheck disable=SC2086  # MAPLE_FUZZ_ARGS is a list of flags
  build/fuzz/fuzz/"$t" -max_total_time="$secs" -max_len="$max_len" -timeout=30 \
    -rss_limit_mb=2560 -print_final_stats=1 -artifact_prefix="$artifacts/$t-" \
    ${MAPLE_FUZZ_ARGS:-} "$corpus" "${extra[@]}" >"$tmp/$t.log" 2>&1
}

# Summary line for a finished target: runs, exec/s, coverage, corpus size.
summarise() {
  local t=$1 rc=$2 log=$tmp/$1.log runs eps cov corp
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
  eps=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -n 1)
  cov=$(grep -o 'cov: [0-9]*' "$log" | tail -n 1 | cut -d' ' -f2)
  corp=$(grep -o 'corp: [0-9]*' "$log" | tail -n 1 | cut -d' ' -f2)
  if [[ $rc -eq 0 ]]; then
    echo "fuzz $t: ok (${secs} s, ${runs:-?} runs, ${eps:-?} exec/s, cov ${cov:-?}, corpus ${corp:-?})"
  else
    echo "fuzz $t: FAILED (exit $rc after ${runs:-?} runs)"
  fi
}

declare -A rcs=()
pids=()
names=()
for t in "${targets[@]}"; do
  echo "--- fuzzing $t for $secs s"
  run_target "$t" &
  pids+=($!)
  names+=("$t")
  if [[ ${#pids[@]} -ge $parallel ]]; then
    set +e; wait "${pids[0]}"; rcs[${names[0]}]=$?; set -e
    pids=("${pids[@]:1}")
    names=("${names[@]:1}")
  fi
done
for i in "${!pids[@]}"; do
  set +e; wait "${pids[$i]}"; rcs[${names[$i]}]=$?; set -e
done

failed=0
lines=()
for t in "${targets[@]}"; do
  rc=${rcs[$t]}
  if [[ $rc -ne 0 ]]; then
    failed=1
    echo "=== $t: the end of its log"
    grep -v '^\s*#[0-9]* .*\(NEW\|REDUCE\|pulse\)' "$tmp/$t.log" | tail -n 60
    echo "=== reproduce: build/fuzz/fuzz/$t $(grep -o "$artifacts/$t-[a-z]*-[0-9a-f]*" "$tmp/$t.log" | tail -n 1)"
  fi
  lines+=("$(summarise "$t" "$rc")")
done
printf '%s\n' "${lines[@]}"
exit "$failed"
