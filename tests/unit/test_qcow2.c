/* Unit tests of the qcow2 prober on crafted images. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testsupport.h"

#define CB 12u
#define CS (1u << CB)
#define BACKING_AT 2048u

typedef struct q_opts {
    int version; /* 2 or 3 */
    uint64_t size;
    const char *backing;     /* or NULL */
    const char *backing_fmt; /* header extension, or NULL */
    uint64_t incompat;
    int ctype;          /* compression type byte (v3, header length 112) */
    const uint8_t *ext; /* extra raw extension bytes, or NULL */
    size_t ext_len;
} q_opts;

/* A 4-cluster qcow2: header, refcount table, refcount block, L1 table. */
static uint8_t *
qcow2_build(const q_opts *o, size_t *len)
{
    *len = 4 * CS;
    uint8_t *b = calloc(1, *len);
    assert_non_null(b);
    memcpy(b, "QFI\xfb", 4);
    ts_put_be32(b + 4, (uint32_t)o->version);
    ts_put_be32(b + 20, CB);
    ts_put_be64(b + 24, o->size);
    uint64_t per_l1 = (uint64_t)CS * (CS / ((o->incompat & 16u) ? 16u : 8u));
    ts_put_be32(b + 36, (uint32_t)((o->size + per_l1 - 1) / per_l1));
    ts_put_be64(b + 40, 3 * CS);
    ts_put_be64(b + 48, CS);
    ts_put_be32(b + 56, 1);
    uint32_t hlen = 72;
    if (o->version == 3) {
        hlen = 112;
        ts_put_be64(b + 72, o->incompat);
        ts_put_be32(b + 96, 4);
        ts_put_be32(b + 100, hlen);
        b[104] = (uint8_t)o->ctype;
    }
    uint32_t off = hlen;
    if (o->backing_fmt) {
        uint32_t l = (uint32_t)strlen(o->backing_fmt);
        ts_put_be32(b + off, 0xE2792ACAu);
        ts_put_be32(b + off + 4, l);
        memcpy(b + off + 8, o->backing_fmt, l);
        off += 8 + ((l + 7) & ~7u);
    }
    if (o->ext) {
        memcpy(b + off, o->ext, o->ext_len);
        off += (uint32_t)o->ext_len;
    }
    if (o->backing) {
        ts_put_be64(b + 8, BACKING_AT);
        ts_put_be32(b + 16, (uint32_t)strlen(o->backing));
        memcpy(b + BACKING_AT, o->backing, strlen(o->backing));
    }
    /* refcount table -> block at cluster 2; refcount 1 for clusters 0..3 */
    ts_put_be64(b + CS, 2 * CS);
    for (int i = 0; i < 4; i++)
        b[2 * CS + 2 * i + 1] = 1;
    return b;
}

/* Probes @b as qcow2, checks the error code, field and offset (-2: any offset) and
 * returns the error message (caller frees) for checks on its text. */
static char *
expect_err(const uint8_t *b, size_t len, int code, const char *field, int64_t offset)
{
    return ts_probe_bytes_err("bad.qcow2", b, len, H2K_FORMAT_QCOW2, code, field, offset);
}

#define EXPECT(b, len, code, field, off) free(expect_err((b), (len), (code), (field), (off)))

static void
test_valid(void **state)
{
    (void)state;
    size_t len;
    q_opts o = {.version = 2, .size = 1u << 20};
    uint8_t *b = qcow2_build(&o, &len);
    char *p = ts_tmp_write("v2.qcow2", b, len);
    h2k_disk_info *info = ts_probe_ok(p, 1);
    assert_int_equal(info->format, H2K_FORMAT_QCOW2);
    assert_string_equal(info->subformat, "v2");
    assert_int_equal(info->virtual_size, 1u << 20);
    const h2k_disk_layer *l = &info->layers[0];
    assert_int_equal(l->cluster_size, CS);
    assert_null(l->id);
    assert_null(l->parent_id);
    assert_null(l->parent_hint);
    assert_int_equal(l->compressed, 0);
    assert_int_equal(l->n_extents, 1);
    assert_int_equal(l->extents[0].sectors, 2048);
    h2k_disk_info_free(info);
    free(p);
    free(b);

    /* v3 with zstd, dirty and extended L2 */
    q_opts o3 = {.version = 3, .size = 3u << 20, .incompat = 1u | 8u | 16u, .ctype = 1};
    b = qcow2_build(&o3, &len);
    p = ts_tmp_write("v3.qcow2", b, len);
    info = ts_probe_ok(p, 1);
    assert_string_equal(info->subformat, "v3");
    assert_int_equal(info->virtual_size, 3u << 20);
    assert_int_equal(info->layers[0].compressed, 1);
    h2k_disk_info_free(info);
    free(p);
    free(b);

    /* zero-sized image: no L1 table */
    q_opts oz = {.version = 3, .size = 0};
    b = qcow2_build(&oz, &len);
    p = ts_tmp_write("zero.qcow2", b, len);
    info = ts_probe_ok(p, 1);
    assert_int_equal(info->virtual_size, 0);
    h2k_disk_info_free(info);
    free(p);
    free(b);
}

