#!/usr/bin/env bash
# shellcheck disable=SC2317  # the stage_* functions are called indirectly
# The test command (also what CI runs, via .ci/run). Stages:
#   format    clang-format --dry-run -Werror over include/ src/ tests/ bench/
#             examples/ fuzz/ tools/ (scripts/format.sh --check)
#   tidy      clang-tidy with .clang-tidy over the library, no warnings
#             allowed (scripts/tidy.sh)
#   release   Release build (with -g) with -Werror (tests, examples,
#             benchmarks built), ctest in build/release
#   asan      Debug (-O1) build with address+undefined sanitizers in build/asan,
#             ctest without the tests labelled `slow`
#   tsan      the tests labelled `concurrency`, built with g++
#             -fsanitize=thread and MAPLE_RCU_BACKEND=std (TSan cannot follow
#             liburcu's grace periods) in build/tsan; MAPLE_TEST_SCALE
#             defaults to 0.1 there
#   install   the release build installed into a temporary prefix; the
#             tests/consumer project built against it with find_package, with
#             add_subdirectory, and by hand with pkg-config; each binary run
#   valgrind  memcheck over the release build's unit tests (tree, cursor,
#             gap, regression catalogue, RCU, dup, fault sweep, external
#             lock; death tests and the allocation-tree copies of typed
#             tests excluded), the example, maple-vma and its tests, and the
#             fuzz corpus replays: no errors, no definite or indirect leaks
#   fuzz      the libFuzzer targets, MAPLE_FUZZ_SECONDS (default 45) seconds
#             each, built with clang in build/fuzz (scripts/fuzz.sh)
# Prints one summary line per stage; exits nonzero if any stage failed.
# Environment: MAPLE_TEST_JOBS (ctest -j and parallel valgrind runs, default
# 2), MAPLE_BUILD_JOBS (default nproc), MAPLE_STAGES (default: all of the
# above, in this order), MAPLE_FUZZ_SECONDS.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
root=$PWD

bash scripts/deps.sh

build_jobs=${MAPLE_BUILD_JOBS:-$(nproc 2>/dev/null || echo 2)}
test_jobs=${MAPLE_TEST_JOBS:-2}
stages=${MAPLE_STAGES:-format tidy release asan tsan install valgrind fuzz}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/maple-test.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

# Runs ctest in build dir $1 with extra arguments; records the test count.
run_ctest() {
  local dir=$1
  shift
  ctest --test-dir "$dir" --output-on-failure --no-tests=error -j "$test_jobs" "$@" \
    2>&1 | tee "$tmp/ctest.log"
  sed -n 's/.*tests passed, [0-9]* tests\{0,1\} failed out of \([0-9]*\).*/\1/p' \
    "$tmp/ctest.log" | tail -n 1 >"$tmp/count"
}

# The release build tree (also used by install and valgrind). -g on top of
# Release's -O3 -DNDEBUG: valgrind reports carry file and line.
configure_release() {
  cmake -S . -B build/release -DCMAKE_BUILD_TYPE=Release -DCMAKE_CXX_FLAGS_RELEASE="-O3 -DNDEBUG -g" \
    -DMAPLE_WERROR=ON -DMAPLE_BUILD_TESTS=ON -DMAPLE_BUILD_EXAMPLES=ON -DMAPLE_BUILD_BENCH=ON \
    -DMAPLE_SANITIZE=
}

stage_format() {
  bash scripts/format.sh --check | tee "$tmp/format.log"
  # "format: N files formatted (clang-format-14)"
  sed -n 's/^format: \([0-9]*\) files formatted.*/\1/p' "$tmp/format.log" >"$tmp/count"
  echo "files formatted" >"$tmp/what"
}

stage_tidy() {
  bash scripts/tidy.sh | tee "$tmp/tidy.log"
  echo "$(find src -name '*.cpp' | wc -l) sources + public headers, 0 warnings" >"$tmp/detail"
}

stage_release() {
  configure_release
  cmake --build build/release -j "$build_jobs"
  run_ctest build/release
}

stage_asan() {
  # Debug keeps assertions on; -O1 keeps the sanitized tests fast enough.
  cmake -S . -B build/asan -DCMAKE_BUILD_TYPE=Debug \
    -DCMAKE_CXX_FLAGS="-O1 -D_GLIBCXX_ASSERTIONS" -DMAPLE_SANITIZE=address,undefined \
    -DMAPLE_BUILD_TESTS=ON -DMAPLE_BUILD_EXAMPLES=ON -DMAPLE_BUILD_BENCH=OFF
  cmake --build build/asan -j "$build_jobs"
  ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:detect_stack_use_after_return=1:strict_string_checks=1} \
    UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1} \
    run_ctest build/asan -LE slow
}

