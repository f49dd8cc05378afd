/*
 * VHDX prober, written from Microsoft's [MS-VHDX] specification.
 *
 * Layout: the file type identifier ("vhdxfile") at 0, two 4 KiB headers at
 * 64 KiB and 128 KiB (CRC-32C, the valid one with the higher sequence number
 * is current), two copies of the 64 KiB region table at 192 KiB and 256 KiB
 * locating the block allocation table (BAT) and the metadata region.  The
 * metadata region starts with a table of items: file parameters, virtual
 * disk size, sector sizes, page 83 data and, for differencing disks, the
 * parent locator (UTF-16LE key/value pairs).  Every field is little endian.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "probe_internal.h"
#include "vhd_util.h"

#define KiB 1024u
#define MiB (1024u * 1024u)

#define HEADER1_OFF (64u * KiB)
#define HEADER2_OFF (128u * KiB)
#define HEADER_LEN (4u * KiB)
#define REGION1_OFF (192u * KiB)
#define REGION2_OFF (256u * KiB)
#define REGION_LEN (64u * KiB)
#define META_TABLE_LEN (64u * KiB)
#define MAX_ENTRIES 2047u
#define MAX_META_ITEM MiB
#define MAX_LOG_SCAN (64u * MiB)
#define BAT_CHUNK 8192u

/* header fields */
#define H_CHECKSUM 4
#define H_SEQUENCE 8
#define H_DATA_WRITE_GUID 32
#define H_LOG_GUID 48
#define H_LOG_VERSION 64
#define H_VERSION 66
#define H_LOG_LENGTH 68
#define H_LOG_OFFSET 72

#define GUID_BAT "2dc27766-f623-4200-9d64-115e9bfd4a08"
#define GUID_METADATA "8b7ca206-4790-4b9a-b8fe-575f050f886e"
#define GUID_FILE_PARAMS "caa16737-fa36-4d43-b3b6-33f0aa44e76b"
#define GUID_VDISK_SIZE "2fa54224-cd1b-4876-b211-5dbed83bf4b8"
#define GUID_PAGE83 "beca12ab-b2e6-4523-93ef-c309e000c746"
#define GUID_LOGICAL_SECTOR "8141bf1d-a96f-4709-ba47-f233a8faab5f"
#define GUID_PHYSICAL_SECTOR "cda348c7-445d-4471-9cc9-e9885251c556"
#define GUID_PARENT_LOCATOR "a8d35f2b-b30b-454d-abf7-d3d84834ab0c"
#define GUID_LOCATOR_TYPE_VHDX "b04aefb7-d19e-4a81-b789-25b8e9445913"

#define PAYLOAD_NOT_PRESENT 0
#define PAYLOAD_UNMAPPED 3
#define PAYLOAD_FULLY_PRESENT 6
#define PAYLOAD_PARTIALLY_PRESENT 7
#define SB_PRESENT 6

#define DOM "disk"

typedef struct vhdx_state {
    uint64_t bat_off, bat_len;
    uint64_t meta_off, meta_len;
    /* metadata items: offset inside the metadata region and length, 0 = absent */
    uint32_t item_off[6], item_len[6];
    uint32_t block_size;
    bool leave_allocated, has_parent;
    uint64_t vsize;
    uint32_t logical, physical;
} vhdx_state;

enum {
    IT_FILE_PARAMS,
    IT_VDISK_SIZE,
    IT_PAGE83,
    IT_LOGICAL,
    IT_PHYSICAL,
    IT_PARENT,
    IT_N
};

static const char *const item_guids[IT_N] = {GUID_FILE_PARAMS,     GUID_VDISK_SIZE,
                                             GUID_PAGE83,          GUID_LOGICAL_SECTOR,
                                             GUID_PHYSICAL_SECTOR, GUID_PARENT_LOCATOR};
static const char *const item_names[IT_N] = {"file_parameters",      "virtual_disk_size",
                                             "page83_data",          "logical_sector_size",
                                             "physical_sector_size", "parent_locator"};

