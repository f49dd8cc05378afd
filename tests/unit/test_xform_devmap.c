/* Unit tests of src/fix/xform.c: notes, device reference rules, lookup. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testsupport.h"

#include "fix/xform.h"
#include "fix/xform_priv.h"

static void
test_out_and_notes(void **state)
{
    (void)state;
    hk_xform_out o = {0};
    hk_xform_out_clear(&o);
    hk_xform_out_clear(NULL);
    assert_true(hk_xform_note(&o, "line %d: %s", 3, "x"));
    assert_true(hk_xform_note(&o, "plain"));
    assert_false(hk_xform_note(NULL, "x"));
    assert_int_equal(o.n_notes, 2);
    assert_string_equal(o.notes[0], "line 3: x");
    assert_string_equal(o.notes[1], "plain");
    o.text = strdup("t");
    hk_xform_out_clear(&o);
    assert_null(o.text);
    assert_null(o.notes);
    assert_int_equal(o.n_notes, 0);
}

static void
test_unstable(void **state)
{
    (void)state;
    static const char *const yes[] = {
        "/dev/sda",
        "/dev/sda1",
        "/dev/sdaa12",
        "/dev/hdb",
        "/dev/hdc3",
        "/dev/xvda1",
        "/dev/nvme0n1p2",
        "/dev/nvme1n1",
        "/dev/disk/by-path/pci-0000:03:00.0-scsi-0:0:1:0-part2",
        "/dev/disk/by-id/scsi-36000c29a-part1",
        "/dev/disk/by-id/wwn-0x5000c500-part3",
    };
    static const char *const no[] = {
        "/dev/vda",
        "/dev/vda1",
        "/dev/mapper/vg-root",
        "/dev/vg00/root",
        "UUID=abcd",
        "LABEL=root",
        "PARTUUID=1234-01",
        "/dev/md0",
        "/dev/sr0",
        "/dev/fd0",
        "/dev/cdrom",
        "/dev/sd",
        "/dev/sda0",
        "/dev/sda01",
        "/dev/sdA1",
        "/dev/sdabcd1",
        "/dev/sda1x",
        "/dev/disk/by-id/",
        "/dev/disk/by-path/",
        "/dev/disk/by-uuid/abcd",
        "/dev/disk/by-id/dm-name-vg-root",
        "/dev/disk/by-id/md-uuid-1234",
        "/dev/disk/by-id/lvm-pv-uuid-abc",
        "tmpfs",
        "none",
        "",
        "host:/export",
        "/dev/nvme0n0",
        "/dev/nvme0n1p0",
        "/dev/nvme0n1p",
        "/dev/nvme01n1",
    };
    for (size_t i = 0; i < HK_ARRAY_LEN(yes); i++) {
        if (!hk_devref_is_unstable(yes[i]))
            fail_msg("%s should be unstable", yes[i]);
    }
    for (size_t i = 0; i < HK_ARRAY_LEN(no); i++) {
        if (hk_devref_is_unstable(no[i]))
            fail_msg("%s should be stable", no[i]);
    }
    assert_false(hk_devref_is_unstable(NULL));
}

static void
test_disk_names(void **state)
{
    (void)state;
    int d = -9, p = -9;
    size_t pl = 0;
    assert_true(hk_parse_disk_name("/dev/sda1", &d, &p, &pl));
    assert_int_equal(d, 0);
    assert_int_equal(p, 1);
    assert_int_equal(pl, 2);
    assert_true(hk_parse_disk_name("/dev/hdb", &d, &p, NULL));
    assert_int_equal(d, 1);
    assert_int_equal(p, 0);
    assert_true(hk_parse_disk_name("/dev/sdz", &d, &p, NULL));
    assert_int_equal(d, 25);
    assert_true(hk_parse_disk_name("/dev/sdaa", &d, &p, NULL));
    assert_int_equal(d, 26); /* the 27th disk */
    assert_true(hk_parse_disk_name("/dev/sdba3", &d, &p, NULL));
    assert_int_equal(d, 52);
    assert_int_equal(p, 3);
    assert_true(hk_parse_disk_name("/dev/xvdc15", &d, &p, &pl));
    assert_int_equal(d, 2);
    assert_int_equal(p, 15);
    assert_int_equal(pl, 3);
    assert_false(hk_parse_disk_name("/dev/sda1234567", &d, &p, NULL));
    assert_false(hk_parse_disk_name("/dev/sdzzzz", &d, &p, NULL));
    assert_false(hk_parse_disk_name(NULL, &d, &p, NULL));

    char l[8];
    assert_true(hk_disk_letters(0, l));
    assert_string_equal(l, "a");
    assert_true(hk_disk_letters(25, l));
    assert_string_equal(l, "z");
    assert_true(hk_disk_letters(26, l));
    assert_string_equal(l, "aa");
    assert_true(hk_disk_letters(52, l));
    assert_string_equal(l, "ba");
    assert_true(hk_disk_letters(701, l));
    assert_string_equal(l, "zz");
    assert_true(hk_disk_letters(702, l));
    assert_string_equal(l, "aaa");
    assert_false(hk_disk_letters(-1, l));
    assert_false(hk_disk_letters(1 << 20, l));
    /* letters and parse agree everywhere */
    for (int i = 0; i < 26 + 26 * 26 + 26 * 26 * 26; i++) {
        char name[32];
        assert_true(hk_disk_letters(i, l));
        snprintf(name, sizeof(name), "/dev/vd%s7", l);
        assert_true(hk_parse_disk_name(name, &d, &p, NULL));
        assert_int_equal(d, i);
        assert_int_equal(p, 7);
    }
}

