/* Unit tests of the VHD prober and the shared helpers (vhd_util), on crafted images. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testsupport.h"

#include "disk/vhd_util.h"

#define FOOTER 512u
#define DYN_OFF 512u
#define BAT_OFF 1536u

/* ------------------------------------------------------------ builders */

static const uint8_t UID_CHILD[16] = {0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77,
                                      0x88, 0x99, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff};
static const uint8_t UID_PARENT[16] = {0xde, 0xad, 0xbe, 0xef, 0x01, 0x02, 0x03, 0x04,
                                       0x05, 0x06, 0x07, 0x08, 0x09, 0x0a, 0x0b, 0x0c};

static void
fix_footer(uint8_t *f)
{
    ts_put_be32(f + 64, hk_vhd_checksum(f, FOOTER, 64));
}

static void
make_footer(uint8_t *f, uint32_t type, uint64_t size, uint64_t data_offset, const uint8_t *uid)
{
    memset(f, 0, FOOTER);
    memcpy(f, "conectix", 8);
    ts_put_be32(f + 8, 2);
    ts_put_be32(f + 12, 0x00010000);
    ts_put_be64(f + 16, data_offset);
    memcpy(f + 28, "test", 4);
    ts_put_be32(f + 32, 0x00010000);
    memcpy(f + 36, "Wi2k", 4);
    ts_put_be64(f + 40, size);
    ts_put_be64(f + 48, size);
    ts_put_be32(f + 56, (uint32_t)((size / 512 / 16 / 63) << 16 | 16 << 8 | 63));
    ts_put_be32(f + 60, type);
    memcpy(f + 68, uid, 16);
    fix_footer(f);
}

static uint8_t *
vhd_fixed(uint64_t size, size_t *len)
{
    *len = size + FOOTER;
    uint8_t *b = calloc(1, *len);
    assert_non_null(b);
    make_footer(b + size, 2, size, UINT64_MAX, UID_CHILD);
    return b;
}

typedef struct loc_spec {
    uint32_t code;
    const char *text; /* UTF-8; encoded as UTF-16LE for W2ru/W2ku */
} loc_spec;

#define W2RU 0x57327275u
#define W2KU 0x57326B75u
#define MACX 0x4D616358u

static void
fix_dyn(uint8_t *b)
{
    ts_put_be32(b + DYN_OFF + 36, hk_vhd_checksum(b + DYN_OFF, 1024, 36));
}

/* Refreshes the dynamic header checksum, the footer checksum and its copy. */
static void
fix_all(uint8_t *b, size_t len)
{
    fix_dyn(b);
    fix_footer(b + len - FOOTER);
    memcpy(b, b + len - FOOTER, FOOTER);
}

/* A dynamic (type 3) or differencing (type 4) VHD with @n_alloc blocks allocated. */
static uint8_t *
vhd_dynamic(int type, uint64_t size, uint32_t bs, unsigned n_alloc, const uint8_t *uid,
            const uint8_t *puid, const char *pname, const loc_spec *locs, size_t nlocs, size_t *len)
{
    uint32_t entries = (uint32_t)((size + bs - 1) / bs);
    size_t bat_len = ((size_t)entries * 4 + 511) & ~(size_t)511;
    size_t loc_off = BAT_OFF + bat_len;
    size_t loc_len = 0;
    for (size_t i = 0; i < nlocs; i++)
        loc_len += ((strlen(locs[i].text) * 2) + 511) & ~(size_t)511;
    size_t blk_off = loc_off + loc_len;
    size_t blk_len = 512 + bs;
    *len = blk_off + n_alloc * blk_len + FOOTER;
    uint8_t *b = calloc(1, *len);
    assert_non_null(b);
    uint8_t *dh = b + DYN_OFF;
    memcpy(dh, "cxsparse", 8);
    ts_put_be64(dh + 8, UINT64_MAX);
    ts_put_be64(dh + 16, BAT_OFF);
    ts_put_be32(dh + 24, 0x00010000);
    ts_put_be32(dh + 28, entries);
    ts_put_be32(dh + 32, bs);
    memset(b + BAT_OFF, 0xFF, (size_t)entries * 4);
    for (unsigned i = 0; i < n_alloc; i++)
        ts_put_be32(b + BAT_OFF + 4 * i, (uint32_t)((blk_off + i * blk_len) / 512));
    if (type == 4) {
        memcpy(dh + 40, puid, 16);
        for (size_t i = 0; pname && pname[i] && i < 256; i++) {
            dh[64 + 2 * i] = 0;
            dh[64 + 2 * i + 1] = (uint8_t)pname[i];
        }
        size_t o = loc_off;
        for (size_t i = 0; i < nlocs; i++) {
            uint8_t *e = dh + 576 + 24 * i;
            size_t tl = strlen(locs[i].text);
            size_t dl;
            if (locs[i].code == MACX) {
                memcpy(b + o, locs[i].text, tl);
                dl = tl;
            } else {
                for (size_t k = 0; k < tl; k++)
                    b[o + 2 * k] = (uint8_t)locs[i].text[k];
                dl = tl * 2;
            }
            ts_put_be32(e, locs[i].code);
            ts_put_be32(e + 4, (uint32_t)(((tl * 2) + 511) / 512));
            ts_put_be32(e + 8, (uint32_t)dl);
            ts_put_be64(e + 16, o);
            o += ((tl * 2) + 511) & ~(size_t)511;
        }
    }
    make_footer(b + *len - FOOTER, (uint32_t)type, size, DYN_OFF, uid);
    fix_all(b, *len);
    return b;
}

