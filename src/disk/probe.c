/*
 * h2k_disk_probe(): opens the file read-only, detects its format, hands it to
 * the format's prober, then follows and validates the snapshot chain.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/json_util.h"
#include "format_claim.h"
#include "probe_internal.h"
#include "vhd_util.h"

#define HEAD_LEN 65536u

int
hk_src_read(h2k_ctx *ctx, const hk_src *src, uint64_t off, void *buf, size_t len, const char *field)
{
    if (off > src->size || len > src->size - off)
        return hk_error_at(ctx, H2K_ERR_FORMAT, src->path, (int64_t)off, field,
                           "%zu bytes at offset %llu lie beyond the end of the image "
                           "(%llu bytes): the file is truncated or the header lies",
                           len, (unsigned long long)off, (unsigned long long)src->size);
    if (src->mem) {
        memcpy(buf, src->mem + src->base + off, len);
        return 0;
    }
    return hk_pread_exact(ctx, src->fd, src->path, buf, len, src->base + off, field);
}

uint64_t
hk_src_file_size(const hk_src *src)
{
    struct stat st;
    if (!src->mem && fstat(src->fd, &st) == 0 && S_ISREG(st.st_mode))
        return (uint64_t)st.st_size;
    return src->base + src->size;
}

static bool
looks_like_descriptor(const uint8_t *head, size_t n)
{
    /* A text VMDK descriptor: printable ASCII/UTF-8 and a createType or the
     * well-known header comment within the first bytes. */
    size_t lim = n < 4096 ? n : 4096;
    if (lim == 0)
        return false;
    for (size_t i = 0; i < lim; i++) {
        uint8_t c = head[i];
        if (c == 0)
            break;
        if (c < 0x20 && c != '\n' && c != '\r' && c != '\t')
            return false;
    }
    char tmp[4097];
    size_t k = 0;
    for (; k < lim && head[k]; k++)
        tmp[k] = (char)head[k];
    tmp[k] = '\0';
    return strstr(tmp, "# Disk DescriptorFile") || strstr(tmp, "createType");
}

h2k_disk_format
hk_detect_format(const uint8_t *head, size_t head_len, const uint8_t *tail, size_t tail_len)
{
    if (head_len >= 4 && memcmp(head, "KDMV", 4) == 0)
        return H2K_FORMAT_VMDK;
    if (head_len >= 4 && memcmp(head, "COWD", 4) == 0)
        return H2K_FORMAT_VMDK;
    if (head_len >= 4 && memcmp(head, "QFI\xfb", 4) == 0)
        return H2K_FORMAT_QCOW2;
    if (head_len >= 8 && memcmp(head, "vhdxfile", 8) == 0)
        return H2K_FORMAT_VHDX;
    if (head_len >= 8 && memcmp(head, "conectix", 8) == 0)
        return H2K_FORMAT_VHD;
    if (tail_len >= 512 && memcmp(tail + tail_len - 512, "conectix", 8) == 0)
        return H2K_FORMAT_VHD;
    /* old VHDs created by Virtual PC have a 511-byte footer */
    if (tail_len >= 511 && memcmp(tail + tail_len - 511, "conectix", 8) == 0)
        return H2K_FORMAT_VHD;
    if (looks_like_descriptor(head, head_len))
        return H2K_FORMAT_VMDK;
    return H2K_FORMAT_RAW;
}

int
hk_layer_add_extent(h2k_ctx *ctx, h2k_disk_layer *layer, const char *path, const char *type,
                    const char *access, uint64_t sectors, uint64_t offset, uint64_t file_size)
{
    h2k_disk_extent *n = realloc(layer->extents, (layer->n_extents + 1) * sizeof(*n));
    if (!n)
        return hk_error_nomem(ctx);
    layer->extents = n;
    h2k_disk_extent *e = &n[layer->n_extents];
    memset(e, 0, sizeof(*e));
    e->path = hk_strdup0(path);
    e->type = hk_strdup0(type);
    e->access = hk_strdup0(access);
    e->sectors = sectors;
    e->offset = offset;
    e->file_size = file_size;
    layer->n_extents++;
    if ((path && !e->path) || (type && !e->type) || (access && !e->access))
        return hk_error_nomem(ctx);
    return 0;
}

