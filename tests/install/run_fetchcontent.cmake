# cmake -P script: configure, build and run a project that takes the library with FetchContent
# (add_subdirectory underneath), as the README shows.
file(REMOVE_RECURSE "${WORK_DIR}")
function(step)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "failed (${rc}): ${ARGN}\n${out}\n${err}")
  endif()
endfunction()
step(${CMAKE_COMMAND} -S "${CONSUMER_SOURCE}" -B "${WORK_DIR}" -G Ninja "-DASYNCIO_SOURCE=${ASYNCIO_SOURCE}"
     "-DCMAKE_CXX_COMPILER=${CXX_COMPILER}" -DCMAKE_BUILD_TYPE=Debug)
step(${CMAKE_COMMAND} --build "${WORK_DIR}")
execute_process(COMMAND "${WORK_DIR}/consumer" RESULT_VARIABLE rc OUTPUT_VARIABLE out)
if(NOT rc EQUAL 0 OR NOT out MATCHES "consumer: 123000")
  message(FATAL_ERROR "the FetchContent consumer failed (${rc}): ${out}")
endif()
message(STATUS "${out}")
