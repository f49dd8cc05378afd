/*
 * Integration tests of the qcow2 prober on images made by qemu-img: v2 and
 * v3, zstd, a three-layer chain, and corrupted copies.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testsupport.h"

static int
setup(void **state)
{
    ts_require_program("qemu-img");
    return ts_setup_tmpdir(state);
}

/* Expects @code naming @field and @err_path; checks @path is unchanged. */
static char *
expect_err(const char *path, int code, const char *field, const char *err_path)
{
    return ts_probe_err(path, NULL, code, field, err_path, TS_ANY_OFFSET);
}

static void
test_versions(void **state)
{
    (void)state;
    char *v2 = ts_tmp_path("v2.qcow2");
    char *v3 = ts_tmp_path("v3.qcow2");
    char *big = ts_tmp_path("big.qcow2");
    char *zstd = ts_tmp_path("zstd.qcow2");
    ts_qemu_img_create("qcow2", "compat=0.10", NULL, NULL, v2, "100M");
    ts_qemu_img_create("qcow2", "compat=1.1,lazy_refcounts=on", NULL, NULL, v3, "1G");
    ts_qemu_img_create("qcow2", "compat=1.1,cluster_size=2M,extended_l2=on", NULL, NULL, big, "3T");
    ts_qemu_img_create("qcow2", "compat=1.1,compression_type=zstd", NULL, NULL, zstd, "64M");

    h2k_disk_info *info = ts_probe_ok(v2, 1);
    assert_int_equal(info->format, H2K_FORMAT_QCOW2);
    assert_string_equal(info->subformat, "v2");
    assert_int_equal(info->virtual_size, ts_qemu_img_info_u64("qcow2", v2, "virtual-size"));
    assert_int_equal(info->layers[0].cluster_size,
                     ts_qemu_img_info_u64("qcow2", v2, "cluster-size"));
    assert_int_equal(info->layers[0].cluster_size, 65536);
    assert_null(info->layers[0].id);
    assert_null(info->layers[0].parent_hint);
    assert_int_equal(info->layers[0].compressed, 0);
    h2k_disk_info_free(info);

    info = ts_probe_ok(v3, 1);
    assert_string_equal(info->subformat, "v3");
    assert_int_equal(info->virtual_size, 1u << 30);
    assert_int_equal(info->virtual_size, ts_qemu_img_info_u64("qcow2", v3, "virtual-size"));
    h2k_disk_info_free(info);

    info = ts_probe_ok(big, 1);
    assert_int_equal(info->virtual_size, UINT64_C(3) << 40);
    assert_int_equal(info->virtual_size, ts_qemu_img_info_u64("qcow2", big, "virtual-size"));
    assert_int_equal(info->layers[0].cluster_size, 2u << 20);
    h2k_disk_info_free(info);

    info = ts_probe_ok(zstd, 1);
    assert_string_equal(info->subformat, "v3");
    assert_int_equal(info->layers[0].compressed, 1);
    assert_int_equal(info->virtual_size, ts_qemu_img_info_u64("qcow2", zstd, "virtual-size"));
    h2k_disk_info_free(info);
    free(v2);
    free(v3);
    free(big);
    free(zstd);
}

