# TUNDRA_FUZZ=ON: coverage and sanitizer instrumentation for every target; the libFuzzer main is
# linked into the fuzz targets only (tundra_fuzz_target in tests/fuzz/CMakeLists.txt).
if(TUNDRA_FUZZ)
  if(NOT CMAKE_CXX_COMPILER_ID MATCHES "Clang")
    message(FATAL_ERROR "TUNDRA_FUZZ needs clang (e.g. -DCMAKE_CXX_COMPILER=clang++-14)")
  endif()
  if(TUNDRA_SANITIZE)
    message(FATAL_ERROR "TUNDRA_FUZZ brings its own sanitizers: leave TUNDRA_SANITIZE empty")
  endif()
  add_compile_options(-fsanitize=fuzzer-no-link,address,undefined -fno-omit-frame-pointer
                      -fno-sanitize-recover=all)
  add_link_options(-fsanitize=address,undefined)
  message(STATUS "tundra: libFuzzer build")
endif()
