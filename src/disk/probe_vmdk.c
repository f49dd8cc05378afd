/*
 * Native VMDK prober: text descriptors with their extents, hosted sparse
 * files ("KDMV", monolithicSparse / streamOptimized, with the embedded
 * descriptor and the stream-optimized footer), vmfsSparse ("COWD") and
 * seSparse extents.  Every offset and size read from a file is checked
 * against the file size before use; sources are opened read-only.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "disk/probe_internal.h"
#include "disk/vmdk_descriptor.h"

#define DOMAIN "vmdk"
#define SESPARSE_MAGIC_LE "\xbe\xba\xfe\xca\0\0\0\0"

/* Stream-optimized markers (the footer and the end-of-stream sectors). */
#define MARKER_EOS 0u
#define MARKER_FOOTER 3u

static uint32_t
rd_le32(const uint8_t *p)
{
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}

static uint64_t
rd_le64(const uint8_t *p)
{
    return (uint64_t)rd_le32(p) | ((uint64_t)rd_le32(p + 4) << 32);
}

/* Checks every entry of the grain directory at @gd_sector: each grain table
 * must lie inside the image. */
static int
check_grain_directory(h2k_ctx *ctx, const hk_src *src, const hk_vmdk_sparse_header *h,
                      uint64_t gd_sector, const char *field)
{
    uint64_t entries = hk_vmdk_sparse_gd_entries(h);
    uint64_t gt_bytes = (uint64_t)h->num_gtes_per_gt * 4;
    uint8_t buf[16384];
    uint64_t base = gd_sector * 512; /* checked by hk_vmdk_sparse_header_check() */
    for (uint64_t i = 0; i < entries;) {
        size_t n = (size_t)((entries - i) * 4 < sizeof(buf) ? (entries - i) * 4 : sizeof(buf));
        int rc = hk_src_read(ctx, src, base + i * 4, buf, n, field);
        if (rc < 0)
            return rc;
        for (size_t k = 0; k < n / 4; k++, i++) {
            uint64_t gt = rd_le32(buf + 4 * k);
            if (gt == 0)
                continue; /* grain table not allocated */
            if (gt > src->size / 512 || gt_bytes > src->size - gt * 512)
                return hk_error_at(ctx, H2K_ERR_FORMAT, src->path,
                                   (int64_t)(src->base + base + i * 4), field,
                                   "grain directory entry %llu points to sector %llu, beyond "
                                   "the end of the image (%llu bytes): the file is truncated",
                                   (unsigned long long)i, (unsigned long long)gt,
                                   (unsigned long long)src->size);
        }
        if ((rc = hk_check_cancel(ctx)) < 0)
            return rc;
    }
    return 0;
}

/* Reads and checks the "KDMV" header of @src, the stream-optimized footer when
 * the grain directory is at the end, and the grain directories.  *eff gets the
 * header that applies (the footer's when there is one); *hdr the one at 0. */