/* CRC-32C of @len bytes with the 4-byte checksum field at @csum_off taken as zero. */
static uint32_t
crc_with_hole(const uint8_t *buf, size_t len, size_t csum_off)
{
    static const uint8_t zero[4] = {0};
    uint32_t c = hk_vhdx_crc32c(0, buf, csum_off);
    c = hk_vhdx_crc32c(c, zero, 4);
    return hk_vhdx_crc32c(c, buf + csum_off + 4, len - csum_off - 4);
}

/* 1: valid, 0: bad signature, -1: bad checksum */
static int
header_valid(const uint8_t *h)
{
    if (memcmp(h, "head", 4) != 0)
        return 0;
    return crc_with_hole(h, HEADER_LEN, H_CHECKSUM) == hk_vhd_le32(h + H_CHECKSUM) ? 1 : -1;
}

/* Looks for a log entry belonging to the current log; an entry means the log
 * must be replayed before the data can be trusted. */
static int
check_log(h2k_ctx *ctx, const hk_src *src, const uint8_t *hdr, uint64_t hoff)
{
    const uint8_t *guid = hdr + H_LOG_GUID;
    if (hk_vhd_guid_is_zero(guid))
        return 0;
    uint32_t llen = hk_vhd_le32(hdr + H_LOG_LENGTH);
    uint64_t loff = hk_vhd_le64(hdr + H_LOG_OFFSET);
    if (loff < MiB || loff % MiB || llen % MiB || loff > src->size || llen > src->size - loff)
        return hk_error_at(ctx, H2K_ERR_FORMAT, src->path, (int64_t)(hoff + H_LOG_OFFSET),
                           "log_offset",
                           "log (%u bytes at offset %llu) is misaligned or lies beyond the end "
                           "of the file",
                           llen, (unsigned long long)loff);
    if (llen > MAX_LOG_SCAN)
        return hk_error_at(ctx, H2K_ERR_UNSUPPORTED, src->path, (int64_t)(hoff + H_LOG_GUID),
                           "log_guid",
                           "VHDX has an unreplayed log: open it once in Hyper-V or qemu-img "
                           "check -r all");
    uint8_t sec[4096];
    for (uint64_t o = 0; o < llen; o += sizeof(sec)) {
        int rc = hk_src_read(ctx, src, loff + o, sec, sizeof(sec), "log");
        if (rc < 0)
            return rc;
        if (memcmp(sec, "loge", 4) == 0 && memcmp(sec + 32, guid, 16) == 0)
            return hk_error_at(ctx, H2K_ERR_UNSUPPORTED, src->path, (int64_t)(hoff + H_LOG_GUID),
                               "log_guid",
                               "VHDX has an unreplayed log: open it once in Hyper-V or "
                               "qemu-img check -r all");
    }
    hk_debug(ctx, DOM, "%s: VHDX log GUID set but the log holds no entry", src->path);
    return 0;
}

/* Reads both headers and copies the current one into @out. */
static int
read_headers(h2k_ctx *ctx, const hk_src *src, uint8_t out[HEADER_LEN], uint64_t *hoff)
{
    uint8_t *h1 = malloc(2 * HEADER_LEN);
    if (!h1)
        return hk_error_nomem(ctx);
    uint8_t *h2 = h1 + HEADER_LEN;
    int rc;
    if ((rc = hk_src_read(ctx, src, HEADER1_OFF, h1, HEADER_LEN, "header")) < 0 ||
        (rc = hk_src_read(ctx, src, HEADER2_OFF, h2, HEADER_LEN, "header")) < 0)
        goto out;
    int v1 = header_valid(h1), v2 = header_valid(h2);
    if (v1 != 1 && v2 != 1) {
        bool crc = v1 == -1 || v2 == -1;
        rc = hk_error_at(ctx, H2K_ERR_FORMAT, src->path,
                         v1 == -1 || !crc ? HEADER1_OFF + (crc ? H_CHECKSUM : 0)
                                          : HEADER2_OFF + H_CHECKSUM,
                         crc ? "checksum" : "signature",
                         "both VHDX headers (at 64 KiB and 128 KiB) are invalid: %s",
                         crc ? "CRC-32C mismatch" : "no \"head\" signature");
        goto out;
    }
    bool use2;
    if (v1 == 1 && v2 == 1)
        use2 = hk_vhd_le64(h2 + H_SEQUENCE) > hk_vhd_le64(h1 + H_SEQUENCE);
    else
        use2 = v2 == 1;
    if (v1 != 1 || v2 != 1)
        hk_warn(ctx, DOM, "%s: VHDX header at %u KiB is invalid; using the other one", src->path,
                v1 != 1 ? 64u : 128u);
    memcpy(out, use2 ? h2 : h1, HEADER_LEN);
    *hoff = use2 ? HEADER2_OFF : HEADER1_OFF;
out:
    free(h1);
    return rc;
}

