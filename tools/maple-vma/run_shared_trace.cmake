# Runs maple-vma --check on one trace directory of the shared collection;
# prints "SKIPPED: ..." (ctest's SKIP_REGULAR_EXPRESSION marks the test
# skipped) when the directory is absent. EXPECT: the exit status wanted
# (default 0, every snapshot matches; 3: only undetermined differences).
#   cmake -DTOOL=maple-vma -DDIR=path/to/traces/xz-mt -P run_shared_trace.cmake
if(NOT IS_DIRECTORY "${DIR}")
  message("SKIPPED: trace directory ${DIR} does not exist (the shared trace collection is absent)")
  return()
endif()
file(GLOB _trace "${DIR}/trace.strace" "${DIR}/trace.strace.xz")
if(NOT _trace)
  message(FATAL_ERROR "no trace.strace[.xz] in ${DIR}")
endif()
list(GET _trace 0 _trace)
if(NOT DEFINED EXPECT)
  set(EXPECT 0)
endif()
execute_process(COMMAND "${TOOL}" replay "${_trace}" --check --quiet RESULT_VARIABLE _rc)
if(NOT _rc EQUAL EXPECT)
  message(FATAL_ERROR "maple-vma replay ${_trace} --check: exit ${_rc}, expected ${EXPECT}")
endif()