static int
check_sparse(h2k_ctx *ctx, const hk_src *src, hk_vmdk_sparse_header *hdr,
             hk_vmdk_sparse_header *eff)
{
    uint8_t b[HK_VMDK_SPARSE_HEADER_SIZE];
    int rc = hk_src_read(ctx, src, 0, b, sizeof(b), "header");
    if (rc < 0)
        return rc;
    hk_vmdk_sparse_header_decode(b, hdr);
    if ((rc = hk_vmdk_sparse_header_check(ctx, hdr, src->size, src->path, src->base, true)) < 0)
        return rc;
    *eff = *hdr;
    if (hdr->gd_offset == HK_VMDK_GD_AT_END) {
        /* footer marker, footer, end-of-stream marker: the last three sectors */
        uint8_t f[1536];
        if (src->size < 512 + sizeof(f))
            return hk_error_at(ctx, H2K_ERR_FORMAT, src->path, (int64_t)src->base, "gdOffset",
                               "grain directory is in the footer but the image (%llu bytes) "
                               "is too small to hold one",
                               (unsigned long long)src->size);
        uint64_t foff = src->size - sizeof(f);
        if ((rc = hk_src_read(ctx, src, foff, f, sizeof(f), "footer")) < 0)
            return rc;
        if (rd_le32(f + 8) != 0 || rd_le32(f + 12) != MARKER_FOOTER)
            return hk_error_at(ctx, H2K_ERR_FORMAT, src->path, (int64_t)(src->base + foff),
                               "footer",
                               "no footer marker before the stream-optimized footer "
                               "(type %u): the file is truncated",
                               rd_le32(f + 12));
        if (rd_le64(f + 1024) != 0 || rd_le32(f + 1032) != 0 || rd_le32(f + 1036) != MARKER_EOS)
            return hk_error_at(ctx, H2K_ERR_FORMAT, src->path, (int64_t)(src->base + foff + 1024),
                               "footer",
                               "no end-of-stream marker at the end of the stream-optimized "
                               "image: the file is truncated");
        hk_vmdk_sparse_header_decode(f + 512, eff);
        uint64_t ffo = src->base + foff + 512;
        if ((rc = hk_vmdk_sparse_header_check(ctx, eff, src->size, src->path, ffo, false)) < 0) {
            hk_error_prefix(ctx, "stream-optimized footer");
            return rc;
        }
        if (eff->capacity != hdr->capacity || eff->grain_size != hdr->grain_size)
            return hk_error_at(ctx, H2K_ERR_FORMAT, src->path, (int64_t)(ffo + 12), "capacity",
                               "footer (capacity %llu, grain %llu) disagrees with the header "
                               "(capacity %llu, grain %llu)",
                               (unsigned long long)eff->capacity,
                               (unsigned long long)eff->grain_size,
                               (unsigned long long)hdr->capacity,
                               (unsigned long long)hdr->grain_size);
    }
    if ((rc = check_grain_directory(ctx, src, eff, eff->gd_offset, "gdOffset")) < 0)
        return rc;
    if ((eff->flags & HK_VMDK_FLAG_RGD) &&
        (rc = check_grain_directory(ctx, src, eff, eff->rgd_offset, "rgdOffset")) < 0)
        return rc;
    return 0;
}

static bool
is_compressed(const hk_vmdk_sparse_header *h)
{
    return h->compress_algorithm == 1 || (h->flags & HK_VMDK_FLAG_COMPRESSED);
}

/* Copies the descriptor's identity (CID, parent) into @layer. */
static int
fill_identity(h2k_ctx *ctx, const hk_vmdk_descriptor *d, h2k_disk_layer *layer)
{
    if (d->has_cid && !(layer->id = hk_asprintf("%08x", d->cid)))
        return hk_error_nomem(ctx);
    if (d->has_parent_cid && d->parent_cid != HK_VMDK_NO_PARENT_CID &&
        !(layer->parent_id = hk_asprintf("%08x", d->parent_cid)))
        return hk_error_nomem(ctx);
    if (d->parent_hint && !(layer->parent_hint = strdup(d->parent_hint)))
        return hk_error_nomem(ctx);
    return 0;
}

/* A hosted sparse file: monolithicSparse, streamOptimized, or one extent of a
 * split disk probed on its own. */
