/*
 * qcow2 prober, written from qemu's docs/interop/qcow2.txt.
 *
 * The header (big endian) is 72 bytes in version 2 and header_length bytes in
 * version 3; header extensions follow it up to the backing file name or the
 * end of the first cluster.  We validate the header, walk the extensions and
 * check the L1, refcount and snapshot tables lie inside the file.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "probe_internal.h"
#include "vhd_util.h"

#define H_MAGIC 0
#define H_VERSION 4
#define H_BACKING_OFFSET 8
#define H_BACKING_SIZE 16
#define H_CLUSTER_BITS 20
#define H_SIZE 24
#define H_CRYPT 32
#define H_L1_SIZE 36
#define H_L1_OFFSET 40
#define H_REFCOUNT_OFFSET 48
#define H_REFCOUNT_CLUSTERS 56
#define H_NB_SNAPSHOTS 60
#define H_SNAPSHOTS_OFFSET 64
#define H_INCOMPAT 72
#define H_COMPAT 80
#define H_AUTOCLEAR 88
#define H_REFCOUNT_ORDER 96
#define H_HEADER_LENGTH 100
#define H_COMPRESSION_TYPE 104

#define V2_HEADER_LEN 72u
#define V3_HEADER_LEN 104u

#define INCOMPAT_DIRTY (1u << 0)
#define INCOMPAT_CORRUPT (1u << 1)
#define INCOMPAT_DATA_FILE (1u << 2)
#define INCOMPAT_COMPRESSION (1u << 3)
#define INCOMPAT_EXTL2 (1u << 4)
#define INCOMPAT_KNOWN 0x1Fu

#define EXT_END 0x00000000u
#define EXT_BACKING_FORMAT 0xE2792ACAu
#define EXT_FEATURE_TABLE 0x6803F857u
#define EXT_BITMAPS 0x23852875u
#define EXT_CRYPTO 0x0537BE77u
#define EXT_DATA_FILE 0x44415441u

#define MAX_BACKING_NAME 1023u
#define MAX_SNAPSHOTS 65536u
#define MAX_L1_BYTES (32u * 1024u * 1024u)

#define DOM "disk"

/* Name of incompatible feature @bit from the feature name table, or NULL. */
static const char *
feature_name(const uint8_t *table, size_t len, unsigned bit, char out[47])
{
    for (size_t o = 0; table && o + 48 <= len; o += 48) {
        if (table[o] == 0 && table[o + 1] == bit) {
            size_t k = 0;
            for (; k < 46 && table[o + 2 + k]; k++) {
                char c = (char)table[o + 2 + k];
                out[k] = c >= 0x20 && c < 0x7F ? c : '?';
            }
            out[k] = '\0';
            return out;
        }
    }
    return NULL;
}

/* Walks the header extensions in @h[start, end). */
static int
walk_extensions(h2k_ctx *ctx, const hk_src *src, const uint8_t *h, uint32_t start, uint32_t end,
                const uint8_t **ftable, size_t *ftable_len)
{
    uint32_t off = start;
    while (off < end) {
        if (end - off < 8)
            return hk_error_at(ctx, H2K_ERR_FORMAT, src->path, off, "header_extension",
                               "header extension at offset %u is cut off at %u", off, end);
        uint32_t type = hk_vhd_be32(h + off), len = hk_vhd_be32(h + off + 4);
        if (type == EXT_END)
            return 0;
        uint64_t padded = ((uint64_t)len + 7u) & ~(uint64_t)7u;
        if (padded > end - off - 8)
            return hk_error_at(ctx, H2K_ERR_FORMAT, src->path, off + 4, "header_extension",
                               "header extension 0x%08x of %u bytes at offset %u runs past "
                               "offset %u",
                               type, len, off, end);
        const uint8_t *d = h + off + 8;
        switch (type) {
        case EXT_BACKING_FORMAT: {
            char fmt[64];
            size_t n = len < sizeof(fmt) - 1 ? len : sizeof(fmt) - 1;
            memcpy(fmt, d, n);
            fmt[n] = '\0';
            bool ok = len < sizeof(fmt) && strlen(fmt) == len;
            for (size_t i = 0; i < n; i++) {
                if (fmt[i] <= 0x20 || fmt[i] >= 0x7F) {
                    fmt[i] = '?';
                    ok = false;
                }
            }
            if (!ok || h2k_disk_format_from_name(fmt) == H2K_FORMAT_UNKNOWN)
                return hk_error_at(ctx, H2K_ERR_FORMAT, src->path, off + 8, "backing_format",
                                   "backing format \"%s\" is not a known format", fmt);
            hk_debug(ctx, DOM, "%s: backing format %s", src->path, fmt);
            if (src->parent_format)
                *src->parent_format = h2k_disk_format_from_name(fmt);
            break;
        }
        case EXT_FEATURE_TABLE:
            *ftable = d;
            *ftable_len = len;
            break;
        case EXT_DATA_FILE:
            return hk_error_at(ctx, H2K_ERR_UNSUPPORTED, src->path, off, "external_data_file",
                               "qcow2 images with an external data file are not supported");
        case EXT_BITMAPS:
            hk_debug(ctx, DOM, "%s: qcow2 has persistent dirty bitmaps", src->path);
            break;
        case EXT_CRYPTO:
            break;
        default:
            hk_debug(ctx, DOM, "%s: ignoring qcow2 header extension 0x%08x", src->path, type);
            break;
        }
        off += 8u + (uint32_t)padded;
    }
    return 0;
}

