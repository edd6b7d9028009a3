# cmake -P script: install this build into a scratch prefix, then compile and link the consumer's
# main.cpp with nothing but the compiler and `pkg-config --cflags --libs asyncio`, and run it: the
# installed .pc file works for builds without CMake.
file(REMOVE_RECURSE "${WORK_DIR}")
set(prefix "${WORK_DIR}/prefix")

function(step)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "failed (${rc}): ${ARGN}\n${out}\n${err}")
  endif()
endfunction()

step(${CMAKE_COMMAND} --install "${BUILD_DIR}" --prefix "${prefix}")
file(GLOB pc_dirs "${prefix}/*/pkgconfig" "${prefix}/*/*/pkgconfig")
set(ENV{PKG_CONFIG_PATH} "${pc_dirs}")
execute_process(COMMAND pkg-config --cflags --libs asyncio RESULT_VARIABLE rc OUTPUT_VARIABLE flags
                ERROR_VARIABLE err OUTPUT_STRIP_TRAILING_WHITESPACE)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "pkg-config does not find asyncio in ${pc_dirs}: ${err}")
endif()
separate_arguments(flags UNIX_COMMAND "${flags}")
separate_arguments(cxx_flags UNIX_COMMAND "${CXX_FLAGS}")
step(${CXX_COMPILER} ${cxx_flags} "${CONSUMER_SOURCE}/main.cpp" ${flags} -o "${WORK_DIR}/consumer")
# A shared library in a private prefix is found through LD_LIBRARY_PATH, as a user would do.
file(GLOB lib_dirs LIST_DIRECTORIES true "${prefix}/lib*" "${prefix}/lib/*")
string(REPLACE ";" ":" lib_path "${lib_dirs}")
execute_process(COMMAND ${CMAKE_COMMAND} -E env "LD_LIBRARY_PATH=${lib_path}" "${WORK_DIR}/consumer"
                RESULT_VARIABLE rc OUTPUT_VARIABLE out)
if(NOT rc EQUAL 0 OR NOT out MATCHES "consumer: 123000")
  message(FATAL_ERROR "the consumer built with pkg-config failed (${rc}): ${out}")
endif()
message(STATUS "${out}")