stage_tsan() {
  # Only the concurrency tests are built: the std backend exists for them.
  cmake -S . -B build/tsan -DCMAKE_BUILD_TYPE=Debug -DCMAKE_CXX_FLAGS="-O1 -g" \
    -DMAPLE_SANITIZE=thread -DMAPLE_RCU_BACKEND=std \
    -DMAPLE_BUILD_TESTS=ON -DMAPLE_BUILD_EXAMPLES=OFF -DMAPLE_BUILD_BENCH=OFF
  cmake --build build/tsan -j "$build_jobs" --target maple_concurrency_tests
  TSAN_OPTIONS=${TSAN_OPTIONS:-halt_on_error=1:second_deadlock_stack=1} \
    MAPLE_TEST_SCALE=${MAPLE_TEST_SCALE:-0.1} \
    run_ctest build/tsan -L concurrency
}

stage_install() {
  local prefix=$tmp/prefix cxx=${CXX:-c++} pcdir
  [[ -f build/release/CMakeCache.txt ]] || configure_release
  cmake --build build/release --target maple maple_xarray -j "$build_jobs"
  cmake --install build/release --prefix "$prefix"

  echo "--- find_package consumer"
  cmake -S tests/consumer -B "$tmp/consumer" -DCMAKE_BUILD_TYPE=Release \
    -DCMAKE_PREFIX_PATH="$prefix"
  cmake --build "$tmp/consumer" -j "$build_jobs"
  "$tmp/consumer/app"

  echo "--- add_subdirectory consumer"
  cmake -S tests/consumer -B "$tmp/consumer-sub" -DCMAKE_BUILD_TYPE=Release \
    -DMAPLE_SOURCE_DIR="$root"
  cmake --build "$tmp/consumer-sub" -j "$build_jobs"
  "$tmp/consumer-sub/app"

  echo "--- pkg-config consumer"
  pcdir=$(dirname "$(find "$prefix" -name maple.pc -print -quit)")
  local flags
  flags=$(PKG_CONFIG_PATH="$pcdir" pkg-config --cflags --libs maple)
  echo "pkg-config --cflags --libs maple: $flags"
  # shellcheck disable=SC2086  # word splitting of the flags is intended
  "$cxx" -std=c++20 -O2 tests/consumer/main.cpp $flags -o "$tmp/app-pc"
  "$tmp/app-pc"
  echo 3 >"$tmp/count"
  echo consumers >"$tmp/what"
}

