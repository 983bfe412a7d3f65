# tundra_cc_library(NAME x SRCS ... [HDRS ...] [DEPS ...])  -> target tundra_x
# tundra_cc_testonly_library(NAME x_testing ...) -> target tundra_x_testing, built only with the
#   tests or the fuzz targets and never linked into the tundra binary (fakes, mocks, packet builders; abseil's TESTONLY)
# tundra_cc_test(NAME x_test SRCS ... [DEPS ...] [LABELS ...]) -> gtest binary + ctest entry
# The pattern of abseil's absl_cc_library/absl_cc_test: each library sits beside its test.

set(TUNDRA_COMMON_WARNINGS -Wall -Wextra -Wpedantic -Wshadow -Wnon-virtual-dtor
    -Wcast-align -Wunused -Woverloaded-virtual -Wimplicit-fallthrough)

function(tundra_apply_flags target)
  target_compile_options(${target} PRIVATE ${TUNDRA_COMMON_WARNINGS})
  if(TUNDRA_WERROR)
    target_compile_options(${target} PRIVATE -Werror)
  endif()
endfunction()

function(tundra_cc_library)
  cmake_parse_arguments(L "" "NAME" "SRCS;HDRS;DEPS" ${ARGN})
  set(target tundra_${L_NAME})
  if(L_SRCS)
    add_library(${target} STATIC ${L_SRCS} ${L_HDRS})
    target_include_directories(${target} PUBLIC ${PROJECT_SOURCE_DIR})
    target_link_libraries(${target} PUBLIC ${L_DEPS})
    tundra_apply_flags(${target})
  else()
    add_library(${target} INTERFACE)
    target_include_directories(${target} INTERFACE ${PROJECT_SOURCE_DIR})
    target_link_libraries(${target} INTERFACE ${L_DEPS})
  endif()
endfunction()

function(tundra_cc_testonly_library)
  if(TUNDRA_BUILD_TESTS OR TUNDRA_FUZZ)
    tundra_cc_library(${ARGN})
  endif()
endfunction()

function(tundra_cc_test)
  if(NOT TUNDRA_BUILD_TESTS)
    return()
  endif()
  cmake_parse_arguments(T "" "NAME;TIMEOUT" "SRCS;DEPS;LABELS" ${ARGN})
  add_executable(${T_NAME} ${T_SRCS})
  target_link_libraries(${T_NAME} PRIVATE ${T_DEPS} GTest::gmock tundra_test_main)
  tundra_apply_flags(${T_NAME})
  if(NOT T_LABELS)
    set(T_LABELS unit)
  endif()
  if(NOT T_TIMEOUT)
    set(T_TIMEOUT 120)
  endif()
  add_test(NAME ${T_NAME} COMMAND ${T_NAME})
  # tundra_test_main exits 77 when a test skipped itself (ctest then lists it as skipped, by
  # name) and fails instead under TUNDRA_NO_SKIP=1.
  set_tests_properties(${T_NAME} PROPERTIES LABELS "${T_LABELS}" TIMEOUT ${T_TIMEOUT}
                                            SKIP_RETURN_CODE 77)
endfunction()
