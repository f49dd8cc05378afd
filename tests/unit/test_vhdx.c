/* Unit tests of the VHDX prober on crafted images. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testsupport.h"

#include "disk/vhd_util.h"

#define KB 1024u
#define MB (1024u * 1024u)
#define H1 (64u * KB)
#define H2 (128u * KB)
#define R1 (192u * KB)
#define R2 (256u * KB)
#define LOG_OFF (1u * MB)
#define META_OFF (2u * MB)
#define BAT_OFF (3u * MB)
#define DATA_OFF (4u * MB)

#define F_LEAVE 1u
#define F_PARENT 2u

/* "xxxxxxxx-xxxx-..." to bytes as Microsoft stores them (first three fields LE). */
static void
guid(const char *s, uint8_t out[16])
{
    uint8_t b[16];
    size_t k = 0;
    for (size_t i = 0; s[i] && k < 16; i++) {
        if (s[i] == '-')
            continue;
        unsigned v;
        assert_int_equal(sscanf(s + i, "%2x", &v), 1);
        b[k++] = (uint8_t)v;
        i++;
    }
    assert_int_equal(k, 16);
    const uint8_t order[16] = {3, 2, 1, 0, 5, 4, 7, 6, 8, 9, 10, 11, 12, 13, 14, 15};
    for (int i = 0; i < 16; i++)
        out[i] = b[order[i]];
}

#define DATA_WRITE_GUID "6b0e4d1c-7a3f-4e2b-9c8d-112233445566"
#define PARENT_GUID "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0"

/* Recomputes the header and region table CRCs. */
static void
fix_crcs(uint8_t *b)
{
    const uint32_t hs[2] = {H1, H2};
    for (int i = 0; i < 2; i++) {
        ts_put_le32(b + hs[i] + 4, 0);
        ts_put_le32(b + hs[i] + 4, hk_vhdx_crc32c(0, b + hs[i], 4 * KB));
    }
    const uint32_t rs[2] = {R1, R2};
    for (int i = 0; i < 2; i++) {
        ts_put_le32(b + rs[i] + 4, 0);
        ts_put_le32(b + rs[i] + 4, hk_vhdx_crc32c(0, b + rs[i], 64 * KB));
    }
}

static void
meta_entry(uint8_t *t, unsigned i, const char *g, uint32_t off, uint32_t len, uint32_t flags)
{
    uint8_t *e = t + 32 + 32 * i;
    guid(g, e);
    ts_put_le32(e + 16, off);
    ts_put_le32(e + 20, len);
    ts_put_le32(e + 24, flags);
}

/* A VHDX of @vsize bytes, block size @bs, @n_alloc payload blocks present.
 * @kv: parent locator key/value pairs (NULL-terminated) for F_PARENT. */