static int
probe_sparse_image(h2k_ctx *ctx, const hk_src *src, h2k_disk_layer *layer)
{
    hk_vmdk_sparse_header hdr, eff;
    hk_vmdk_descriptor d = {0};
    char *text = NULL;
    int rc = check_sparse(ctx, src, &hdr, &eff);
    if (rc < 0)
        return rc;
    if (hdr.descriptor_offset) {
        uint64_t doff = hdr.descriptor_offset * 512;
        size_t dlen = (size_t)(hdr.descriptor_size * 512); /* <= 1 MiB, checked */
        text = malloc(dlen + 1);
        if (!text)
            return hk_error_nomem(ctx);
        if ((rc = hk_src_read(ctx, src, doff, text, dlen, "descriptorOffset")) < 0)
            goto out;
        text[dlen] = '\0';
        if ((rc = hk_vmdk_descriptor_parse(ctx, text, dlen, src->path, src->base + doff, &d)) < 0)
            goto out;
        if ((rc = hk_vmdk_descriptor_validate(ctx, &d, src->path, src->base + doff, true)) < 0)
            goto out;
        if (d.n_extents && d.total_sectors != hdr.capacity) {
            rc = hk_error_at(ctx, H2K_ERR_FORMAT, src->path, (int64_t)(src->base + 12), "capacity",
                             "header capacity of %llu sectors disagrees with the embedded "
                             "descriptor's extents (%llu sectors)",
                             (unsigned long long)hdr.capacity, (unsigned long long)d.total_sectors);
            goto out;
        }
        if (d.n_extents && d.extents[0].type != HK_VMDK_EXTENT_SPARSE) {
            rc = hk_error_at(ctx, H2K_ERR_FORMAT, src->path,
                             (int64_t)(src->base + doff + d.extents[0].text_offset), "extent",
                             "embedded descriptor of a sparse file describes a %s extent",
                             hk_vmdk_extent_type_name(d.extents[0].type));
            goto out;
        }
    }
    layer->compressed = is_compressed(&eff) ||
                        (d.create_type && strcmp(d.create_type, "streamOptimized") == 0);
    const char *sub = d.create_type       ? d.create_type
                      : layer->compressed ? "streamOptimized"
                                          : "monolithicSparse";
    if (!(layer->subformat = strdup(sub))) {
        rc = hk_error_nomem(ctx);
        goto out;
    }
    layer->virtual_size = hdr.capacity * 512;
    layer->cluster_size = (uint32_t)(eff.grain_size * 512);
    if ((rc = fill_identity(ctx, &d, layer)) < 0)
        goto out;
    rc = hk_layer_add_extent(ctx, layer, layer->path, "SPARSE",
                             d.n_extents ? d.extents[0].access : "RW", hdr.capacity, src->base,
                             src->size);
    hk_debug(ctx, DOMAIN, "%s: %s, %llu sectors, grain %llu, version %u%s", src->path, sub,
             (unsigned long long)hdr.capacity, (unsigned long long)eff.grain_size, hdr.version,
             hdr.gd_offset == HK_VMDK_GD_AT_END ? ", footer" : "");
out:
    hk_vmdk_descriptor_clear(&d);
    free(text);
    return rc;
}

static int
probe_cowd_image(h2k_ctx *ctx, const hk_src *src, h2k_disk_layer *layer)
{
    uint8_t b[32];
    hk_vmdk_cowd_header h;
    int rc = hk_src_read(ctx, src, 0, b, sizeof(b), "header");
    if (rc < 0)
        return rc;
    hk_vmdk_cowd_header_decode(b, &h);
    if ((rc = hk_vmdk_cowd_header_check(ctx, &h, src->size, src->path, src->base)) < 0)
        return rc;
    if (!(layer->subformat = strdup("vmfsSparse")))
        return hk_error_nomem(ctx);
    layer->virtual_size = (uint64_t)h.capacity * 512;
    layer->cluster_size = h.grain_size * 512;
    return hk_layer_add_extent(ctx, layer, layer->path, "VMFSSPARSE", "RW", h.capacity, src->base,
                               src->size);
}

static int
probe_sesparse_image(h2k_ctx *ctx, const hk_src *src, h2k_disk_layer *layer)
{
    uint8_t b[48];
    hk_vmdk_sesparse_header h;
    int rc = hk_src_read(ctx, src, 0, b, sizeof(b), "header");
    if (rc < 0)
        return rc;
    hk_vmdk_sesparse_header_decode(b, &h);
    if ((rc = hk_vmdk_sesparse_header_check(ctx, &h, src->path, src->base)) < 0)
        return rc;
    if (!(layer->subformat = strdup("seSparse")))
        return hk_error_nomem(ctx);
    layer->virtual_size = h.capacity * 512;
    layer->cluster_size = (uint32_t)(h.grain_size * 512);
    return hk_layer_add_extent(ctx, layer, layer->path, "SESPARSE", "RW", h.capacity, src->base,
                               src->size);
}