/* Probes @b as a VHD and checks the error code, field and offset (-2: any offset). */
static void
expect_err(const uint8_t *b, size_t len, int code, const char *field, int64_t offset)
{
    free(ts_probe_bytes_err("bad.vhd", b, len, H2K_FORMAT_VHD, code, field, offset));
}

/* ------------------------------------------------------------- helpers */

static void
test_crc32c(void **state)
{
    (void)state;
    assert_int_equal(hk_vhdx_crc32c(0, "123456789", 9), 0xE3069283u);
    assert_int_equal(hk_vhdx_crc32c(0, "", 0), 0);
    /* incremental = one shot */
    uint32_t c = hk_vhdx_crc32c(0, "1234", 4);
    assert_int_equal(hk_vhdx_crc32c(c, "56789", 5), 0xE3069283u);
    uint8_t zeros[32] = {0};
    assert_int_equal(hk_vhdx_crc32c(0, zeros, 32), 0x8A9136AAu);
}

static void
test_checksum_and_guid(void **state)
{
    (void)state;
    uint8_t b[8] = {1, 2, 0xAA, 0xBB, 0xCC, 0xDD, 3, 4};
    /* 1+2+3+4 = 10 -> ~10 */
    assert_int_equal(hk_vhd_checksum(b, 8, 2), ~(uint32_t)10);
    char s[37];
    hk_vhd_guid_to_string(UID_CHILD, s);
    assert_string_equal(s, "00112233-4455-6677-8899-aabbccddeeff");
    assert_false(hk_vhd_guid_is_zero(UID_CHILD));
    uint8_t z[16] = {0};
    assert_true(hk_vhd_guid_is_zero(z));
}

static void
test_utf16(void **state)
{
    (void)state;
    char *s = NULL;
    /* "a\xc3\xa9" + U+1F600 (surrogate pair) in UTF-16LE, then NUL and junk */
    const uint8_t le[] = {'a', 0, 0xE9, 0, 0x3D, 0xD8, 0x00, 0xDE, 0, 0, 'x', 0};
    assert_int_equal(hk_vhd_utf16_to_utf8(le, sizeof(le), false, &s), 0);
    assert_string_equal(s, "a\xc3\xa9\xf0\x9f\x98\x80");
    free(s);
    const uint8_t be[] = {0, 'P', 0x20, 0xAC};
    assert_int_equal(hk_vhd_utf16_to_utf8(be, sizeof(be), true, &s), 0);
    assert_string_equal(s, "P\xe2\x82\xac");
    free(s);
    const uint8_t lone[] = {0x00, 0xDC, 'a', 0};
    assert_int_equal(hk_vhd_utf16_to_utf8(lone, sizeof(lone), false, &s), -1);
    assert_null(s);
    const uint8_t cut[] = {'a', 0, 0x3D, 0xD8};
    assert_int_equal(hk_vhd_utf16_to_utf8(cut, sizeof(cut), false, &s), -1);
    assert_int_equal(hk_vhd_utf16_to_utf8(le, 3, false, &s), -1);
    assert_int_equal(hk_vhd_utf16_to_utf8(le, 0, false, &s), 0);
    assert_string_equal(s, "");
    free(s);
}

