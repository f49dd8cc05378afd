/*
 * VHD (Microsoft Virtual Hard Disk, "vpc" in qemu) prober, written from the
 * Microsoft "Virtual Hard Disk Image Format Specification".
 *
 * Layout: a 512-byte footer ("conectix", big-endian fields) at the end of the
 * file; fixed disks hold the data before it.  Dynamic and differencing disks
 * also carry a copy of the footer at offset 0, a 1024-byte dynamic header
 * ("cxsparse") at the footer's data offset, and a block allocation table of
 * 32-bit sector numbers.  Differencing disks name their parent by unique id,
 * file name and up to eight platform-specific locators.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "probe_internal.h"
#include "vhd_util.h"

#define FOOTER_LEN 512u
#define DYN_LEN 1024u

/* footer fields */
#define F_COOKIE 0
#define F_VERSION 12
#define F_DATA_OFFSET 16
#define F_CREATOR_APP 28
#define F_CURRENT_SIZE 48
#define F_GEOMETRY 56
#define F_DISK_TYPE 60
#define F_CHECKSUM 64
#define F_UNIQUE_ID 68
#define F_SAVED_STATE 84

/* dynamic header fields */
#define D_TABLE_OFFSET 16
#define D_VERSION 24
#define D_MAX_ENTRIES 28
#define D_BLOCK_SIZE 32
#define D_CHECKSUM 36
#define D_PARENT_ID 40
#define D_PARENT_NAME 64
#define D_PARENT_NAME_LEN 512
#define D_LOCATORS 576
#define LOCATOR_LEN 24
#define N_LOCATORS 8

#define TYPE_FIXED 2
#define TYPE_DYNAMIC 3
#define TYPE_DIFF 4

#define PLAT_W2RU 0x57327275u /* "W2ru" relative UTF-16LE path */
#define PLAT_W2KU 0x57326B75u /* "W2ku" absolute UTF-16LE path */
#define PLAT_MAC 0x4D616320u  /* "Mac " */
#define PLAT_MACX 0x4D616358u /* "MacX" UTF-8 file URL */

#define MIN_BLOCK 512u
#define MAX_BLOCK (256u << 20)
#define MAX_LOCATOR_DATA 65536u
#define BAT_CHUNK 16384u /* entries read at a time */

#define DOM "disk"

/* What the dynamic header tells about the parent. */
typedef struct vhd_parent {
    char *rel;  /* W2ru */
    char *abs;  /* W2ku */
    char *mac;  /* MacX / Mac file URL, as a POSIX path */
    char *name; /* parent unicode name */
} vhd_parent;

static void
vhd_parent_clear(vhd_parent *p)
{
    free(p->rel);
    free(p->abs);
    free(p->mac);
    free(p->name);
}

/* Reads and checks the footer at the end of the image.  On success @ft holds
 * 512 bytes (a 511-byte footer is padded with a zero) and *foff its offset. */
static int
read_footer(h2k_ctx *ctx, const hk_src *src, uint8_t ft[FOOTER_LEN], uint64_t *foff, size_t *flen)
{
    int rc;
    if (src->size < FOOTER_LEN - 1)
        return hk_error_at(ctx, H2K_ERR_FORMAT, src->path, 0, "footer",
                           "file of %llu bytes is too small for a VHD footer (512 bytes)",
                           (unsigned long long)src->size);
    memset(ft, 0, FOOTER_LEN);
    if (src->size >= FOOTER_LEN) {
        if ((rc = hk_src_read(ctx, src, src->size - FOOTER_LEN, ft, FOOTER_LEN, "footer")) < 0)
            return rc;
        if (memcmp(ft, "conectix", 8) == 0) {
            *foff = src->size - FOOTER_LEN;
            *flen = FOOTER_LEN;
            return 0;
        }
    }
    /* old Virtual PC images end with a 511-byte footer */
    uint8_t t[FOOTER_LEN];
    if ((rc = hk_src_read(ctx, src, src->size - (FOOTER_LEN - 1), t, FOOTER_LEN - 1, "footer")) < 0)
        return rc;
    if (memcmp(t, "conectix", 8) == 0) {
        memcpy(ft, t, FOOTER_LEN - 1);
        ft[FOOTER_LEN - 1] = 0;
        *foff = src->size - (FOOTER_LEN - 1);
        *flen = FOOTER_LEN - 1;
        return 0;
    }
    uint8_t head[8] = {0};
    if (hk_src_read(ctx, src, 0, head, sizeof(head), "footer") == 0 &&
        memcmp(head, "conectix", 8) == 0)
        return hk_error_at(ctx, H2K_ERR_FORMAT, src->path,
                           (int64_t)(src->size - (src->size >= FOOTER_LEN ? FOOTER_LEN : 511)),
                           "footer",
                           "no VHD footer at the end of the file although its copy is at offset "
                           "0: the file is truncated");
    return hk_error_at(ctx, H2K_ERR_FORMAT, src->path,
                       (int64_t)(src->size - (src->size >= FOOTER_LEN ? FOOTER_LEN : 511)),
                       "cookie", "not a VHD: no \"conectix\" footer at the end of the file");
}