static void
test_chain(void **state)
{
    (void)state;
    size_t len;
    q_opts ob = {.version = 2, .size = 1u << 20};
    uint8_t *b = qcow2_build(&ob, &len);
    char *base = ts_tmp_write("base.qcow2", b, len);
    free(b);
    q_opts om = {.version = 3, .size = 1u << 20, .backing = "base.qcow2", .backing_fmt = "qcow2"};
    b = qcow2_build(&om, &len);
    char *mid = ts_tmp_write("mid.qcow2", b, len);
    free(b);
    q_opts ot = {.version = 3, .size = 2u << 20, .backing = mid, .backing_fmt = "qcow2"};
    b = qcow2_build(&ot, &len);
    char *top = ts_tmp_write("top.qcow2", b, len);

    h2k_disk_info *info = ts_probe_ok(top, 1);
    assert_int_equal(info->n_layers, 3);
    assert_int_equal(info->virtual_size, 2u << 20);
    assert_string_equal(info->layers[0].parent_hint, mid);
    assert_string_equal(info->layers[0].parent_path, mid);
    assert_string_equal(info->layers[1].parent_hint, "base.qcow2");
    assert_string_equal(info->layers[1].parent_path, base);
    assert_null(info->layers[2].parent_hint);
    assert_string_equal(info->layers[2].subformat, "v2");
    h2k_disk_info_free(info);

    /* backing file pointing nowhere */
    remove(base);
    h2k_ctx *ctx = ts_ctx();
    ts_assert_rc(ctx, h2k_disk_probe(ctx, top, NULL, &info), H2K_ERR_FORMAT);
    const h2k_error *e = h2k_ctx_last_error(ctx);
    assert_string_equal(e->source_path, mid);
    assert_string_equal(e->field, "backing_file");
    assert_non_null(strstr(e->message, "base.qcow2"));
    h2k_ctx_free(ctx);

    /* a backing file outside the image's folder is refused (it exists) */
    q_opts oe = {.version = 3, .size = 1u << 20, .backing = "/etc/hostname", .backing_fmt = "raw"};
    free(b);
    b = qcow2_build(&oe, &len);
    char *esc = ts_tmp_write("escape.qcow2", b, len);
    ctx = ts_ctx();
    ts_assert_rc(ctx, h2k_disk_probe(ctx, esc, NULL, &info), H2K_ERR_VALIDATION);
    e = h2k_ctx_last_error(ctx);
    assert_string_equal(e->field, "backing_file");
    assert_non_null(strstr(e->message, "\"/etc/hostname\""));
    assert_non_null(strstr(e->message, esc));
    assert_non_null(strstr(e->message, "--allow-path"));
    h2k_ctx_free(ctx);
    free(esc);

    /* protocol backing files are refused */
    q_opts on = {.version = 3, .size = 1u << 20, .backing = "nbd://host/export"};
    free(b);
    b = qcow2_build(&on, &len);
    EXPECT(b, len, H2K_ERR_UNSUPPORTED, "backing_file", BACKING_AT);
    free(b);
    /* "file:" would be opened by qemu as the host's file, not the one checked */
    q_opts of = {.version = 3, .size = 1u << 20, .backing = "file:/etc/hostname"};
    b = qcow2_build(&of, &len);
    char *msg = expect_err(b, len, H2K_ERR_UNSUPPORTED, "backing_file", BACKING_AT);
    assert_non_null(strstr(msg, "\"file:/etc/hostname\""));
    free(msg);
    free(b);
    q_opts oj = {.version = 3, .size = 1u << 20, .backing = "json:{}"};
    b = qcow2_build(&oj, &len);
    EXPECT(b, len, H2K_ERR_UNSUPPORTED, "backing_file", BACKING_AT);
    /* NUL inside the name */
    b[BACKING_AT + 2] = 0;
    EXPECT(b, len, H2K_ERR_FORMAT, "backing_file", BACKING_AT);
    /* name too long / outside the cluster */
    ts_put_be32(b + 16, 1024);
    EXPECT(b, len, H2K_ERR_FORMAT, "backing_file", 8);
    ts_put_be32(b + 16, 10);
    ts_put_be64(b + 8, CS - 5);
    EXPECT(b, len, H2K_ERR_FORMAT, "backing_file", 8);
    ts_put_be64(b + 8, 50); /* inside the header */
    EXPECT(b, len, H2K_ERR_FORMAT, "backing_file", 8);
    free(b);
    free(base);
    free(mid);
    free(top);
}

