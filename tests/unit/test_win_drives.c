/* Windows drive letters: MountedDevices value data (the bytes a hive holds) parsed
 * and resolved to partitions by MBR signature + offset or by GPT partition GUID. */
#include <stdlib.h>
#include <string.h>

#include "guest/win_drives.h"
#include "testsupport.h"

/* \DosDevices\C: of an MBR disk with signature 0x34333231 ("1234" at byte 440),
 * partition at 1 MiB */
static const unsigned char mbr_c[12] = {0x31, 0x32, 0x33, 0x34, 0x00, 0x00,
                                        0x10, 0x00, 0x00, 0x00, 0x00, 0x00};
/* "DMIO:ID:" + GUID 6B1E0C2A-0011-4E11-9A11-000000000011 in Windows' byte order */
static const unsigned char gpt_c[24] = {'D',  'M',  'I',  'O',  ':',  'I',  'D',  ':',
                                        0x2a, 0x0c, 0x1e, 0x6b, 0x11, 0x00, 0x11, 0x4e,
                                        0x9a, 0x11, 0x00, 0x00, 0x00, 0x00, 0x00, 0x11};

static void
test_parse(void **state)
{
    (void)state;
    hk_win_mount m;
    assert_int_equal(hk_win_mount_parse("\\DosDevices\\C:", mbr_c, sizeof(mbr_c), &m), 1);
    assert_int_equal(m.letter, 'C');
    assert_int_equal(m.kind, HK_WIN_MOUNT_MBR);
    assert_int_equal(m.mbr_sig, 0x34333231u);
    assert_int_equal(m.offset, 1048576u);
    /* a letter in lower case, as some tools write it */
    assert_int_equal(hk_win_mount_parse("\\dosdevices\\e:", gpt_c, sizeof(gpt_c), &m), 1);
    assert_int_equal(m.letter, 'E');
    assert_int_equal(m.kind, HK_WIN_MOUNT_GPT);
    assert_string_equal(m.guid, "6B1E0C2A-0011-4E11-9A11-000000000011");
    /* a 64-bit offset beyond 4 GiB */
    unsigned char big[12] = {1, 2, 3, 4, 0x00, 0x00, 0x00, 0x00, 0x05, 0x00, 0x00, 0x00};
    assert_int_equal(hk_win_mount_parse("\\DosDevices\\D:", big, sizeof(big), &m), 1);
    assert_int_equal(m.offset, (uint64_t)5 << 32);
    assert_int_equal(m.mbr_sig, 0x04030201u);
}

static void
test_parse_other_values(void **state)
{
    (void)state;
    hk_win_mount m;
    /* a volume GUID name, not a drive letter */
    assert_int_equal(hk_win_mount_parse("\\??\\Volume{6b1e0c2a-0011-4e11-9a11-000000000011}", mbr_c,
                                        sizeof(mbr_c), &m),
                     0);
    /* a CD-ROM: a UTF-16 device path, no partition */
    const char cd[] = "\\\0?\0?\0\\\0I\0D\0E\0#\0C\0d\0R\0o\0m\0";
    assert_int_equal(hk_win_mount_parse("\\DosDevices\\F:", cd, sizeof(cd), &m), 0);
    /* 24 bytes without the DMIO tag, truncated data, bad names */
    unsigned char no_tag[24] = {0};
    assert_int_equal(hk_win_mount_parse("\\DosDevices\\G:", no_tag, sizeof(no_tag), &m), 0);
    assert_int_equal(hk_win_mount_parse("\\DosDevices\\C:", mbr_c, 11, &m), 0);
    assert_int_equal(hk_win_mount_parse("\\DosDevices\\C:", gpt_c, 23, &m), 0);
    assert_int_equal(hk_win_mount_parse("\\DosDevices\\C", mbr_c, sizeof(mbr_c), &m), 0);
    assert_int_equal(hk_win_mount_parse("\\DosDevices\\CC:", mbr_c, sizeof(mbr_c), &m), 0);
    assert_int_equal(hk_win_mount_parse("\\DosDevices\\1:", mbr_c, sizeof(mbr_c), &m), 0);
    assert_int_equal(hk_win_mount_parse("\\DosDevices\\", mbr_c, sizeof(mbr_c), &m), 0);
    assert_int_equal(hk_win_mount_parse("", mbr_c, sizeof(mbr_c), &m), 0);
    assert_int_equal(hk_win_mount_parse(NULL, mbr_c, sizeof(mbr_c), &m), 0);
    assert_int_equal(hk_win_mount_parse("\\DosDevices\\C:", NULL, 0, &m), 0);
}

static void
test_resolve(void **state)
{
    (void)state;
    hk_win_part parts[] = {
        /* disk 1 (MBR, signature 0x34333231): system at 1 MiB, data at 500 MiB */
        {.device = "/dev/sda1", .gpt = false, .mbr_sig = 0x34333231u, .start = 1048576},
        {.device = "/dev/sda2", .gpt = false, .mbr_sig = 0x34333231u, .start = 524288000},
        /* disk 2 (GPT): its protective MBR's signature must not match anything */
        {.device = "/dev/sdb1",
         .gpt = true,
         .mbr_sig = 0,
         .start = 1048576,
         .guid = "c12a7328-f81f-11d2-ba4b-00a0c93ec93b"},
        {.device = "/dev/sdb3",
         .gpt = true,
         .mbr_sig = 0x34333231u,
         .start = 122683392,
         .guid = "6b1e0c2a-0011-4e11-9a11-000000000011"},
    };
    size_t n = sizeof(parts) / sizeof(parts[0]);
    hk_win_mount m;
    assert_int_equal(hk_win_mount_parse("\\DosDevices\\C:", mbr_c, sizeof(mbr_c), &m), 1);
    assert_string_equal(hk_win_mount_resolve(&m, parts, n), "/dev/sda1");
    m.offset = 524288000;
    assert_string_equal(hk_win_mount_resolve(&m, parts, n), "/dev/sda2");
    /* right signature, no partition at that offset; another disk's signature */
    m.offset = 2048;
    assert_null(hk_win_mount_resolve(&m, parts, n));
    m.offset = 1048576;
    m.mbr_sig = 0xdeadbeefu;
    assert_null(hk_win_mount_resolve(&m, parts, n));
    /* GPT by GUID, case-insensitive; the GPT disk's own MBR bytes are never used */
    assert_int_equal(hk_win_mount_parse("\\DosDevices\\E:", gpt_c, sizeof(gpt_c), &m), 1);
    assert_string_equal(hk_win_mount_resolve(&m, parts, n), "/dev/sdb3");
    assert_null(hk_win_mount_resolve(&m, parts, 2));
    m.mbr_sig = 0x34333231u;
    m.offset = 122683392;
    m.kind = HK_WIN_MOUNT_MBR;
    assert_null(hk_win_mount_resolve(&m, parts + 2, 2));
    assert_null(hk_win_mount_resolve(NULL, parts, n));
    assert_null(hk_win_mount_resolve(&m, NULL, 0));
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse),
        cmocka_unit_test(test_parse_other_values),
        cmocka_unit_test(test_resolve),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