/* Validates a region table copy; returns NULL when valid, else a reason. */
static const char *
region_table_problem(const uint8_t *r)
{
    if (memcmp(r, "regi", 4) != 0)
        return "no \"regi\" signature";
    if (crc_with_hole(r, REGION_LEN, 4) != hk_vhd_le32(r + 4))
        return "CRC-32C mismatch";
    if (hk_vhd_le32(r + 8) > MAX_ENTRIES)
        return "more than 2047 entries";
    return NULL;
}

static int
read_regions(h2k_ctx *ctx, const hk_src *src, vhdx_state *st)
{
    uint8_t *r = malloc(REGION_LEN);
    if (!r)
        return hk_error_nomem(ctx);
    int rc;
    uint64_t roff = REGION1_OFF;
    if ((rc = hk_src_read(ctx, src, REGION1_OFF, r, REGION_LEN, "region_table")) < 0)
        goto out;
    const char *why = region_table_problem(r);
    if (why) {
        const char *why2 = NULL;
        if ((rc = hk_src_read(ctx, src, REGION2_OFF, r, REGION_LEN, "region_table")) < 0)
            goto out;
        why2 = region_table_problem(r);
        if (why2) {
            const char *field = strstr(why, "CRC")       ? "checksum"
                                : strstr(why, "entries") ? "entry_count"
                                                         : "signature";
            rc = hk_error_at(ctx, H2K_ERR_FORMAT, src->path, REGION1_OFF, field,
                             "both VHDX region tables are invalid: %s at 192 KiB, %s at 256 KiB",
                             why, why2);
            goto out;
        }
        hk_warn(ctx, DOM, "%s: VHDX region table at 192 KiB is invalid (%s); using the copy",
                src->path, why);
        roff = REGION2_OFF;
    }
    uint32_t n = hk_vhd_le32(r + 8);
    bool seen_bat = false, seen_meta = false;
    uint64_t ranges[2][2]; /* BAT and metadata: duplicates are refused */
    uint32_t n_ranges = 0;
    for (uint32_t i = 0; i < n; i++) {
        const uint8_t *e = r + 16 + (size_t)i * 32;
        uint64_t eoff = roff + 16 + (uint64_t)i * 32;
        char g[37];
        hk_guid_to_string(e, g);
        uint64_t off = hk_vhd_le64(e + 16);
        uint32_t len = hk_vhd_le32(e + 24);
        bool required = hk_vhd_le32(e + 28) & 1;
        bool is_bat = strcmp(g, GUID_BAT) == 0, is_meta = strcmp(g, GUID_METADATA) == 0;
        if (!is_bat && !is_meta) {
            if (required) {
                rc = hk_error_at(ctx, H2K_ERR_UNSUPPORTED, src->path, (int64_t)eoff, "region",
                                 "VHDX requires an unknown region %s", g);
                goto out;
            }
            continue;
        }
        if ((is_bat && seen_bat) || (is_meta && seen_meta)) {
            rc = hk_error_at(ctx, H2K_ERR_FORMAT, src->path, (int64_t)eoff, "region",
                             "region %s appears twice", is_bat ? "BAT" : "metadata");
            goto out;
        }
        if (off < MiB || off % MiB || len == 0 || len % MiB || off > src->size ||
            len > src->size - off) {
            rc = hk_error_at(ctx, H2K_ERR_FORMAT, src->path, (int64_t)eoff + 16,
                             is_bat ? "bat_region" : "metadata_region",
                             "%s region (%u bytes at offset %llu) is misaligned or lies beyond "
                             "the end of the file (%llu bytes)",
                             is_bat ? "BAT" : "metadata", len, (unsigned long long)off,
                             (unsigned long long)src->size);
            goto out;
        }
        for (uint32_t k = 0; k < n_ranges; k++) {
            if (off < ranges[k][0] + ranges[k][1] && ranges[k][0] < off + len) {
                rc = hk_error_at(ctx, H2K_ERR_FORMAT, src->path, (int64_t)eoff + 16, "region",
                                 "VHDX regions overlap");
                goto out;
            }
        }
        ranges[n_ranges][0] = off;
        ranges[n_ranges][1] = len;
        n_ranges++;
        if (is_bat) {
            seen_bat = true;
            st->bat_off = off;
            st->bat_len = len;
        } else {
            seen_meta = true;
            st->meta_off = off;
            st->meta_len = len;
        }
    }
    if (!seen_bat || !seen_meta)
        rc = hk_error_at(ctx, H2K_ERR_FORMAT, src->path, (int64_t)roff, "region_table",
                         "VHDX region table lacks the %s region", seen_bat ? "metadata" : "BAT");
out:
    free(r);
    return rc;
}