static void
test_paths(void **state)
{
    (void)state;
    char *n = hk_vhd_winpath_normalize(".\\dir\\base.vhd");
    assert_string_equal(n, "dir/base.vhd");
    free(n);
    n = hk_vhd_winpath_normalize("..\\up.vhd");
    assert_string_equal(n, "../up.vhd");
    free(n);
    n = hk_vhd_winpath_normalize("C:\\VMs\\Disk 1.vhd");
    assert_string_equal(n, "C:/VMs/Disk 1.vhd");
    assert_true(hk_vhd_path_is_absolute(n));
    assert_string_equal(hk_vhd_path_basename(n), "Disk 1.vhd");
    free(n);
    assert_string_equal(hk_vhd_path_basename("C:x.vhd"), "x.vhd");
    assert_false(hk_vhd_path_is_absolute("dir/x.vhd"));
    assert_true(hk_vhd_path_is_absolute("/srv/x.vhd"));
    n = hk_vhd_file_url_to_path("file://localhost/Users/me/My%20Disk.vhd");
    assert_string_equal(n, "/Users/me/My Disk.vhd");
    free(n);
    n = hk_vhd_file_url_to_path("file:///a/b%2");
    assert_string_equal(n, "/a/b%2");
    free(n);
    assert_null(hk_vhd_file_url_to_path("http://x/y"));
    assert_null(hk_vhd_file_url_to_path("file:///a%00b"));
    assert_null(hk_vhd_file_url_to_path("file://host/x"));

    /* resolution: existing relative first, then base name of a Windows path */
    char *p = ts_join(ts_tmpdir, "par.vhd");
    ts_write_file(p, "x", 1);
    const char *hints[] = {"missing/par.vhd", "C:/elsewhere/par.vhd"};
    char *r = hk_vhd_resolve_parent(ts_tmpdir, hints, 2);
    assert_string_equal(r, p);
    free(r);
    const char *none[] = {NULL, "nothere.vhd"};
    r = hk_vhd_resolve_parent(ts_tmpdir, none, 2);
    char *want = ts_join(ts_tmpdir, "nothere.vhd");
    assert_string_equal(r, want);
    free(want);
    free(r);
    const char *empty[] = {NULL};
    assert_null(hk_vhd_resolve_parent(ts_tmpdir, empty, 1));
    remove(p);
    free(p);
}

/* ------------------------------------------------------------- probing */

static void
test_fixed(void **state)
{
    (void)state;
    size_t len;
    uint8_t *b = vhd_fixed(64 * 1024, &len);
    char *p = ts_tmp_write("fixed.vhd", b, len);
    h2k_disk_info *info = ts_probe_ok(p, 1);
    assert_int_equal(info->format, H2K_FORMAT_VHD);
    assert_string_equal(info->subformat, "fixed");
    assert_int_equal(info->virtual_size, 64 * 1024);
    assert_int_equal(info->n_layers, 1);
    const h2k_disk_layer *l = &info->layers[0];
    assert_string_equal(l->id, "00112233-4455-6677-8899-aabbccddeeff");
    assert_null(l->parent_id);
    assert_null(l->parent_hint);
    assert_null(l->parent_path);
    assert_int_equal(l->cluster_size, 0);
    assert_int_equal(l->n_extents, 1);
    assert_string_equal(l->extents[0].type, "FLAT");
    assert_int_equal(l->extents[0].sectors, 128);
    assert_int_equal(l->extents[0].file_size, len);
    h2k_disk_info_free(info);

    /* old Virtual PC: 511-byte footer */
    char *p2 = ts_tmp_write("vpc511.vhd", b, len - 1);
    info = ts_probe_ok(p2, 1);
    assert_string_equal(info->subformat, "fixed");
    assert_int_equal(info->virtual_size, 64 * 1024);
    h2k_disk_info_free(info);
    free(p2);
    free(p);
    free(b);
}

