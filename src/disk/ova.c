/*
 * The OVA reader: the archive opened and indexed in place (tar_index.c), its
 * members found by name and read where they lie.  The manifest checks are in
 * ova_digest.c, the OVF spec in ova_spec.c, the extraction in ova_extract.c.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ova_internal.h"

/* ------------------------------------------------------------------ open */

static int
cmp_member_name(const void *a, const void *b)
{
    const h2k_ova_member *x = *(const h2k_ova_member *const *)a;
    const h2k_ova_member *y = *(const h2k_ova_member *const *)b;
    return strcmp(x->name, y->name);
}

void
h2k_ova_free(h2k_ova *ova)
{
    if (!ova)
        return;
    for (size_t i = 0; i < ova->n; i++)
        free((char *)ova->members[i].name);
    free(ova->members);
    free(ova->header_offsets);
    free((void *)ova->by_name);
    if (ova->fd >= 0)
        close(ova->fd);
    free(ova->path);
    free(ova);
}

int
h2k_ova_open(h2k_ctx *ctx, const char *path, h2k_ova **out)
{
    if (out)
        *out = NULL;
    if (!ctx || !path || !out)
        return hk_error(ctx, H2K_ERR_INVALID_ARG, "h2k_ova_open: NULL argument");
    int rc = 0;
    hk_tar_member *tm = NULL;
    size_t tn = 0;
    h2k_ova *ova = calloc(1, sizeof(*ova));
    if (!ova)
        return hk_error_nomem(ctx);
    ova->fd = -1;
    ova->path = hk_abspath(path);
    if (!ova->path) {
        rc = hk_error_nomem(ctx);
        goto fail;
    }
    ova->fd = hk_open_input(ctx, ova->path, "OVA", 0, NULL);
    if (ova->fd < 0) {
        rc = ova->fd;
        goto fail;
    }
    struct stat st;
    if (fstat(ova->fd, &st) < 0) {
        rc = hk_error_errno(ctx, errno, ova->path, "cannot stat OVA");
        goto fail;
    }
    if (!S_ISREG(st.st_mode)) {
        rc = hk_error_at(ctx, H2K_ERR_FORMAT, ova->path, -1, NULL, "an OVA must be a regular file");
        goto fail;
    }
    ova->file_size = (uint64_t)st.st_size;
    if ((rc = hk_tar_index(ctx, ova->fd, ova->path, ova->file_size, NULL, &tm, &tn)) < 0)
        goto fail;
    if (tn > 0) {
        ova->members = calloc(tn, sizeof(*ova->members));
        ova->header_offsets = calloc(tn, sizeof(*ova->header_offsets));
        ova->by_name = calloc(tn, sizeof(*ova->by_name));
        if (!ova->members || !ova->header_offsets || !ova->by_name) {
            rc = hk_error_nomem(ctx);
            goto fail;
        }
    }
    for (size_t i = 0; i < tn; i++) {
        ova->members[i].name = tm[i].name;
        tm[i].name = NULL;
        ova->members[i].offset = tm[i].data_offset;
        ova->members[i].size = tm[i].size;
        ova->header_offsets[i] = tm[i].header_offset;
        ova->by_name[i] = &ova->members[i];
        ova->n++;
    }
    if (ova->n > 1)
        qsort(ova->by_name, ova->n, sizeof(*ova->by_name), cmp_member_name);
    for (size_t i = 0; i < ova->n; i++) {
        if (hk_endswith_nocase(ova->members[i].name, ".cert"))
            hk_info(ctx, HK_OVA_DOMAIN,
                    "%s: certificate %s present; its signature is not checked (the "
                    "manifest digests are)",
                    ova->path, ova->members[i].name);
        hk_debug(ctx, HK_OVA_DOMAIN, "%s: member %s at offset %llu, %llu bytes", ova->path,
                 ova->members[i].name, (unsigned long long)ova->members[i].offset,
                 (unsigned long long)ova->members[i].size);
    }
    hk_tar_members_free(tm, tn);
    *out = ova;
    return 0;
fail:
    hk_tar_members_free(tm, tn);
    h2k_ova_free(ova);
    return rc;
}

size_t
h2k_ova_member_count(const h2k_ova *ova)
{
    return ova ? ova->n : 0;
}

