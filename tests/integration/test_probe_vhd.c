/*
 * Integration tests of the VHD and VHDX probers on images made by qemu-img,
 * differencing children built by hand from them, and corrupted copies.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "testsupport.h"

#include "disk/probe_internal.h"
#include "disk/vhd_util.h"

#define MiB (1024u * 1024u)

static int
setup(void **state)
{
    ts_require_program("qemu-img");
    return ts_setup_tmpdir(state);
}

/* ------------------------------------------------------------ helpers */

static uint64_t
qemu_vsize(const char *fmt, const char *path)
{
    return ts_qemu_img_info_u64(fmt, path, "virtual-size");
}

static void
qemu_create(const char *fmt, const char *opts, const char *path, const char *size)
{
    ts_qemu_img_create(fmt, opts, NULL, NULL, path, size);
}

/* A raw file with data in a few places, converted to @fmt. */
static void
qemu_convert_with_data(const char *fmt, const char *opts, const char *path, size_t size)
{
    char *raw = ts_tmp_path("src.raw");
    uint8_t *b = calloc(1, size);
    assert_non_null(b);
    memset(b, 0xA5, 4096);
    memset(b + size / 2, 0x5A, 8192);
    memset(b + size - 512, 0x11, 512);
    ts_write_file(raw, b, size);
    free(b);
    const char *argv[] = {"qemu-img", "convert", "-q", "-f", "raw", "-O",
                          fmt,        "-o",      opts, raw,  path,  NULL};
    ts_run_ok(argv);
    remove(raw);
    free(raw);
}

/* Probes @path expecting @code with @field, and checks the file is unchanged. */
static void
expect_err(const char *path, int code, const char *field)
{
    free(ts_probe_err(path, NULL, code, field, NULL, TS_ANY_OFFSET));
}

static uint8_t *
read_all(const char *path, size_t *len)
{
    uint8_t *b = (uint8_t *)ts_read_file(path, len);
    assert_non_null(b);
    return b;
}

/* ----------------------------------------------------------------- VHD */

static void
test_vhd_qemu(void **state)
{
    (void)state;
    char *fixed = ts_tmp_path("fixed.vhd");
    char *dyn = ts_tmp_path("dyn.vhd");
    char *forced = ts_tmp_path("forced.vhd");
    qemu_create("vpc", "subformat=fixed", fixed, "10M");
    qemu_convert_with_data("vpc", "subformat=dynamic", dyn, 24 * MiB);
    qemu_create("vpc", "subformat=dynamic,force_size=on", forced, "10M");

    h2k_disk_info *info = ts_probe_ok(fixed, 1);
    assert_int_equal(info->format, H2K_FORMAT_VHD);
    assert_string_equal(info->subformat, "fixed");
    assert_int_equal(info->virtual_size, qemu_vsize("vpc", fixed));
    assert_int_equal(info->layers[0].cluster_size, 0);
    assert_non_null(info->layers[0].id);
    assert_int_equal(strlen(info->layers[0].id), 36);
    assert_int_equal(info->n_layers, 1);
    h2k_disk_info_free(info);

    info = ts_probe_ok(dyn, 1);
    assert_string_equal(info->subformat, "dynamic");
    assert_int_equal(info->virtual_size, qemu_vsize("vpc", dyn));
    assert_int_equal(info->layers[0].cluster_size, 2 * MiB);
    h2k_disk_info_free(info);

    info = ts_probe_ok(forced, 1);
    assert_int_equal(info->virtual_size, 10 * MiB);
    assert_int_equal(info->virtual_size, qemu_vsize("vpc", forced));
    h2k_disk_info_free(info);
    free(fixed);
    free(dyn);
    free(forced);
}

/* Turns a copy of the dynamic VHD @parent into a differencing child of it,
 * recording @rel (W2ru) and @abs (W2ku) locators; @bad_id changes the parent
 * id it records. */