static void
test_fixed_broken(void **state)
{
    (void)state;
    size_t len;
    uint8_t *b = vhd_fixed(64 * 1024, &len);
    uint8_t *f = b + len - FOOTER;
    int64_t fo = (int64_t)(len - FOOTER);

    f[70] ^= 1; /* unique id changes: checksum no longer matches */
    expect_err(b, len, H2K_ERR_FORMAT, "checksum", fo + 64);
    f[70] ^= 1;

    memcpy(f, "conectiy", 8);
    fix_footer(f);
    expect_err(b, len, H2K_ERR_FORMAT, "cookie", -2);
    memcpy(f, "conectix", 8);

    ts_put_be32(f + 60, 5);
    fix_footer(f);
    expect_err(b, len, H2K_ERR_FORMAT, "disk_type", fo + 60);
    ts_put_be32(f + 60, 2);

    ts_put_be32(f + 12, 0x00020000);
    fix_footer(f);
    expect_err(b, len, H2K_ERR_UNSUPPORTED, "file_format_version", fo + 12);
    ts_put_be32(f + 12, 0x00010000);

    ts_put_be64(f + 48, 128 * 1024); /* more data than the file holds */
    fix_footer(f);
    expect_err(b, len, H2K_ERR_FORMAT, "current_size", fo + 48);
    ts_put_be64(f + 48, 1000); /* not a multiple of 512 */
    fix_footer(f);
    expect_err(b, len, H2K_ERR_FORMAT, "current_size", fo + 48);
    ts_put_be64(f + 48, UINT64_C(1) << 50);
    fix_footer(f);
    expect_err(b, len, H2K_ERR_FORMAT, "current_size", fo + 48);

    /* too small to be anything */
    expect_err(b, 100, H2K_ERR_FORMAT, "footer", 0);
    free(b);
}

static void
test_dynamic(void **state)
{
    (void)state;
    size_t len;
    uint8_t *b = vhd_dynamic(3, 1024 * 1024, 64 * 1024, 2, UID_CHILD, NULL, NULL, NULL, 0, &len);
    char *p = ts_tmp_write("dyn.vhd", b, len);
    h2k_disk_info *info = ts_probe_ok(p, 1);
    assert_string_equal(info->subformat, "dynamic");
    assert_int_equal(info->virtual_size, 1024 * 1024);
    const h2k_disk_layer *l = &info->layers[0];
    assert_int_equal(l->cluster_size, 64 * 1024);
    assert_string_equal(l->id, "00112233-4455-6677-8899-aabbccddeeff");
    assert_null(l->parent_id);
    assert_string_equal(l->extents[0].type, "SPARSE");
    h2k_disk_info_free(info);
    free(p);
    free(b);
}

static void
test_dynamic_broken(void **state)
{
    (void)state;
    size_t len;
    uint8_t *b = vhd_dynamic(3, 1024 * 1024, 64 * 1024, 1, UID_CHILD, NULL, NULL, NULL, 0, &len);
    uint8_t *dh = b + DYN_OFF;

    /* dynamic header checksum */
    dh[100] ^= 0x40;
    expect_err(b, len, H2K_ERR_FORMAT, "checksum", DYN_OFF + 36);
    dh[100] ^= 0x40;

    memcpy(dh, "cxsparsf", 8);
    fix_all(b, len);
    expect_err(b, len, H2K_ERR_FORMAT, "cookie", DYN_OFF);
    memcpy(dh, "cxsparse", 8);

    ts_put_be32(dh + 32, 48 * 1024); /* not a power of two */
    fix_all(b, len);
    expect_err(b, len, H2K_ERR_FORMAT, "block_size", DYN_OFF + 32);
    ts_put_be32(dh + 32, 256);
    fix_all(b, len);
    expect_err(b, len, H2K_ERR_FORMAT, "block_size", DYN_OFF + 32);
    ts_put_be32(dh + 32, 64 * 1024);

    ts_put_be32(dh + 28, 15); /* 16 blocks needed */
    fix_all(b, len);
    expect_err(b, len, H2K_ERR_FORMAT, "max_table_entries", DYN_OFF + 28);
    ts_put_be32(dh + 28, 0x40000000u); /* table far beyond the end */
    fix_all(b, len);
    expect_err(b, len, H2K_ERR_FORMAT, "table_offset", DYN_OFF + 16);
    ts_put_be32(dh + 28, 16);

    ts_put_be64(dh + 16, UINT64_C(1) << 40);
    fix_all(b, len);
    expect_err(b, len, H2K_ERR_FORMAT, "table_offset", DYN_OFF + 16);
    ts_put_be64(dh + 16, BAT_OFF);

    /* the data offset of the footer */
    uint8_t *f = b + len - FOOTER;
    ts_put_be64(f + 16, len);
    fix_footer(f);
    expect_err(b, len, H2K_ERR_FORMAT, "data_offset", (int64_t)(len - FOOTER + 16));
    ts_put_be64(f + 16, DYN_OFF);
    fix_all(b, len);

    /* a block that runs past the footer */
    ts_put_be32(b + BAT_OFF + 4, (uint32_t)(len / 512));
    fix_all(b, len);
    expect_err(b, len, H2K_ERR_FORMAT, "bat", BAT_OFF + 4);
    ts_put_be32(b + BAT_OFF + 4, 0xFFFFFFFFu);

    /* truncated: the footer at the end is gone, its copy at 0 remains */
    expect_err(b, len - 4096, H2K_ERR_FORMAT, "footer", -2);
    free(b);
}

