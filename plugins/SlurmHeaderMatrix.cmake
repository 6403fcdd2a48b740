# The plugin's Slurm glue compiled with -Werror against the SPANK and Slurm headers of each
# release our users run (ctest label "headers", one test per release). The plugin itself is
# built against one Slurm only; this catches a header change (a renamed item, a new
# deprecation, a changed prototype) in any other release without a cluster of that release.
#
# The headers live beside the repository, in HPSWEEP_SLURM_HEADERS_DIR/<release>/slurm/*.h
# (default ../shared/slurm-headers, as in CI's checkout). Each release is an object library
# outside `all`; its test builds it. A generated source static_asserts that the compiler saw
# that release's slurm_version.h, so a stray -I/usr/include cannot make a test pass on the
# distribution's headers.

set(HPSWEEP_SLURM_HEADERS_DIR "${PROJECT_SOURCE_DIR}/../shared/slurm-headers" CACHE PATH
    "Folder of <release>/slurm/*.h trees the plugin is compiled against (ctest -L headers)")

if(NOT HPSWEEP_BUILD_TESTS)
    return()
endif()
if(NOT IS_DIRECTORY "${HPSWEEP_SLURM_HEADERS_DIR}")
    message(STATUS "hpsweep: no Slurm header matrix: ${HPSWEEP_SLURM_HEADERS_DIR} not found")
    return()
endif()

file(GLOB slurm_header_releases LIST_DIRECTORIES true RELATIVE "${HPSWEEP_SLURM_HEADERS_DIR}"
     "${HPSWEEP_SLURM_HEADERS_DIR}/*")
list(SORT slurm_header_releases COMPARE NATURAL)
enable_testing()
foreach(release IN LISTS slurm_header_releases)
    set(release_dir "${HPSWEEP_SLURM_HEADERS_DIR}/${release}")
    if(NOT EXISTS "${release_dir}/slurm/spank.h")
        continue()
    endif()
    if(NOT release MATCHES "^([0-9]+)\\.([0-9]+)\\.([0-9]+)$")
        message(FATAL_ERROR "${release_dir}: folder name is not a Slurm release (YY.MM.N)")
    endif()
    # Leading zeros ("05") would read as octal in the static_assert.
    math(EXPR major "${CMAKE_MATCH_1}")
    math(EXPR minor "${CMAKE_MATCH_2}")
    math(EXPR micro "${CMAKE_MATCH_3}")
    string(REPLACE "." "_" release_id "${release}")

    set(version_check "${CMAKE_CURRENT_BINARY_DIR}/slurm_headers_${release_id}_version.cpp")
    file(CONFIGURE OUTPUT "${version_check}" CONTENT
"#include <slurm/slurm_version.h>
static_assert(SLURM_VERSION_NUMBER == SLURM_VERSION_NUM(${major}, ${minor}, ${micro}),
              \"compiled against another Slurm's headers than ${release}\");
")

    set(target hpsweep_spank_headers_${release_id})
    add_library(${target} OBJECT EXCLUDE_FROM_ALL ${plugin_glue_sources} "${version_check}")
    target_include_directories(${target} PRIVATE
        ${CMAKE_CURRENT_SOURCE_DIR}/core ${CMAKE_CURRENT_SOURCE_DIR}/src)
    target_include_directories(${target} SYSTEM BEFORE PRIVATE "${release_dir}")
    target_compile_options(${target} PRIVATE ${HPSWEEP_PLUGIN_COMPILE_OPTIONS} -Werror)
    target_compile_definitions(${target} PRIVATE
        HPSWEEP_VERSION="${PROJECT_VERSION}"
        $<$<TARGET_EXISTS:hpsweep_launcher>:HPSWEEP_PLUGIN_HAVE_LAUNCHER=1>
        $<$<TARGET_EXISTS:hpsweep_datastore>:HPSWEEP_PLUGIN_HAVE_DATASTORE=1>)
    # For the include directories and definitions of the libraries the glue uses.
    target_link_libraries(${target} PRIVATE ${plugin_libraries} hpsweep::warnings)

    set(test_name "headers: plugin compiles against Slurm ${release}")
    add_test(NAME "${test_name}"
             COMMAND ${CMAKE_COMMAND} --build ${CMAKE_BINARY_DIR} --target ${target})
    set_tests_properties("${test_name}" PROPERTIES LABELS "headers;plugin"
                         RESOURCE_LOCK hpsweep_build_tree)
endforeach()