/* Reads one parent locator's data into the matching slot of @par. */
static int
read_locator(h2k_ctx *ctx, const hk_src *src, const uint8_t *ent, uint64_t ent_off, uint64_t foff,
             vhd_parent *par)
{
    uint32_t code = hk_vhd_be32(ent);
    uint32_t len = hk_vhd_be32(ent + 8);
    uint64_t off = hk_vhd_be64(ent + 16);
    if (code == 0 || len == 0)
        return 0;
    if (code != PLAT_W2RU && code != PLAT_W2KU && code != PLAT_MAC && code != PLAT_MACX) {
        hk_debug(ctx, DOM, "%s: ignoring VHD parent locator with platform code 0x%08x", src->path,
                 code);
        return 0;
    }
    if (len > MAX_LOCATOR_DATA)
        return hk_error_at(ctx, H2K_ERR_FORMAT, src->path, (int64_t)ent_off + 8, "parent_locator",
                           "parent locator data length %u is larger than %u bytes", len,
                           MAX_LOCATOR_DATA);
    if (off > foff || len > foff - off)
        return hk_error_at(ctx, H2K_ERR_FORMAT, src->path, (int64_t)ent_off + 16, "parent_locator",
                           "parent locator data (%u bytes at offset %llu) lies beyond the "
                           "footer at offset %llu",
                           len, (unsigned long long)off, (unsigned long long)foff);
    uint8_t *data = malloc(len + 1);
    if (!data)
        return hk_error_nomem(ctx);
    int rc = hk_src_read(ctx, src, off, data, len, "parent_locator");
    if (rc < 0)
        goto out;
    data[len] = 0;
    char *text = NULL;
    if (code == PLAT_W2RU || code == PLAT_W2KU) {
        int r = hk_vhd_utf16_to_utf8(data, len, false, &text);
        if (r == -2) {
            rc = hk_error_nomem(ctx);
            goto out;
        }
        if (r < 0) {
            rc = hk_error_at(ctx, H2K_ERR_FORMAT, src->path, (int64_t)off, "parent_locator",
                             "parent locator is not valid UTF-16LE");
            goto out;
        }
    } else {
        /* the URL ends at the first NUL (data[len] is one) */
        text = hk_vhd_file_url_to_path((char *)data);
        if (!text) {
            hk_debug(ctx, DOM, "%s: ignoring Mac parent locator that is not a file URL", src->path);
            goto out;
        }
    }
    char *norm = hk_vhd_winpath_normalize(text);
    free(text);
    if (!norm) {
        rc = hk_error_nomem(ctx);
        goto out;
    }
    if (!*norm) {
        free(norm);
        goto out;
    }
    char **slot = code == PLAT_W2RU ? &par->rel : code == PLAT_W2KU ? &par->abs : &par->mac;
    if (*slot) {
        free(norm); /* the first one of a kind wins */
    } else {
        *slot = norm;
    }
out:
    free(data);
    return rc;
}