static int
read_metadata_table(h2k_ctx *ctx, const hk_src *src, vhdx_state *st)
{
    if (st->meta_len < META_TABLE_LEN)
        return hk_error_at(ctx, H2K_ERR_FORMAT, src->path, (int64_t)st->meta_off, "metadata_region",
                           "metadata region is too small for its table");
    uint8_t *t = malloc(META_TABLE_LEN);
    if (!t)
        return hk_error_nomem(ctx);
    int rc;
    if ((rc = hk_src_read(ctx, src, st->meta_off, t, META_TABLE_LEN, "metadata_table")) < 0)
        goto out;
    if (memcmp(t, "metadata", 8) != 0) {
        rc = hk_error_at(ctx, H2K_ERR_FORMAT, src->path, (int64_t)st->meta_off, "signature",
                         "no \"metadata\" signature at the start of the metadata region");
        goto out;
    }
    uint16_t n = hk_vhd_le16(t + 10);
    if (n > MAX_ENTRIES) {
        rc = hk_error_at(ctx, H2K_ERR_FORMAT, src->path, (int64_t)st->meta_off + 10, "entry_count",
                         "metadata table has %u entries (at most %u)", n, MAX_ENTRIES);
        goto out;
    }
    for (uint32_t i = 0; i < n; i++) {
        const uint8_t *e = t + 32 + (size_t)i * 32;
        uint64_t eoff = st->meta_off + 32 + (uint64_t)i * 32;
        char g[37];
        hk_guid_to_string(e, g);
        uint32_t off = hk_vhd_le32(e + 16), len = hk_vhd_le32(e + 20);
        uint32_t flags = hk_vhd_le32(e + 24);
        bool is_user = flags & 1, required = flags & 4;
        int which = -1;
        for (int k = 0; k < IT_N && !is_user; k++)
            if (strcmp(g, item_guids[k]) == 0)
                which = k;
        if (which < 0) {
            if (required) {
                rc = hk_error_at(ctx, H2K_ERR_UNSUPPORTED, src->path, (int64_t)eoff, "metadata",
                                 "VHDX requires an unknown metadata item %s", g);
                goto out;
            }
            continue;
        }
        if (st->item_len[which]) {
            rc = hk_error_at(ctx, H2K_ERR_FORMAT, src->path, (int64_t)eoff, item_names[which],
                             "metadata item %s appears twice", item_names[which]);
            goto out;
        }
        if (len == 0)
            continue;
        if (len > MAX_META_ITEM || off < META_TABLE_LEN || off > st->meta_len ||
            len > st->meta_len - off) {
            rc = hk_error_at(ctx, H2K_ERR_FORMAT, src->path, (int64_t)eoff + 16, item_names[which],
                             "metadata item %s (%u bytes at offset %u) lies outside the "
                             "metadata region (%llu bytes)",
                             item_names[which], len, off, (unsigned long long)st->meta_len);
            goto out;
        }
        st->item_off[which] = off;
        st->item_len[which] = len;
    }
out:
    free(t);
    return rc;
}

