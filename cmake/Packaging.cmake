# `cpack` (or `cmake --build BUILD --target package`) builds hpsweep_<version>_<arch>.deb:
# the CLI and hpsweep-launch in /usr/bin, the SPANK plugin in Slurm's plugin directory, the
# site file /etc/hpsweep/hpsweep.conf (a conffile: upgrades keep the admin's edits) and the
# plugstack.conf example under /usr/share/doc/hpsweep/examples. The package never enables
# the plugin by itself: the admin adds the plugstack.conf line (docs/admin.md).
# Build packages from a plain build (no HPSWEEP_SANITIZE): the executables would otherwise
# need the ASan runtime. The plugin itself is never sanitized.

install(FILES ${CMAKE_SOURCE_DIR}/site-configs/hpsweep.conf DESTINATION /etc/hpsweep
        PERMISSIONS OWNER_READ OWNER_WRITE GROUP_READ WORLD_READ)
install(FILES ${CMAKE_SOURCE_DIR}/site-configs/plugstack.conf
              ${CMAKE_SOURCE_DIR}/site-configs/hpsweep.conf
        DESTINATION ${CMAKE_INSTALL_DOCDIR}/examples)

# Bash completion, generated at install time by the hpsweep just built (`hpsweep completion
# bash` walks its own command tree), so the installed script matches the installed CLI.
# An absolute destination like /etc/hpsweep above: bash-completion looks only here.
if(TARGET hpsweep)
    install(CODE "
        set(completion_dir \"\$ENV{DESTDIR}/usr/share/bash-completion/completions\")
        file(MAKE_DIRECTORY \"\${completion_dir}\")
        execute_process(COMMAND \"$<TARGET_FILE:hpsweep>\" completion bash
                        OUTPUT_FILE \"\${completion_dir}/hpsweep\" RESULT_VARIABLE completion_rc)
        if(NOT completion_rc EQUAL 0)
            message(FATAL_ERROR \"hpsweep completion bash failed: \${completion_rc}\")
        endif()
        message(STATUS \"Installing: \${completion_dir}/hpsweep\")")
endif()

set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME hpsweep)
set(CPACK_PACKAGE_VENDOR "hpsweep")
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY
    "Deep-learning sweeps, GPU placement and datastores for Slurm clusters")
set(CPACK_PACKAGE_DESCRIPTION
    "hpsweep gives Slurm GPU clusters the cloud deep-learning workflow: hyper-parameter \
sweeps as job arrays, topology-aware GPU placement and DDP environment, and versioned \
datastores staged to node-local caches. Includes the hpsweep CLI, hpsweep-launch and the \
SPANK plugin hpsweep.so (enable it in plugstack.conf).")
set(CPACK_PACKAGE_CONTACT "hpsweep maintainers <root@localhost>")
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION admin)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
# Library dependencies from the binaries themselves (dpkg-shlibdeps), plus Slurm, whose
# version the plugin was built against: a plugin built for another Slurm release is
# refused by Slurm's loader ("incompatible plugin version").
find_program(HPSWEEP_DPKG_SHLIBDEPS dpkg-shlibdeps)
if(HPSWEEP_DPKG_SHLIBDEPS)
    set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
endif()
# A Slurm built from source (HPSWEEP_SLURM_PREFIX) is no Debian package: nothing to depend
# on, and docs/admin.md tells the admin to install the .deb only where that Slurm runs.
if(HPSWEEP_BUILD_PLUGIN AND NOT HPSWEEP_SLURM_PREFIX
   AND EXISTS "${HPSWEEP_SLURM_INCLUDE_DIR}/slurm/slurm_version.h")
    # SLURM_VERSION_NUMBER 0x160508 is 22.05.8: the loader wants the same major.minor.
    file(STRINGS "${HPSWEEP_SLURM_INCLUDE_DIR}/slurm/slurm_version.h" slurm_version_line
         REGEX "^#define SLURM_VERSION_NUMBER")
    if(slurm_version_line MATCHES "0x([0-9a-fA-F][0-9a-fA-F])([0-9a-fA-F][0-9a-fA-F])")
        math(EXPR slurm_major "0x${CMAKE_MATCH_1}")
        math(EXPR slurm_minor "0x${CMAKE_MATCH_2}")
        math(EXPR slurm_next_minor "${slurm_minor} + 1")
        set(slurm_release "${slurm_major}.${slurm_minor}")
        if(slurm_minor LESS 10)
            set(slurm_release "${slurm_major}.0${slurm_minor}")
        endif()
        set(slurm_next "${slurm_major}.${slurm_next_minor}")
        if(slurm_next_minor LESS 10)
            set(slurm_next "${slurm_major}.0${slurm_next_minor}")
        endif()
        set(CPACK_DEBIAN_PACKAGE_DEPENDS
            "slurm-client (>= ${slurm_release}), slurm-client (<< ${slurm_next})")
    endif()
endif()
# /etc/hpsweep/hpsweep.conf is a conffile: dpkg keeps the admin's edits on upgrade and
# removes it only on purge.
file(WRITE ${CMAKE_BINARY_DIR}/cpack-debian/conffiles "/etc/hpsweep/hpsweep.conf\n")
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA ${CMAKE_BINARY_DIR}/cpack-debian/conffiles)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
include(CPack)
