# Replays one trace of the project's corpus (data/corpus) with --check
# --quiet (TRACE: the trace directory, or its trace file). Every snapshot
# file must MATCH, except the files named in ALLOW (comma-separated; the
# known replay limitations listed in data/corpus/expected-diffs.txt), and
# the model may diverge only where ALLOW holds divergences=N (then at most
# N times). A listed file that matches now is reported, not an error (the
# list can shrink).
#   cmake -DTOOL=maple-vma -DTRACE=data/corpus/xz-mt \
#         -DALLOW=maps.end.1,divergences=3 -P run_corpus_trace.cmake
cmake_minimum_required(VERSION 3.25)
execute_process(COMMAND "${TOOL}" replay "${TRACE}" --check --quiet
  RESULT_VARIABLE _rc OUTPUT_VARIABLE _out ERROR_VARIABLE _err)
if(NOT _rc MATCHES "^[013]$")
  message(FATAL_ERROR "maple-vma replay ${TRACE} --check failed (exit ${_rc})\n${_err}")
endif()

string(REPLACE "," ";" _allow "${ALLOW}")
set(_max_divergences 0)
foreach(_a IN LISTS _allow)
  if(_a MATCHES "^divergences=([0-9]+)$")
    set(_max_divergences ${CMAKE_MATCH_1})
  endif()
endforeach()

# The result lines: "MATCH maps.x ...", "MISMATCH maps.y ...", "NOT COMPARED maps.z ...".
string(REGEX MATCHALL "\n[A-Z][A-Z ]*[A-Z] +maps\\.[^ \n]+" _results "\n${_out}")
if(NOT _results)
  message(FATAL_ERROR "no snapshot result in the output of maple-vma replay ${TRACE}:\n${_out}")
endif()
set(_bad "")
set(_total 0)
set(_matched 0)
foreach(_r IN LISTS _results)
  string(REGEX MATCH "([A-Z][A-Z ]*[A-Z]) +(maps\\.[^ \n]+)" _m "${_r}")
  set(_status "${CMAKE_MATCH_1}")
  set(_file "${CMAKE_MATCH_2}")
  math(EXPR _total "${_total} + 1")
  if(_status STREQUAL "MATCH")
    math(EXPR _matched "${_matched} + 1")
    if(_file IN_LIST _allow)
      message("note: ${_file} is listed as expected to differ but matches now "
              "(data/corpus/expected-diffs.txt can drop it)")
    endif()
  elseif(NOT _file IN_LIST _allow)
    list(APPEND _bad "${_status} ${_file}")
  endif()
endforeach()

string(REGEX MATCHALL "model diverges" _div "${_err}")
list(LENGTH _div _divergences)
message("${TRACE}: ${_matched}/${_total} snapshot files match, ${_divergences} model divergences "
        "(allowed to differ: ${ALLOW})")
if(_bad OR _divergences GREATER _max_divergences)
  message(FATAL_ERROR "unexpected differences: ${_bad}; divergences ${_divergences} "
                      "(at most ${_max_divergences} expected)\n${_out}\n${_err}")
endif()