static uint8_t *
vhdx_build(uint64_t vsize, uint32_t bs, uint32_t flags, unsigned n_alloc, const char *const *kv,
           size_t *len)
{
    *len = DATA_OFF + (size_t)n_alloc * bs;
    uint8_t *b = calloc(1, *len);
    assert_non_null(b);
    memcpy(b, "vhdxfile", 8);
    ts_put_utf16le(b + 8, "h2k test");
    for (int i = 0; i < 2; i++) {
        uint8_t *h = b + (i ? H2 : H1);
        memcpy(h, "head", 4);
        ts_put_le64(h + 8, (uint64_t)(i + 1));
        guid("11111111-2222-3333-4444-555555555555", h + 16);
        guid(DATA_WRITE_GUID, h + 32);
        ts_put_le16(h + 66, 1);
        ts_put_le32(h + 68, MB);
        ts_put_le64(h + 72, LOG_OFF);
    }
    for (int i = 0; i < 2; i++) {
        uint8_t *r = b + (i ? R2 : R1);
        memcpy(r, "regi", 4);
        ts_put_le32(r + 8, 2);
        guid("2DC27766-F623-4200-9D64-115E9BFD4A08", r + 16);
        ts_put_le64(r + 32, BAT_OFF);
        ts_put_le32(r + 40, MB);
        ts_put_le32(r + 44, 1);
        guid("8B7CA206-4790-4B9A-B8FE-575F050F886E", r + 48);
        ts_put_le64(r + 64, META_OFF);
        ts_put_le32(r + 72, MB);
        ts_put_le32(r + 76, 1);
    }
    uint8_t *t = b + META_OFF;
    memcpy(t, "metadata", 8);
    unsigned n = 0;
    uint32_t io = 64 * KB;
    meta_entry(t, n++, "CAA16737-FA36-4D43-B3B6-33F0AA44E76B", io, 8, 4);
    ts_put_le32(t + io, bs);
    ts_put_le32(t + io + 4, (flags & F_LEAVE ? 1u : 0u) | (flags & F_PARENT ? 2u : 0u));
    meta_entry(t, n++, "2FA54224-CD1B-4876-B211-5DBED83BF4B8", io + 8, 8, 6);
    ts_put_le64(t + io + 8, vsize);
    meta_entry(t, n++, "8141BF1D-A96F-4709-BA47-F233A8FAAB5F", io + 16, 4, 6);
    ts_put_le32(t + io + 16, 512);
    meta_entry(t, n++, "CDA348C7-445D-4471-9CC9-E9885251C556", io + 20, 4, 6);
    ts_put_le32(t + io + 20, 4096);
    meta_entry(t, n++, "BECA12AB-B2E6-4523-93EF-C309E000C746", io + 24, 16, 6);
    memset(t + io + 24, 0x5A, 16);
    if (flags & F_PARENT) {
        uint8_t *pl = t + io + 64;
        guid("B04AEFB7-D19E-4A81-B789-25B8E9445913", pl);
        size_t count = 0;
        while (kv && kv[2 * count])
            count++;
        ts_put_le16(pl + 18, (uint16_t)count);
        size_t o = 20 + 12 * count;
        for (size_t i = 0; i < count; i++) {
            uint8_t *e = pl + 20 + 12 * i;
            size_t kl = ts_put_utf16le(pl + o, kv[2 * i]);
            ts_put_le32(e, (uint32_t)o);
            ts_put_le16(e + 8, (uint16_t)kl);
            o += kl;
            size_t vl = ts_put_utf16le(pl + o, kv[2 * i + 1]);
            ts_put_le32(e + 4, (uint32_t)o);
            ts_put_le16(e + 10, (uint16_t)vl);
            o += vl;
        }
        meta_entry(t, n++, "A8D35F2B-B30B-454D-ABF7-D3D84834AB0C", io + 64, (uint32_t)o, 6);
    }
    ts_put_le16(t + 10, (uint16_t)n);
    for (unsigned i = 0; i < n_alloc; i++)
        ts_put_le64(b + BAT_OFF + 8 * i, 6u | ((uint64_t)(DATA_OFF + i * bs) / MB) << 20);
    fix_crcs(b);
    return b;
}

/* Probes @b as a VHDX and checks the error code, field and offset (-2: any offset). */
static void
expect_err(const uint8_t *b, size_t len, int code, const char *field, int64_t offset)
{
    free(ts_probe_bytes_err("bad.vhdx", b, len, H2K_FORMAT_VHDX, code, field, offset));
}

static void
test_dynamic(void **state)
{
    (void)state;
    size_t len;
    uint8_t *b = vhdx_build(8 * MB, MB, 0, 1, NULL, &len);
    char *p = ts_tmp_write("dyn.vhdx", b, len);
    h2k_disk_info *info = ts_probe_ok(p, 1);
    assert_int_equal(info->format, H2K_FORMAT_VHDX);
    assert_string_equal(info->subformat, "dynamic");
    assert_int_equal(info->virtual_size, 8 * MB);
    const h2k_disk_layer *l = &info->layers[0];
    assert_int_equal(l->cluster_size, MB);
    assert_string_equal(l->id, DATA_WRITE_GUID);
    assert_null(l->parent_id);
    assert_null(l->parent_hint);
    assert_int_equal(l->n_extents, 1);
    assert_int_equal(l->extents[0].sectors, 8 * MB / 512);
    h2k_disk_info_free(info);

    /* leave_blocks_allocated: fixed */
    uint8_t *f = vhdx_build(8 * MB, MB, F_LEAVE, 8, NULL, &len);
    char *pf = ts_tmp_write("fixed.vhdx", f, len);
    info = ts_probe_ok(pf, 1);
    assert_string_equal(info->subformat, "fixed");
    h2k_disk_info_free(info);
    free(pf);
    free(f);

    /* zero-sized disk */
    uint8_t *z = vhdx_build(0, 32 * MB, 0, 0, NULL, &len);
    char *pz = ts_tmp_write("zero.vhdx", z, len);
    info = ts_probe_ok(pz, 1);
    assert_int_equal(info->virtual_size, 0);
    assert_int_equal(info->layers[0].cluster_size, 32 * MB);
    h2k_disk_info_free(info);
    free(pz);
    free(z);
    free(p);
    free(b);
}

