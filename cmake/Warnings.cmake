# Warnings live in an INTERFACE target so every hpsweep target opts in explicitly
# and third-party code is never compiled with them.
add_library(hpsweep_warnings INTERFACE)
add_library(hpsweep::warnings ALIAS hpsweep_warnings)
target_compile_options(hpsweep_warnings INTERFACE
    -Wall -Wextra -Wpedantic -Wshadow -Wnon-virtual-dtor -Wold-style-cast -Wcast-align
    -Wunused -Woverloaded-virtual -Wformat=2 -Wimplicit-fallthrough)
if(HPSWEEP_WERROR)
    target_compile_options(hpsweep_warnings INTERFACE -Werror)
endif()