/* Reads metadata item @which into @buf of @want bytes; the item must be that long. */
static int
read_item(h2k_ctx *ctx, const hk_src *src, const vhdx_state *st, int which, void *buf, size_t want)
{
    if (st->item_len[which] == 0)
        return hk_error_at(ctx, H2K_ERR_FORMAT, src->path, (int64_t)st->meta_off, item_names[which],
                           "required metadata item %s is missing", item_names[which]);
    if (st->item_len[which] < want)
        return hk_error_at(ctx, H2K_ERR_FORMAT, src->path,
                           (int64_t)(st->meta_off + st->item_off[which]), item_names[which],
                           "metadata item %s is %u bytes, needs %zu", item_names[which],
                           st->item_len[which], want);
    return hk_src_read(ctx, src, st->meta_off + st->item_off[which], buf, want, item_names[which]);
}

static int
read_sizes(h2k_ctx *ctx, const hk_src *src, vhdx_state *st)
{
    uint8_t b[8];
    int rc;
    uint64_t base = st->meta_off;
    if ((rc = read_item(ctx, src, st, IT_FILE_PARAMS, b, 8)) < 0)
        return rc;
    st->block_size = hk_vhd_le32(b);
    st->leave_allocated = hk_vhd_le32(b + 4) & 1;
    st->has_parent = (hk_vhd_le32(b + 4) >> 1) & 1;
    uint32_t bs = st->block_size;
    if (bs < MiB || bs > 256u * MiB || (bs & (bs - 1)))
        return hk_error_at(ctx, H2K_ERR_FORMAT, src->path,
                           (int64_t)(base + st->item_off[IT_FILE_PARAMS]), "block_size",
                           "block size %u is not a power of two between 1 MiB and 256 MiB", bs);
    if ((rc = read_item(ctx, src, st, IT_LOGICAL, b, 4)) < 0)
        return rc;
    st->logical = hk_vhd_le32(b);
    if (st->logical != 512 && st->logical != 4096)
        return hk_error_at(ctx, H2K_ERR_FORMAT, src->path,
                           (int64_t)(base + st->item_off[IT_LOGICAL]), "logical_sector_size",
                           "logical sector size %u is neither 512 nor 4096", st->logical);
    if (st->item_len[IT_PHYSICAL]) {
        if ((rc = read_item(ctx, src, st, IT_PHYSICAL, b, 4)) < 0)
            return rc;
        st->physical = hk_vhd_le32(b);
        if (st->physical != 512 && st->physical != 4096)
            return hk_error_at(ctx, H2K_ERR_FORMAT, src->path,
                               (int64_t)(base + st->item_off[IT_PHYSICAL]), "physical_sector_size",
                               "physical sector size %u is neither 512 nor 4096", st->physical);
    }
    if ((rc = read_item(ctx, src, st, IT_VDISK_SIZE, b, 8)) < 0)
        return rc;
    st->vsize = hk_vhd_le64(b);
    if (st->vsize > HK_MAX_VIRTUAL_SIZE || st->vsize % st->logical)
        return hk_error_at(ctx, H2K_ERR_FORMAT, src->path,
                           (int64_t)(base + st->item_off[IT_VDISK_SIZE]), "virtual_disk_size",
                           "virtual disk size %llu is not a multiple of %u up to %llu bytes",
                           (unsigned long long)st->vsize, st->logical,
                           (unsigned long long)HK_MAX_VIRTUAL_SIZE);
    if (st->has_parent && st->item_len[IT_PARENT] == 0)
        return hk_error_at(ctx, H2K_ERR_FORMAT, src->path, (int64_t)st->meta_off, "parent_locator",
                           "differencing VHDX has no parent locator");
    return 0;
}