static void
test_differencing_chain(void **state)
{
    (void)state;
    size_t plen, clen;
    uint8_t *pb = vhd_dynamic(3, 1024 * 1024, 64 * 1024, 1, UID_PARENT, NULL, NULL, NULL, 0, &plen);
    char *pp = ts_tmp_write("base.vhd", pb, plen);
    const loc_spec locs[] = {{W2KU, "C:\\Hyper-V\\base.vhd"}, {W2RU, ".\\base.vhd"}};
    uint8_t *cb = vhd_dynamic(4, 1024 * 1024, 64 * 1024, 1, UID_CHILD, UID_PARENT, "base.vhd", locs,
                              2, &clen);
    char *cp = ts_tmp_write("child.vhd", cb, clen);

    h2k_disk_info *info = ts_probe_ok(cp, 1);
    assert_string_equal(info->subformat, "differencing");
    assert_int_equal(info->n_layers, 2);
    const h2k_disk_layer *c = &info->layers[0];
    assert_string_equal(c->parent_id, "deadbeef-0102-0304-0506-0708090a0b0c");
    assert_string_equal(c->parent_hint, "base.vhd");
    assert_string_equal(c->parent_path, pp);
    assert_string_equal(info->layers[1].id, "deadbeef-0102-0304-0506-0708090a0b0c");
    assert_string_equal(info->layers[1].subformat, "dynamic");
    h2k_disk_info_free(info);

    /* only the absolute Windows locator: parent_hint keeps it, the file is found
     * by its base name beside the child */
    memset(cb + DYN_OFF + 576 + 24, 0, 24);
    fix_all(cb, clen);
    free(cp);
    cp = ts_tmp_write("child.vhd", cb, clen);
    info = ts_probe_ok(cp, 1);
    assert_string_equal(info->layers[0].parent_hint, "C:/Hyper-V/base.vhd");
    assert_string_equal(info->layers[0].parent_path, pp);
    assert_int_equal(info->n_layers, 2);
    h2k_disk_info_free(info);

    /* a parent with another unique id */
    uint8_t *other = vhd_dynamic(3, 1024 * 1024, 64 * 1024, 0, UID_CHILD, NULL, NULL, NULL, 0,
                                 &plen);
    ts_write_file(pp, other, plen);
    h2k_ctx *ctx = ts_ctx();
    h2k_disk_info *bad = NULL;
    ts_assert_rc(ctx, h2k_disk_probe(ctx, cp, NULL, &bad), H2K_ERR_FORMAT);
    assert_string_equal(h2k_ctx_last_error(ctx)->field, "parent_unique_id");
    assert_string_equal(h2k_ctx_last_error(ctx)->source_path, cp);
    h2k_ctx_free(ctx);

    /* no parent at all */
    remove(pp);
    ctx = ts_ctx();
    ts_assert_rc(ctx, h2k_disk_probe(ctx, cp, NULL, &bad), H2K_ERR_FORMAT);
    assert_string_equal(h2k_ctx_last_error(ctx)->field, "parent_unique_id");
    assert_non_null(strstr(h2k_ctx_last_error(ctx)->message, "does not exist"));
    h2k_ctx_free(ctx);
    free(other);
    free(pp);
    free(cp);
    free(pb);
    free(cb);
}