static const hk_dev devs[] = {
    {"/dev/sda1", 0, 1, "u-a1", NULL, "ext4", NULL},
    {"/dev/sda2", 0, 2, "u-a2", NULL, "swap", NULL},
    {"/dev/sdb", 1, 0, "u-b", NULL, "xfs", NULL},
    {"/dev/sdb1", 1, 1, "u-b1", NULL, "xfs", NULL},
    {"/dev/sdh2", 7, 2, "u-h2", NULL, "xfs", NULL},
    {"/dev/sdaa1", 26, 1, "u-aa1", NULL, "ext4", NULL},
    {"/dev/mapper/vg-root", -1, 0, "u-root", NULL, "ext4", NULL},
};

static const char *
uuid_of(const hk_devmap *m, const char *ref)
{
    const hk_dev *d = hk_devmap_lookup(m, ref);
    return d ? d->uuid : NULL;
}

static void
expect_uuid(const hk_devmap *m, const char *ref, const char *want)
{
    const char *u = uuid_of(m, ref);
    if (!want && u)
        fail_msg("%s: want NULL, got %s", ref, u);
    if (want && (!u || strcmp(u, want) != 0))
        fail_msg("%s: want %s, got %s", ref, want, u ? u : "NULL");
}
#define EXPECT(m, ref, want) expect_uuid((m), (ref), (want))