int
hk_layer_set_parent(h2k_ctx *ctx, h2k_disk_layer *layer, const char *hint, const char *const *hints,
                    size_t n_hints)
{
    if (!(layer->parent_hint = strdup(hint)))
        return hk_error_nomem(ctx);
    char *dir = hk_dirname(layer->path);
    if (!dir)
        return hk_error_nomem(ctx);
    layer->parent_path = hk_vhd_resolve_parent(dir, hints, n_hints);
    free(dir);
    return layer->parent_path ? 0 : hk_error_nomem(ctx);
}

void
hk_disk_layer_clear(h2k_disk_layer *l)
{
    if (!l)
        return;
    for (size_t i = 0; i < l->n_extents; i++) {
        free(l->extents[i].path);
        free(l->extents[i].type);
        free(l->extents[i].access);
    }
    free(l->extents);
    free(l->path);
    free(l->subformat);
    free(l->id);
    free(l->parent_id);
    free(l->parent_hint);
    free(l->parent_path);
    memset(l, 0, sizeof(*l));
}

void
hk_guid_to_string(const uint8_t g[16], char out[37])
{
    snprintf(out, 37, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", g[3],
             g[2], g[1], g[0], g[5], g[4], g[7], g[6], g[8], g[9], g[10], g[11], g[12], g[13],
             g[14], g[15]);
}

void
h2k_disk_info_free(h2k_disk_info *info)
{
    if (!info)
        return;
    for (size_t i = 0; i < info->n_layers; i++)
        hk_disk_layer_clear(&info->layers[i]);
    free(info->layers);
    free(info->path);
    free(info->subformat);
    free(info);
}

h2k_disk_format
hk_format_claimed_by_name(const char *name)
{
    static const struct {
        const char *ext;
        h2k_disk_format fmt;
    } exts[] = {
        {".vmdk", H2K_FORMAT_VMDK},  {".vhd", H2K_FORMAT_VHD},    {".avhd", H2K_FORMAT_VHD},
        {".vhdx", H2K_FORMAT_VHDX},  {".avhdx", H2K_FORMAT_VHDX}, {".qcow2", H2K_FORMAT_QCOW2},
        {".qcow", H2K_FORMAT_QCOW2},
    };
    if (!name)
        return H2K_FORMAT_UNKNOWN;
    for (size_t i = 0; i < HK_ARRAY_LEN(exts); i++)
        if (hk_endswith_nocase(name, exts[i].ext))
            return exts[i].fmt;
    return H2K_FORMAT_UNKNOWN;
}

static const char *
signature_of(h2k_disk_format fmt)
{
    switch (fmt) {
    case H2K_FORMAT_VMDK:
        return "a \"KDMV\" or \"COWD\" header or a text descriptor";
    case H2K_FORMAT_VHD:
        return "a \"conectix\" footer";
    case H2K_FORMAT_VHDX:
        return "a \"vhdxfile\" signature";
    case H2K_FORMAT_QCOW2:
        return "a \"QFI\\xfb\" header";
    default:
        return "its signature";
    }
}

int
hk_format_claim_check(h2k_ctx *ctx, const char *path, h2k_disk_format claimed,
                      const char *claimed_by, h2k_disk_format found, const uint8_t *head,
                      size_t head_len)
{
    if (found != H2K_FORMAT_RAW || claimed == H2K_FORMAT_RAW || claimed == H2K_FORMAT_UNKNOWN)
        return 0;
    char seen[64] = "no bytes";
    if (head && head_len) {
        size_t n = head_len < 8 ? head_len : 8, o = 0;
        bool zero = true;
        for (size_t i = 0; i < head_len && i < 4096; i++)
            zero = zero && head[i] == 0;
        if (zero) {
            snprintf(seen, sizeof(seen), "only zero bytes at the start");
        } else {
            o = (size_t)snprintf(seen, sizeof(seen), "first bytes");
            for (size_t i = 0; i < n && o < sizeof(seen); i++)
                o += (size_t)snprintf(seen + o, sizeof(seen) - o, " %02x", head[i]);
        }
    }
    return hk_error_at(ctx, H2K_ERR_FORMAT, path, 0, "signature",
                       "%s says %s, but the content has no %s signature (expected %s; found %s, "
                       "no known disk format): refused; if it really is a raw disk, give the "
                       "input format raw (--input-format raw)",
                       claimed_by ? claimed_by : "its name", h2k_disk_format_name(claimed),
                       h2k_disk_format_name(claimed), signature_of(claimed), seen);
}