static void
test_headers(void **state)
{
    (void)state;
    size_t len;
    uint8_t *b = vhdx_build(8 * MB, MB, 0, 0, NULL, &len);

    /* header 2 has the higher sequence number: its data write GUID wins */
    guid("aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee", b + H2 + 32);
    fix_crcs(b);
    char *p = ts_tmp_write("seq.vhdx", b, len);
    h2k_disk_info *info = ts_probe_ok(p, 0);
    assert_string_equal(info->layers[0].id, "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee");
    h2k_disk_info_free(info);

    /* a corrupt header 2 is skipped */
    b[H2 + 200] ^= 1;
    ts_write_file(p, b, len);
    info = ts_probe_ok(p, 0);
    assert_string_equal(info->layers[0].id, DATA_WRITE_GUID);
    h2k_disk_info_free(info);

    /* both corrupt */
    b[H1 + 200] ^= 1;
    expect_err(b, len, H2K_ERR_FORMAT, "checksum", H1 + 4);
    b[H1 + 200] ^= 1;
    b[H2 + 200] ^= 1;

    /* both without signature */
    memcpy(b + H1, "HEAD", 4);
    memcpy(b + H2, "HEAD", 4);
    fix_crcs(b);
    expect_err(b, len, H2K_ERR_FORMAT, "signature", H1);
    memcpy(b + H1, "head", 4);
    memcpy(b + H2, "head", 4);

    /* version 2 */
    ts_put_le16(b + H1 + 66, 2);
    ts_put_le16(b + H2 + 66, 2);
    fix_crcs(b);
    expect_err(b, len, H2K_ERR_UNSUPPORTED, "version", H2 + 66);
    ts_put_le16(b + H1 + 66, 1);
    ts_put_le16(b + H2 + 66, 1);

    /* not a VHDX */
    memcpy(b, "vhdxfilf", 8);
    expect_err(b, len, H2K_ERR_FORMAT, "signature", 0);
    memcpy(b, "vhdxfile", 8);

    /* truncated inside the region tables */
    fix_crcs(b);
    expect_err(b, 200 * KB, H2K_ERR_FORMAT, "region_table", -2);
    free(p);
    free(b);
}

static void
test_log(void **state)
{
    (void)state;
    size_t len;
    uint8_t *b = vhdx_build(8 * MB, MB, 0, 0, NULL, &len);
    /* a log GUID with an empty log: fine */
    guid("99999999-8888-7777-6666-555555555555", b + H1 + 48);
    guid("99999999-8888-7777-6666-555555555555", b + H2 + 48);
    fix_crcs(b);
    char *p = ts_tmp_write("log.vhdx", b, len);
    h2k_disk_info *info = ts_probe_ok(p, 0);
    h2k_disk_info_free(info);
    /* an entry of that log: must be replayed */
    memcpy(b + LOG_OFF + 8 * 4096, "loge", 4);
    guid("99999999-8888-7777-6666-555555555555", b + LOG_OFF + 8 * 4096 + 32);
    expect_err(b, len, H2K_ERR_UNSUPPORTED, "log_guid", H2 + 48);
    char *pb = ts_tmp_write("bad.vhdx", b, len);
    h2k_ctx *ctx = ts_ctx();
    assert_int_equal(h2k_disk_probe(ctx, pb, NULL, &info), H2K_ERR_UNSUPPORTED);
    assert_non_null(strstr(h2k_ctx_last_error(ctx)->message, "unreplayed log"));
    assert_non_null(strstr(h2k_ctx_last_error(ctx)->message, "qemu-img check -r all"));
    h2k_ctx_free(ctx);
    free(pb);
    /* an entry of another log: stale, ignored */
    b[LOG_OFF + 8 * 4096 + 40] ^= 1;
    ts_write_file(p, b, len);
    info = ts_probe_ok(p, 0);
    h2k_disk_info_free(info);
    /* log beyond the end of the file */
    ts_put_le64(b + H1 + 72, 64 * MB);
    ts_put_le64(b + H2 + 72, 64 * MB);
    fix_crcs(b);
    expect_err(b, len, H2K_ERR_FORMAT, "log_offset", H2 + 72);
    free(p);
    free(b);
}

