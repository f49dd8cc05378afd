/*
 * VMDK descriptors that qemu-img reads as another disk than VMware does,
 * against the real qemu-img.  The probe must agree with the size qemu-img
 * reports, or refuse the descriptor naming the file and line; every variant
 * here is also converted through the library, which must refuse it without
 * writing anything, and the extent file stays unchanged.
 *
 * Blank lines: qemu (7.2) scans each descriptor line with sscanf("%s ..."),
 * which skips newlines: a blank line (empty, spaces, a lone CR) right before
 * an extent line reads that extent, and the extent line reads it again, so
 * qemu opens a disk larger than the descriptor says, holding the same data
 * twice.  Blank lines before comments, keys and the disk database change
 * nothing for either reader.
 *
 * Access words: qemu reads only RW extents; an RDONLY or NOACCESS extent is
 * left out of the disk (the extents after it move up), and a descriptor with
 * no RW extent makes qemu-img abort.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "testsupport.h"

#define EXTENT_SECTORS 2048u /* 1 MiB */

static const char head[] = "# Disk DescriptorFile\nversion=1\nCID=fffffffe\nparentCID=ffffffff\n"
                           "createType=\"monolithicFlat\"\n\n# Extent description\n";
static const char tail[] = "\n# The Disk Data Base\n#DDB\n\nddb.virtualHWVersion = \"4\"\n"
                           "ddb.adapterType = \"ide\"\n";

static char *
write_descriptor(const char *dir, const char *name, const char *before_extent)
{
    char *text = hk_asprintf("%s%sRW %u FLAT \"d-flat.vmdk\" 0\n%s", head, before_extent,
                             EXTENT_SECTORS, tail);
    char *path = ts_join(dir, name);
    ts_write_file(path, text, strlen(text));
    free(text);
    return path;
}

static void
test_blank_lines_before_extent(void **state)
{
    ts_fixture *f = *state;
    ts_require_program("qemu-img");
    char *flat = ts_join(f->dir, "d-flat.vmdk");
    /* 1 MiB of a pattern, so that a doubled extent is visible */
    char *data = malloc(EXTENT_SECTORS * 512u);
    for (size_t i = 0; i < EXTENT_SECTORS * 512u; i++)
        data[i] = (char)(i * 7 + 3);
    ts_write_file(flat, data, EXTENT_SECTORS * 512u);
    free(data);
    char sum_before[65];
    ts_sha256_file(flat, sum_before);

    /* the plain descriptor: both readers see 1 MiB */
    char *plain = write_descriptor(f->dir, "plain.vmdk", "");
    uint64_t q = ts_qemu_img_info_u64("vmdk", plain, "virtual-size");
    assert_int_equal(q, EXTENT_SECTORS * 512u);
    h2k_disk_info *info = ts_probe_ok(plain, 0);
    assert_int_equal(info->layers[0].virtual_size, q);
    h2k_disk_info_free(info);

    static const struct {
        const char *name, *blank;
        unsigned blank_line;
    } cases[] = {
        {"empty.vmdk", "\n", 8},
        {"spaces.vmdk", "  \t\n", 8},
        {"cr.vmdk", "\r\n", 8},
        {"three.vmdk", "\n \n\n", 8},
    };
    for (size_t i = 0; i < HK_ARRAY_LEN(cases); i++) {
        char *desc = write_descriptor(f->dir, cases[i].name, cases[i].blank);
        uint64_t qsize = ts_qemu_img_info_u64("vmdk", desc, "virtual-size");
        print_message("%s: qemu-img reads %llu bytes, the descriptor says %u\n", cases[i].name,
                      (unsigned long long)qsize, EXTENT_SECTORS * 512u);
        h2k_probe_options po = H2K_PROBE_OPTIONS_INIT;
        h2k_disk_info *di = NULL;
        int rc = h2k_disk_probe(f->ctx, desc, &po, &di);
        if (rc == 0) {
            /* accepted: then it must be what qemu opens */
            if (di->layers[0].virtual_size != qsize)
                fail_msg("%s: probe says %llu bytes, qemu-img %llu", cases[i].name,
                         (unsigned long long)di->layers[0].virtual_size, (unsigned long long)qsize);
            h2k_disk_info_free(di);
        } else {
            assert_int_equal(rc, H2K_ERR_FORMAT);
            const h2k_error *e = h2k_ctx_last_error(f->ctx);
            assert_non_null(strstr(e->message, desc));
            char want[64];
            snprintf(want, sizeof(want), "follows blank line %u", cases[i].blank_line);
            if (!strstr(e->message, want))
                fail_msg("%s: \"%s\" does not name blank line %u", cases[i].name, e->message,
                         cases[i].blank_line);
            print_message("  refused: %s\n", e->message);
        }
        /* this qemu does double the extent: the refusal is needed here */
        if (qsize != EXTENT_SECTORS * 512u)
            assert_int_equal(rc, H2K_ERR_FORMAT);

        /* a conversion is refused before anything is written */
        char *dst = ts_join(f->dir, "out.qcow2");
        int before = ts_count_dir(f->dir);
        if (rc != 0) {
            ts_assert_rc(f->ctx, h2k_disk_convert(f->ctx, desc, dst, NULL, NULL), H2K_ERR_FORMAT);
            assert_false(ts_exists(dst));
            assert_int_equal(ts_count_dir(f->dir), before);
        }
        free(dst);
        free(desc);
    }
    char sum_after[65];
    ts_sha256_file(flat, sum_after);
    assert_string_equal(sum_before, sum_after);
    free(plain);
    free(flat);
}

