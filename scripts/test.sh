#!/usr/bin/env bash
# shellcheck disable=SC2317  # the stage_* functions are called indirectly
# The test command (also what CI runs, via .ci/run). Stages:
#   release  Release build with -Werror (tests, examples, benchmarks built),
#            ctest in build/release
#   asan     Debug (-O1) build with address+undefined sanitizers in build/asan,
#            ctest without the tests labelled `slow`
#   install  the release build installed into a temporary prefix; the
#            tests/consumer project built against it with find_package, with
#            add_subdirectory, and by hand with pkg-config; each binary run
# Prints one summary line per stage; exits nonzero if any stage failed.
# Environment: MAPLE_TEST_JOBS (ctest -j, default 2), MAPLE_BUILD_JOBS
# (default nproc), MAPLE_STAGES (default "release asan install").
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
root=$PWD

bash scripts/deps.sh

build_jobs=${MAPLE_BUILD_JOBS:-$(nproc 2>/dev/null || echo 2)}
test_jobs=${MAPLE_TEST_JOBS:-2}
stages=${MAPLE_STAGES:-release asan install}
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

stage_release() {
  cmake -S . -B build/release -DCMAKE_BUILD_TYPE=Release -DMAPLE_WERROR=ON \
    -DMAPLE_BUILD_TESTS=ON -DMAPLE_BUILD_EXAMPLES=ON -DMAPLE_BUILD_BENCH=ON -DMAPLE_SANITIZE=
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

stage_install() {
  local prefix=$tmp/prefix cxx=${CXX:-c++} pcdir
  [[ -f build/release/CMakeCache.txt ]] || cmake -S . -B build/release -DCMAKE_BUILD_TYPE=Release
  cmake --build build/release --target maple -j "$build_jobs"
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
}

summary=()
failed=0
for stage in $stages; do
  echo "=== stage $stage"
  : >"$tmp/count"
  start=$SECONDS
  set +e
  (set -e; "stage_$stage")
  rc=$?
  set -e
  secs=$((SECONDS - start))
  count=$(cat "$tmp/count")
  what=tests
  [[ $stage == install ]] && what=consumers
  if [[ $rc -eq 0 ]]; then
    line="stage $stage: ok (${count:-?} $what, ${secs} s)"
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