/* Checks the BAT is large enough and every present block lies in the file. */
static int
check_bat(h2k_ctx *ctx, const hk_src *src, const vhdx_state *st)
{
    uint64_t chunk = ((uint64_t)1 << 23) * st->logical / st->block_size;
    uint64_t blocks = st->vsize / st->block_size + (st->vsize % st->block_size != 0);
    uint64_t total;
    if (st->has_parent)
        total = (blocks / chunk + (blocks % chunk != 0)) * (chunk + 1);
    else
        total = blocks ? blocks + (blocks - 1) / chunk : 0;
    if (total > st->bat_len / 8)
        return hk_error_at(ctx, H2K_ERR_FORMAT, src->path, (int64_t)st->bat_off, "bat_region",
                           "BAT region of %llu bytes cannot hold the %llu entries needed for "
                           "%llu bytes",
                           (unsigned long long)st->bat_len, (unsigned long long)total,
                           (unsigned long long)st->vsize);
    uint8_t *buf = malloc((size_t)BAT_CHUNK * 8u);
    if (!buf)
        return hk_error_nomem(ctx);
    int rc = 0;
    for (uint64_t i = 0; i < total && rc == 0;) {
        uint64_t n = total - i < BAT_CHUNK ? total - i : BAT_CHUNK;
        if ((rc = hk_check_cancel(ctx)) < 0)
            break;
        if ((rc = hk_src_read(ctx, src, st->bat_off + i * 8u, buf, (size_t)n * 8u, "bat")) < 0)
            break;
        for (uint64_t k = 0; k < n; k++) {
            uint64_t idx = i + k;
            uint64_t v = hk_vhd_le64(buf + 8u * k);
            unsigned state = (unsigned)(v & 7u);
            uint64_t boff = (v >> 20) * MiB;
            bool sb = (idx + 1) % (chunk + 1) == 0;
            uint64_t need;
            if (sb) {
                if (!st->has_parent || state != SB_PRESENT)
                    continue;
                need = MiB;
            } else if (state <= PAYLOAD_UNMAPPED) {
                continue;
            } else if (state == PAYLOAD_FULLY_PRESENT ||
                       (state == PAYLOAD_PARTIALLY_PRESENT && st->has_parent)) {
                need = st->block_size;
            } else {
                rc = hk_error_at(ctx, H2K_ERR_FORMAT, src->path, (int64_t)(st->bat_off + idx * 8u),
                                 "bat", "BAT entry %llu has the invalid state %u",
                                 (unsigned long long)idx, state);
                break;
            }
            if (boff < MiB || boff > src->size || need > src->size - boff) {
                rc = hk_error_at(ctx, H2K_ERR_FORMAT, src->path, (int64_t)(st->bat_off + idx * 8u),
                                 "bat",
                                 "BAT entry %llu points to offset %llu, outside the file (%llu "
                                 "bytes): the file is truncated or the table is corrupt",
                                 (unsigned long long)idx, (unsigned long long)boff,
                                 (unsigned long long)src->size);
                break;
            }
        }
        i += n;
    }
    free(buf);
    return rc;
}