/* Checks every allocated block of the BAT lies before the footer. */
static int
check_bat(h2k_ctx *ctx, const hk_src *src, uint64_t table_off, uint32_t entries,
          uint32_t block_size, uint64_t foff)
{
    uint64_t bitmap = ((uint64_t)block_size / 512u + 7u) / 8u;
    bitmap = (bitmap + 511u) & ~(uint64_t)511u;
    uint8_t *buf = malloc((size_t)BAT_CHUNK * 4u);
    if (!buf)
        return hk_error_nomem(ctx);
    int rc = 0;
    for (uint32_t i = 0; i < entries && rc == 0;) {
        uint32_t n = entries - i < BAT_CHUNK ? entries - i : BAT_CHUNK;
        if ((rc = hk_check_cancel(ctx)) < 0)
            break;
        if ((rc = hk_src_read(ctx, src, table_off + (uint64_t)i * 4u, buf, (size_t)n * 4u, "bat")) <
            0)
            break;
        for (uint32_t k = 0; k < n; k++) {
            uint32_t sec = hk_vhd_be32(buf + 4u * k);
            if (sec == 0xFFFFFFFFu)
                continue;
            uint64_t boff = (uint64_t)sec * 512u;
            if (boff > foff || bitmap + block_size > foff - boff) {
                rc = hk_error_at(ctx, H2K_ERR_FORMAT, src->path,
                                 (int64_t)(table_off + (uint64_t)(i + k) * 4u), "bat",
                                 "block %u at offset %llu runs past the footer at offset %llu: "
                                 "the file is truncated or the table is corrupt",
                                 i + k, (unsigned long long)boff, (unsigned long long)foff);
                break;
            }
        }
        i += n;
    }
    free(buf);
    return rc;
}