/* What a layer calls its parent: the field in messages. */
static const char *
parent_ref_name(h2k_disk_format fmt)
{
    switch (fmt) {
    case H2K_FORMAT_VMDK:
        return "parentFileNameHint";
    case H2K_FORMAT_VHD:
        return "parent_locator";
    case H2K_FORMAT_VHDX:
        return "parent_locator";
    default:
        return "backing_file";
    }
}

/* Probes one file into @layer. */
static int
probe_one(h2k_ctx *ctx, const char *path, const h2k_probe_options *o, uint64_t offset,
          uint64_t size, h2k_disk_format forced, h2k_disk_layer *layer, uint64_t *img_size,
          h2k_disk_format *parent_format)
{
    *parent_format = H2K_FORMAT_UNKNOWN;
    int rc = 0;
    uint8_t *head = NULL;
    memset(layer, 0, sizeof(*layer));
    layer->path = hk_abspath(path);
    if (!layer->path)
        return hk_error_nomem(ctx);

    int fd = hk_open_input(ctx, layer->path, "disk image", HK_OPEN_ALLOW_BLOCK, NULL);
    if (fd < 0)
        return fd;
    struct stat st;
    if (fstat(fd, &st) < 0) {
        rc = hk_error_errno(ctx, errno, layer->path, "cannot stat disk image");
        goto out;
    }
    uint64_t fsize;
    if (S_ISREG(st.st_mode)) {
        fsize = (uint64_t)st.st_size;
    } else if (S_ISBLK(st.st_mode)) {
        off_t end = lseek(fd, 0, SEEK_END);
        fsize = end > 0 ? (uint64_t)end : 0;
    } else {
        rc = hk_error_at(ctx, H2K_ERR_FORMAT, layer->path, -1, NULL,
                         "not a regular file or block device");
        goto out;
    }
    if (offset > fsize || (size && size > fsize - offset)) {
        rc = hk_error_at(ctx, H2K_ERR_FORMAT, layer->path, (int64_t)offset, "offset",
                         "image window (offset %llu, size %llu) lies beyond the end of the "
                         "file (%llu bytes)",
                         (unsigned long long)offset, (unsigned long long)size,
                         (unsigned long long)fsize);
        goto out;
    }
    hk_src src = {fd, layer->path, offset, size ? size : fsize - offset, parent_format, NULL};
    *img_size = src.size;

    size_t head_len = src.size < HEAD_LEN ? (size_t)src.size : HEAD_LEN;
    head = calloc(1, HEAD_LEN);
    uint8_t tail[512];
    size_t tail_len = src.size < 512 ? (size_t)src.size : 512;
    if (!head) {
        rc = hk_error_nomem(ctx);
        goto out;
    }
    if ((rc = hk_src_read(ctx, &src, 0, head, head_len, "header")) < 0)
        goto out;
    if ((rc = hk_src_read(ctx, &src, src.size - tail_len, tail, tail_len, "footer")) < 0)
        goto out;

    layer->format = forced != H2K_FORMAT_UNKNOWN ? forced
                                                 : hk_detect_format(head, head_len, tail, tail_len);
    /* a name that claims a format the content lacks is refused, not taken as raw
     * (inside a container, the caller checks the member's name) */
    if (forced == H2K_FORMAT_UNKNOWN && offset == 0 && size == 0 &&
        (rc = hk_format_claim_check(ctx, layer->path, hk_format_claimed_by_name(layer->path),
                                    "its name", layer->format, head, head_len)) < 0)
        goto out;
    switch (layer->format) {
    case H2K_FORMAT_VMDK:
        rc = hk_probe_vmdk(ctx, &src, o, layer);
        break;
    case H2K_FORMAT_VHD:
        rc = hk_probe_vhd(ctx, &src, o, layer);
        break;
    case H2K_FORMAT_VHDX:
        rc = hk_probe_vhdx(ctx, &src, o, layer);
        break;
    case H2K_FORMAT_QCOW2:
        rc = hk_probe_qcow2(ctx, &src, o, layer);
        break;
    case H2K_FORMAT_RAW:
    default:
        layer->format = H2K_FORMAT_RAW;
        layer->subformat = strdup("raw");
        layer->virtual_size = src.size;
        rc = layer->subformat ? hk_layer_add_extent(ctx, layer, layer->path, "FLAT", "RW",
                                                    src.size / 512, offset, fsize)
                              : hk_error_nomem(ctx);
        break;
    }
    if (rc < 0)
        goto out;
    if (layer->allocated_size == 0)
        layer->allocated_size = offset || size ? src.size : hk_fd_allocated(fd);
    if (layer->parent_hint && o->follow_chain) {
        /* the parent must lie beside the child (or under an allowed root): the
         * recorded name, or the candidate the VHD/VHDX locators picked */
        const char *ref = layer->parent_path ? layer->parent_path : layer->parent_hint;
        char *resolved = NULL;
        rc = hk_resolve_reference(ctx, layer->path, ref, parent_ref_name(layer->format), &resolved);
        if (rc == H2K_ERR_NOT_FOUND && resolved) {
            rc = 0; /* h2k_disk_probe() reports the broken chain */
            if (!layer->parent_path) {
                layer->parent_path = hk_abspath(resolved);
                free(resolved);
                resolved = NULL;
                if (!layer->parent_path) {
                    rc = hk_error_nomem(ctx);
                    goto out;
                }
            }
        }
        if (rc < 0) {
            if (layer->parent_path)
                hk_error_prefix(ctx, "parent \"%s\"", layer->parent_hint);
            goto out;
        }
        if (resolved) {
            free(layer->parent_path);
            layer->parent_path = resolved;
        }
    } else if (layer->parent_hint && !layer->parent_path) {
        char *dir = hk_dirname(layer->path);
        char *joined = dir ? hk_path_join(dir, layer->parent_hint) : NULL;
        layer->parent_path = joined ? hk_abspath(joined) : NULL;
        free(dir);
        free(joined);
        if (!layer->parent_path) {
            rc = hk_error_nomem(ctx);
            goto out;
        }
    }
out:
    free(head);
    close(fd);
    return rc;
}

