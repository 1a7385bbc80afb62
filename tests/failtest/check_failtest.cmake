# check_failtest.cmake -- "this must not compile" tests for spore, each with a twin that must.
#
# How to write a failtest
# -----------------------
# Drop a file tests/failtest/<name>.cpp; it is registered automatically (on the next configure)
# as two CTest tests (label `failtest`): `failtest.<name>` and `failtest.<name>.twin`.
#
#     // expect: static assertion failed
#     // expect: shapes of operands must match
#     #include <spore/spore.hpp>
#     int main() {
#         spore::tensor<float, spore::shape<3, 4>> a;
#     #ifdef SPORE_FAILTEST_SHOULD_FAIL
#         spore::tensor<float, spore::shape<5>> b;  // the offending line
#     #else
#         spore::tensor<float, spore::shape<4>> b;  // its valid twin
#     #endif
#         auto c = a + b;
#         (void)c;
#     }
#
# As in Eigen's failtests, the file is compiled twice with the same flags:
#   failtest.<name>       with -DSPORE_FAILTEST_SHOULD_FAIL: PASSES only if compilation FAILS
#                         and the compiler output contains every `// expect: <text>` string
#                         (plain substring match, case-sensitive, leading/trailing blanks of
#                         <text> stripped; at least one `// expect:` line is required);
#   failtest.<name>.twin  without the macro: PASSES only if the file compiles, without a
#                         warning (-Wall -Wextra -Wpedantic) located in the failtest itself.
# The twin proves that everything but the lines under the macro is valid, so the failing half
# fails because of those lines, not because of a typo elsewhere that happens to produce the
# expected text. Keep the difference minimal: the offending line under
# `#ifdef SPORE_FAILTEST_SHOULD_FAIL`, and in `#else` the smallest change that makes it valid
# (the right shape instead of the wrong one). A file that never tests the macro is an error.
# Compiling is `-std=c++20 -fsyntax-only`, with LC_ALL=C, so GCC quotes are ASCII ('x', not ‘x’).
#
# Run them:  ctest --preset release -L failtest
#
# Invocation (done by tests/CMakeLists.txt):
#   cmake -DCXX=<compiler> -DSOURCE=<file.cpp> -DINCLUDES=<dir|dir|...>
#         [-DFLAGS=<flag|flag|...>] -DHALF=<fail|twin> -P check_failtest.cmake
# INCLUDES/FLAGS may be separated by '|' or ';'.

cmake_minimum_required(VERSION 3.25)

foreach(var CXX SOURCE HALF)
  if(NOT DEFINED ${var} OR "${${var}}" STREQUAL "")
    message(FATAL_ERROR "check_failtest.cmake: -D${var}=... is required")
  endif()
endforeach()
if(NOT HALF STREQUAL "fail" AND NOT HALF STREQUAL "twin")
  message(FATAL_ERROR "check_failtest.cmake: -DHALF must be fail or twin, not '${HALF}'")
endif()
if(NOT EXISTS "${SOURCE}")
  message(FATAL_ERROR "check_failtest.cmake: source '${SOURCE}' does not exist")
endif()

set(_macro SPORE_FAILTEST_SHOULD_FAIL)
get_filename_component(_name "${SOURCE}" NAME_WE)
if(HALF STREQUAL "fail")
  set(_what "failtest.${_name} (the failing half: compiled with -D${_macro}, must NOT compile)")
else()
  set(_what "failtest.${_name}.twin (the twin: compiled without ${_macro}, must compile)")
endif()

string(REPLACE "|" ";" _includes "${INCLUDES}")
string(REPLACE "|" ";" _flags "${FLAGS}")

# The same flags for both halves; only the macro differs.
set(_args -std=c++20 -fsyntax-only -fdiagnostics-color=never -Wall -Wextra -Wpedantic)
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
if(HALF STREQUAL "fail")
  list(APPEND _args "-D${_macro}")
endif()

# The file must choose between the offending line and its twin.
file(STRINGS "${SOURCE}" _macro_lines REGEX "^[ \t]*#[ \t]*if.*${_macro}")
if(_macro_lines STREQUAL "")
  message(FATAL_ERROR
    "${_what}: ${SOURCE} has no `#ifdef ${_macro}` around the offending line (with a valid "
    "twin line in `#else`); see tests/failtest/check_failtest.cmake")
endif()

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
    "${_what}: ${SOURCE} has no `// expect: <text>` line; add at least one")
endif()

list(JOIN _args " " _args_txt)
set(_command "LC_ALL=C ${CXX} ${_args_txt} ${SOURCE}")

execute_process(
  COMMAND ${CMAKE_COMMAND} -E env LC_ALL=C LANG=C
          "${CXX}" ${_args} "${SOURCE}"
  RESULT_VARIABLE _rc
  OUTPUT_VARIABLE _out
  ERROR_VARIABLE _out)

# Keep the log readable: show at most the first 8000 characters of the compiler output.
string(LENGTH "${_out}" _len)
if(_len GREATER 8000)
  string(SUBSTRING "${_out}" 0 8000 _shown)
  string(APPEND _shown "\n... (${_len} characters total)")
else()
  set(_shown "${_out}")
endif()

if(HALF STREQUAL "twin")
  if(NOT _rc EQUAL 0)
    # message(NOTICE) prints verbatim (FATAL_ERROR would re-wrap the text).
    message(NOTICE
      "---- compiler output:\n${_shown}\n"
      "---- command: ${_command}")
    message(FATAL_ERROR
      "${_what}: FAILED: the file does not compile without ${_macro}, so the failing half "
      "proves nothing: fix the lines outside `#ifdef ${_macro}`, or the twin line in "
      "`#else` (compiler output above).")
  endif()
  # Warnings located in the failtest itself (not in the library's headers).
  string(REGEX MATCHALL "[^\n]*${_name}\\.cpp:[0-9]+:[0-9]+: warning:[^\n]*" _warnings "${_out}")
  if(_warnings)
    list(JOIN _warnings "\n    " _warn_txt)
    message(NOTICE
      "---- warnings in the failtest:\n    ${_warn_txt}\n"
      "---- compiler output:\n${_shown}\n"
      "---- command: ${_command}")
    message(FATAL_ERROR
      "${_what}: FAILED: the file compiles without ${_macro}, but with warnings in the file "
      "itself (above); a twin must compile cleanly.")
  endif()
  message(STATUS "${_what}: compiles cleanly, as required")
  return()
endif()

if(_rc EQUAL 0)
  message(NOTICE "---- command: ${_command}")
  message(FATAL_ERROR
    "${_what}: FAILED: the file compiled with -D${_macro}, but it must be rejected: the "
    "lines under `#ifdef ${_macro}` no longer break the build.")
endif()

set(_missing "")
foreach(text IN LISTS _expected)
  string(FIND "${_out}" "${text}" _pos)
  if(_pos EQUAL -1)
    list(APPEND _missing "${text}")
  endif()
endforeach()

if(_missing)
  list(JOIN _expected "\n    " _exp_txt)
  list(JOIN _missing "\n    " _miss_txt)
  message(NOTICE
    "---- expected (all of):\n    ${_exp_txt}\n"
    "---- missing:\n    ${_miss_txt}\n"
    "---- found (compiler output):\n${_shown}\n"
    "---- command: ${_command}")
  message(FATAL_ERROR
    "${_what}: FAILED: compilation failed as required, but the diagnostics lack expected "
    "text (see above): it fails for another reason than the one the file expects.")
endif()

list(LENGTH _expected _n_expected)
message(STATUS "${_what}: rejected as expected (${_n_expected} expectation(s) matched)")
