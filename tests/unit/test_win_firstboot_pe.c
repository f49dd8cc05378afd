/*
 * The Windows first-boot helper embedded into the library at build time
 * (windows/firstboot/firstboot.cmake) is a real Windows executable for each
 * guest architecture: DOS and PE headers, the right machine and optional
 * header, a console program importing the service API from advapi32.dll.
 * A library built without mingw-w64 fails here (the helper is required).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testsupport.h"

#include "fix/win_firstboot.h"

static uint16_t
le16(const unsigned char *p)
{
    return (uint16_t)(p[0] | p[1] << 8);
}

static uint32_t
le32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static bool
contains(const unsigned char *p, size_t n, const char *needle)
{
    size_t k = strlen(needle);
    for (size_t i = 0; i + k <= n; i++)
        if (memcmp(p + i, needle, k) == 0)
            return true;
    return false;
}

static void
check_pe(hk_win_arch arch, uint16_t machine, uint16_t opt_magic)
{
    size_t n = 0;
    const unsigned char *p = hk_win_firstboot_helper(arch, &n);
    if (!p || n == 0)
        fail_msg("libhyper2kvm was built without the Windows first-boot helper: install "
                 "mingw-w64 (scripts/install-deps.sh: gcc-mingw-w64-x86-64, "
                 "gcc-mingw-w64-i686) and configure again");
    assert_true(n > 4096);
    assert_true(n < 1024 * 1024); /* a small program: no runtime dragged in */
    assert_int_equal(p[0], 'M');
    assert_int_equal(p[1], 'Z');
    uint32_t pe = le32(p + 0x3c);
    assert_true(pe + 24 + 70 < n);
    assert_memory_equal(p + pe, "PE\0\0", 4);
    assert_int_equal(le16(p + pe + 4), machine);
    uint16_t characteristics = le16(p + pe + 22);
    assert_true(characteristics & 0x0002);  /* IMAGE_FILE_EXECUTABLE_IMAGE */
    assert_false(characteristics & 0x2000); /* not a DLL */
    const unsigned char *opt = p + pe + 24;
    assert_int_equal(le16(opt), opt_magic);
    assert_int_equal(le16(opt + 68), 3); /* Subsystem: IMAGE_SUBSYSTEM_WINDOWS_CUI */
    /* the service API it needs, and its own usage text */
    assert_true(contains(p, n, "ADVAPI32.dll") || contains(p, n, "advapi32.dll"));
    assert_true(contains(p, n, "StartServiceCtrlDispatcherA"));
    assert_true(contains(p, n, "DeleteService"));
    assert_true(contains(p, n, "--service NAME"));
}

static void
test_x64(void **state)
{
    (void)state;
    check_pe(HK_WIN_ARCH_X64, 0x8664, 0x20b); /* AMD64, PE32+ */
}

static void
test_x86(void **state)
{
    (void)state;
    check_pe(HK_WIN_ARCH_X86, 0x014c, 0x10b); /* i386, PE32 */
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_x64),
        cmocka_unit_test(test_x86),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