/* Reads the dynamic header of a dynamic or differencing disk. */
static int
probe_dynamic(h2k_ctx *ctx, const hk_src *src, const uint8_t *ft, size_t flen, uint64_t foff,
              uint64_t current_size, bool diff, h2k_disk_layer *layer)
{
    int rc;
    vhd_parent par = {0};
    uint8_t dh[DYN_LEN];

    /* the copy of the footer at offset 0 */
    uint8_t copy[FOOTER_LEN];
    if (foff < FOOTER_LEN + DYN_LEN)
        return hk_error_at(ctx, H2K_ERR_FORMAT, src->path, (int64_t)foff, "footer",
                           "dynamic VHD of %llu bytes is too small for its headers",
                           (unsigned long long)src->size);
    if ((rc = hk_src_read(ctx, src, 0, copy, FOOTER_LEN, "footer_copy")) < 0)
        return rc;
    if (memcmp(copy, "conectix", 8) != 0)
        hk_warn(ctx, DOM, "%s: the copy of the VHD footer at offset 0 is missing", src->path);
    else if (memcmp(copy, ft, flen) != 0)
        hk_warn(ctx, DOM, "%s: the copy of the VHD footer at offset 0 differs from the footer",
                src->path);

    uint64_t doff = hk_vhd_be64(ft + F_DATA_OFFSET);
    if (doff < FOOTER_LEN || doff > foff || foff - doff < DYN_LEN)
        return hk_error_at(ctx, H2K_ERR_FORMAT, src->path, (int64_t)foff + F_DATA_OFFSET,
                           "data_offset",
                           "dynamic header offset %llu is not within the file (footer at %llu)",
                           (unsigned long long)doff, (unsigned long long)foff);
    if ((rc = hk_src_read(ctx, src, doff, dh, DYN_LEN, "dynamic_header")) < 0)
        return rc;
    if (memcmp(dh, "cxsparse", 8) != 0)
        return hk_error_at(ctx, H2K_ERR_FORMAT, src->path, (int64_t)doff, "cookie",
                           "no \"cxsparse\" dynamic header at offset %llu",
                           (unsigned long long)doff);
    uint32_t stored = hk_vhd_be32(dh + D_CHECKSUM);
    uint32_t calc = hk_vhd_checksum(dh, DYN_LEN, D_CHECKSUM);
    if (stored != calc)
        return hk_error_at(ctx, H2K_ERR_FORMAT, src->path, (int64_t)doff + D_CHECKSUM, "checksum",
                           "dynamic header checksum mismatch: stored 0x%08x, computed 0x%08x",
                           stored, calc);
    uint32_t ver = hk_vhd_be32(dh + D_VERSION);
    if (ver >> 16 != 1)
        return hk_error_at(ctx, H2K_ERR_UNSUPPORTED, src->path, (int64_t)doff + D_VERSION,
                           "header_version", "unsupported dynamic header version 0x%08x", ver);

    uint32_t bs = hk_vhd_be32(dh + D_BLOCK_SIZE);
    if (bs < MIN_BLOCK || bs > MAX_BLOCK || (bs & (bs - 1)) != 0)
        return hk_error_at(ctx, H2K_ERR_FORMAT, src->path, (int64_t)doff + D_BLOCK_SIZE,
                           "block_size", "block size %u is not a power of two between %u and %u",
                           bs, MIN_BLOCK, MAX_BLOCK);
    uint32_t entries = hk_vhd_be32(dh + D_MAX_ENTRIES);
    uint64_t needed = current_size / bs + (current_size % bs != 0);
    if ((uint64_t)entries < needed)
        return hk_error_at(ctx, H2K_ERR_FORMAT, src->path, (int64_t)doff + D_MAX_ENTRIES,
                           "max_table_entries",
                           "block table of %u entries cannot map %llu bytes in blocks of %u "
                           "(needs %llu)",
                           entries, (unsigned long long)current_size, bs,
                           (unsigned long long)needed);
    uint64_t toff = hk_vhd_be64(dh + D_TABLE_OFFSET);
    uint64_t tlen = (uint64_t)entries * 4u;
    if (toff > foff || tlen > foff - toff)
        return hk_error_at(ctx, H2K_ERR_FORMAT, src->path, (int64_t)doff + D_TABLE_OFFSET,
                           "table_offset",
                           "block table (%llu bytes at offset %llu) lies beyond the footer at "
                           "offset %llu",
                           (unsigned long long)tlen, (unsigned long long)toff,
                           (unsigned long long)foff);
    if ((rc = check_bat(ctx, src, toff, entries, bs, foff)) < 0)
        return rc;
    layer->cluster_size = bs;

    if (!diff)
        return 0;

    const uint8_t *pid = dh + D_PARENT_ID;
    if (hk_vhd_guid_is_zero(pid))
        return hk_error_at(ctx, H2K_ERR_FORMAT, src->path, (int64_t)doff + D_PARENT_ID,
                           "parent_unique_id", "differencing VHD has no parent unique id");
    char g[37];
    hk_vhd_guid_to_string(pid, g);
    if (!(layer->parent_id = strdup(g)))
        return hk_error_nomem(ctx);

    char *name = NULL;
    int r = hk_vhd_utf16_to_utf8(dh + D_PARENT_NAME, D_PARENT_NAME_LEN, true, &name);
    if (r == -2)
        return hk_error_nomem(ctx);
    if (r < 0)
        return hk_error_at(ctx, H2K_ERR_FORMAT, src->path, (int64_t)doff + D_PARENT_NAME,
                           "parent_unicode_name", "parent name is not valid UTF-16BE");
    par.name = hk_vhd_winpath_normalize(name);
    free(name);
    if (!par.name) {
        rc = hk_error_nomem(ctx);
        goto out;
    }
    for (unsigned k = 0; k < N_LOCATORS; k++) {
        uint64_t eoff = doff + D_LOCATORS + (uint64_t)k * LOCATOR_LEN;
        if ((rc = read_locator(ctx, src, dh + D_LOCATORS + k * LOCATOR_LEN, eoff, foff, &par)) < 0)
            goto out;
    }
    const char *hint = par.rel ? par.rel : par.abs ? par.abs : par.mac ? par.mac : par.name;
    if (!hint || !*hint) {
        rc = hk_error_at(ctx, H2K_ERR_FORMAT, src->path, (int64_t)doff + D_LOCATORS,
                         "parent_locator",
                         "differencing VHD records neither a parent locator nor a parent name");
        goto out;
    }
    const char *hints[] = {par.rel, par.abs, par.mac, par.name};
    rc = hk_layer_set_parent(ctx, layer, hint, hints, HK_ARRAY_LEN(hints));
out:
    vhd_parent_clear(&par);
    return rc;
}

