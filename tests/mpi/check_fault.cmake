# Runs tests/mpi/faults.cpp under mpirun with one fault and checks the outcome:
#   the job ends with a non-zero exit within BOUND seconds, its output names the failure
#   (EXPECT), and the checkpoint on disk is complete and from a step in [FIRST, LAST].
# cmake -DMPIRUN="mpirun;-np;2;..." -DPROGRAM=... -DFAULT=... -DCHECKPOINT=... -DBOUND=...
#       -DEXPECT=... -DFIRST=... -DLAST=... [-DEXTRA="--slow-checkpoint;--timeout;3"] [-DTORN=1]
#       [-DSUCCESS=1] -P check_fault.cmake
foreach(var MPIRUN PROGRAM FAULT CHECKPOINT BOUND EXPECT FIRST LAST)
  if(NOT DEFINED ${var})
    message(FATAL_ERROR "check_fault.cmake: ${var} is not set")
  endif()
endforeach()
string(REPLACE "|" ";" MPIRUN "${MPIRUN}")
string(REPLACE "|" ";" EXTRA "${EXTRA}")
file(GLOB _stale "${CHECKPOINT}" "${CHECKPOINT}.tmp.*")
if(_stale)
  file(REMOVE ${_stale})
endif()

string(TIMESTAMP _start "%s" UTC)
execute_process(
  COMMAND ${MPIRUN} ${PROGRAM} run ${FAULT} ${CHECKPOINT} ${EXTRA}
  RESULT_VARIABLE _rc OUTPUT_VARIABLE _out ERROR_VARIABLE _err
  TIMEOUT 100)
string(TIMESTAMP _end "%s" UTC)
math(EXPR _elapsed "${_end} - ${_start}")
message(STATUS "fault '${FAULT}': exit ${_rc} after ${_elapsed} s\n--- output ---\n${_out}${_err}--------------")

if(SUCCESS)
  if(NOT _rc EQUAL 0)
    message(FATAL_ERROR "the run without a fault failed (exit ${_rc})")
  endif()
else()
  if(_rc EQUAL 0)
    message(FATAL_ERROR "the job ended with exit 0 although rank 1 failed ('${FAULT}')")
  endif()
  if(NOT _rc MATCHES "^[0-9]+$")
    message(FATAL_ERROR "the job did not end by itself: ${_rc}")
  endif()
endif()
if(_elapsed GREATER BOUND)
  message(FATAL_ERROR "the job took ${_elapsed} s to end, more than the bound of ${BOUND} s")
endif()
string(FIND "${_out}${_err}" "${EXPECT}" _at)
if(_at EQUAL -1)
  message(FATAL_ERROR "the output does not say '${EXPECT}'")
endif()

set(_verify ${PROGRAM} verify ${CHECKPOINT} ${FIRST} ${LAST})
if(TORN)
  list(APPEND _verify --expect-torn)
endif()
execute_process(COMMAND ${_verify} RESULT_VARIABLE _vrc OUTPUT_VARIABLE _vout ERROR_VARIABLE _verr TIMEOUT 60)
message(STATUS "${_vout}${_verr}")
if(NOT _vrc EQUAL 0)
  message(FATAL_ERROR "the checkpoint after fault '${FAULT}' is not as expected")
endif()
file(GLOB _left "${CHECKPOINT}" "${CHECKPOINT}.tmp.*")
if(_left)
  file(REMOVE ${_left})
endif()