const h2k_ova_member *
h2k_ova_member_at(const h2k_ova *ova, size_t i)
{
    if (!ova || i >= ova->n)
        return NULL;
    return &ova->members[i];
}

size_t
hk_ova_member_index(const h2k_ova *ova, const char *name)
{
    size_t lo = 0, hi = ova->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(name, ova->by_name[mid]->name);
        if (c == 0)
            return (size_t)(ova->by_name[mid] - ova->members);
        if (c < 0)
            hi = mid;
        else
            lo = mid + 1;
    }
    return SIZE_MAX;
}

const h2k_ova_member *
h2k_ova_find(const h2k_ova *ova, const char *name)
{
    if (!ova || !name)
        return NULL;
    size_t i = hk_ova_member_index(ova, name);
    return i == SIZE_MAX ? NULL : &ova->members[i];
}

/* Member index of @ref (a file name as a descriptor records it) relative to
 * the folder @dir of the descriptor ("" for the root), then as written.
 * SIZE_MAX when absent or unsafe. */
size_t
hk_ova_resolve_ref(const h2k_ova *ova, const char *dir, const char *ref)
{
    if (!ref || !*ref)
        return SIZE_MAX;
    char *norm = NULL;
    const char *why = NULL;
    if (hk_tar_normalise_name(ref, strlen(ref), HK_TAR_MAX_NAME, &norm, &why) != 0)
        return SIZE_MAX;
    size_t idx = SIZE_MAX;
    if (dir && *dir) {
        char *j = hk_asprintf("%s/%s", dir, norm);
        if (j)
            idx = hk_ova_member_index(ova, j);
        free(j);
    }
    if (idx == SIZE_MAX)
        idx = hk_ova_member_index(ova, norm);
    free(norm);
    return idx;
}

/* Folder part of a member name ("" at the root); caller frees. */
char *
hk_ova_member_dir(const char *name)
{
    const char *s = strrchr(name, '/');
    return s ? hk_strndup(name, (size_t)(s - name)) : strdup("");
}

/* ------------------------------------------------------------- streaming */

/* Reads member @i in chunks of @bufsz, calling @fn for each; checks for
 * cancellation between chunks and reports progress (@done advanced). */
int
hk_ova_stream_member(h2k_ctx *ctx, const h2k_ova *ova, size_t i, uint8_t *buf, size_t bufsz,
                     hk_ova_chunk_fn fn, void *ud, const char *stage, uint64_t *done,
                     uint64_t total)
{
    const h2k_ova_member *m = &ova->members[i];
    uint64_t pos = 0;
    while (pos < m->size) {
        int rc = hk_check_cancel(ctx);
        if (rc < 0)
            return rc;
        size_t n = m->size - pos < bufsz ? (size_t)(m->size - pos) : bufsz;
        rc = hk_pread_exact(ctx, ova->fd, ova->path, buf, n, m->offset + pos, m->name);
        if (rc < 0)
            return rc;
        if ((rc = fn(ctx, ud, buf, n)) < 0)
            return rc;
        pos += n;
        *done += n;
        hk_progress(ctx, stage, *done, total);
    }
    return hk_check_cancel(ctx);
}

/* Reads a small member whole (NUL-terminated); caller frees *out. */
int
hk_ova_read_small_member(h2k_ctx *ctx, const h2k_ova *ova, size_t i, size_t limit, char **out)
{
    const h2k_ova_member *m = &ova->members[i];
    *out = NULL;
    if (m->size > limit)
        return hk_error_at(ctx, H2K_ERR_FORMAT, ova->path, (int64_t)ova->header_offsets[i], "size",
                           "member %s is too large (%llu bytes, limit %zu)", m->name,
                           (unsigned long long)m->size, limit);
    char *b = malloc((size_t)m->size + 1);
    if (!b)
        return hk_error_nomem(ctx);
    int rc = hk_pread_exact(ctx, ova->fd, ova->path, b, (size_t)m->size, m->offset, m->name);
    if (rc < 0) {
        free(b);
        return rc;
    }
    b[m->size] = '\0';
    *out = b;
    return 0;
}

size_t
hk_ova_member_by_offset(const h2k_ova *ova, uint64_t offset)
{
    for (size_t i = 0; ova && i < ova->n; i++)
        if (ova->members[i].offset == offset)
            return i;
    return SIZE_MAX;
}

const char *
hk_ova_path(const h2k_ova *ova)
{
    return ova->path;
}