int
hk_probe_vhd(h2k_ctx *ctx, const hk_src *src, const h2k_probe_options *opts, h2k_disk_layer *layer)
{
    (void)opts;
    uint8_t ft[FOOTER_LEN];
    uint64_t foff = 0;
    size_t flen = 0;
    int rc = read_footer(ctx, src, ft, &foff, &flen);
    if (rc < 0)
        return rc;

    uint32_t stored = hk_vhd_be32(ft + F_CHECKSUM);
    uint32_t calc = hk_vhd_checksum(ft, FOOTER_LEN, F_CHECKSUM);
    if (stored != calc)
        return hk_error_at(ctx, H2K_ERR_FORMAT, src->path, (int64_t)foff + F_CHECKSUM, "checksum",
                           "VHD footer checksum mismatch: stored 0x%08x, computed 0x%08x", stored,
                           calc);
    uint32_t ver = hk_vhd_be32(ft + F_VERSION);
    if (ver >> 16 != 1)
        return hk_error_at(ctx, H2K_ERR_UNSUPPORTED, src->path, (int64_t)foff + F_VERSION,
                           "file_format_version", "unsupported VHD format version 0x%08x", ver);
    uint64_t cur = hk_vhd_be64(ft + F_CURRENT_SIZE);
    if (cur > HK_MAX_VIRTUAL_SIZE || cur % 512u != 0)
        return hk_error_at(ctx, H2K_ERR_FORMAT, src->path, (int64_t)foff + F_CURRENT_SIZE,
                           "current_size",
                           "current size %llu is not a multiple of 512 up to %llu bytes",
                           (unsigned long long)cur, (unsigned long long)HK_MAX_VIRTUAL_SIZE);
    uint32_t geo = hk_vhd_be32(ft + F_GEOMETRY);
    uint64_t chs = (uint64_t)(geo >> 16) * ((geo >> 8) & 0xFF) * (geo & 0xFF) * 512u;
    if (chs != cur)
        hk_debug(ctx, DOM, "%s: VHD geometry %u/%u/%u gives %llu bytes, current size %llu",
                 src->path, geo >> 16, (geo >> 8) & 0xFF, geo & 0xFF, (unsigned long long)chs,
                 (unsigned long long)cur);
    if (ft[F_SAVED_STATE])
        hk_warn(ctx, DOM, "%s: the VHD is marked as holding a saved VM state", src->path);

    uint32_t type = hk_vhd_be32(ft + F_DISK_TYPE);
    const char *sub;
    switch (type) {
    case TYPE_FIXED:
        sub = "fixed";
        if (foff < cur)
            return hk_error_at(ctx, H2K_ERR_FORMAT, src->path, (int64_t)foff + F_CURRENT_SIZE,
                               "current_size",
                               "fixed VHD declares %llu bytes of data but the footer is at "
                               "offset %llu: the file is truncated",
                               (unsigned long long)cur, (unsigned long long)foff);
        break;
    case TYPE_DYNAMIC:
        sub = "dynamic";
        break;
    case TYPE_DIFF:
        sub = "differencing";
        break;
    default:
        return hk_error_at(ctx, H2K_ERR_FORMAT, src->path, (int64_t)foff + F_DISK_TYPE, "disk_type",
                           "disk type %u is not fixed (2), dynamic (3) or differencing (4)", type);
    }
    char id[37];
    hk_vhd_guid_to_string(ft + F_UNIQUE_ID, id);
    if (!(layer->subformat = strdup(sub)) || !(layer->id = strdup(id)))
        return hk_error_nomem(ctx);
    layer->virtual_size = cur;
    if (type != TYPE_FIXED &&
        (rc = probe_dynamic(ctx, src, ft, flen, foff, cur, type == TYPE_DIFF, layer)) < 0)
        return rc;
    hk_debug(ctx, DOM, "%s: VHD %s, %llu bytes, creator %.4s", src->path, sub,
             (unsigned long long)cur, (const char *)ft + F_CREATOR_APP);
    return hk_layer_add_extent(ctx, layer, layer->path, type == TYPE_FIXED ? "FLAT" : "SPARSE",
                               "RW", cur / 512u, src->base, hk_src_file_size(src));
}