static void
test_header_broken(void **state)
{
    (void)state;
    size_t len;
    q_opts o = {.version = 3, .size = 1u << 20};
    uint8_t *b = qcow2_build(&o, &len);

    b[3] = 0xfc;
    EXPECT(b, len, H2K_ERR_FORMAT, "magic", 0);
    b[3] = 0xfb;
    ts_put_be32(b + 4, 1);
    EXPECT(b, len, H2K_ERR_UNSUPPORTED, "version", 4);
    ts_put_be32(b + 4, 4);
    EXPECT(b, len, H2K_ERR_UNSUPPORTED, "version", 4);
    ts_put_be32(b + 4, 3);
    ts_put_be32(b + 20, 8);
    EXPECT(b, len, H2K_ERR_FORMAT, "cluster_bits", 20);
    ts_put_be32(b + 20, 22);
    EXPECT(b, len, H2K_ERR_FORMAT, "cluster_bits", 20);
    ts_put_be32(b + 20, CB);
    ts_put_be64(b + 24, (UINT64_C(64) << 40) + 512);
    EXPECT(b, len, H2K_ERR_FORMAT, "size", 24);
    ts_put_be64(b + 24, 1u << 20);
    ts_put_be32(b + 32, 2);
    char *m = expect_err(b, len, H2K_ERR_UNSUPPORTED, "crypt_method", 32);
    assert_non_null(strstr(m, "encrypted"));
    assert_non_null(strstr(m, "LUKS"));
    free(m);
    ts_put_be32(b + 32, 0);

    ts_put_be32(b + 100, 100);
    EXPECT(b, len, H2K_ERR_FORMAT, "header_length", 100);
    ts_put_be32(b + 100, 108);
    EXPECT(b, len, H2K_ERR_FORMAT, "header_length", 100);
    ts_put_be32(b + 100, CS + 8);
    EXPECT(b, len, H2K_ERR_FORMAT, "header_length", 100);
    ts_put_be32(b + 100, 112);
    ts_put_be32(b + 96, 7);
    EXPECT(b, len, H2K_ERR_FORMAT, "refcount_order", 96);
    ts_put_be32(b + 96, 4);

    /* L1 table */
    ts_put_be32(b + 36, 0); /* needs 1 entry */
    EXPECT(b, len, H2K_ERR_FORMAT, "l1_size", 36);
    ts_put_be32(b + 36, 1);
    ts_put_be64(b + 40, 8 * CS);
    EXPECT(b, len, H2K_ERR_FORMAT, "l1_table_offset", 40);
    ts_put_be64(b + 40, 3 * CS + 8);
    EXPECT(b, len, H2K_ERR_FORMAT, "l1_table_offset", 40);
    ts_put_be64(b + 40, 3 * CS);
    ts_put_be64(b + 48, 0);
    EXPECT(b, len, H2K_ERR_FORMAT, "refcount_table_offset", 48);
    ts_put_be64(b + 48, CS);
    ts_put_be32(b + 56, 4);
    EXPECT(b, len, H2K_ERR_FORMAT, "refcount_table_offset", 48);
    ts_put_be32(b + 56, 1);
    ts_put_be32(b + 60, 1);
    ts_put_be64(b + 64, 9 * CS);
    EXPECT(b, len, H2K_ERR_FORMAT, "snapshots_offset", 60);
    ts_put_be32(b + 60, 0);

    /* truncated */
    EXPECT(b, 40, H2K_ERR_FORMAT, "header", -2);
    EXPECT(b, 100, H2K_ERR_FORMAT, "header_length", 72);
    EXPECT(b, 3 * CS, H2K_ERR_FORMAT, "l1_table_offset", 40);
    free(b);
}