/* Parent locator: reads the key/value pairs we use. */
static int
read_parent_locator(h2k_ctx *ctx, const hk_src *src, const vhdx_state *st, h2k_disk_layer *layer)
{
    uint32_t len = st->item_len[IT_PARENT];
    uint64_t ioff = st->meta_off + st->item_off[IT_PARENT];
    enum {
        K_LINKAGE,
        K_RELATIVE,
        K_ABSOLUTE,
        K_VOLUME,
        K_N
    };
    static const char *const keys[K_N] = {"parent_linkage", "relative_path", "absolute_win32_path",
                                          "volume_path"};
    char *vals[K_N] = {NULL};
    int rc;
    if (len < 20)
        return hk_error_at(ctx, H2K_ERR_FORMAT, src->path, (int64_t)ioff, "parent_locator",
                           "parent locator of %u bytes is too short", len);
    uint8_t *b = malloc(len);
    if (!b)
        return hk_error_nomem(ctx);
    if ((rc = hk_src_read(ctx, src, ioff, b, len, "parent_locator")) < 0)
        goto out;
    char g[37];
    hk_guid_to_string(b, g);
    if (strcmp(g, GUID_LOCATOR_TYPE_VHDX) != 0) {
        rc = hk_error_at(ctx, H2K_ERR_UNSUPPORTED, src->path, (int64_t)ioff, "parent_locator",
                         "unknown parent locator type %s", g);
        goto out;
    }
    uint32_t count = hk_vhd_le16(b + 18);
    if ((uint64_t)count * 12u > len - 20) {
        rc = hk_error_at(ctx, H2K_ERR_FORMAT, src->path, (int64_t)ioff + 18, "parent_locator",
                         "parent locator claims %u entries in %u bytes", count, len);
        goto out;
    }
    for (uint32_t i = 0; i < count; i++) {
        const uint8_t *e = b + 20 + (size_t)i * 12;
        uint32_t ko = hk_vhd_le32(e), vo = hk_vhd_le32(e + 4);
        uint32_t kl = hk_vhd_le16(e + 8), vl = hk_vhd_le16(e + 10);
        if (ko > len || kl > len - ko || vo > len || vl > len - vo || kl == 0) {
            rc = hk_error_at(ctx, H2K_ERR_FORMAT, src->path, (int64_t)(ioff + 20 + i * 12u),
                             "parent_locator",
                             "parent locator entry %u lies outside the item (%u bytes)", i, len);
            goto out;
        }
        char *key = NULL, *val = NULL;
        int r = hk_vhd_utf16_to_utf8(b + ko, kl, false, &key);
        if (r == 0)
            r = hk_vhd_utf16_to_utf8(b + vo, vl, false, &val);
        if (r < 0) {
            free(key);
            rc = r == -2 ? hk_error_nomem(ctx)
                         : hk_error_at(ctx, H2K_ERR_FORMAT, src->path,
                                       (int64_t)(ioff + 20 + i * 12u), "parent_locator",
                                       "parent locator entry %u is not valid UTF-16LE", i);
            goto out;
        }
        int which = -1;
        for (int k = 0; k < K_N; k++)
            if (strcmp(key, keys[k]) == 0)
                which = k;
        free(key);
        if (which < 0 || vals[which] || !*val) {
            free(val);
            continue;
        }
        vals[which] = val;
    }
    if (!vals[K_LINKAGE]) {
        rc = hk_error_at(ctx, H2K_ERR_FORMAT, src->path, (int64_t)ioff, "parent_linkage",
                         "differencing VHDX parent locator has no parent_linkage");
        goto out;
    }
    {
        /* "{xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx}" -> lowercase without braces */
        char *v = vals[K_LINKAGE];
        size_t l = strlen(v);
        if (l >= 2 && v[0] == '{' && v[l - 1] == '}') {
            memmove(v, v + 1, l - 2);
            v[l - 2] = '\0';
            l -= 2;
        }
        bool ok = l == 36;
        for (size_t i = 0; ok && i < l; i++) {
            char c = v[i];
            if (i == 8 || i == 13 || i == 18 || i == 23)
                ok = c == '-';
            else if (c >= 'A' && c <= 'F')
                v[i] = (char)(c - 'A' + 'a');
            else
                ok = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
        }
        if (!ok) {
            rc = hk_error_at(ctx, H2K_ERR_FORMAT, src->path, (int64_t)ioff, "parent_linkage",
                             "parent_linkage \"%s\" is not a GUID", v);
            goto out;
        }
        layer->parent_id = v;
        vals[K_LINKAGE] = NULL;
    }
    for (int k = K_RELATIVE; k < K_N; k++) {
        if (!vals[k])
            continue;
        char *n = hk_vhd_winpath_normalize(vals[k]);
        free(vals[k]);
        vals[k] = n;
        if (!n) {
            rc = hk_error_nomem(ctx);
            goto out;
        }
    }
    const char *hint = vals[K_RELATIVE]   ? vals[K_RELATIVE]
                       : vals[K_ABSOLUTE] ? vals[K_ABSOLUTE]
                                          : vals[K_VOLUME];
    if (!hint || !*hint) {
        rc = hk_error_at(ctx, H2K_ERR_FORMAT, src->path, (int64_t)ioff, "parent_locator",
                         "differencing VHDX records no parent path");
        goto out;
    }
    const char *hints[] = {vals[K_RELATIVE], vals[K_ABSOLUTE], vals[K_VOLUME]};
    rc = hk_layer_set_parent(ctx, layer, hint, hints, HK_ARRAY_LEN(hints));
out:
    for (int k = 0; k < K_N; k++)
        free(vals[k]);
    free(b);
    return rc;
}

