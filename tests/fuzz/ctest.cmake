# Included by tests/CMakeLists.txt: one ctest per fuzz target in the main build tree,
# "hardening: fuzz <target>" (labels hardening, fuzz). Each runs tests/fuzz/run-fuzzer.sh
# for $HPSWEEP_FUZZ_SECONDS (default 20) on the binaries of the clang fuzz tree
# (scripts/build-fuzzers.sh) and records a row for the hardening table.
#   ctest -L fuzz                               all of them, ~20 s each
#   HPSWEEP_FUZZ_SECONDS=600 ctest -L fuzz      longer, on demand
if(HPSWEEP_FUZZ)
    set(default_fuzz_dir ${CMAKE_BINARY_DIR})  # this tree builds them itself
else()
    set(default_fuzz_dir ${CMAKE_SOURCE_DIR}/build-fuzz)
endif()
set(HPSWEEP_FUZZ_BUILD_DIR ${default_fuzz_dir} CACHE PATH
    "Build tree of the libFuzzer targets (scripts/build-fuzzers.sh DIR) that ctest -L fuzz runs")

include(${CMAKE_CURRENT_LIST_DIR}/targets.cmake)
foreach(name IN LISTS HPSWEEP_FUZZ_TARGETS)
    if(NOT EXISTS ${CMAKE_CURRENT_LIST_DIR}/${name}.fuzz.cpp)
        message(FATAL_ERROR "tests/fuzz/ctest.cmake: no ${name}.fuzz.cpp")
    endif()
    add_test(NAME "hardening: fuzz ${name}"
             COMMAND bash ${CMAKE_CURRENT_LIST_DIR}/run-fuzzer.sh ${name})
    # The runner bounds itself (HPSWEEP_FUZZ_SECONDS plus a margin); ctest's TIMEOUT is only a
    # backstop, large so that a longer run on demand is not cut short by --timeout.
    set_tests_properties("hardening: fuzz ${name}" PROPERTIES
        LABELS "hardening;fuzz" FIXTURES_REQUIRED hardening_records TIMEOUT 86400
        ENVIRONMENT "${HPSWEEP_TEST_ENV};HPSWEEP_FUZZ_DEFAULT_BUILD_DIR=${HPSWEEP_FUZZ_BUILD_DIR}")
endforeach()
