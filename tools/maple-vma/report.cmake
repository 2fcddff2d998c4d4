# `maple-vma replay ... --html FILE` (html_report.h): its sources, and its
# tests, which open each report in headless Chromium (run_html_report.sh;
# skipped, exit 77, where Chromium is absent or cannot run). Included by
# tools/CMakeLists.txt after the targets and MAPLE_SHARED_TRACES are defined.
target_sources(maple_vma_replay PRIVATE
  ${CMAKE_CURRENT_LIST_DIR}/html_report.cpp
  ${CMAKE_CURRENT_LIST_DIR}/html_svg.cpp)

if(MAPLE_BUILD_TESTS)
  find_program(MAPLE_CHROMIUM NAMES chromium chromium-browser google-chrome
    DOC "Chromium, for the HTML report tests (headless)")
  set(_chromium "${MAPLE_CHROMIUM}")
  if(NOT _chromium)
    set(_chromium "chromium")  # looked up again when the test runs
  endif()
  # Reports, DOM dumps and screenshots are left here (test artefacts).
  set(_report_dir "${CMAKE_CURRENT_BINARY_DIR}/maple-vma-report")
  set(_report_env "MAPLE_CHROMIUM=${_chromium}")

  # One test per trace of the project's corpus.
  file(GLOB _report_traces "${PROJECT_SOURCE_DIR}/data/corpus/*/trace.strace*")
  foreach(_trace IN LISTS _report_traces)
    get_filename_component(_dir "${_trace}" DIRECTORY)
    get_filename_component(_name "${_dir}" NAME)
    add_test(NAME mm.report.corpus.${_name}
      COMMAND ${CMAKE_CURRENT_LIST_DIR}/run_html_report.sh $<TARGET_FILE:maple-vma>
              ${_report_dir}/corpus ${_dir})
    set_tests_properties(mm.report.corpus.${_name} PROPERTIES
      LABELS mm TIMEOUT 300 SKIP_RETURN_CODE 77 ENVIRONMENT "${_report_env}")
  endforeach()

  # Every trace of the shared collection, when it exists (label slow).
  add_test(NAME mm.report.shared
    COMMAND ${CMAKE_CURRENT_LIST_DIR}/run_html_report.sh $<TARGET_FILE:maple-vma>
            ${_report_dir}/shared --each ${MAPLE_SHARED_TRACES})
  set_tests_properties(mm.report.shared PROPERTIES
    LABELS "mm;slow" TIMEOUT 900 SKIP_RETURN_CODE 77 ENVIRONMENT "${_report_env}")

  if(TARGET maple_vma_tests)
    target_sources(maple_vma_tests PRIVATE ${CMAKE_CURRENT_LIST_DIR}/tests/html_report_test.cpp)
  endif()
endif()