static void
make_vhd_child(const char *parent, const char *child, const char *rel, const char *abs, int bad_id)
{
    size_t len;
    uint8_t *p = read_all(parent, &len);
    size_t nlen = len + 2 * 1024;
    uint8_t *b = calloc(1, nlen);
    assert_non_null(b);
    memcpy(b, p, len - 512);
    uint8_t *f = b + nlen - 512;
    memcpy(f, p + len - 512, 512);
    uint8_t puid[16];
    memcpy(puid, f + 68, 16);
    if (bad_id)
        puid[15] ^= 0xFF;
    ts_put_be32(f + 60, 4);
    for (int i = 0; i < 16; i++)
        f[68 + i] ^= 0x3C; /* a new identity */
    ts_put_be32(f + 64, hk_vhd_checksum(f, 512, 64));
    memcpy(b, f, 512);

    uint64_t doff = hk_vhd_be64(f + 16);
    uint8_t *dh = b + doff;
    memcpy(dh + 40, puid, 16);
    const char *base = strrchr(parent, '/') + 1;
    memset(dh + 64, 0, 512);
    for (size_t i = 0; base[i]; i++)
        dh[64 + 2 * i + 1] = (uint8_t)base[i];
    const char *texts[2] = {rel, abs};
    const uint32_t codes[2] = {0x57327275u, 0x57326B75u};
    size_t loc = len - 512;
    for (int k = 0; k < 2; k++) {
        uint8_t *e = dh + 576 + 24 * k;
        memset(e, 0, 24);
        if (!texts[k])
            continue;
        size_t l = ts_put_utf16le(b + loc + 1024 * (size_t)k, texts[k]);
        ts_put_be32(e, codes[k]);
        ts_put_be32(e + 4, 1024);
        ts_put_be32(e + 8, (uint32_t)l);
        ts_put_be64(e + 16, loc + 1024 * (size_t)k);
    }
    ts_put_be32(dh + 36, hk_vhd_checksum(dh, 1024, 36));
    ts_write_file(child, b, nlen);
    free(b);
    free(p);
}

static void
test_vhd_differencing(void **state)
{
    (void)state;
    char *parent = ts_tmp_path("parent.vhd");
    char *child = ts_tmp_path("child.vhd");
    qemu_convert_with_data("vpc", "subformat=dynamic", parent, 8 * MiB);
    make_vhd_child(parent, child, ".\\parent.vhd", "C:\\VMs\\parent.vhd", 0);

    h2k_disk_info *info = ts_probe_ok(child, 1);
    assert_int_equal(info->n_layers, 2);
    assert_string_equal(info->subformat, "differencing");
    assert_string_equal(info->layers[0].parent_hint, "parent.vhd");
    assert_string_equal(info->layers[0].parent_path, parent);
    assert_string_equal(info->layers[0].parent_id, info->layers[1].id);
    assert_string_equal(info->layers[1].path, parent);
    assert_string_equal(info->layers[1].subformat, "dynamic");
    assert_int_equal(info->virtual_size, qemu_vsize("vpc", parent));
    h2k_disk_info_free(info);

    /* only the absolute path: found by base name beside the child */
    make_vhd_child(parent, child, NULL, "C:\\VMs\\parent.vhd", 0);
    info = ts_probe_ok(child, 1);
    assert_int_equal(info->n_layers, 2);
    assert_string_equal(info->layers[0].parent_hint, "C:/VMs/parent.vhd");
    h2k_disk_info_free(info);

    /* parent id does not match */
    make_vhd_child(parent, child, ".\\parent.vhd", NULL, 1);
    expect_err(child, H2K_ERR_FORMAT, "parent_unique_id");

    /* parent missing: the child alone in another folder */
    char *sub = ts_tmp_path("sub");
    assert_int_equal(mkdir(sub, 0755), 0);
    char *lone = ts_join(sub, "child.vhd");
    make_vhd_child(parent, lone, ".\\parent.vhd", "C:\\VMs\\parent.vhd", 0);
    expect_err(lone, H2K_ERR_FORMAT, "parent_unique_id");
    free(lone);
    free(sub);
    free(parent);
    free(child);
}

