# check_failtest.cmake -- "this must not compile" tests for spore.
#
# How to write a failtest
# -----------------------
# Drop a file tests/failtest/<name>.cpp; it is registered automatically (on the
# next configure) as the CTest test `failtest.<name>` (label `failtest`):
#
#     #include <spore/spore.hpp>
#     // expect: static assertion failed
#     // expect: shapes of operands must match
#     int main() { /* code that must be rejected at compile time */ }
#
# The test PASSES only if
#   1. compiling the file with `-std=c++20 -fsyntax-only` FAILS, and
#   2. the compiler output contains every `// expect: <text>` string
#      (plain substring match, case-sensitive, leading/trailing blanks of
#      <text> stripped). At least one `// expect:` line is required so a test
#      cannot pass vacuously (e.g. because of a typo'd #include).
# The compiler runs with LC_ALL=C, so GCC quotes are ASCII ('x', not ‘x’).
#
# Run them:  ctest --preset release -L failtest
#
# Invocation (done by tests/CMakeLists.txt):
#   cmake -DCXX=<compiler> -DSOURCE=<file.cpp> -DINCLUDES=<dir|dir|...>
#         [-DFLAGS=<flag|flag|...>] -P check_failtest.cmake
# INCLUDES/FLAGS may be separated by '|' or ';'.

cmake_minimum_required(VERSION 3.25)

foreach(var CXX SOURCE)
  if(NOT DEFINED ${var} OR "${${var}}" STREQUAL "")
    message(FATAL_ERROR "check_failtest.cmake: -D${var}=... is required")
  endif()
endforeach()
if(NOT EXISTS "${SOURCE}")
  message(FATAL_ERROR "check_failtest.cmake: source '${SOURCE}' does not exist")
endif()

string(REPLACE "|" ";" _includes "${INCLUDES}")
string(REPLACE "|" ";" _flags "${FLAGS}")

set(_args -std=c++20 -fsyntax-only -fdiagnostics-color=never)
foreach(dir IN LISTS _includes)
  if(NOT dir STREQUAL "" AND NOT dir MATCHES "^/usr(/local)?/include/?$")
    list(APPEND _args "-I${dir}")
  endif()
endforeach()
foreach(flag IN LISTS _flags)
  if(NOT flag STREQUAL "")
    list(APPEND _args "${flag}")
  endif()
endforeach()

# Collect the `// expect: <text>` lines.
file(STRINGS "${SOURCE}" _expect_lines REGEX "^[ \t]*//[ \t]*expect:")
set(_expected "")
foreach(line IN LISTS _expect_lines)
  string(REGEX REPLACE "^[ \t]*//[ \t]*expect:[ \t]*" "" text "${line}")
  string(STRIP "${text}" text)
  if(NOT text STREQUAL "")
    list(APPEND _expected "${text}")
  endif()
endforeach()
if(_expected STREQUAL "")
  message(FATAL_ERROR
    "failtest ${SOURCE}: no `// expect: <text>` line found; add at least one")
endif()

list(JOIN _args " " _args_txt)

execute_process(
  COMMAND ${CMAKE_COMMAND} -E env LC_ALL=C LANG=C
          "${CXX}" ${_args} "${SOURCE}"
  RESULT_VARIABLE _rc
  OUTPUT_VARIABLE _out
  ERROR_VARIABLE _out)

if(_rc EQUAL 0)
  message(NOTICE "command: ${CXX} ${_args_txt} ${SOURCE}")
  message(FATAL_ERROR
    "failtest ${SOURCE}: compiled successfully, but it must be rejected.")
endif()

set(_missing "")
foreach(text IN LISTS _expected)
  string(FIND "${_out}" "${text}" _pos)
  if(_pos EQUAL -1)
    list(APPEND _missing "${text}")
  endif()
endforeach()

if(_missing)
  # Keep the log readable: show at most the first 8000 characters.
  string(LENGTH "${_out}" _len)
  if(_len GREATER 8000)
    string(SUBSTRING "${_out}" 0 8000 _shown)
    string(APPEND _shown "\n... (${_len} characters total)")
  else()
    set(_shown "${_out}")
  endif()
  list(JOIN _expected "\n    " _exp_txt)
  list(JOIN _missing "\n    " _miss_txt)
  # message(NOTICE) prints verbatim (FATAL_ERROR would re-wrap the text).
  message(NOTICE
    "---- expected (all of):\n    ${_exp_txt}\n"
    "---- missing:\n    ${_miss_txt}\n"
    "---- found (compiler output):\n${_shown}\n"
    "---- command: ${CXX} ${_args_txt} ${SOURCE}")
  message(FATAL_ERROR
    "failtest ${SOURCE}: compilation failed as required, but the diagnostics "
    "lack expected text (see above).")
endif()

list(LENGTH _expected _n_expected)
message(STATUS "failtest ${SOURCE}: rejected as expected (${_n_expected} expectation(s) matched)")