stage_valgrind() {
  # Whole programs, not ctest's one process per test: valgrind's start-up
  # cost is paid once per program.
  local b=build/release
  [[ -f $b/CMakeCache.txt ]] || configure_release
  cmake --build "$b" -j "$build_jobs" --target maple_unit_tests maple_cursor_tests \
    maple_rcu_tests maple_dup_tests maple_fault_sweep_tests maple_gap_tests \
    maple_regression_tests maple_external_lock_tests maple-vma-demo maple_fuzz_replay_tree \
    maple_fuzz_replay_cursor maple_fuzz_replay_gap maple-vma maple_vma_tests maple_fuzz_replay_trace \
    maple_fuzz_replay_dup maple_fuzz_replay_xarray
  # Longest first: the runs share $test_jobs workers. The catalogue's
  # 32-slot copies (RegressionCatalogue/2) and the allocation-tree copies of
  # the typed suites (Suite/2, Suite/3) run the same code paths as the
  # others under memcheck: left to the release and ASan stages.
  local typed='-*Death*:*/2.*:*/3.*'
  local runs=(
    "$b/tests/maple_cursor_tests --gtest_brief=1 --gtest_filter=$typed"
    "$b/tests/maple_unit_tests --gtest_brief=1 --gtest_filter=$typed"
    "$b/tests/maple_regression_tests --gtest_brief=1 --gtest_filter=-RegressionCatalogue/2.*"
    "$b/tests/maple_gap_tests --gtest_brief=1 --gtest_filter=$typed"
    "$b/tests/maple_rcu_tests --gtest_brief=1 --gtest_filter=-*Death*"
    "$b/tests/maple_external_lock_tests --gtest_brief=1 --gtest_filter=-*Death*"
    "$b/tests/maple_dup_tests --gtest_brief=1 --gtest_filter=$typed"
    "$b/tests/maple_fault_sweep_tests --gtest_brief=1 --gtest_filter=$typed"
    "$b/examples/maple-vma-demo --no-dump"
    "$b/tests/maple_fuzz_replay_tree fuzz/corpus/fuzz_tree fuzz/regressions/fuzz_tree"
    "$b/tests/maple_fuzz_replay_cursor fuzz/corpus/fuzz_cursor fuzz/regressions/fuzz_cursor"
    "$b/tests/maple_fuzz_replay_gap fuzz/corpus/fuzz_gap fuzz/regressions/fuzz_gap"
    "$b/tools/maple-vma replay data/traces/threads-fork/trace.strace.xz --check --quiet"
    "$b/tools/maple_vma_tests --gtest_brief=1"
    "$b/tools/maple_fuzz_replay_trace fuzz/corpus/fuzz_trace fuzz/regressions/fuzz_trace"
    "$b/tests/maple_fuzz_replay_dup fuzz/corpus/fuzz_dup fuzz/regressions/fuzz_dup"
    "$b/tests/maple_fuzz_replay_xarray fuzz/corpus/fuzz_xarray fuzz/regressions/fuzz_xarray"
  )
  mkdir -p "$tmp/vg"
  local i=0
  for r in "${runs[@]}"; do
    echo "$i $r"
    i=$((i + 1))
  done >"$tmp/vg/list"
  # Each line: its number and the command; the log goes to $tmp/vg/<n>.log.
  set +e
  # shellcheck disable=SC2016  # expanded by the inner shell
  xargs -P "$test_jobs" -L 1 bash -c 'n=$1; shift
    valgrind -q --error-exitcode=99 --leak-check=full \
      --errors-for-leak-kinds=definite,indirect --show-leak-kinds=definite,indirect \
      "$@" >"'"$tmp"'/vg/$n.log" 2>&1
    rc=$?; echo "$rc" >"'"$tmp"'/vg/$n.rc"' _ <"$tmp/vg/list"
  set -e
  local failed=0 n cmd rc
  while read -r n cmd; do
    rc=$(cat "$tmp/vg/$n.rc" 2>/dev/null || echo '?')
    if [[ $rc == 0 ]]; then
      echo "valgrind ok: $cmd"
    else
      failed=1
      echo "valgrind FAILED (exit $rc): $cmd"
      tail -n 80 "$tmp/vg/$n.log"
    fi
  done <"$tmp/vg/list"
  echo "${#runs[@]}" >"$tmp/count"
  echo "programs, no errors, no leaks" >"$tmp/what"
  return "$failed"
}

stage_fuzz() {
  local secs=${MAPLE_FUZZ_SECONDS:-45}
  bash scripts/fuzz.sh "$secs" | tee "$tmp/fuzz.log"
  # "fuzz fuzz_tree: ok (60 s, N runs, X exec/s, ...)" -> "fuzz_tree X exec/s"
  local rates
  rates=$(sed -n 's/^fuzz \([a-z_]*\): ok ([0-9]* s, [0-9?]* runs, \([0-9?]*\) exec\/s.*/\1 \2 exec\/s/p' \
    "$tmp/fuzz.log" | paste -sd, - | sed 's/,/, /g')
  echo "$(grep -c '^fuzz .*: ok' "$tmp/fuzz.log") targets x ${secs} s: $rates" >"$tmp/detail"
}

summary=()
failed=0
for stage in $stages; do
  echo "=== stage $stage"
  : >"$tmp/count"
  rm -f "$tmp/what" "$tmp/detail"
  start=$SECONDS
  set +e
  (set -e; "stage_$stage")
  rc=$?
  set -e
  secs=$((SECONDS - start))
  count=$(cat "$tmp/count")
  what=tests
  [[ -f $tmp/what ]] && what=$(cat "$tmp/what")
  detail="${count:-?} $what"
  [[ -f $tmp/detail ]] && detail=$(cat "$tmp/detail")
  if [[ $rc -eq 0 ]]; then
    line="stage $stage: ok ($detail, ${secs} s)"
  else
    line="stage $stage: FAILED (exit $rc, ${secs} s)"
    failed=1
  fi
  echo "$line"
  summary+=("$line")
done

echo
echo "=== summary"
printf '%s\n' "${summary[@]}"
exit "$failed"