int
hk_probe_vhdx(h2k_ctx *ctx, const hk_src *src, const h2k_probe_options *opts, h2k_disk_layer *layer)
{
    (void)opts;
    int rc;
    uint8_t sig[8];
    if ((rc = hk_src_read(ctx, src, 0, sig, sizeof(sig), "signature")) < 0)
        return rc;
    if (memcmp(sig, "vhdxfile", 8) != 0)
        return hk_error_at(ctx, H2K_ERR_FORMAT, src->path, 0, "signature",
                           "not a VHDX: no \"vhdxfile\" identifier at offset 0");
    uint8_t *hdr = malloc(HEADER_LEN);
    if (!hdr)
        return hk_error_nomem(ctx);
    vhdx_state st;
    memset(&st, 0, sizeof(st));
    uint64_t hoff = 0;
    if ((rc = read_headers(ctx, src, hdr, &hoff)) < 0)
        goto out;
    uint16_t ver = hk_vhd_le16(hdr + H_VERSION), lver = hk_vhd_le16(hdr + H_LOG_VERSION);
    if (ver != 1 || lver != 0) {
        rc = hk_error_at(ctx, H2K_ERR_UNSUPPORTED, src->path,
                         (int64_t)hoff + (ver != 1 ? H_VERSION : H_LOG_VERSION),
                         ver != 1 ? "version" : "log_version",
                         "unsupported VHDX version %u (log version %u)", ver, lver);
        goto out;
    }
    if ((rc = check_log(ctx, src, hdr, hoff)) < 0 || (rc = read_regions(ctx, src, &st)) < 0 ||
        (rc = read_metadata_table(ctx, src, &st)) < 0 || (rc = read_sizes(ctx, src, &st)) < 0 ||
        (rc = check_bat(ctx, src, &st)) < 0)
        goto out;
    if (st.item_len[IT_PAGE83] == 0)
        hk_debug(ctx, DOM, "%s: VHDX has no page 83 data item", src->path);

    char id[37];
    hk_guid_to_string(hdr + H_DATA_WRITE_GUID, id);
    const char *sub = st.has_parent ? "differencing" : st.leave_allocated ? "fixed" : "dynamic";
    if (!(layer->subformat = strdup(sub)) || !(layer->id = strdup(id))) {
        rc = hk_error_nomem(ctx);
        goto out;
    }
    layer->virtual_size = st.vsize;
    layer->cluster_size = st.block_size;
    if (st.has_parent && (rc = read_parent_locator(ctx, src, &st, layer)) < 0)
        goto out;
    hk_debug(ctx, DOM, "%s: VHDX %s, %llu bytes, block %u, sectors %u/%u", src->path, sub,
             (unsigned long long)st.vsize, st.block_size, st.logical, st.physical);
    rc = hk_layer_add_extent(ctx, layer, layer->path, "SPARSE", "RW", st.vsize / 512u, src->base,
                             hk_src_file_size(src));
out:
    free(hdr);
    return rc;
}