static char *
write_access_descriptor(const char *dir, const char *name, const char *second_access)
{
    char *text = hk_asprintf("%sRW %u FLAT \"d-flat.vmdk\" 0\n%s %u FLAT \"d-flat.vmdk\" 0\n%s",
                             head, EXTENT_SECTORS, second_access, EXTENT_SECTORS, tail);
    char *path = ts_join(dir, name);
    ts_write_file(path, text, strlen(text));
    free(text);
    return path;
}

static void
refused_without_output(ts_fixture *f, const char *desc, const char *want)
{
    h2k_probe_options po = H2K_PROBE_OPTIONS_INIT;
    h2k_disk_info *di = NULL;
    ts_assert_rc(f->ctx, h2k_disk_probe(f->ctx, desc, &po, &di), H2K_ERR_FORMAT);
    const h2k_error *e = h2k_ctx_last_error(f->ctx);
    assert_non_null(strstr(e->message, desc));
    if (!strstr(e->message, want))
        fail_msg("\"%s\" lacks \"%s\"", e->message, want);
    print_message("  refused: %s\n", e->message);
    char *dst = ts_join(f->dir, "out.qcow2");
    int before = ts_count_dir(f->dir);
    ts_assert_rc(f->ctx, h2k_disk_convert(f->ctx, desc, dst, NULL, NULL), H2K_ERR_FORMAT);
    assert_false(ts_exists(dst));
    assert_int_equal(ts_count_dir(f->dir), before);
    free(dst);
}

static void
test_extents_not_rw(void **state)
{
    ts_fixture *f = *state;
    ts_require_program("qemu-img");
    char *flat = ts_join(f->dir, "d-flat.vmdk");
    ts_make_random_raw(flat, "1M");
    char sum_before[65];
    ts_sha256_file(flat, sum_before);

    /* two RW extents: both readers see 2 MiB */
    char *both = write_access_descriptor(f->dir, "rw-rw.vmdk", "RW");
    assert_int_equal(ts_qemu_img_info_u64("vmdk", both, "virtual-size"), 2 * EXTENT_SECTORS * 512u);
    h2k_disk_info *info = ts_probe_ok(both, 0);
    assert_int_equal(info->layers[0].virtual_size, 2 * EXTENT_SECTORS * 512u);
    h2k_disk_info_free(info);

    /* RW then RDONLY / NOACCESS: qemu-img leaves the second extent out */
    static const char *const access[] = {"RDONLY", "NOACCESS"};
    for (size_t i = 0; i < HK_ARRAY_LEN(access); i++) {
        char *name = hk_asprintf("rw-%s.vmdk", access[i]);
        char *desc = write_access_descriptor(f->dir, name, access[i]);
        uint64_t qsize = ts_qemu_img_info_u64("vmdk", desc, "virtual-size");
        print_message("%s: qemu-img reads %llu bytes, the descriptor says %u\n", name,
                      (unsigned long long)qsize, 2 * EXTENT_SECTORS * 512u);
        assert_int_equal(qsize, EXTENT_SECTORS * 512u);
        char *want = hk_asprintf("line 9: %s extent", access[i]);
        refused_without_output(f, desc, want);
        free(want);
        free(desc);
        free(name);
    }

    /* no RW extent at all: qemu-img aborts on it */
    char *text = hk_asprintf("%sRDONLY %u FLAT \"d-flat.vmdk\" 0\n%s", head, EXTENT_SECTORS, tail);
    char *ro = ts_join(f->dir, "rdonly.vmdk");
    ts_write_file(ro, text, strlen(text));
    free(text);
    char *out = NULL;
    int st = ts_run((const char *const[]){"qemu-img", "info", "-f", "vmdk", ro, NULL}, &out);
    print_message("rdonly.vmdk: qemu-img info exits %d: %s\n", st, out);
    assert_int_not_equal(st, 0);
    free(out);
    refused_without_output(f, ro, "line 8: RDONLY extent");

    char sum_after[65];
    ts_sha256_file(flat, sum_after);
    assert_string_equal(sum_before, sum_after);
    free(ro);
    free(both);
    free(flat);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_blank_lines_before_extent, ts_fixture_setup,
                                        ts_fixture_teardown),
        cmocka_unit_test_setup_teardown(test_extents_not_rw, ts_fixture_setup, ts_fixture_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