static void
test_regions(void **state)
{
    (void)state;
    size_t len;
    uint8_t *b = vhdx_build(8 * MB, MB, 0, 1, NULL, &len);

    /* region table 1 corrupt: the copy is used */
    b[R1 + 1000] = 1;
    char *p = ts_tmp_write("reg.vhdx", b, len);
    h2k_disk_info *info = ts_probe_ok(p, 0);
    h2k_disk_info_free(info);
    free(p);
    /* both corrupt */
    b[R2 + 1000] = 1;
    expect_err(b, len, H2K_ERR_FORMAT, "checksum", R1);
    b[R1 + 1000] = 0;
    b[R2 + 1000] = 0;

    /* too many entries */
    ts_put_le32(b + R1 + 8, 2048);
    ts_put_le32(b + R2 + 8, 2048);
    fix_crcs(b);
    expect_err(b, len, H2K_ERR_FORMAT, "entry_count", R1);
    ts_put_le32(b + R1 + 8, 2);
    ts_put_le32(b + R2 + 8, 2);

    /* BAT region beyond the end of the file */
    ts_put_le64(b + R1 + 32, 64 * MB);
    ts_put_le64(b + R2 + 32, 64 * MB);
    fix_crcs(b);
    expect_err(b, len, H2K_ERR_FORMAT, "bat_region", R1 + 32);
    /* misaligned */
    ts_put_le64(b + R1 + 32, BAT_OFF + 4096);
    ts_put_le64(b + R2 + 32, BAT_OFF + 4096);
    fix_crcs(b);
    expect_err(b, len, H2K_ERR_FORMAT, "bat_region", R1 + 32);
    /* overlapping the metadata region */
    ts_put_le64(b + R1 + 32, META_OFF);
    ts_put_le64(b + R2 + 32, META_OFF);
    fix_crcs(b);
    expect_err(b, len, H2K_ERR_FORMAT, "region", R1 + 64);
    ts_put_le64(b + R1 + 32, BAT_OFF);
    ts_put_le64(b + R2 + 32, BAT_OFF);

    /* an unknown required region */
    ts_put_le32(b + R1 + 8, 3);
    ts_put_le32(b + R2 + 8, 3);
    guid("01234567-89ab-cdef-0123-456789abcdef", b + R1 + 80);
    guid("01234567-89ab-cdef-0123-456789abcdef", b + R2 + 80);
    ts_put_le32(b + R1 + 80 + 28, 1);
    ts_put_le32(b + R2 + 80 + 28, 1);
    fix_crcs(b);
    expect_err(b, len, H2K_ERR_UNSUPPORTED, "region", R1 + 80);
    /* the same, optional: ignored */
    ts_put_le32(b + R1 + 80 + 28, 0);
    ts_put_le32(b + R2 + 80 + 28, 0);
    fix_crcs(b);
    p = ts_tmp_write("optreg.vhdx", b, len);
    info = ts_probe_ok(p, 0);
    h2k_disk_info_free(info);
    free(p);

    /* no metadata region */
    ts_put_le32(b + R1 + 8, 1);
    ts_put_le32(b + R2 + 8, 1);
    fix_crcs(b);
    expect_err(b, len, H2K_ERR_FORMAT, "region_table", R1);
    free(b);
}