static const char *
parent_field(h2k_disk_format fmt)
{
    switch (fmt) {
    case H2K_FORMAT_VMDK:
        return "parentCID";
    case H2K_FORMAT_VHD:
        return "parent_unique_id";
    case H2K_FORMAT_VHDX:
        return "parent_linkage";
    default:
        return "backing_file";
    }
}

HK_OPTS_LAYOUT(probe_layout, h2k_probe_options, sizeof(h2k_probe_options));

int
h2k_probe_options_init(h2k_probe_options *opts, unsigned version)
{
    static const h2k_probe_options defaults = H2K_PROBE_OPTIONS_INIT;
    return hk_opts_init(&probe_layout, opts, version, &defaults);
}

int
h2k_disk_probe(h2k_ctx *ctx, const char *path, const h2k_probe_options *opts, h2k_disk_info **out)
{
    if (!ctx || !path || !out)
        return hk_error(ctx, H2K_ERR_INVALID_ARG, "h2k_disk_probe: NULL argument");
    *out = NULL;
    static const h2k_probe_options defaults = H2K_PROBE_OPTIONS_INIT;
    h2k_probe_options eff;
    int vrc = hk_opts_import(ctx, &probe_layout, opts, &defaults, &eff);
    if (vrc < 0)
        return vrc;
    const h2k_probe_options *o = &eff;
    unsigned max_depth = o->max_chain_depth ? o->max_chain_depth : 64;

    h2k_disk_info *info = calloc(1, sizeof(*info));
    if (!info)
        return hk_error_nomem(ctx);
    int rc = 0;
    const char *cur = path;
    uint64_t img_size = 0;
    /* the format a child records for its parent (qcow2 backing format): qemu
     * opens the parent with it, so the probe checks it as that */
    h2k_disk_format parent_fmt = H2K_FORMAT_UNKNOWN;
    /* the parent's window inside its file (an OVA member under our overlay) */
    uint64_t win_off = 0, win_size = 0;
    for (unsigned depth = 0;; depth++) {
        if ((rc = hk_check_cancel(ctx)) < 0)
            goto fail;
        if (depth >= max_depth) {
            rc = hk_error_at(ctx, H2K_ERR_FORMAT, info->layers[depth - 1].path, -1,
                             parent_field(info->layers[depth - 1].format),
                             "snapshot chain is deeper than %u layers", max_depth);
            goto fail;
        }
        h2k_disk_layer *nl = realloc(info->layers, (info->n_layers + 1) * sizeof(*nl));
        if (!nl) {
            rc = hk_error_nomem(ctx);
            goto fail;
        }
        info->layers = nl;
        h2k_disk_layer *layer = &info->layers[info->n_layers];
        uint64_t sz = 0;
        h2k_disk_format forced = depth ? parent_fmt : o->format;
        rc = probe_one(ctx, cur, o, depth ? win_off : o->offset, depth ? win_size : o->size, forced,
                       layer, &sz, &parent_fmt);
        info->n_layers++;
        if (rc < 0) {
            if (depth > 0) {
                const h2k_disk_layer *child = &info->layers[depth - 1];
                if (rc == H2K_ERR_NOT_FOUND)
                    rc = hk_error_at(ctx, H2K_ERR_FORMAT, child->path, -1,
                                     parent_field(child->format),
                                     "broken snapshot chain: parent %s (recorded as \"%s\") "
                                     "does not exist",
                                     child->parent_path, child->parent_hint);
                else
                    hk_error_prefix(ctx, "in the snapshot chain of %s", info->layers[0].path);
            }
            goto fail;
        }
        if (depth == 0)
            img_size = sz;
        if (depth > 0) {
            const h2k_disk_layer *child = &info->layers[depth - 1];
            for (size_t k = 0; k < depth; k++) {
                if (strcmp(info->layers[k].path, layer->path) == 0) {
                    rc = hk_error_at(ctx, H2K_ERR_FORMAT, child->path, -1,
                                     parent_field(child->format), "snapshot chain loops back to %s",
                                     layer->path);
                    goto fail;
                }
            }
            if (child->parent_id && layer->id && strcasecmp(child->parent_id, layer->id) != 0) {
                rc = hk_error_at(ctx, H2K_ERR_FORMAT, child->path, -1, parent_field(child->format),
                                 "snapshot chain mismatch: expects parent id %s but %s has %s",
                                 child->parent_id, layer->path, layer->id);
                goto fail;
            }
            if (child->parent_id && !layer->id && child->format == layer->format) {
                rc = hk_error_at(ctx, H2K_ERR_FORMAT, child->path, -1, parent_field(child->format),
                                 "snapshot chain mismatch: parent %s has no id to match %s",
                                 layer->path, child->parent_id);
                goto fail;
            }
        }
        if (!layer->parent_path || !o->follow_chain)
            break;
        if (depth == 0 && (o->offset || o->size)) {
            rc = hk_error_at(ctx, H2K_ERR_UNSUPPORTED, layer->path, (int64_t)o->offset,
                             parent_field(layer->format),
                             "an image inside a container cannot have a parent (%s)",
                             layer->parent_hint);
            goto fail;
        }
        win_off = win_size = 0;
        if (layer->format == H2K_FORMAT_QCOW2 && hk_startswith(layer->parent_hint, "json:")) {
            /* only a container window gets here (the qcow2 probe checked it) */
            char *wfmt = NULL, *wfile = NULL;
            const char *pf = h2k_disk_format_qemu_name(parent_fmt);
            if (hk_window_json_parse(layer->parent_hint, &wfmt, &wfile, &win_off, &win_size) < 0 ||
                strcmp(wfmt, pf ? pf : "") != 0) {
                rc = hk_error_at(ctx, H2K_ERR_FORMAT, layer->path, -1, "backing_format",
                                 "the backing window's format (%s) is not the backing format "
                                 "the image records (%s)",
                                 wfmt ? wfmt : "?", h2k_disk_format_name(parent_fmt));
                free(wfmt);
                free(wfile);
                goto fail;
            }
            free(wfmt);
            free(wfile);
        }
        cur = layer->parent_path;
    }

    info->path = strdup(info->layers[0].path);
    info->subformat = hk_strdup0(info->layers[0].subformat);
    if (!info->path || (info->layers[0].subformat && !info->subformat)) {
        rc = hk_error_nomem(ctx);
        goto fail;
    }
    info->format = info->layers[0].format;
    info->virtual_size = info->layers[0].virtual_size;
    info->offset = o->offset;
    info->size = img_size;
    for (size_t i = 0; i < info->n_layers; i++)
        info->allocated_size += info->layers[i].allocated_size;
    *out = info;
    return 0;

fail:
    h2k_disk_info_free(info);
    return rc;
}

