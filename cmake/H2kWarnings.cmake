# Compiler warnings for every target of the project.
set(H2K_WARNING_FLAGS
    -Wall -Wextra -Wshadow -Wformat=2 -Wstrict-prototypes -Wmissing-prototypes
    -Wpointer-arith -Wundef -Wvla -Wno-unused-parameter)
if(H2K_WERROR)
    list(APPEND H2K_WARNING_FLAGS -Werror)
endif()
add_compile_options(${H2K_WARNING_FLAGS})