static void
test_metadata(void **state)
{
    (void)state;
    size_t len;
    uint8_t *b = vhdx_build(8 * MB, MB, 0, 1, NULL, &len);
    uint8_t *t = b + META_OFF;
    uint32_t io = 64 * KB;

    memcpy(t, "metadatA", 8);
    expect_err(b, len, H2K_ERR_FORMAT, "signature", META_OFF);
    memcpy(t, "metadata", 8);

    ts_put_le16(t + 10, 2048);
    expect_err(b, len, H2K_ERR_FORMAT, "entry_count", META_OFF + 10);
    ts_put_le16(t + 10, 5);

    ts_put_le32(t + io, 3 * MB); /* block size not a power of two */
    expect_err(b, len, H2K_ERR_FORMAT, "block_size", META_OFF + io);
    ts_put_le32(t + io, 512 * KB); /* too small */
    expect_err(b, len, H2K_ERR_FORMAT, "block_size", META_OFF + io);
    ts_put_le32(t + io, MB);

    ts_put_le64(t + io + 8, 8 * MB + 100); /* not a multiple of the sector size */
    expect_err(b, len, H2K_ERR_FORMAT, "virtual_disk_size", META_OFF + io + 8);
    ts_put_le64(t + io + 8, UINT64_C(1) << 50);
    expect_err(b, len, H2K_ERR_FORMAT, "virtual_disk_size", META_OFF + io + 8);
    ts_put_le64(t + io + 8, 2048 * MB); /* more blocks than the BAT region holds? no: 2048 fit */
    char *p = ts_tmp_write("big.vhdx", b, len);
    h2k_disk_info *info = ts_probe_ok(p, 0);
    assert_int_equal(info->virtual_size, UINT64_C(2048) * MB);
    h2k_disk_info_free(info);
    free(p);
    ts_put_le64(t + io + 8, UINT64_C(1) << 40); /* 1 TiB needs 1 Mi entries: 8 MiB of BAT */
    expect_err(b, len, H2K_ERR_FORMAT, "bat_region", BAT_OFF);
    ts_put_le64(t + io + 8, 8 * MB);

    ts_put_le32(t + io + 16, 1024);
    expect_err(b, len, H2K_ERR_FORMAT, "logical_sector_size", META_OFF + io + 16);
    ts_put_le32(t + io + 16, 512);
    ts_put_le32(t + io + 20, 520);
    expect_err(b, len, H2K_ERR_FORMAT, "physical_sector_size", META_OFF + io + 20);
    ts_put_le32(t + io + 20, 4096);

    /* item outside the region */
    ts_put_le32(t + 32 + 16, MB - 4);
    expect_err(b, len, H2K_ERR_FORMAT, "file_parameters", META_OFF + 32 + 16);
    /* item inside the table */
    ts_put_le32(t + 32 + 16, 100);
    expect_err(b, len, H2K_ERR_FORMAT, "file_parameters", META_OFF + 32 + 16);
    ts_put_le32(t + 32 + 16, io);

    /* missing virtual disk size */
    memset(t + 32 + 32, 0, 32);
    expect_err(b, len, H2K_ERR_FORMAT, "virtual_disk_size", META_OFF);
    meta_entry(t, 1, "2FA54224-CD1B-4876-B211-5DBED83BF4B8", io + 8, 8, 6);

    /* duplicate */
    memcpy(t + 32 + 4 * 32, t + 32, 16);
    expect_err(b, len, H2K_ERR_FORMAT, "file_parameters", META_OFF + 32 + 4 * 32);
    /* unknown required item */
    guid("01234567-89ab-cdef-0123-456789abcdef", t + 32 + 4 * 32);
    expect_err(b, len, H2K_ERR_UNSUPPORTED, "metadata", META_OFF + 32 + 4 * 32);

    /* BAT entries */
    guid("BECA12AB-B2E6-4523-93EF-C309E000C746", t + 32 + 4 * 32);
    ts_put_le64(b + BAT_OFF + 8, 6u | (uint64_t)(len / MB) << 20);
    expect_err(b, len, H2K_ERR_FORMAT, "bat", BAT_OFF + 8);
    ts_put_le64(b + BAT_OFF + 8, 4);
    expect_err(b, len, H2K_ERR_FORMAT, "bat", BAT_OFF + 8);
    ts_put_le64(b + BAT_OFF + 8, 7); /* partially present needs a parent */
    expect_err(b, len, H2K_ERR_FORMAT, "bat", BAT_OFF + 8);
    ts_put_le64(b + BAT_OFF + 8, 2); /* zero */
    p = ts_tmp_write("ok.vhdx", b, len);
    info = ts_probe_ok(p, 0);
    h2k_disk_info_free(info);
    free(p);
    /* truncated data block */
    expect_err(b, len - 4096, H2K_ERR_FORMAT, "bat", BAT_OFF);
    free(b);
}