int
hk_probe_qcow2(h2k_ctx *ctx, const hk_src *src, const h2k_probe_options *opts,
               h2k_disk_layer *layer)
{
    (void)opts;
    uint8_t fixed[V2_HEADER_LEN];
    uint8_t *h = NULL;
    int rc;
    if ((rc = hk_src_read(ctx, src, 0, fixed, sizeof(fixed), "header")) < 0)
        return rc;
    if (memcmp(fixed + H_MAGIC, "QFI\xfb", 4) != 0)
        return hk_error_at(ctx, H2K_ERR_FORMAT, src->path, 0, "magic",
                           "not a qcow2 image: no \"QFI\\xfb\" magic");
    uint32_t version = hk_vhd_be32(fixed + H_VERSION);
    if (version != 2 && version != 3)
        return hk_error_at(ctx, H2K_ERR_UNSUPPORTED, src->path, H_VERSION, "version",
                           "qcow2 version %u is not supported (2 or 3)", version);
    uint32_t cb = hk_vhd_be32(fixed + H_CLUSTER_BITS);
    if (cb < 9 || cb > 21)
        return hk_error_at(ctx, H2K_ERR_FORMAT, src->path, H_CLUSTER_BITS, "cluster_bits",
                           "cluster_bits %u is outside 9..21", cb);
    uint32_t csize = 1u << cb;
    uint64_t size = hk_vhd_be64(fixed + H_SIZE);
    if (size > HK_MAX_VIRTUAL_SIZE)
        return hk_error_at(ctx, H2K_ERR_FORMAT, src->path, H_SIZE, "size",
                           "virtual size %llu is larger than %llu bytes", (unsigned long long)size,
                           (unsigned long long)HK_MAX_VIRTUAL_SIZE);
    uint32_t crypt = hk_vhd_be32(fixed + H_CRYPT);
    if (crypt != 0)
        return hk_error_at(ctx, H2K_ERR_UNSUPPORTED, src->path, H_CRYPT, "crypt_method",
                           "encrypted qcow2 images (%s) are not supported",
                           crypt == 1   ? "AES"
                           : crypt == 2 ? "LUKS"
                                        : "unknown method");

    /* the first cluster holds the header, its extensions and the backing name */
    uint32_t area = src->size < csize ? (uint32_t)src->size : csize;
    h = calloc(1, csize);
    if (!h)
        return hk_error_nomem(ctx);
    if ((rc = hk_src_read(ctx, src, 0, h, area, "header")) < 0)
        goto out;

    uint64_t incompat = 0;
    uint32_t hlen = V2_HEADER_LEN, refcount_order = 4;
    unsigned ctype = 0;
    if (version == 3) {
        if (area < V3_HEADER_LEN) {
            rc = hk_error_at(ctx, H2K_ERR_FORMAT, src->path, V2_HEADER_LEN, "header_length",
                             "qcow2 v3 header is truncated (%u bytes)", area);
            goto out;
        }
        hlen = hk_vhd_be32(h + H_HEADER_LENGTH);
        if (hlen < V3_HEADER_LEN || hlen % 8 || hlen > area) {
            rc = hk_error_at(ctx, H2K_ERR_FORMAT, src->path, H_HEADER_LENGTH, "header_length",
                             "header length %u is not a multiple of 8 between %u and %u", hlen,
                             V3_HEADER_LEN, area);
            goto out;
        }
        incompat = hk_vhd_be64(h + H_INCOMPAT);
        refcount_order = hk_vhd_be32(h + H_REFCOUNT_ORDER);
        if (refcount_order > 6) {
            rc = hk_error_at(ctx, H2K_ERR_FORMAT, src->path, H_REFCOUNT_ORDER, "refcount_order",
                             "refcount order %u is larger than 6", refcount_order);
            goto out;
        }
        if (hlen > H_COMPRESSION_TYPE)
            ctype = h[H_COMPRESSION_TYPE];
    }

    uint64_t boff = hk_vhd_be64(h + H_BACKING_OFFSET);
    uint32_t blen = hk_vhd_be32(h + H_BACKING_SIZE);
    if (boff != 0 && blen != 0) {
        if (blen > MAX_BACKING_NAME || boff < hlen || boff > csize || blen > csize - boff) {
            rc = hk_error_at(ctx, H2K_ERR_FORMAT, src->path, H_BACKING_OFFSET, "backing_file",
                             "backing file name (%u bytes at offset %llu) is longer than %u "
                             "bytes or lies outside the header cluster",
                             blen, (unsigned long long)boff, MAX_BACKING_NAME);
            goto out;
        }
        if (boff + blen > area) {
            rc = hk_error_at(ctx, H2K_ERR_FORMAT, src->path, (int64_t)boff, "backing_file",
                             "backing file name lies beyond the end of the file (%llu bytes)",
                             (unsigned long long)src->size);
            goto out;
        }
    }

    const uint8_t *ftable = NULL;
    size_t ftable_len = 0;
    uint32_t ext_end = (boff != 0 && blen != 0 && boff < area) ? (uint32_t)boff : area;
    if ((rc = walk_extensions(ctx, src, h, hlen, ext_end, &ftable, &ftable_len)) < 0)
        goto out;

    if (incompat & ~(uint64_t)INCOMPAT_KNOWN) {
        unsigned bit = 0;
        while (!((incompat & ~(uint64_t)INCOMPAT_KNOWN) >> bit & 1))
            bit++;
        char nm[47];
        const char *name = feature_name(ftable, ftable_len, bit, nm);
        rc = hk_error_at(ctx, H2K_ERR_UNSUPPORTED, src->path, H_INCOMPAT, "incompatible_features",
                         "qcow2 uses the unknown incompatible feature bit %u%s%s%s", bit,
                         name ? " (\"" : "", name ? name : "", name ? "\")" : "");
        goto out;
    }
    if (incompat & INCOMPAT_DATA_FILE) {
        rc = hk_error_at(ctx, H2K_ERR_UNSUPPORTED, src->path, H_INCOMPAT, "external_data_file",
                         "qcow2 images with an external data file are not supported");
        goto out;
    }
    if (incompat & INCOMPAT_DIRTY)
        hk_warn(ctx, DOM,
                "%s: the qcow2 dirty bit is set (not closed cleanly; 'qemu-img check -r all' "
                "repairs the refcounts)",
                src->path);
    if (incompat & INCOMPAT_CORRUPT)
        hk_warn(ctx, DOM, "%s: qemu marked this qcow2 image corrupt; only read access works",
                src->path);
    if (!!(incompat & INCOMPAT_COMPRESSION) != (ctype != 0)) {
        rc = hk_error_at(ctx, H2K_ERR_FORMAT, src->path, H_COMPRESSION_TYPE, "compression_type",
                         "compression type %u does not match the compression feature bit", ctype);
        goto out;
    }
    if (ctype > 1) {
        rc = hk_error_at(ctx, H2K_ERR_UNSUPPORTED, src->path, H_COMPRESSION_TYPE,
                         "compression_type", "unknown qcow2 compression type %u", ctype);
        goto out;
    }
    if (ctype == 1)
        hk_debug(ctx, DOM, "%s: qcow2 compressed clusters use zstd", src->path);

    /* L1 table: large enough for the virtual size, inside the file */
    uint32_t l1_size = hk_vhd_be32(h + H_L1_SIZE);
    uint64_t l1_off = hk_vhd_be64(h + H_L1_OFFSET);
    uint64_t l2_entries = csize / ((incompat & INCOMPAT_EXTL2) ? 16u : 8u);
    uint64_t per_l1 = (uint64_t)csize * l2_entries;
    uint64_t l1_needed = size / per_l1 + (size % per_l1 != 0);
    uint64_t l1_bytes = (uint64_t)l1_size * 8u;
    if (l1_size < l1_needed || l1_bytes > MAX_L1_BYTES) {
        rc = hk_error_at(ctx, H2K_ERR_FORMAT, src->path, H_L1_SIZE, "l1_size",
                         "L1 table of %u entries does not fit %llu bytes (needs %llu, at most "
                         "%u)",
                         l1_size, (unsigned long long)size, (unsigned long long)l1_needed,
                         MAX_L1_BYTES / 8u);
        goto out;
    }
    if (l1_size && (l1_off % csize || l1_off > src->size || l1_bytes > src->size - l1_off)) {
        rc = hk_error_at(ctx, H2K_ERR_FORMAT, src->path, H_L1_OFFSET, "l1_table_offset",
                         "L1 table (%llu bytes at offset %llu) is misaligned or lies beyond "
                         "the end of the file (%llu bytes)",
                         (unsigned long long)l1_bytes, (unsigned long long)l1_off,
                         (unsigned long long)src->size);
        goto out;
    }
    uint64_t rt_off = hk_vhd_be64(h + H_REFCOUNT_OFFSET);
    uint64_t rt_bytes = (uint64_t)hk_vhd_be32(h + H_REFCOUNT_CLUSTERS) * csize;
    if (rt_bytes == 0 || rt_off == 0 || rt_off % csize || rt_off > src->size ||
        rt_bytes > src->size - rt_off) {
        rc = hk_error_at(ctx, H2K_ERR_FORMAT, src->path, H_REFCOUNT_OFFSET, "refcount_table_offset",
                         "refcount table (%llu bytes at offset %llu) is empty, misaligned or "
                         "lies beyond the end of the file (%llu bytes)",
                         (unsigned long long)rt_bytes, (unsigned long long)rt_off,
                         (unsigned long long)src->size);
        goto out;
    }
    uint32_t nb_snap = hk_vhd_be32(h + H_NB_SNAPSHOTS);
    uint64_t snap_off = hk_vhd_be64(h + H_SNAPSHOTS_OFFSET);
    if (nb_snap > MAX_SNAPSHOTS || (nb_snap && (snap_off % csize || snap_off >= src->size))) {
        rc = hk_error_at(ctx, H2K_ERR_FORMAT, src->path, H_NB_SNAPSHOTS, "snapshots_offset",
                         "%u snapshots at offset %llu: too many, misaligned or beyond the end "
                         "of the file",
                         nb_snap, (unsigned long long)snap_off);
        goto out;
    }
    if (nb_snap)
        hk_info(ctx, DOM,
                "%s: qcow2 holds %u internal snapshots; only the current state is "
                "converted",
                src->path, nb_snap);

    if (boff != 0 && blen != 0) {
        char name[MAX_BACKING_NAME + 1];
        memcpy(name, h + boff, blen);
        name[blen] = '\0';
        if (strlen(name) != blen) {
            rc = hk_error_at(ctx, H2K_ERR_FORMAT, src->path, (int64_t)boff, "backing_file",
                             "backing file name contains a NUL byte");
            goto out;
        }
        /* qemu would open "file:/x", "json:{...}", "nbd://..." as protocols, not as the
         * local file the probe checks: refuse them all */
        /* ... except the window of a container (an OVA member read in place)
         * that an overlay we wrote names in exactly the form we write: the
         * probe then checks the member at that window, as qemu opens it */
        char *wfmt = NULL, *wfile = NULL;
        uint64_t woff = 0, wsize = 0;
        bool window = hk_reference_has_protocol(name) && hk_ctx_file_is_own(ctx, src->path) &&
                      hk_window_json_parse(name, &wfmt, &wfile, &woff, &wsize) == 0;
        free(wfmt);
        if (window) {
            layer->parent_path = wfile;
        } else if (hk_reference_has_protocol(name)) {
            rc = hk_error_at(ctx, H2K_ERR_UNSUPPORTED, src->path, (int64_t)boff, "backing_file",
                             "backing file \"%s\" is not a local file name: it names a qemu "
                             "protocol or JSON description (refused; only plain file names "
                             "beside the image are followed)",
                             name);
            goto out;
        }
        if (!(layer->parent_hint = strdup(name))) {
            rc = hk_error_nomem(ctx);
            goto out;
        }
    }
    if (!(layer->subformat = strdup(version == 2 ? "v2" : "v3"))) {
        rc = hk_error_nomem(ctx);
        goto out;
    }
    layer->virtual_size = size;
    layer->cluster_size = csize;
    layer->compressed = ctype == 1;
    rc = hk_layer_add_extent(ctx, layer, layer->path, "SPARSE", "RW", size / 512u, src->base,
                             hk_src_file_size(src));
out:
    free(h);
    return rc;
}
