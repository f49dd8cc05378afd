/* Golden and edge-case tests of the fstab and crypttab transforms. */
#include <stdlib.h>
#include <string.h>

#include "xform_golden.h"

#include "fix/fstab_xform.h"

static golden_fn
pick_fstab(const char *name)
{
    (void)name;
    return hk_fstab_xform;
}

static golden_fn
pick_crypttab(const char *name)
{
    (void)name;
    return hk_crypttab_xform;
}

static void
test_golden_fstab(void **state)
{
    (void)state;
    assert_true(golden_run_dir("fix/fstab", pick_fstab) >= 10);
}

static void
test_golden_crypttab(void **state)
{
    (void)state;
    assert_true(golden_run_dir("fix/crypttab", pick_crypttab) >= 3);
}

static const hk_dev devs[] = {
    {"/dev/sda1", 0, 1, "1111-2222", NULL, "vfat", NULL},
    {"/dev/sda2", 0, 2, NULL, "a b#c\\d", "ext4", NULL},
    {"/dev/sda3", 0, 3, NULL, NULL, "ext4", "0badcafe-03"},
    {"/dev/sda4", 0, 4, "not a uuid!", NULL, "ext4", NULL},
};
static const hk_devmap map = {devs, 4, 1};

static void
check(const char *in, const char *want, size_t want_notes)
{
    hk_xform_out o = {0};
    assert_int_equal(hk_fstab_xform(in, &map, &o), 0);
    if (want)
        assert_string_equal(o.text, want);
    else
        assert_null(o.text);
    assert_int_equal(o.n_notes, want_notes);
    hk_xform_out_clear(&o);
}

static void
test_fstab_edges(void **state)
{
    (void)state;
    hk_xform_out o = {0};
    assert_int_equal(hk_fstab_xform(NULL, &map, &o), H2K_ERR_INVALID_ARG);
    assert_int_equal(hk_fstab_xform("x", &map, NULL), H2K_ERR_INVALID_ARG);
    assert_int_equal(hk_crypttab_xform(NULL, NULL, &o), H2K_ERR_INVALID_ARG);
    check("", NULL, 0);
    check("\n\n   \n\t\n", NULL, 0);
    check("#/dev/sda1 / ext4 defaults 0 1\n", NULL, 0);
    /* first field only, no newline at the end */
    check("/dev/sda1", "UUID=1111-2222", 1);
    check("  /dev/sda1\t/boot/efi vfat umask=0077 0 1",
          "  UUID=1111-2222\t/boot/efi vfat umask=0077 0 1", 1);
    /* label escaping in fstab */
    check("/dev/sda2 /srv ext4 defaults 0 2\n",
          "LABEL=a\\040b\\043c\\134d /srv ext4 defaults 0 2\n", 1);
    /* PARTUUID when no UUID and no label; a malformed UUID is not used */
    check("/dev/sda3 /x ext4 defaults 0 2\n", "PARTUUID=0badcafe-03 /x ext4 defaults 0 2\n", 1);
    check("/dev/sda4 /y ext4 defaults 0 2\n", NULL, 1);
    /* a NULL map: every unstable reference is noted, nothing changes */
    assert_int_equal(hk_fstab_xform("/dev/sda1 / ext4 defaults 0 1\n", NULL, &o), 0);
    assert_null(o.text);
    assert_int_equal(o.n_notes, 1);
    assert_string_equal(o.notes[0], "line 1: no UUID known for /dev/sda1 (left as is)");
    hk_xform_out_clear(&o);
    /* a very long field is skipped, not truncated */
    size_t big = 10000;
    char *s = malloc(big + 32);
    assert_non_null(s);
    memcpy(s, "/dev/sda", 8);
    memset(s + 8, '1', big);
    strcpy(s + 8 + big, " / ext4 defaults 0 1\n");
    check(s, NULL, 0);
    free(s);
    /* removable media with two fields only: left alone */
    check("/dev/sr0 /media/cdrom\n", NULL, 0);
    /* crypttab: one field only is left alone */
    assert_int_equal(hk_crypttab_xform("lonely\n", &map, &o), 0);
    assert_null(o.text);
    assert_int_equal(o.n_notes, 0);
    hk_xform_out_clear(&o);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_golden_fstab),
        cmocka_unit_test(test_golden_crypttab),
        cmocka_unit_test(test_fstab_edges),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