static void
test_differencing(void **state)
{
    (void)state;
    size_t plen, clen;
    uint8_t *pb = vhdx_build(8 * MB, MB, 0, 0, NULL, &plen);
    guid(PARENT_GUID, pb + H1 + 32);
    guid(PARENT_GUID, pb + H2 + 32);
    fix_crcs(pb);
    char *pp = ts_tmp_write("base.vhdx", pb, plen);
    const char *kv[] = {"parent_linkage",
                        "{0F1E2D3C-4B5A-6978-8796-A5B4C3D2E1F0}",
                        "relative_path",
                        ".\\base.vhdx",
                        "absolute_win32_path",
                        "D:\\VMs\\base.vhdx",
                        NULL};
    uint8_t *cb = vhdx_build(8 * MB, MB, F_PARENT, 1, kv, &clen);
    char *cp = ts_tmp_write("child.vhdx", cb, clen);
    h2k_disk_info *info = ts_probe_ok(cp, 1);
    assert_int_equal(info->n_layers, 2);
    assert_string_equal(info->subformat, "differencing");
    const h2k_disk_layer *c = &info->layers[0];
    assert_string_equal(c->parent_id, PARENT_GUID);
    assert_string_equal(c->parent_hint, "base.vhdx");
    assert_string_equal(c->parent_path, pp);
    assert_string_equal(info->layers[1].id, PARENT_GUID);
    h2k_disk_info_free(info);

    /* linkage does not match the parent */
    const char *kv2[] = {"parent_linkage", "{00000000-4B5A-6978-8796-A5B4C3D2E1F0}",
                         "absolute_win32_path", "D:\\VMs\\base.vhdx", NULL};
    size_t clen2;
    uint8_t *cb2 = vhdx_build(8 * MB, MB, F_PARENT, 0, kv2, &clen2);
    ts_write_file(cp, cb2, clen2);
    h2k_ctx *ctx = ts_ctx();
    ts_assert_rc(ctx, h2k_disk_probe(ctx, cp, NULL, &info), H2K_ERR_FORMAT);
    assert_string_equal(h2k_ctx_last_error(ctx)->field, "parent_linkage");
    assert_string_equal(h2k_ctx_last_error(ctx)->source_path, cp);
    h2k_ctx_free(ctx);
    /* without following: the hint is the absolute path, found by base name */
    info = ts_probe_ok(cp, 0);
    assert_string_equal(info->layers[0].parent_hint, "D:/VMs/base.vhdx");
    assert_string_equal(info->layers[0].parent_path, pp);
    assert_string_equal(info->layers[0].parent_id, "00000000-4b5a-6978-8796-a5b4c3d2e1f0");
    h2k_disk_info_free(info);

    /* broken locators */
    uint8_t *pl = cb + META_OFF + 64 * KB + 64;
    ts_put_le16(pl + 18, 200); /* more entries than bytes */
    expect_err(cb, clen, H2K_ERR_FORMAT, "parent_locator", META_OFF + 64 * KB + 64 + 18);
    ts_put_le16(pl + 18, 3);
    ts_put_le32(pl + 20 + 4, 60000); /* value offset outside the item */
    expect_err(cb, clen, H2K_ERR_FORMAT, "parent_locator", META_OFF + 64 * KB + 64 + 20);
    ts_put_le32(pl + 20 + 4, 0);
    ts_put_le16(pl + 20 + 8, 0); /* empty key */
    expect_err(cb, clen, H2K_ERR_FORMAT, "parent_locator", META_OFF + 64 * KB + 64 + 20);
    free(cb);
    /* no linkage */
    const char *kv3[] = {"relative_path", "base.vhdx", NULL};
    cb = vhdx_build(8 * MB, MB, F_PARENT, 0, kv3, &clen);
    expect_err(cb, clen, H2K_ERR_FORMAT, "parent_linkage", -2);
    free(cb);
    /* linkage that is not a GUID */
    const char *kv4[] = {"parent_linkage", "{hello}", "relative_path", "base.vhdx", NULL};
    cb = vhdx_build(8 * MB, MB, F_PARENT, 0, kv4, &clen);
    expect_err(cb, clen, H2K_ERR_FORMAT, "parent_linkage", -2);
    /* wrong locator type */
    guid("01234567-89ab-cdef-0123-456789abcdef", cb + META_OFF + 64 * KB + 64);
    expect_err(cb, clen, H2K_ERR_UNSUPPORTED, "parent_locator", -2);
    free(cb);
    /* has_parent without a locator */
    cb = vhdx_build(8 * MB, MB, F_PARENT, 0, kv3, &clen);
    ts_put_le16(cb + META_OFF + 10, 5);
    expect_err(cb, clen, H2K_ERR_FORMAT, "parent_locator", META_OFF);
    /* partially present block and sector bitmap beyond the end: bitmap entry
     * of chunk 0 is entry 4096 (chunk ratio 4096 for 1 MiB blocks) */
    ts_put_le16(cb + META_OFF + 10, 6);
    ts_put_le64(cb + BAT_OFF + 8 * 4096, 6u | (uint64_t)64 << 20);
    expect_err(cb, clen, H2K_ERR_FORMAT, "bat", BAT_OFF + 8 * 4096);
    free(cb);
    free(cb2);
    free(pb);
    free(pp);
    free(cp);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_dynamic),  cmocka_unit_test(test_headers),
        cmocka_unit_test(test_log),      cmocka_unit_test(test_regions),
        cmocka_unit_test(test_metadata), cmocka_unit_test(test_differencing),
    };
    return cmocka_run_group_tests(tests, ts_setup_tmpdir, ts_teardown_tmpdir);
}