static void
test_chain(void **state)
{
    (void)state;
    char *base = ts_tmp_path("base.qcow2");
    char *mid = ts_tmp_path("mid.qcow2");
    char *top = ts_tmp_path("top.qcow2");
    char *raw = ts_tmp_path("base.raw");
    char *over = ts_tmp_path("over.qcow2");
    ts_qemu_img_create("qcow2", "compat=0.10", NULL, NULL, base, "64M");
    ts_qemu_img_create("qcow2", "compat=1.1", "base.qcow2", "qcow2", mid, "64M");
    ts_qemu_img_create("qcow2", "compat=1.1", mid, "qcow2", top, "128M");
    ts_write_file(raw, "", 0);
    const char *trunc[] = {"qemu-img", "resize", "-q", "-f", "raw", raw, "32M", NULL};
    ts_run_ok(trunc);
    ts_qemu_img_create("qcow2", "compat=1.1", "base.raw", "raw", over, "32M");

    h2k_disk_info *info = ts_probe_ok(top, 1);
    assert_int_equal(info->n_layers, 3);
    assert_int_equal(info->virtual_size, 128u << 20);
    assert_int_equal(info->virtual_size, ts_qemu_img_info_u64("qcow2", top, "virtual-size"));
    assert_string_equal(info->layers[0].parent_hint, mid);
    assert_string_equal(info->layers[0].parent_path, mid);
    assert_string_equal(info->layers[1].path, mid);
    assert_string_equal(info->layers[1].parent_hint, "base.qcow2");
    assert_string_equal(info->layers[1].parent_path, base);
    assert_string_equal(info->layers[2].path, base);
    assert_string_equal(info->layers[2].subformat, "v2");
    assert_null(info->layers[2].parent_hint);
    assert_int_equal(info->layers[2].virtual_size, 64u << 20);
    h2k_disk_info_free(info);

    info = ts_probe_ok(over, 1);
    assert_int_equal(info->n_layers, 2);
    assert_int_equal(info->layers[1].format, H2K_FORMAT_RAW);
    assert_string_equal(info->layers[1].path, raw);
    h2k_disk_info_free(info);

    /* backing file pointing nowhere */
    char *moved = ts_tmp_path("moved.qcow2");
    assert_int_equal(rename(base, moved), 0);
    char *m = expect_err(top, H2K_ERR_FORMAT, "backing_file", mid);
    assert_non_null(strstr(m, "base.qcow2"));
    assert_non_null(strstr(m, "does not exist"));
    free(m);
    assert_int_equal(rename(moved, base), 0);
    free(moved);
    free(base);
    free(mid);
    free(top);
    free(raw);
    free(over);
}

static void
test_corrupt(void **state)
{
    (void)state;
    char *img = ts_tmp_path("c.qcow2");
    ts_qemu_img_create("qcow2", "compat=1.1", NULL, NULL, img, "1G");
    size_t len;
    uint8_t *b = (uint8_t *)ts_read_file(img, &len);
    assert_non_null(b);
    char *bad = ts_tmp_path("bad.qcow2");

    /* truncated before the L1 table */
    ts_write_file(bad, b, 3 * 65536);
    free(expect_err(bad, H2K_ERR_FORMAT, "l1_table_offset", bad));
    ts_write_file(bad, b, 64);
    free(expect_err(bad, H2K_ERR_FORMAT, "header", bad));
    /* cluster bits out of range */
    ts_put_be32(b + 20, 30);
    ts_write_file(bad, b, len);
    free(expect_err(bad, H2K_ERR_FORMAT, "cluster_bits", bad));
    ts_put_be32(b + 20, 16);
    /* an unknown incompatible feature */
    b[72 + 6] = 0x01; /* bit 8 */
    ts_write_file(bad, b, len);
    char *m = expect_err(bad, H2K_ERR_UNSUPPORTED, "incompatible_features", bad);
    assert_non_null(strstr(m, "bit 8"));
    free(m);
    b[72 + 6] = 0;
    /* dirty bit: a warning only */
    b[72 + 7] = 0x01;
    ts_write_file(bad, b, len);
    h2k_disk_info *info = ts_probe_ok(bad, 1);
    h2k_disk_info_free(info);
    /* encrypted */
    b[72 + 7] = 0;
    ts_put_be32(b + 32, 1);
    ts_write_file(bad, b, len);
    free(expect_err(bad, H2K_ERR_UNSUPPORTED, "crypt_method", bad));
    free(b);
    free(bad);
    free(img);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_versions),
        cmocka_unit_test(test_chain),
        cmocka_unit_test(test_corrupt),
    };
    return cmocka_run_group_tests(tests, setup, ts_teardown_tmpdir);
}