/* What we learnt from an extent file. */
typedef struct extent_facts {
    uint64_t file_size;
    uint64_t dev, ino, blocks_bytes;
    bool have_stat;
    uint32_t grain_bytes;
    bool compressed;
} extent_facts;

#define EXT_ERR(code, ...)                                                                         \
    hk_error_at(ctx, (code), desc_path, (int64_t)(desc_base + e->text_offset), "extent",           \
                __VA_ARGS__)

/* Opens extent @e (file @abs) and, when @check, verifies it exists, is readable
 * and large enough, and that its header matches the descriptor. */
static int
inspect_extent(h2k_ctx *ctx, const char *desc_path, uint64_t desc_base,
               const hk_vmdk_extent_line *e, const char *abs, bool check, extent_facts *f)
{
    memset(f, 0, sizeof(*f));
    int fd = open(abs, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
    if (fd < 0) {
        if (!check)
            return 0;
        int err = errno;
        return EXT_ERR(H2K_ERR_FORMAT, "line %u: extent file \"%s\" (%s) %s: %s", e->line, e->file,
                       abs, err == ENOENT ? "is missing" : "cannot be opened", strerror(err));
    }
    int rc = 0;
    struct stat st;
    if (fstat(fd, &st) < 0) {
        rc = check ? hk_error_errno(ctx, errno, abs, "cannot stat extent") : 0;
        goto out;
    }
    if (S_ISREG(st.st_mode)) {
        f->file_size = (uint64_t)st.st_size;
        f->have_stat = true;
        f->dev = (uint64_t)st.st_dev;
        f->ino = (uint64_t)st.st_ino;
        f->blocks_bytes = (uint64_t)st.st_blocks * 512;
    } else if (S_ISBLK(st.st_mode)) {
        off_t end = lseek(fd, 0, SEEK_END);
        f->file_size = end > 0 ? (uint64_t)end : 0;
    } else {
        if (check)
            rc = EXT_ERR(H2K_ERR_FORMAT, "line %u: extent \"%s\" (%s) is not a regular file",
                         e->line, e->file, abs);
        goto out;
    }
    if (!check)
        goto out;

    hk_src es = {fd, abs, 0, f->file_size, NULL, NULL};
    uint64_t cap = 0;
    switch (e->type) {
    case HK_VMDK_EXTENT_FLAT:
    case HK_VMDK_EXTENT_VMFS: {
        /* offset and sectors are both <= HK_MAX_VIRTUAL_SIZE / 512: no overflow */
        uint64_t end = (e->offset + e->sectors) * 512;
        if (end > f->file_size)
            rc = EXT_ERR(H2K_ERR_FORMAT,
                         "line %u: extent \"%s\" needs %llu bytes (offset %llu + %llu sectors) "
                         "but the file has %llu",
                         e->line, abs, (unsigned long long)end, (unsigned long long)e->offset,
                         (unsigned long long)e->sectors, (unsigned long long)f->file_size);
        goto out;
    }
    case HK_VMDK_EXTENT_SPARSE:
    case HK_VMDK_EXTENT_VMFSSPARSE: {
        uint8_t m[32];
        if ((rc = hk_src_read(ctx, &es, 0, m, sizeof(m), "magic")) < 0)
            break;
        if (memcmp(m, "KDMV", 4) == 0) {
            hk_vmdk_sparse_header hdr, eff;
            if ((rc = check_sparse(ctx, &es, &hdr, &eff)) < 0)
                break;
            cap = hdr.capacity;
            f->grain_bytes = (uint32_t)(eff.grain_size * 512);
            f->compressed = is_compressed(&eff);
        } else if (memcmp(m, "COWD", 4) == 0) {
            hk_vmdk_cowd_header h;
            hk_vmdk_cowd_header_decode(m, &h);
            if ((rc = hk_vmdk_cowd_header_check(ctx, &h, es.size, abs, 0)) < 0)
                break;
            cap = h.capacity;
            f->grain_bytes = h.grain_size * 512;
        } else {
            rc = hk_error_at(ctx, H2K_ERR_FORMAT, abs, 0, "magic",
                             "%s extent has neither a \"KDMV\" nor a \"COWD\" header",
                             hk_vmdk_extent_type_name(e->type));
            break;
        }
        break;
    }
    case HK_VMDK_EXTENT_SESPARSE: {
        uint8_t m[48];
        hk_vmdk_sesparse_header h;
        if ((rc = hk_src_read(ctx, &es, 0, m, sizeof(m), "magic")) < 0)
            break;
        hk_vmdk_sesparse_header_decode(m, &h);
        if ((rc = hk_vmdk_sesparse_header_check(ctx, &h, abs, 0)) < 0)
            break;
        cap = h.capacity;
        f->grain_bytes = (uint32_t)(h.grain_size * 512);
        break;
    }
    default:
        goto out;
    }
    if (rc < 0) {
        hk_error_prefix(ctx, "extent \"%s\" (line %u of %s)", e->file, e->line, desc_path);
        goto out;
    }
    if (cap != e->sectors)
        rc = EXT_ERR(H2K_ERR_FORMAT,
                     "line %u: extent \"%s\" is listed with %llu sectors but its header says %llu",
                     e->line, abs, (unsigned long long)e->sectors, (unsigned long long)cap);
out:
    close(fd);
    return rc;
}

typedef struct file_id {
    uint64_t dev, ino, bytes;
} file_id;

static int
cmp_file_id(const void *a, const void *b)
{
    const file_id *x = a, *y = b;
    if (x->dev != y->dev)
        return x->dev < y->dev ? -1 : 1;
    if (x->ino != y->ino)
        return x->ino < y->ino ? -1 : 1;
    return 0;
}

/* A text descriptor (a file of its own, or a member of a container). */
static int
probe_descriptor_file(h2k_ctx *ctx, const hk_src *src, const h2k_probe_options *opts,
                      h2k_disk_layer *layer)
{
    hk_vmdk_descriptor d = {0};
    char *text = NULL, *dir = NULL;
    file_id *ids = NULL;
    size_t n_ids = 0;
    int rc;
    /* binary data here is a sparse file whose magic was damaged, not a descriptor */
    unsigned char head[64] = {0};
    size_t hl = src->size < sizeof(head) ? (size_t)src->size : sizeof(head);
    if ((rc = hk_src_read(ctx, src, 0, head, hl, "descriptor")) < 0)
        return rc;
    for (size_t i = 0; i < hl; i++) {
        if ((head[i] < 0x20 && head[i] != '\t' && head[i] != '\r' && head[i] != '\n') ||
            head[i] == 0x7f)
            return hk_error_at(ctx, H2K_ERR_FORMAT, src->path, (int64_t)src->base, "magic",
                               "neither a sparse VMDK header (\"KDMV\", \"COWD\", seSparse) "
                               "nor a text descriptor: first bytes %02x %02x %02x %02x",
                               head[0], head[1], head[2], head[3]);
    }
    if (src->size > HK_VMDK_MAX_DESCRIPTOR)
        return hk_error_at(ctx, H2K_ERR_FORMAT, src->path, (int64_t)src->base, "descriptor",
                           "not a sparse VMDK and too large (%llu bytes) for a descriptor "
                           "(limit %llu)",
                           (unsigned long long)src->size,
                           (unsigned long long)HK_VMDK_MAX_DESCRIPTOR);
    size_t len = (size_t)src->size;
    if (!(text = malloc(len + 1)))
        return hk_error_nomem(ctx);
    if ((rc = hk_src_read(ctx, src, 0, text, len, "descriptor")) < 0)
        goto out;
    text[len] = '\0';
    if ((rc = hk_vmdk_descriptor_parse(ctx, text, len, src->path, src->base, &d)) < 0 ||
        (rc = hk_vmdk_descriptor_validate(ctx, &d, src->path, src->base, false)) < 0)
        goto out;

    struct stat st;
    bool in_container = src->base != 0 || (fstat(src->fd, &st) == 0 && S_ISREG(st.st_mode) &&
                                           (uint64_t)st.st_size != src->size);
    for (size_t i = 0; in_container && i < d.n_extents; i++) {
        if (d.extents[i].type != HK_VMDK_EXTENT_ZERO) {
            rc = hk_error_at(ctx, H2K_ERR_UNSUPPORTED, src->path,
                             (int64_t)(src->base + d.extents[i].text_offset), "extent",
                             "a descriptor inside a container cannot refer to the extent "
                             "file \"%s\"",
                             d.extents[i].file);
            goto out;
        }
    }

    if (!(layer->subformat = strdup(d.create_type)) || !(dir = hk_dirname(layer->path)) ||
        !(ids = calloc(d.n_extents + 1, sizeof(*ids)))) {
        rc = hk_error_nomem(ctx);
        goto out;
    }
    layer->virtual_size = d.total_sectors * 512;
    layer->compressed = strcmp(d.create_type, "streamOptimized") == 0;
    if (!in_container)
        ids[n_ids++] = (file_id){0, 0, hk_fd_allocated(src->fd)};
    bool check = !opts || opts->check_extents;
    for (size_t i = 0; i < d.n_extents; i++) {
        const hk_vmdk_extent_line *e = &d.extents[i];
        if ((rc = hk_check_cancel(ctx)) < 0)
            goto out;
        char *abs = NULL;
        extent_facts f = {0};
        if (e->file) {
            /* the extent must lie beside the descriptor (or under an allowed root) */
            rc = hk_resolve_reference(ctx, src->path, e->file, "extent", &abs);
            if (rc == H2K_ERR_NOT_FOUND && abs) {
                rc = 0; /* missing: inspect_extent() says so when it must */
                h2k_ctx_clear_error(ctx);
            }
            if (rc < 0)
                goto out;
            rc = inspect_extent(ctx, src->path, src->base, e, abs, check, &f);
        }
        if (rc == 0)
            rc = hk_layer_add_extent(ctx, layer, abs, hk_vmdk_extent_type_name(e->type), e->access,
                                     e->sectors, e->offset * 512, f.file_size);
        free(abs);
        if (rc < 0)
            goto out;
        if (f.have_stat)
            ids[n_ids++] = (file_id){f.dev, f.ino, f.blocks_bytes};
        if (f.grain_bytes && !layer->cluster_size)
            layer->cluster_size = f.grain_bytes;
        if (f.compressed)
            layer->compressed = 1;
    }
    if ((rc = fill_identity(ctx, &d, layer)) < 0)
        goto out;
    /* allocated size: the descriptor plus each distinct extent file once */
    size_t first = in_container ? 0 : 1;
    qsort(ids + first, n_ids - first, sizeof(*ids), cmp_file_id);
    for (size_t i = 0; i < n_ids; i++)
        if (i <= first || cmp_file_id(&ids[i], &ids[i - 1]) != 0)
            layer->allocated_size += ids[i].bytes;
    hk_debug(ctx, DOMAIN, "%s: %s, %zu extents, %llu sectors", src->path, d.create_type,
             d.n_extents, (unsigned long long)d.total_sectors);
out:
    hk_vmdk_descriptor_clear(&d);
    free(ids);
    free(dir);
    free(text);
    return rc;
}

int
hk_probe_vmdk(h2k_ctx *ctx, const hk_src *src, const h2k_probe_options *opts, h2k_disk_layer *layer)
{
    uint8_t m[8] = {0};
    size_t n = src->size < sizeof(m) ? (size_t)src->size : sizeof(m);
    if (n < 4)
        return hk_error_at(ctx, H2K_ERR_FORMAT, src->path, (int64_t)src->base, "header",
                           "%zu bytes are too few for a VMDK", n);
    int rc = hk_src_read(ctx, src, 0, m, n, "header");
    if (rc < 0)
        return rc;
    if (memcmp(m, "KDMV", 4) == 0)
        return probe_sparse_image(ctx, src, layer);
    if (memcmp(m, "COWD", 4) == 0)
        return probe_cowd_image(ctx, src, layer);
    if (n == 8 && memcmp(m, SESPARSE_MAGIC_LE, 8) == 0)
        return probe_sesparse_image(ctx, src, layer);
    return probe_descriptor_file(ctx, src, opts, layer);
}
