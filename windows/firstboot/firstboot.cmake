# The Windows first-boot service (windows/firstboot), included by
# src/CMakeLists.txt after h2k_objects is defined.
#
# h2kfirstboot.exe is cross-compiled from our own source with Debian's
# mingw-w64 (x86_64-w64-mingw32-gcc for x64 guests, i686-w64-mingw32-gcc for
# x86 guests), always with -Werror, and both executables are embedded into
# libhyper2kvm as byte arrays (src/fix/win_firstboot.c installs the one that
# matches the guest).  Embedding keeps the library self-contained: nothing to
# find in a data folder at run time, the same bytes in the build tree, in an
# installed library and in a relocated one, and the helper cannot drift from
# the library that writes its registration.
#
# Without the cross compilers the library is built without the helper
# (H2K_FIRSTBOOT_HELPER=OFF, or AUTO when they are missing) and Windows
# first-boot installation fails with H2K_ERR_UNSUPPORTED; the test suite
# requires the helper (tests/unit/test_win_firstboot_pe fails without it).
set(H2K_FIRSTBOOT_HELPER "AUTO" CACHE STRING
    "Cross-compile the Windows first-boot helper with mingw-w64 (AUTO, ON, OFF)")
set_property(CACHE H2K_FIRSTBOOT_HELPER PROPERTY STRINGS AUTO ON OFF)

set(_fb_dir ${PROJECT_SOURCE_DIR}/windows/firstboot)
set(_fb_out ${CMAKE_CURRENT_BINARY_DIR}/firstboot)
set(_fb_sources ${_fb_dir}/service.c ${_fb_dir}/fb_runner.c)
set(_fb_headers ${_fb_dir}/fb_runner.h)
# Warnings as for the rest of the project, always errors; reproducible output.
set(_fb_flags -std=c11 -O2 -Wall -Wextra -Wshadow -Wformat=2 -Wstrict-prototypes
    -Wmissing-prototypes -Wpointer-arith -Wundef -Wvla -Werror
    -s -static-libgcc -Wl,--no-insert-timestamp)

set(_fb_blob_args "")
set(_fb_blob_deps "")
if(NOT H2K_FIRSTBOOT_HELPER STREQUAL "OFF")
    find_program(H2K_MINGW64_CC x86_64-w64-mingw32-gcc)
    find_program(H2K_MINGW32_CC i686-w64-mingw32-gcc)
    if(H2K_MINGW64_CC AND H2K_MINGW32_CC)
        foreach(_arch x64 x86)
            if(_arch STREQUAL "x64")
                set(_cc ${H2K_MINGW64_CC})
            else()
                set(_cc ${H2K_MINGW32_CC})
            endif()
            set(_exe ${_fb_out}/h2kfirstboot-${_arch}.exe)
            add_custom_command(OUTPUT ${_exe}
                COMMAND ${CMAKE_COMMAND} -E make_directory ${_fb_out}
                COMMAND ${_cc} ${_fb_flags} -o ${_exe} ${_fb_sources} -ladvapi32
                DEPENDS ${_fb_sources} ${_fb_headers}
                COMMENT "Cross-compiling the Windows first-boot helper (${_arch})"
                VERBATIM)
            list(APPEND _fb_blob_args -DEXE_${_arch}=${_exe})
            list(APPEND _fb_blob_deps ${_exe})
        endforeach()
        set(H2K_HAVE_FIRSTBOOT_HELPER ON)
        message(STATUS "Windows first-boot helper: built with ${H2K_MINGW64_CC} and ${H2K_MINGW32_CC}")
    elseif(H2K_FIRSTBOOT_HELPER STREQUAL "ON")
        message(FATAL_ERROR "H2K_FIRSTBOOT_HELPER=ON needs x86_64-w64-mingw32-gcc and "
                            "i686-w64-mingw32-gcc (scripts/install-deps.sh installs them)")
    else()
        message(WARNING "mingw-w64 not found: libhyper2kvm is built without the Windows "
                        "first-boot helper (scripts/install-deps.sh installs it)")
    endif()
endif()

set(_fb_blob ${_fb_out}/fb_blob.c)
add_custom_command(OUTPUT ${_fb_blob}
    COMMAND ${CMAKE_COMMAND} ${_fb_blob_args} -DOUT=${_fb_blob}
            -P ${_fb_dir}/bin2c.cmake
    DEPENDS ${_fb_blob_deps} ${_fb_dir}/bin2c.cmake
    COMMENT "Embedding the Windows first-boot helper"
    VERBATIM)

target_sources(h2k_objects PRIVATE ${_fb_blob} ${_fb_dir}/fb_runner.c)
target_include_directories(h2k_objects PRIVATE ${_fb_dir})
target_include_directories(hyper2kvm_internal PUBLIC ${_fb_dir})