static void
test_vhd_corrupt(void **state)
{
    (void)state;
    char *dyn = ts_tmp_path("c.vhd");
    qemu_convert_with_data("vpc", "subformat=dynamic", dyn, 8 * MiB);
    size_t len;
    uint8_t *b = read_all(dyn, &len);
    char *bad = ts_tmp_path("bad.vhd");

    /* truncated */
    ts_write_file(bad, b, len - 4096);
    expect_err(bad, H2K_ERR_FORMAT, "footer");
    /* flipped byte: footer checksum */
    b[len - 512 + 48 + 5] ^= 0x01;
    ts_write_file(bad, b, len);
    expect_err(bad, H2K_ERR_FORMAT, "checksum");
    b[len - 512 + 48 + 5] ^= 0x01;
    /* bad block size, checksum recomputed */
    uint64_t doff = hk_vhd_be64(b + len - 512 + 16);
    ts_put_be32(b + doff + 32, 3 * MiB);
    ts_put_be32(b + doff + 36, hk_vhd_checksum(b + doff, 1024, 36));
    ts_write_file(bad, b, len);
    expect_err(bad, H2K_ERR_FORMAT, "block_size");
    /* fixed VHD truncated */
    char *fixed = ts_tmp_path("cf.vhd");
    qemu_create("vpc", "subformat=fixed", fixed, "4M");
    free(b);
    b = read_all(fixed, &len);
    memmove(b + len - 1024 - 512, b + len - 512, 512);
    ts_write_file(bad, b, len - 1024);
    expect_err(bad, H2K_ERR_FORMAT, "current_size");
    free(b);
    free(bad);
    free(dyn);
    free(fixed);
}

/* ---------------------------------------------------------------- VHDX */

static void
test_vhdx_qemu(void **state)
{
    (void)state;
    char *dyn = ts_tmp_path("dyn.vhdx");
    char *fixed = ts_tmp_path("fixed.vhdx");
    char *data = ts_tmp_path("data.vhdx");
    qemu_create("vhdx", "subformat=dynamic", dyn, "1G");
    qemu_create("vhdx", "subformat=fixed", fixed, "16M");
    qemu_convert_with_data("vhdx", "subformat=dynamic,block_size=1M", data, 24 * MiB);

    h2k_disk_info *info = ts_probe_ok(dyn, 1);
    assert_int_equal(info->format, H2K_FORMAT_VHDX);
    assert_string_equal(info->subformat, "dynamic");
    assert_int_equal(info->virtual_size, 1024 * MiB);
    assert_int_equal(info->virtual_size, qemu_vsize("vhdx", dyn));
    assert_int_equal(info->layers[0].cluster_size,
                     ts_qemu_img_info_u64("vhdx", dyn, "cluster-size"));
    assert_int_equal(strlen(info->layers[0].id), 36);
    assert_null(info->layers[0].parent_id);
    h2k_disk_info_free(info);

    info = ts_probe_ok(fixed, 1);
    assert_string_equal(info->subformat, "fixed");
    assert_int_equal(info->virtual_size, qemu_vsize("vhdx", fixed));
    h2k_disk_info_free(info);

    info = ts_probe_ok(data, 1);
    assert_string_equal(info->subformat, "dynamic");
    assert_int_equal(info->virtual_size, 24 * MiB);
    assert_int_equal(info->virtual_size, qemu_vsize("vhdx", data));
    assert_int_equal(info->layers[0].cluster_size, MiB);
    h2k_disk_info_free(info);
    free(dyn);
    free(fixed);
    free(data);
}

static const uint8_t META_GUID[16] = {0x06, 0xA2, 0x7C, 0x8B, 0x90, 0x47, 0x9A, 0x4B,
                                      0xB8, 0xFE, 0x57, 0x5F, 0x05, 0x0F, 0x88, 0x6E};
static const uint8_t PARAMS_GUID[16] = {0x37, 0x67, 0xA1, 0xCA, 0x36, 0xFA, 0x43, 0x4D,
                                        0xB3, 0xB6, 0x33, 0xF0, 0xAA, 0x44, 0xE7, 0x6B};
