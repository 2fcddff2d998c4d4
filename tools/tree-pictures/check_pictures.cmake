# The docs' tree pictures are those the program draws now (cmake -P; see
# CMakeLists.txt here). -DPROGRAM=maple-tree-pictures -DWORK=scratch dir
# -DSOURCE=the repository. Fails, naming each problem, when
#   * the program fails or draws nothing;
#   * `dot` (when installed) reports an error or a warning on a DOT file;
#   * a picture has no SVG in docs/images/tree/, or its SVG was rendered
#     from other DOT text (the "source sha256" comment scripts/tree-pictures.sh
#     writes), or an SVG there is not one of the program's pictures;
#   * a doc links a picture that does not exist, or no doc links a picture.
cmake_minimum_required(VERSION 3.25)
set(images "${SOURCE}/docs/images/tree")
set(regen "run scripts/tree-pictures.sh")
set(problems "")

file(REMOVE_RECURSE "${WORK}")
file(MAKE_DIRECTORY "${WORK}")
execute_process(COMMAND "${PROGRAM}" "${WORK}" RESULT_VARIABLE rc OUTPUT_QUIET ERROR_VARIABLE err)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "maple-tree-pictures failed (${rc}): ${err}")
endif()
file(GLOB dots "${WORK}/*.dot")
if(NOT dots)
  message(FATAL_ERROR "maple-tree-pictures wrote no DOT file")
endif()

find_program(DOT_EXE dot)
if(NOT DOT_EXE)
  message(STATUS "dot not found (Debian graphviz): the DOT parse check is skipped")
endif()

set(names "")
foreach(src IN LISTS dots)
  get_filename_component(name "${src}" NAME_WE)
  list(APPEND names "${name}")
  if(DOT_EXE)
    execute_process(COMMAND "${DOT_EXE}" -Tsvg "${src}" -o "${WORK}/${name}.svg"
                    RESULT_VARIABLE rc ERROR_VARIABLE err)
    if(NOT rc EQUAL 0 OR NOT err STREQUAL "")
      string(APPEND problems "\n  dot on ${name}.dot (exit ${rc}): ${err}")
    endif()
  endif()
  file(SHA256 "${src}" sum)
  if(NOT EXISTS "${images}/${name}.svg")
    string(APPEND problems "\n  ${name}: docs/images/tree/${name}.svg is missing (${regen})")
  else()
    file(READ "${images}/${name}.svg" svg)
    string(FIND "${svg}" "source sha256 ${sum}" at)
    if(at EQUAL -1)
      string(APPEND problems
             "\n  ${name}: docs/images/tree/${name}.svg is out of date with the program (${regen})")
    endif()
  endif()
endforeach()

file(GLOB svgs "${images}/*.svg")
foreach(svg IN LISTS svgs)
  get_filename_component(name "${svg}" NAME_WE)
  if(NOT name IN_LIST names)
    string(APPEND problems "\n  docs/images/tree/${name}.svg is no picture of the program (${regen})")
  endif()
endforeach()

# Links such as ![...](images/tree/NAME.svg) in docs/*.md.
set(linked "")
file(GLOB docs "${SOURCE}/docs/*.md")
foreach(doc IN LISTS docs)
  get_filename_component(doc_name "${doc}" NAME)
  file(READ "${doc}" text)
  # (Brackets would keep CMake from splitting the list of matches.)
  string(REPLACE "]" "}" text "${text}")
  string(REGEX MATCHALL "}\\(images/tree/[^)]*\\)" links "${text}")
  foreach(link IN LISTS links)
    string(REGEX REPLACE "^}\\(images/tree/([^)]*)\\.svg\\)$" "\\1" name "${link}")
    if(name STREQUAL link OR NOT EXISTS "${images}/${name}.svg")
      string(REGEX REPLACE "^}\\((.*)\\)$" "\\1" target "${link}")
      string(APPEND problems "\n  docs/${doc_name} links a missing picture: ${target}")
    endif()
    list(APPEND linked "${name}")
  endforeach()
endforeach()
foreach(name IN LISTS names)
  if(NOT name IN_LIST linked)
    string(APPEND problems "\n  ${name}: no page in docs/ shows docs/images/tree/${name}.svg")
  endif()
endforeach()

if(problems)
  message(FATAL_ERROR "tree pictures:${problems}")
endif()
list(LENGTH names count)
message(STATUS "tree pictures: ${count} up to date, all linked")
