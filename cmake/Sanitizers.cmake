# ASan + UBSan for the test build. Applied globally, except to the SPANK plugin:
# slurmstepd is not built with ASan, so a sanitized .so could not be loaded there.
if(HPSWEEP_SANITIZE)
    set(HPSWEEP_SANITIZER_FLAGS -fsanitize=address,undefined -fno-omit-frame-pointer
        -fno-sanitize-recover=undefined)
    add_library(hpsweep_sanitizers INTERFACE)
    target_compile_options(hpsweep_sanitizers INTERFACE ${HPSWEEP_SANITIZER_FLAGS})
    target_link_options(hpsweep_sanitizers INTERFACE ${HPSWEEP_SANITIZER_FLAGS})
else()
    add_library(hpsweep_sanitizers INTERFACE)
endif()
add_library(hpsweep::sanitizers ALIAS hpsweep_sanitizers)
