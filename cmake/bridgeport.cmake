# bp_library(NAME SOURCES ... DEPS ...): one static library per module, `bp_<NAME>`.
function(bp_library name)
  cmake_parse_arguments(ARG "" "" "SOURCES;DEPS" ${ARGN})
  add_library(bp_${name} STATIC ${ARG_SOURCES})
  target_include_directories(bp_${name} PUBLIC ${PROJECT_SOURCE_DIR}/src)
  target_link_libraries(bp_${name} PUBLIC ${ARG_DEPS})
endfunction()

# bp_test(NAME SOURCES ... DEPS ...): a GoogleTest executable registered with CTest.
function(bp_test name)
  if(NOT BP_BUILD_TESTS)
    return()
  endif()
  cmake_parse_arguments(ARG "" "" "SOURCES;DEPS" ${ARGN})
  add_executable(${name} ${ARG_SOURCES})
  target_link_libraries(${name} PRIVATE ${ARG_DEPS} GTest::gtest GTest::gtest_main GTest::gmock)
  add_test(NAME ${name} COMMAND ${name})
  set_tests_properties(${name} PROPERTIES LABELS unit TIMEOUT 300)
endfunction()