/* A parent locator leading out of the child's folder is refused. */
static void
test_differencing_escape(void **state)
{
    (void)state;
    static const loc_spec cases[][1] = {
        {{W2RU, "..\\..\\..\\..\\..\\..\\etc\\hostname"}},
        {{MACX, "file:///etc/hostname"}},
    };
    for (size_t i = 0; i < HK_ARRAY_LEN(cases); i++) {
        size_t len;
        uint8_t *b = vhd_dynamic(4, 1024 * 1024, 64 * 1024, 0, UID_CHILD, UID_PARENT, "hostname",
                                 cases[i], 1, &len);
        char *p = ts_tmp_write("escape.vhd", b, len);
        h2k_ctx *ctx = ts_ctx();
        h2k_disk_info *info = NULL;
        ts_assert_rc(ctx, h2k_disk_probe(ctx, p, NULL, &info), H2K_ERR_VALIDATION);
        const h2k_error *e = h2k_ctx_last_error(ctx);
        assert_string_equal(e->field, "parent_locator");
        assert_non_null(strstr(e->message, "/etc/hostname"));
        assert_non_null(strstr(e->message, p));
        assert_non_null(strstr(e->message, "--allow-path"));
        /* allowed: the chain is followed (and then fails on the parent's contents) */
        h2k_ctx *allowed = ts_ctx();
        assert_int_equal(h2k_ctx_allow_path(allowed, "/etc"), 0);
        int rc = h2k_disk_probe(allowed, p, NULL, &info);
        assert_int_not_equal(rc, H2K_ERR_VALIDATION);
        h2k_disk_info_free(info);
        h2k_ctx_free(allowed);
        h2k_ctx_free(ctx);
        free(p);
        free(b);
    }
}

static void
test_differencing_broken(void **state)
{
    (void)state;
    size_t len;
    const loc_spec locs[] = {{W2RU, ".\\base.vhd"}, {MACX, "file:///srv/vm/base%20x.vhd"}};
    uint8_t *b = vhd_dynamic(4, 1024 * 1024, 64 * 1024, 0, UID_CHILD, UID_PARENT, "base.vhd", locs,
                             2, &len);
    uint8_t *dh = b + DYN_OFF;

    /* Mac locator used when the Windows one is absent */
    memset(dh + 576, 0, 24);
    fix_all(b, len);
    char *p = ts_tmp_write("mac.vhd", b, len);
    h2k_disk_info *info = ts_probe_ok(p, 0);
    assert_string_equal(info->layers[0].parent_hint, "/srv/vm/base x.vhd");
    h2k_disk_info_free(info);
    free(p);
    ts_put_be32(dh + 576, W2RU);
    ts_put_be32(dh + 576 + 8, 20);

    /* locator data beyond the footer */
    ts_put_be64(dh + 576 + 16, len);
    fix_all(b, len);
    expect_err(b, len, H2K_ERR_FORMAT, "parent_locator", DYN_OFF + 576 + 16);
    ts_put_be64(dh + 576 + 16, BAT_OFF + 512);

    /* oversized locator */
    ts_put_be32(dh + 576 + 8, 1u << 20);
    fix_all(b, len);
    expect_err(b, len, H2K_ERR_FORMAT, "parent_locator", DYN_OFF + 576 + 8);
    /* odd-length UTF-16 */
    ts_put_be32(dh + 576 + 8, 3);
    fix_all(b, len);
    expect_err(b, len, H2K_ERR_FORMAT, "parent_locator", BAT_OFF + 512);
    ts_put_be32(dh + 576 + 8, 20);

    /* no parent id */
    memset(dh + 40, 0, 16);
    fix_all(b, len);
    expect_err(b, len, H2K_ERR_FORMAT, "parent_unique_id", DYN_OFF + 40);
    memcpy(dh + 40, UID_PARENT, 16);

    /* no locator, no name */
    memset(dh + 64, 0, 512 + 8 * 24);
    fix_all(b, len);
    expect_err(b, len, H2K_ERR_FORMAT, "parent_locator", -2);

    /* name only */
    dh[65] = 'p';
    dh[67] = '.';
    dh[69] = 'v';
    fix_all(b, len);
    p = ts_tmp_write("nameonly.vhd", b, len);
    info = ts_probe_ok(p, 0);
    assert_string_equal(info->layers[0].parent_hint, "p.v");
    h2k_disk_info_free(info);
    free(p);
    free(b);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_crc32c),
        cmocka_unit_test(test_checksum_and_guid),
        cmocka_unit_test(test_utf16),
        cmocka_unit_test(test_paths),
        cmocka_unit_test(test_fixed),
        cmocka_unit_test(test_fixed_broken),
        cmocka_unit_test(test_dynamic),
        cmocka_unit_test(test_dynamic_broken),
        cmocka_unit_test(test_differencing_chain),
        cmocka_unit_test(test_differencing_broken),
        cmocka_unit_test(test_differencing_escape),
    };
    return cmocka_run_group_tests(tests, ts_setup_tmpdir, ts_teardown_tmpdir);
}