static const uint8_t LOCATOR_GUID[16] = {0x2B, 0x5F, 0xD3, 0xA8, 0x0B, 0xB3, 0x4D, 0x45,
                                         0xAB, 0xF7, 0xD3, 0xD8, 0x48, 0x34, 0xAB, 0x0C};
static const uint8_t LOCTYPE_GUID[16] = {0xB7, 0xEF, 0x4A, 0xB0, 0x9E, 0xD1, 0x81, 0x4A,
                                         0xB7, 0x89, 0x25, 0xB8, 0xE9, 0x44, 0x59, 0x13};

static void
vhdx_fix_header(uint8_t *h)
{
    ts_put_le32(h + 4, 0);
    ts_put_le32(h + 4, hk_vhdx_crc32c(0, h, 4096));
}

/* Turns a copy of the dynamic VHDX @parent into a differencing child with a
 * parent locator (relative_path @rel, parent_linkage = the parent's data
 * write GUID, altered when @bad_id). */
static void
make_vhdx_child(const char *parent, const char *child, const char *rel, int bad_id)
{
    size_t len;
    uint8_t *b = read_all(parent, &len);
    uint8_t *h1 = b + 64 * 1024, *h2 = b + 128 * 1024;
    uint8_t *h = hk_vhd_le64(h2 + 8) > hk_vhd_le64(h1 + 8) ? h2 : h1;
    char linkage[40];
    char g[37];
    hk_guid_to_string(h + 32, g);
    snprintf(linkage, sizeof(linkage), "{%s}", g);
    for (char *c = linkage; *c; c++)
        if (*c >= 'a' && *c <= 'f')
            *c = (char)(*c - 'a' + 'A');
    if (bad_id)
        linkage[1] = linkage[1] == '0' ? '1' : '0';
    for (int i = 0; i < 2; i++) {
        uint8_t *hh = i ? h2 : h1;
        for (int k = 0; k < 16; k++)
            hh[32 + k] ^= 0x5A; /* new data write GUID */
        vhdx_fix_header(hh);
    }

    /* the metadata region, from the region table */
    uint8_t *r = b + 192 * 1024;
    uint32_t n = hk_vhd_le32(r + 8);
    uint64_t moff = 0, mlen = 0;
    for (uint32_t i = 0; i < n; i++) {
        uint8_t *e = r + 16 + 32 * i;
        if (memcmp(e, META_GUID, 16) == 0) {
            moff = hk_vhd_le64(e + 16);
            mlen = hk_vhd_le32(e + 24);
        }
    }
    assert_true(moff > 0 && moff + mlen <= len);
    uint8_t *t = b + moff;
    uint16_t cnt = hk_vhd_le16(t + 10);
    uint32_t end = 64 * 1024;
    for (uint16_t i = 0; i < cnt; i++) {
        uint8_t *e = t + 32 + 32 * i;
        uint32_t o = hk_vhd_le32(e + 16), l = hk_vhd_le32(e + 20);
        if (o + l > end)
            end = o + l;
        if (memcmp(e, PARAMS_GUID, 16) == 0)
            ts_put_le32(t + o + 4, hk_vhd_le32(t + o + 4) | 2u); /* has_parent */
    }
    end = (end + 4095) & ~4095u;
    uint8_t *pl = t + end;
    memcpy(pl, LOCTYPE_GUID, 16);
    const char *kv[] = {"parent_linkage", linkage, "relative_path", rel};
    ts_put_le16(pl + 18, 2);
    size_t o = 20 + 2 * 12;
    for (int i = 0; i < 2; i++) {
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
    assert_true(end + o <= mlen);
    uint8_t *ne = t + 32 + 32 * cnt;
    memcpy(ne, LOCATOR_GUID, 16);
    ts_put_le32(ne + 16, end);
    ts_put_le32(ne + 20, (uint32_t)o);
    ts_put_le32(ne + 24, 4); /* required */
    ts_put_le16(t + 10, (uint16_t)(cnt + 1));
    ts_write_file(child, b, len);
    free(b);
}

static void
test_vhdx_differencing(void **state)
{
    (void)state;
    char *parent = ts_tmp_path("parent.vhdx");
    char *child = ts_tmp_path("child.vhdx");
    qemu_convert_with_data("vhdx", "subformat=dynamic", parent, 8 * MiB);
    make_vhdx_child(parent, child, ".\\parent.vhdx", 0);

    h2k_disk_info *info = ts_probe_ok(child, 1);
    assert_int_equal(info->n_layers, 2);
    assert_string_equal(info->subformat, "differencing");
    assert_string_equal(info->layers[0].parent_hint, "parent.vhdx");
    assert_string_equal(info->layers[0].parent_path, parent);
    assert_string_equal(info->layers[0].parent_id, info->layers[1].id);
    assert_string_not_equal(info->layers[0].id, info->layers[1].id);
    assert_string_equal(info->layers[1].subformat, "dynamic");
    assert_int_equal(info->virtual_size, qemu_vsize("vhdx", parent));
    h2k_disk_info_free(info);

    make_vhdx_child(parent, child, ".\\parent.vhdx", 1);
    expect_err(child, H2K_ERR_FORMAT, "parent_linkage");
    /* a parent outside the child's folder is refused, whether it exists or not */
    make_vhdx_child(parent, child, "..\\elsewhere\\parent.vhdx", 0);
    expect_err(child, H2K_ERR_VALIDATION, "parent_locator");
    free(parent);
    free(child);
}

static void
test_vhdx_corrupt(void **state)
{
    (void)state;
    char *img = ts_tmp_path("c.vhdx");
    qemu_convert_with_data("vhdx", "subformat=dynamic,block_size=1M", img, 8 * MiB);
    size_t len;
    uint8_t *b = read_all(img, &len);
    char *bad = ts_tmp_path("bad.vhdx");

    /* truncated before the end of the data blocks */
    ts_write_file(bad, b, len - 4096);
    expect_err(bad, H2K_ERR_FORMAT, "bat");
    /* truncated inside the headers area */
    ts_write_file(bad, b, 300 * 1024);
    expect_err(bad, H2K_ERR_FORMAT, "bat_region");
    /* both headers flipped */
    b[64 * 1024 + 300] ^= 0x80;
    b[128 * 1024 + 300] ^= 0x80;
    ts_write_file(bad, b, len);
    expect_err(bad, H2K_ERR_FORMAT, "checksum");
    /* only one: still fine */
    b[64 * 1024 + 300] ^= 0x80;
    ts_write_file(bad, b, len);
    h2k_disk_info *info = ts_probe_ok(bad, 1);
    h2k_disk_info_free(info);
    b[128 * 1024 + 300] ^= 0x80;
    /* bad block size in the file parameters */
    uint8_t *r = b + 192 * 1024;
    uint64_t moff = 0;
    for (uint32_t i = 0; i < hk_vhd_le32(r + 8); i++)
        if (memcmp(r + 16 + 32 * i, META_GUID, 16) == 0)
            moff = hk_vhd_le64(r + 16 + 32 * i + 16);
    uint8_t *t = b + moff;
    for (uint16_t i = 0; i < hk_vhd_le16(t + 10); i++) {
        uint8_t *e = t + 32 + 32 * i;
        if (memcmp(e, PARAMS_GUID, 16) == 0)
            ts_put_le32(t + hk_vhd_le32(e + 16), 3 * MiB);
    }
    ts_write_file(bad, b, len);
    expect_err(bad, H2K_ERR_FORMAT, "block_size");
    free(b);
    free(bad);
    free(img);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_vhd_qemu),          cmocka_unit_test(test_vhd_differencing),
        cmocka_unit_test(test_vhd_corrupt),       cmocka_unit_test(test_vhdx_qemu),
        cmocka_unit_test(test_vhdx_differencing), cmocka_unit_test(test_vhdx_corrupt),
    };
    return cmocka_run_group_tests(tests, setup, ts_teardown_tmpdir);
}