static void
test_features(void **state)
{
    (void)state;
    size_t len;
    /* feature name table naming incompatible bit 7 */
    uint8_t ext[8 + 96] = {0};
    ts_put_be32(ext, 0x6803F857u);
    ts_put_be32(ext + 4, 96);
    ext[8] = 0;
    ext[9] = 0;
    memcpy(ext + 10, "dirty bit", 9);
    ext[8 + 48] = 0;
    ext[8 + 49] = 7;
    memcpy(ext + 8 + 50, "future thing", 12);
    q_opts o = {
        .version = 3, .size = 1u << 20, .incompat = 1u << 7, .ext = ext, .ext_len = sizeof(ext)};
    uint8_t *b = qcow2_build(&o, &len);
    char *m = expect_err(b, len, H2K_ERR_UNSUPPORTED, "incompatible_features", 72);
    assert_non_null(strstr(m, "bit 7"));
    assert_non_null(strstr(m, "future thing"));
    free(m);
    free(b);
    /* unnamed bit */
    q_opts o2 = {.version = 3, .size = 1u << 20, .incompat = UINT64_C(1) << 40};
    b = qcow2_build(&o2, &len);
    m = expect_err(b, len, H2K_ERR_UNSUPPORTED, "incompatible_features", 72);
    assert_non_null(strstr(m, "bit 40"));
    free(m);
    free(b);
    /* external data file bit */
    q_opts o3 = {.version = 3, .size = 1u << 20, .incompat = 4};
    b = qcow2_build(&o3, &len);
    EXPECT(b, len, H2K_ERR_UNSUPPORTED, "external_data_file", 72);
    free(b);
    /* external data file extension */
    uint8_t ext2[16] = {0};
    ts_put_be32(ext2, 0x44415441u);
    ts_put_be32(ext2 + 4, 5);
    memcpy(ext2 + 8, "x.raw", 5);
    q_opts o4 = {.version = 3, .size = 1u << 20, .ext = ext2, .ext_len = sizeof(ext2)};
    b = qcow2_build(&o4, &len);
    EXPECT(b, len, H2K_ERR_UNSUPPORTED, "external_data_file", 112);
    /* an extension running past the end of the header area */
    ts_put_be32(ext2, 0x12345678u);
    ts_put_be32(ext2 + 4, 5000);
    free(b);
    b = qcow2_build(&o4, &len);
    EXPECT(b, len, H2K_ERR_FORMAT, "header_extension", 116);
    /* unknown extension: skipped */
    ts_put_be32(b + 116, 5);
    char *p = ts_tmp_write("ext.qcow2", b, len);
    h2k_disk_info *info = ts_probe_ok(p, 0);
    h2k_disk_info_free(info);
    free(p);
    free(b);
    /* compression type and bit disagree, unknown type */
    q_opts o5 = {.version = 3, .size = 1u << 20, .ctype = 1};
    b = qcow2_build(&o5, &len);
    EXPECT(b, len, H2K_ERR_FORMAT, "compression_type", 104);
    ts_put_be64(b + 72, 8);
    b[104] = 0;
    EXPECT(b, len, H2K_ERR_FORMAT, "compression_type", 104);
    b[104] = 2;
    EXPECT(b, len, H2K_ERR_UNSUPPORTED, "compression_type", 104);
    free(b);
    /* backing formats */
    q_opts o6 = {.version = 3, .size = 1u << 20, .backing = "b.img", .backing_fmt = "raw"};
    b = qcow2_build(&o6, &len);
    p = ts_tmp_write("fmt.qcow2", b, len);
    info = ts_probe_ok(p, 0);
    assert_string_equal(info->layers[0].parent_hint, "b.img");
    h2k_disk_info_free(info);
    free(p);
    free(b);
    q_opts o7 = {.version = 3, .size = 1u << 20, .backing = "b.img", .backing_fmt = "foo"};
    b = qcow2_build(&o7, &len);
    m = expect_err(b, len, H2K_ERR_FORMAT, "backing_format", 120);
    assert_non_null(strstr(m, "\"foo\""));
    free(m);
    b[120] = 0x01;
    m = expect_err(b, len, H2K_ERR_FORMAT, "backing_format", 120);
    assert_non_null(strstr(m, "\"?oo\""));
    free(m);
    free(b);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_valid),
        cmocka_unit_test(test_chain),
        cmocka_unit_test(test_header_broken),
        cmocka_unit_test(test_features),
    };
    return cmocka_run_group_tests(tests, ts_setup_tmpdir, ts_teardown_tmpdir);
}
