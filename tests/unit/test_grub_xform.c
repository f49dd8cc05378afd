/* Golden and edge-case tests of the boot loader transforms. */
#include <stdlib.h>
#include <string.h>

#include "xform_golden.h"

#include "fix/grub_xform.h"

static int
device_map_adapter(const char *in, const hk_devmap *map, hk_xform_out *out)
{
    (void)map;
    return hk_device_map_xform(in, out);
}

static golden_fn
pick_default(const char *name)
{
    (void)name;
    return hk_grub_default_xform;
}

static golden_fn
pick_cfg(const char *name)
{
    (void)name;
    return hk_grub_cfg_xform;
}

/* tests/data/fix/bls/ holds BLS entries and (named grubenv-*) grubenv files */
static golden_fn
pick_bls(const char *name)
{
    return strncmp(name, "grubenv", 7) == 0 ? hk_grubenv_xform : hk_bls_entry_xform;
}

static golden_fn
pick_devmap(const char *name)
{
    (void)name;
    return device_map_adapter;
}

static void
test_golden_grub_default(void **state)
{
    (void)state;
    assert_true(golden_run_dir("fix/grub-default", pick_default) >= 5);
}

static void
test_golden_grub_cfg(void **state)
{
    (void)state;
    assert_true(golden_run_dir("fix/grub-cfg", pick_cfg) >= 4);
}

static void
test_golden_bls(void **state)
{
    (void)state;
    assert_true(golden_run_dir("fix/bls", pick_bls) >= 3);
}

static void
test_golden_device_map(void **state)
{
    (void)state;
    assert_true(golden_run_dir("fix/device-map", pick_devmap) >= 2);
}

static const hk_dev devs[] = {
    {"/dev/sda1", 0, 1, "0a1", NULL, "ext4", NULL},
    {"/dev/sda2", 0, 2, NULL, "my swap", "swap", "abcd-02"},
};
static const hk_devmap map = {devs, 2, 1};

static void
check(int (*fn)(const char *, const hk_devmap *, hk_xform_out *), const char *in, const char *want,
      size_t want_notes)
{
    hk_xform_out o = {0};
    assert_int_equal(fn(in, &map, &o), 0);
    if ((want == NULL) != (o.text == NULL) || o.n_notes != want_notes)
        print_error("input %s: got %s with %zu notes\n", in, o.text ? o.text : "NULL", o.n_notes);
    if (want) {
        assert_non_null(o.text);
        assert_string_equal(o.text, want);
    } else {
        assert_null(o.text);
    }
    assert_int_equal(o.n_notes, want_notes);
    hk_xform_out_clear(&o);
}

static void
test_edges(void **state)
{
    (void)state;
    hk_xform_out o = {0};
    assert_int_equal(hk_grub_default_xform(NULL, &map, &o), H2K_ERR_INVALID_ARG);
    assert_int_equal(hk_grub_cfg_xform("", &map, NULL), H2K_ERR_INVALID_ARG);
    assert_int_equal(hk_bls_entry_xform(NULL, &map, &o), H2K_ERR_INVALID_ARG);
    assert_int_equal(hk_grubenv_xform(NULL, &map, &o), H2K_ERR_INVALID_ARG);
    assert_int_equal(hk_device_map_xform(NULL, &o), H2K_ERR_INVALID_ARG);
    check(hk_grub_default_xform, "", NULL, 0);
    check(hk_grub_cfg_xform, "", NULL, 0);
    /* unterminated quote: the value runs to the end of the text */
    check(hk_grub_default_xform, "GRUB_CMDLINE_LINUX=\"root=/dev/sda1",
          "GRUB_CMDLINE_LINUX=\"root=UUID=0a1", 1);
    /* label with a blank is not used on a command line: PARTUUID instead */
    check(hk_grub_default_xform, "GRUB_CMDLINE_LINUX=resume=/dev/sda2\n",
          "GRUB_CMDLINE_LINUX=resume=PARTUUID=abcd-02\n", 1);
    /* kernel-quoted value */
    check(hk_bls_entry_xform, "options root=\"/dev/sda1\" ro\n", "options root=\"UUID=0a1\" ro\n",
          1);
    /* line continuation inside an unquoted value */
    check(hk_grub_cfg_xform, "linux /vmlinuz ro \\\n root=/dev/sda1\n",
          "linux /vmlinuz ro \\\n root=UUID=0a1\n", 1);
    /* a word that only starts like a command, and "root" without '=' */
    check(hk_grub_cfg_xform, "linuxx /v root=/dev/sda1\nlinux /v root /dev/sda1\n", NULL, 0);
    /* grubenv without its header: spliced, size not kept */
    check(hk_grubenv_xform, "kernelopts=root=/dev/sda1\n", "kernelopts=root=UUID=0a1\n", 1);
    /* grubenv escapes: an escaped character inside the device is left alone */
    check(hk_grubenv_xform, "kernelopts=root=/dev/sd\\a1\n", NULL, 1);
    /* device.map: out-of-range drive number, junk */
    check(hk_grub_default_xform, "GRUB_DISABLE_LINUX_UUID=truex\n", NULL, 0);
    assert_int_equal(hk_device_map_xform("(hd99999) /dev/disk/by-id/x\n(hd0)\n(hd /dev/sda\n", &o),
                     0);
    assert_null(o.text);
    hk_xform_out_clear(&o);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_golden_grub_default),
        cmocka_unit_test(test_golden_grub_cfg),
        cmocka_unit_test(test_golden_bls),
        cmocka_unit_test(test_golden_device_map),
        cmocka_unit_test(test_edges),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