static void
test_lookup(void **state)
{
    (void)state;
    hk_devmap m = {devs, HK_ARRAY_LEN(devs), 27};
    EXPECT(&m, "/dev/sda1", "u-a1");
    EXPECT(&m, "/dev/hda2", "u-a2");
    EXPECT(&m, "/dev/xvda1", "u-a1");
    EXPECT(&m, "/dev/vda1", "u-a1");
    EXPECT(&m, "/dev/hdb", "u-b");
    EXPECT(&m, "/dev/sdb", "u-b");
    EXPECT(&m, "/dev/sdaa1", "u-aa1");
    EXPECT(&m, "/dev/vdaa1", "u-aa1");
    EXPECT(&m, "/dev/sda3", NULL);
    EXPECT(&m, "/dev/sdc1", NULL);
    EXPECT(&m, "/dev/mapper/vg-root", "u-root"); /* exact match */
    EXPECT(&m, "/dev/vg/root", NULL);
    EXPECT(&m, "/dev/nvme0n1p2", "u-a2");
    EXPECT(&m, "/dev/nvme0n2", "u-b");
    EXPECT(&m, "/dev/nvme1n1p1", NULL); /* second controller: not mapped */
    /* by-path: one SCSI controller, target = disk, unit 7 reserved */
    EXPECT(&m, "/dev/disk/by-path/pci-0000:03:00.0-scsi-0:0:0:0-part1", "u-a1");
    EXPECT(&m, "/dev/disk/by-path/pci-0000:03:00.0-scsi-0:0:1:0-part1", "u-b1");
    EXPECT(&m, "/dev/disk/by-path/pci-0000:03:00.0-scsi-0:0:1:0", "u-b");
    EXPECT(&m, "/dev/disk/by-path/pci-0000:03:00.0-scsi-0:0:8:0-part2", "u-h2");
    EXPECT(&m, "/dev/disk/by-path/pci-0000:03:00.0-scsi-0:0:7:0-part2", NULL);
    EXPECT(&m, "/dev/disk/by-path/pci-0000:03:00.0-scsi-0:1:0:0-part1", NULL);
    EXPECT(&m, "/dev/disk/by-path/pci-0000:03:00.0-scsi-0:0:0:1-part1", NULL);
    EXPECT(&m, "/dev/disk/by-path/pci-0000:03:00.0-scsi-0:0:0:0-part", NULL);
    EXPECT(&m, "/dev/disk/by-path/pci-0000:03:00.0-scsi-0:0:0:0-partx", NULL);
    EXPECT(&m, "/dev/disk/by-path/pci-0000:03:00.0-scsi-0:0:0-part1", NULL);
    EXPECT(&m, "/dev/disk/by-path/pci-0000:00:07.1-ata-1-part1", NULL);
    EXPECT(&m, "/dev/disk/by-path/acpi-VMBUS:00-scsi-0:0:0:0-part1", NULL);
    EXPECT(&m, "/dev/disk/by-path/pci-0000:03:00.0-scsi-0:0:99999999:0-part1", NULL);
    /* by-id: not with 27 disks */
    EXPECT(&m, "/dev/disk/by-id/scsi-36000c29-part1", NULL);

    hk_devmap one = {devs, 2, 1};
    EXPECT(&one, "/dev/disk/by-id/scsi-36000c29-part1", "u-a1");
    EXPECT(&one, "/dev/disk/by-id/wwn-0x6000c29-part2", "u-a2");
    EXPECT(&one, "/dev/disk/by-id/scsi-36000c29", NULL);       /* whole disk: not mapped */
    EXPECT(&one, "/dev/disk/by-id/scsi-36000c29-part3", NULL); /* no such partition */
    EXPECT(&one, "/dev/disk/by-id/-part1", NULL);
    EXPECT(&one, "/dev/disk/by-id/dm-name-x-part1", NULL);
    EXPECT(&one, "/dev/disk/by-id/scsi-x-part01", NULL);

    /* ambiguous (disk, partition): NULL */
    static const hk_dev dup[] = {
        {"/dev/sda1", 0, 1, "first", NULL, NULL, NULL},
        {"/dev/hda1", 0, 1, "second", NULL, NULL, NULL},
    };
    hk_devmap dm = {dup, 2, 1};
    EXPECT(&dm, "/dev/sda1", "first"); /* exact name wins */
    EXPECT(&dm, "/dev/xvda1", NULL);

    hk_devmap empty = {NULL, 0, 0};
    EXPECT(&empty, "/dev/sda1", NULL);
    assert_null(hk_devmap_lookup(NULL, "/dev/sda1"));
    assert_null(hk_devmap_lookup(&m, NULL));
    assert_null(hk_devmap_lookup(&m, ""));
}

static void
test_stable_ref(void **state)
{
    (void)state;
    bool oom = true;
    hk_dev d = {"/dev/sda1", 0, 1, "ab-12", "root fs", "ext4", "cafe-01"};
    char *s = hk_dev_stable_ref(&d, HK_REF_FSTAB, &oom);
    assert_false(oom);
    assert_string_equal(s, "UUID=ab-12");
    free(s);
    d.uuid = "bad uuid";
    s = hk_dev_stable_ref(&d, HK_REF_FSTAB, &oom);
    assert_string_equal(s, "LABEL=root\\040fs");
    free(s);
    s = hk_dev_stable_ref(&d, HK_REF_CMDLINE, &oom); /* label has a blank */
    assert_string_equal(s, "PARTUUID=cafe-01");
    free(s);
    d.label = "/";
    s = hk_dev_stable_ref(&d, HK_REF_CMDLINE, &oom);
    assert_string_equal(s, "LABEL=/");
    free(s);
    d.label = "bad\nlabel";
    d.partuuid = NULL;
    assert_null(hk_dev_stable_ref(&d, HK_REF_FSTAB, &oom));
    assert_false(oom);
    assert_null(hk_dev_stable_ref(NULL, HK_REF_FSTAB, &oom));
}

static void
test_edits(void **state)
{
    (void)state;
    hk_xedits e = {0};
    hk_xedits_add(&e, 0, 1, strdup("X"));
    hk_xedits_add(&e, 3, 3, strdup("-"));
    hk_xedits_add(&e, 2, 4, strdup("overlap")); /* dropped */
    hk_xedits_add(&e, 5, 6, strdup(""));
    size_t n = 0;
    char *s = hk_xedits_apply("abcdef", 6, &e, &n);
    assert_string_equal(s, "Xbc-de");
    assert_int_equal(n, 6);
    free(s);
    hk_xedits_add(&e, 7, 8, NULL);
    assert_true(e.oom);
    hk_xedits_free(&e);
    assert_int_equal(e.n, 0);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_out_and_notes), cmocka_unit_test(test_unstable),
        cmocka_unit_test(test_disk_names),    cmocka_unit_test(test_lookup),
        cmocka_unit_test(test_stable_ref),    cmocka_unit_test(test_edits),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
