# Script mode (cmake -P): installs the build at BUILD_DIR into WORK_DIR/prefix, then configures, builds and runs
# the consumer project at SOURCE_DIR against that prefix only. A cross build passes its TOOLCHAIN_FILE (the
# consumer is built with the same compilers) and EMULATOR (the consumer runs under it); a sanitized build passes
# LINK_FLAGS so that the consumer links the sanitizer runtimes first.
file(REMOVE_RECURSE ${WORK_DIR})
execute_process(COMMAND ${CMAKE_COMMAND} --install ${BUILD_DIR} --prefix ${WORK_DIR}/prefix
  RESULT_VARIABLE rc OUTPUT_QUIET)
if(rc)
  message(FATAL_ERROR "install failed: ${rc}")
endif()
set(toolchain_args)
if(TOOLCHAIN_FILE)
  set(toolchain_args -DCMAKE_TOOLCHAIN_FILE=${TOOLCHAIN_FILE})
endif()
if(LINK_FLAGS)
  list(APPEND toolchain_args -DCMAKE_EXE_LINKER_FLAGS=${LINK_FLAGS})
endif()
execute_process(COMMAND ${CMAKE_COMMAND} -S ${SOURCE_DIR} -B ${WORK_DIR}/build
  -DCMAKE_PREFIX_PATH=${WORK_DIR}/prefix -DCMAKE_BUILD_TYPE=Release ${toolchain_args} RESULT_VARIABLE rc)
if(rc)
  message(FATAL_ERROR "consumer configure failed: ${rc}")
endif()
execute_process(COMMAND ${CMAKE_COMMAND} --build ${WORK_DIR}/build RESULT_VARIABLE rc)
if(rc)
  message(FATAL_ERROR "consumer build failed: ${rc}")
endif()
execute_process(COMMAND ${EMULATOR} ${WORK_DIR}/build/consumer RESULT_VARIABLE rc)
if(rc)
  message(FATAL_ERROR "consumer run failed: ${rc}")
endif()
