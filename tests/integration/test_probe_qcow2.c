/*
 * Integration tests of the qcow2 prober on images made by qemu-img: v2 and
 * v3, zstd, a three-layer chain, and corrupted copies.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "testsupport.h"

static char *tmpdir;

static int
setup(void **state)
{
    (void)state;
    ts_require_program("qemu-img");
    tmpdir = ts_mkdtemp();
    return 0;
}

static int
teardown(void **state)
{
    (void)state;
    ts_rmtree(tmpdir);
    free(tmpdir);
    tmpdir = NULL;
    return 0;
}

static char *
tpath(const char *name)
{
    return ts_join(tmpdir, name);
}

/* Number @key from `qemu-img info --output=json -f qcow2 PATH`. */
static uint64_t
qemu_info(const char *path, const char *key)
{
    const char *argv[] = {"qemu-img", "info", "--output=json", "-f", "qcow2", path, NULL};
    char *out = NULL;
    int st = ts_run(argv, &out);
    if (st != 0)
        fail_msg("qemu-img info %s failed: %s", path, out);
    json_object *j = json_tokener_parse(out);
    assert_non_null(j);
    json_object *v = NULL;
    if (!json_object_object_get_ex(j, key, &v))
        fail_msg("qemu-img info %s: no %s in %s", path, key, out);
    uint64_t r = (uint64_t)json_object_get_int64(v);
    json_object_put(j);
    free(out);
    return r;
}

static void
create(const char *opts, const char *backing, const char *backing_fmt, const char *path,
       const char *size)
{
    if (backing) {
        const char *argv[] = {"qemu-img", "create", "-q", "-f",        "qcow2", "-o", opts,
                              "-b",       backing,  "-F", backing_fmt, path,    size, NULL};
        ts_run_ok(argv);
    } else {
        const char *argv[] = {"qemu-img", "create", "-q", "-f", "qcow2",
                              "-o",       opts,     path, size, NULL};
        ts_run_ok(argv);
    }
}

static h2k_disk_info *
probe_ok(const char *path)
{
    h2k_ctx *ctx = ts_ctx();
    h2k_disk_info *info = NULL;
    ts_assert_rc(ctx, h2k_disk_probe(ctx, path, NULL, &info), 0);
    h2k_ctx_free(ctx);
    return info;
}

/* Expects @code naming @field and @err_path; checks @path is unchanged. */
static char *
expect_err(const char *path, int code, const char *field, const char *err_path)
{
    char before[65], after[65];
    ts_sha256_file(path, before);
    h2k_ctx *ctx = ts_ctx();
    h2k_disk_info *info = NULL;
    ts_assert_rc(ctx, h2k_disk_probe(ctx, path, NULL, &info), code);
    assert_null(info);
    const h2k_error *e = h2k_ctx_last_error(ctx);
    assert_non_null(e->field);
    assert_string_equal(e->field, field);
    assert_string_equal(e->source_path, err_path);
    assert_non_null(strstr(e->message, err_path));
    char *msg = strdup(e->message);
    h2k_ctx_free(ctx);
    ts_sha256_file(path, after);
    assert_string_equal(before, after);
    return msg;
}

static void
test_versions(void **state)
{
    (void)state;
    char *v2 = tpath("v2.qcow2");
    char *v3 = tpath("v3.qcow2");
    char *big = tpath("big.qcow2");
    char *zstd = tpath("zstd.qcow2");
    create("compat=0.10", NULL, NULL, v2, "100M");
    create("compat=1.1,lazy_refcounts=on", NULL, NULL, v3, "1G");
    create("compat=1.1,cluster_size=2M,extended_l2=on", NULL, NULL, big, "3T");
    create("compat=1.1,compression_type=zstd", NULL, NULL, zstd, "64M");

    h2k_disk_info *info = probe_ok(v2);
    assert_int_equal(info->format, H2K_FORMAT_QCOW2);
    assert_string_equal(info->subformat, "v2");
    assert_int_equal(info->virtual_size, qemu_info(v2, "virtual-size"));
    assert_int_equal(info->layers[0].cluster_size, qemu_info(v2, "cluster-size"));
    assert_int_equal(info->layers[0].cluster_size, 65536);
    assert_null(info->layers[0].id);
    assert_null(info->layers[0].parent_hint);
    assert_int_equal(info->layers[0].compressed, 0);
    h2k_disk_info_free(info);

    info = probe_ok(v3);
    assert_string_equal(info->subformat, "v3");
    assert_int_equal(info->virtual_size, 1u << 30);
    assert_int_equal(info->virtual_size, qemu_info(v3, "virtual-size"));
    h2k_disk_info_free(info);

    info = probe_ok(big);
    assert_int_equal(info->virtual_size, UINT64_C(3) << 40);
    assert_int_equal(info->virtual_size, qemu_info(big, "virtual-size"));
    assert_int_equal(info->layers[0].cluster_size, 2u << 20);
    h2k_disk_info_free(info);

    info = probe_ok(zstd);
    assert_string_equal(info->subformat, "v3");
    assert_int_equal(info->layers[0].compressed, 1);
    assert_int_equal(info->virtual_size, qemu_info(zstd, "virtual-size"));
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
    char *base = tpath("base.qcow2");
    char *mid = tpath("mid.qcow2");
    char *top = tpath("top.qcow2");
    char *raw = tpath("base.raw");
    char *over = tpath("over.qcow2");
    create("compat=0.10", NULL, NULL, base, "64M");
    create("compat=1.1", "base.qcow2", "qcow2", mid, "64M");
    create("compat=1.1", mid, "qcow2", top, "128M");
    ts_write_file(raw, "", 0);
    const char *trunc[] = {"qemu-img", "resize", "-q", "-f", "raw", raw, "32M", NULL};
    ts_run_ok(trunc);
    create("compat=1.1", "base.raw", "raw", over, "32M");

    h2k_disk_info *info = probe_ok(top);
    assert_int_equal(info->n_layers, 3);
    assert_int_equal(info->virtual_size, 128u << 20);
    assert_int_equal(info->virtual_size, qemu_info(top, "virtual-size"));
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

    info = probe_ok(over);
    assert_int_equal(info->n_layers, 2);
    assert_int_equal(info->layers[1].format, H2K_FORMAT_RAW);
    assert_string_equal(info->layers[1].path, raw);
    h2k_disk_info_free(info);

    /* backing file pointing nowhere */
    char *moved = tpath("moved.qcow2");
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
put_be32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

static void
test_corrupt(void **state)
{
    (void)state;
    char *img = tpath("c.qcow2");
    create("compat=1.1", NULL, NULL, img, "1G");
    size_t len;
    uint8_t *b = (uint8_t *)ts_read_file(img, &len);
    assert_non_null(b);
    char *bad = tpath("bad.qcow2");

    /* truncated before the L1 table */
    ts_write_file(bad, b, 3 * 65536);
    free(expect_err(bad, H2K_ERR_FORMAT, "l1_table_offset", bad));
    ts_write_file(bad, b, 64);
    free(expect_err(bad, H2K_ERR_FORMAT, "header", bad));
    /* cluster bits out of range */
    put_be32(b + 20, 30);
    ts_write_file(bad, b, len);
    free(expect_err(bad, H2K_ERR_FORMAT, "cluster_bits", bad));
    put_be32(b + 20, 16);
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
    h2k_disk_info *info = probe_ok(bad);
    h2k_disk_info_free(info);
    /* encrypted */
    b[72 + 7] = 0;
    put_be32(b + 32, 1);
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
    return cmocka_run_group_tests(tests, setup, teardown);
}