static json_object *
extents_json(const h2k_disk_layer *l)
{
    json_object *arr = json_object_new_array();
    for (size_t i = 0; i < l->n_extents; i++) {
        const h2k_disk_extent *e = &l->extents[i];
        json_object *je = json_object_new_object();
        hk_json_add_str(je, "path", e->path);
        hk_json_add_str(je, "type", e->type);
        hk_json_add_str(je, "access", e->access);
        hk_json_add_u64(je, "sectors", e->sectors);
        hk_json_add_u64(je, "offset", e->offset);
        hk_json_add_u64(je, "file_size", e->file_size);
        json_object_array_add(arr, je);
    }
    return arr;
}

char *
h2k_disk_info_to_json(const h2k_disk_info *info)
{
    if (!info)
        return NULL;
    json_object *o = json_object_new_object();
    if (!o)
        return NULL;
    hk_json_add_str(o, "path", info->path);
    hk_json_add_str(o, "format", h2k_disk_format_name(info->format));
    hk_json_add_str(o, "subformat", info->subformat);
    hk_json_add_u64(o, "virtual_size", info->virtual_size);
    hk_json_add_u64(o, "allocated_size", info->allocated_size);
    hk_json_add_u64(o, "offset", info->offset);
    hk_json_add_u64(o, "size", info->size);
    json_object *chain = json_object_new_array();
    for (size_t i = 0; i < info->n_layers; i++) {
        const h2k_disk_layer *l = &info->layers[i];
        json_object *jl = json_object_new_object();
        hk_json_add_str(jl, "path", l->path);
        hk_json_add_str(jl, "format", h2k_disk_format_name(l->format));
        hk_json_add_str(jl, "subformat", l->subformat);
        hk_json_add_u64(jl, "virtual_size", l->virtual_size);
        hk_json_add_u64(jl, "allocated_size", l->allocated_size);
        hk_json_add_u64(jl, "cluster_size", l->cluster_size);
        hk_json_add_str(jl, "id", l->id);
        hk_json_add_str(jl, "parent_id", l->parent_id);
        hk_json_add_str(jl, "parent_hint", l->parent_hint);
        hk_json_add_str(jl, "parent_path", l->parent_path);
        json_object_object_add(jl, "compressed", json_object_new_boolean(l->compressed));
        json_object_object_add(jl, "extents", extents_json(l));
        json_object_array_add(chain, jl);
    }
    json_object_object_add(o, "chain", chain);
    json_object_object_add(o, "extents",
                           info->n_layers ? extents_json(&info->layers[0])
                                          : json_object_new_array());
    return hk_json_steal_string(o);
}
