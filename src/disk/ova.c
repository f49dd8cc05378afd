/*
 * The OVA reader: an in-place index of the tar (tar_index.c), manifest
 * verification, the OVF spec with disks read where they lie, and a safe
 * extraction (no path escapes, no links followed, temporary names renamed
 * when complete, everything removed again on failure).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <zlib.h>

#include "ova_internal.h"

#define OVA_DOMAIN "ova"
#define COPY_BUF (1u << 20)
#define MAX_OVF_SIZE (16u << 20)
#define MAX_MF_SIZE (1u << 20)
#define DEFAULT_MAX_TOTAL (UINT64_C(16) << 40)

struct h2k_ova {
    char *path;                /* absolute */
    int fd;
    uint64_t file_size;
    size_t n;
    h2k_ova_member *members;   /* archive order; names owned */
    uint64_t *header_offsets;  /* first header of each member */
    const h2k_ova_member **by_name; /* members sorted by name */
};

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
        rc = hk_error_at(ctx, H2K_ERR_FORMAT, ova->path, -1, NULL,
                         "an OVA must be a regular file");
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
            hk_info(ctx, OVA_DOMAIN,
                    "%s: certificate %s present; its signature is not checked (the "
                    "manifest digests are)",
                    ova->path, ova->members[i].name);
        hk_debug(ctx, OVA_DOMAIN, "%s: member %s at offset %llu, %llu bytes", ova->path,
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

static size_t
member_index(const h2k_ova *ova, const char *name)
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
    size_t i = member_index(ova, name);
    return i == SIZE_MAX ? NULL : &ova->members[i];
}

/* Member index of @ref (a file name as a descriptor records it) relative to
 * the folder @dir of the descriptor ("" for the root), then as written.
 * SIZE_MAX when absent or unsafe. */
static size_t
resolve_ref(const h2k_ova *ova, const char *dir, const char *ref)
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
            idx = member_index(ova, j);
        free(j);
    }
    if (idx == SIZE_MAX)
        idx = member_index(ova, norm);
    free(norm);
    return idx;
}

/* Folder part of a member name ("" at the root); caller frees. */
static char *
member_dir(const char *name)
{
    const char *s = strrchr(name, '/');
    return s ? hk_strndup(name, (size_t)(s - name)) : strdup("");
}

/* ------------------------------------------------------------- streaming */

typedef int (*chunk_fn)(h2k_ctx *ctx, void *ud, const uint8_t *buf, size_t len);

/* Reads member @i in chunks of @bufsz, calling @fn for each; checks for
 * cancellation between chunks and reports progress (@done advanced). */
static int
stream_member(h2k_ctx *ctx, const h2k_ova *ova, size_t i, uint8_t *buf, size_t bufsz,
              chunk_fn fn, void *ud, const char *stage, uint64_t *done, uint64_t total)
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
static int
read_small_member(h2k_ctx *ctx, const h2k_ova *ova, size_t i, size_t limit, char **out)
{
    const h2k_ova_member *m = &ova->members[i];
    *out = NULL;
    if (m->size > limit)
        return hk_error_at(ctx, H2K_ERR_FORMAT, ova->path, (int64_t)ova->header_offsets[i],
                           "size", "member %s is too large (%llu bytes, limit %zu)", m->name,
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

/* -------------------------------------------------------------- manifest */

static int
hash_chunk(h2k_ctx *ctx, void *ud, const uint8_t *buf, size_t len)
{
    if (EVP_DigestUpdate((EVP_MD_CTX *)ud, buf, len) != 1)
        return hk_error(ctx, H2K_ERR_GENERIC, "digest update failed");
    return 0;
}

static int
hasher_chunk(h2k_ctx *ctx, void *ud, const uint8_t *buf, size_t len)
{
    return hk_ova_hasher_update(ctx, ud, buf, len);
}

static const EVP_MD *
evp_of(hk_mf_algo a)
{
    switch (a) {
    case HK_MF_SHA1:
        return EVP_sha1();
    case HK_MF_SHA256:
        return EVP_sha256();
    case HK_MF_SHA512:
        return EVP_sha512();
    }
    return NULL;
}

typedef struct mf_check {
    hk_mf_entry *e;
    size_t member;
    size_t dup_of; /* an earlier entry for the same member and algorithm, or SIZE_MAX */
    const char *mf_name;
} mf_check;

/* Verifies one manifest member; @done/@total carry progress across manifests. */
static int
verify_one_manifest(h2k_ctx *ctx, const h2k_ova *ova, size_t mi, uint8_t *buf)
{
    const h2k_ova_member *mf = &ova->members[mi];
    char *text = NULL, *dir = NULL;
    hk_mf_entry *ent = NULL;
    size_t ne = 0;
    mf_check *chk = NULL;
    EVP_MD_CTX *md = NULL;
    int rc = read_small_member(ctx, ova, mi, MAX_MF_SIZE, &text);
    if (rc < 0)
        return rc;
    if ((rc = hk_mf_parse(ctx, text, (size_t)mf->size, ova->path, mf->name, mf->offset, &ent,
                          &ne)) < 0)
        goto out;
    dir = member_dir(mf->name);
    chk = calloc(ne ? ne : 1, sizeof(*chk));
    md = EVP_MD_CTX_new();
    if (!dir || !chk || !md) {
        rc = hk_error_nomem(ctx);
        goto out;
    }
    /* each (member, algorithm) is hashed once, however often it is listed:
       first[] holds the line that first named it */
    size_t *first = malloc((ova->n ? ova->n : 1) * 3 * sizeof(*first));
    if (!first) {
        rc = hk_error_nomem(ctx);
        goto out;
    }
    for (size_t k = 0; k < ova->n * 3; k++)
        first[k] = SIZE_MAX;
    uint64_t total = 0, done = 0;
    for (size_t i = 0; i < ne; i++) {
        if ((i & 1023) == 0 && (rc = hk_check_cancel(ctx)) < 0) {
            free(first);
            goto out;
        }
        size_t idx = resolve_ref(ova, dir, ent[i].name);
        if (idx == SIZE_MAX) {
            rc = hk_error_at(ctx, H2K_ERR_VALIDATION, ova->path, (int64_t)mf->offset,
                             "manifest",
                             "manifest %s line %u lists %s, which is not in the OVA",
                             mf->name, ent[i].line, ent[i].name);
            free(first);
            goto out;
        }
        chk[i].e = &ent[i];
        chk[i].member = idx;
        size_t key = idx * 3 + (size_t)ent[i].algo;
        if (first[key] == SIZE_MAX) {
            first[key] = i;
            chk[i].dup_of = SIZE_MAX;
            total += ova->members[idx].size;
        } else {
            chk[i].dup_of = first[key];
        }
    }
    free(first);
    if (ne == 0)
        hk_warn(ctx, OVA_DOMAIN, "%s: manifest %s lists no file", ova->path, mf->name);
    for (size_t i = 0; i < ne; i++) {
        const hk_mf_entry *e = chk[i].e;
        size_t idx = chk[i].member;
        if (chk[i].dup_of != SIZE_MAX) {
            /* hashed already, for an earlier line that it verified */
            const hk_mf_entry *f = chk[chk[i].dup_of].e;
            if ((i & 1023) == 0 && (rc = hk_check_cancel(ctx)) < 0)
                goto out;
            if (strcmp(e->digest, f->digest) != 0) {
                rc = hk_error_at(ctx, H2K_ERR_VALIDATION, ova->path,
                                 (int64_t)ova->members[idx].offset, hk_mf_algo_name(e->algo),
                                 "member %s does not match manifest %s (line %u): %s expected "
                                 "%s, actual %s",
                                 ova->members[idx].name, mf->name, e->line,
                                 hk_mf_algo_name(e->algo), e->digest, f->digest);
                goto out;
            }
            continue;
        }
        if (EVP_DigestInit_ex(md, evp_of(e->algo), NULL) != 1) {
            rc = hk_error(ctx, H2K_ERR_GENERIC, "cannot initialise %s", hk_mf_algo_name(e->algo));
            goto out;
        }
        if ((rc = stream_member(ctx, ova, idx, buf, COPY_BUF, hash_chunk, md, "verify", &done,
                                total)) < 0)
            goto out;
        unsigned char dg[EVP_MAX_MD_SIZE];
        unsigned dl = 0;
        if (EVP_DigestFinal_ex(md, dg, &dl) != 1) {
            rc = hk_error(ctx, H2K_ERR_GENERIC, "digest failed");
            goto out;
        }
        char hex[2 * EVP_MAX_MD_SIZE + 1];
        for (unsigned k = 0; k < dl; k++)
            snprintf(hex + 2 * k, 3, "%02x", dg[k]);
        hex[2 * dl] = '\0';
        if (strcmp(hex, e->digest) != 0) {
            rc = hk_error_at(ctx, H2K_ERR_VALIDATION, ova->path,
                             (int64_t)ova->members[idx].offset, hk_mf_algo_name(e->algo),
                             "member %s does not match manifest %s (line %u): %s expected "
                             "%s, actual %s",
                             ova->members[idx].name, mf->name, e->line,
                             hk_mf_algo_name(e->algo), e->digest, hex);
            goto out;
        }
        hk_debug(ctx, OVA_DOMAIN, "%s: %s %s ok", ova->path, ova->members[idx].name,
                 hk_mf_algo_name(e->algo));
    }
    hk_info(ctx, OVA_DOMAIN, "%s: manifest %s: %zu digest(s) verified", ova->path, mf->name, ne);
out:
    EVP_MD_CTX_free(md);
    free(chk);
    hk_mf_entries_free(ent, ne);
    free(dir);
    free(text);
    return rc;
}

int
h2k_ova_verify_manifest(h2k_ctx *ctx, const h2k_ova *ova)
{
    if (!ctx || !ova)
        return hk_error(ctx, H2K_ERR_INVALID_ARG, "h2k_ova_verify_manifest: NULL argument");
    size_t found = 0;
    uint8_t *buf = NULL;
    int rc = 0;
    for (size_t i = 0; i < ova->n && rc == 0; i++) {
        if (!hk_endswith_nocase(ova->members[i].name, ".mf"))
            continue;
        if (!buf && !(buf = malloc(COPY_BUF)))
            return hk_error_nomem(ctx);
        found++;
        rc = verify_one_manifest(ctx, ova, i, buf);
    }
    free(buf);
    if (rc == 0 && found == 0)
        hk_info(ctx, OVA_DOMAIN, "%s: no manifest (.mf): digests not verified", ova->path);
    return rc;
}

/* ------------------------------------------- manifest checks while reading */

void
hk_ova_digests_free(hk_ova_digest *d, size_t n)
{
    for (size_t i = 0; d && i < n; i++)
        free(d[i].manifest);
    free(d);
}

int
hk_ova_manifest_digests(h2k_ctx *ctx, const h2k_ova *ova, hk_ova_digest **out, size_t *n_out)
{
    *out = NULL;
    *n_out = 0;
    hk_ova_digest *d = NULL;
    size_t n = 0, cap = 0;
    int rc = 0;
    for (size_t mi = 0; mi < ova->n && rc == 0; mi++) {
        const h2k_ova_member *mf = &ova->members[mi];
        if (!hk_endswith_nocase(mf->name, ".mf"))
            continue;
        char *text = NULL, *dir = NULL;
        hk_mf_entry *ent = NULL;
        size_t ne = 0;
        if ((rc = read_small_member(ctx, ova, mi, MAX_MF_SIZE, &text)) < 0)
            break;
        rc = hk_mf_parse(ctx, text, (size_t)mf->size, ova->path, mf->name, mf->offset, &ent, &ne);
        if (rc == 0 && !(dir = member_dir(mf->name)))
            rc = hk_error_nomem(ctx);
        for (size_t i = 0; i < ne && rc == 0; i++) {
            if ((i & 1023) == 0 && (rc = hk_check_cancel(ctx)) < 0)
                break;
            size_t idx = resolve_ref(ova, dir, ent[i].name);
            if (idx == SIZE_MAX) {
                rc = hk_error_at(ctx, H2K_ERR_VALIDATION, ova->path, (int64_t)mf->offset,
                                 "manifest",
                                 "manifest %s line %u lists %s, which is not in the OVA",
                                 mf->name, ent[i].line, ent[i].name);
                break;
            }
            /* one entry per member and algorithm: d holds at most 3 per
               member, so repeated lines cost a short search, never a hash */
            size_t k = 0;
            for (; k < n; k++)
                if (d[k].member == idx && d[k].algo == ent[i].algo)
                    break;
            if (k < n) {
                if (strcmp(d[k].hex, ent[i].digest) != 0)
                    rc = hk_error_at(ctx, H2K_ERR_VALIDATION, ova->path,
                                     (int64_t)ova->members[idx].offset,
                                     hk_mf_algo_name(ent[i].algo),
                                     "manifest %s line %u gives member %s another %s digest "
                                     "(%s) than %s line %u (%s)",
                                     mf->name, ent[i].line, ova->members[idx].name,
                                     hk_mf_algo_name(ent[i].algo), ent[i].digest, d[k].manifest,
                                     d[k].line, d[k].hex);
                continue;
            }
            if (n == cap) {
                size_t nc = cap ? cap * 2 : 8;
                hk_ova_digest *g = realloc(d, nc * sizeof(*g));
                if (!g) {
                    rc = hk_error_nomem(ctx);
                    break;
                }
                d = g;
                cap = nc;
            }
            memset(&d[n], 0, sizeof(d[n]));
            d[n].member = idx;
            d[n].algo = ent[i].algo;
            memcpy(d[n].hex, ent[i].digest, sizeof(d[n].hex));
            d[n].line = ent[i].line;
            if (!(d[n].manifest = strdup(mf->name))) {
                rc = hk_error_nomem(ctx);
                break;
            }
            n++;
        }
        hk_mf_entries_free(ent, ne);
        free(dir);
        free(text);
    }
    if (rc < 0) {
        hk_ova_digests_free(d, n);
        return rc;
    }
    *out = d;
    *n_out = n;
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

struct hk_ova_hasher {
    const h2k_ova *ova;
    size_t member;
    const hk_ova_digest *d[3]; /* per algorithm, or NULL */
    EVP_MD_CTX *md[3];
};

void
hk_ova_hasher_free(hk_ova_hasher *h)
{
    if (!h)
        return;
    for (int a = 0; a < 3; a++)
        EVP_MD_CTX_free(h->md[a]);
    free(h);
}

int
hk_ova_hasher_new(h2k_ctx *ctx, const h2k_ova *ova, const hk_ova_digest *d, size_t n,
                  size_t member, hk_ova_hasher **out)
{
    *out = NULL;
    hk_ova_hasher *h = NULL;
    for (size_t i = 0; i < n; i++) {
        if (d[i].member != member)
            continue;
        if (!h && !(h = calloc(1, sizeof(*h))))
            return hk_error_nomem(ctx);
        h->ova = ova;
        h->member = member;
        int a = (int)d[i].algo;
        h->d[a] = &d[i];
        if (!(h->md[a] = EVP_MD_CTX_new()) ||
            EVP_DigestInit_ex(h->md[a], evp_of(d[i].algo), NULL) != 1) {
            hk_ova_hasher_free(h);
            return hk_error(ctx, H2K_ERR_GENERIC, "cannot initialise %s",
                            hk_mf_algo_name(d[i].algo));
        }
    }
    *out = h;
    return 0;
}

int
hk_ova_hasher_update(h2k_ctx *ctx, hk_ova_hasher *h, const void *buf, size_t len)
{
    for (int a = 0; h && a < 3; a++)
        if (h->md[a] && EVP_DigestUpdate(h->md[a], buf, len) != 1)
            return hk_error(ctx, H2K_ERR_GENERIC, "digest update failed");
    return 0;
}

int
hk_ova_hasher_check(h2k_ctx *ctx, hk_ova_hasher *h)
{
    for (int a = 0; h && a < 3; a++) {
        if (!h->md[a])
            continue;
        const hk_ova_digest *e = h->d[a];
        const h2k_ova_member *m = &h->ova->members[h->member];
        unsigned char dg[EVP_MAX_MD_SIZE];
        unsigned dl = 0;
        if (EVP_DigestFinal_ex(h->md[a], dg, &dl) != 1)
            return hk_error(ctx, H2K_ERR_GENERIC, "digest failed");
        char hex[2 * EVP_MAX_MD_SIZE + 1];
        for (unsigned k = 0; k < dl; k++)
            snprintf(hex + 2 * k, 3, "%02x", dg[k]);
        hex[2 * dl] = '\0';
        if (strcmp(hex, e->hex) != 0)
            return hk_error_at(ctx, H2K_ERR_VALIDATION, h->ova->path, (int64_t)m->offset,
                               hk_mf_algo_name(e->algo),
                               "member %s does not match manifest %s (line %u): %s expected "
                               "%s, actual %s",
                               m->name, e->manifest, e->line, hk_mf_algo_name(e->algo), e->hex,
                               hex);
        hk_debug(ctx, OVA_DOMAIN, "%s: %s %s ok", h->ova->path, m->name,
                 hk_mf_algo_name(e->algo));
    }
    return 0;
}

int
hk_ova_verify_member(h2k_ctx *ctx, const h2k_ova *ova, const hk_ova_digest *d, size_t n,
                     size_t member)
{
    hk_ova_hasher *h = NULL;
    int rc = hk_ova_hasher_new(ctx, ova, d, n, member, &h);
    if (rc < 0 || !h)
        return rc;
    uint8_t *buf = malloc(COPY_BUF);
    uint64_t done = 0;
    if (!buf)
        rc = hk_error_nomem(ctx);
    else
        rc = stream_member(ctx, ova, member, buf, COPY_BUF, hasher_chunk, h, "verify", &done,
                           ova->members[member].size);
    if (rc == 0)
        rc = hk_ova_hasher_check(ctx, h);
    free(buf);
    hk_ova_hasher_free(h);
    return rc;
}

/* ------------------------------------------------------------------ spec */

/* Parses the OVA's .ovf; *ovf_idx gets its member index.  The disks are
 * matched to members: @disk_member[i] (allocated, caller frees) is the member
 * of disk i or SIZE_MAX for a disk with no file.  A file named but absent is
 * H2K_ERR_FORMAT. */
static int
load_spec(h2k_ctx *ctx, const h2k_ova *ova, h2k_vm_spec **out, size_t **disk_member)
{
    *out = NULL;
    *disk_member = NULL;
    size_t ovf = SIZE_MAX, count = 0;
    for (size_t i = 0; i < ova->n; i++)
        if (hk_endswith_nocase(ova->members[i].name, ".ovf")) {
            if (ovf == SIZE_MAX)
                ovf = i;
            count++;
        }
    if (ovf == SIZE_MAX)
        return hk_error_at(ctx, H2K_ERR_FORMAT, ova->path, -1, "ovf",
                           "the OVA holds no .ovf descriptor");
    if (count > 1)
        hk_warn(ctx, OVA_DOMAIN, "%s: %zu .ovf descriptors; using the first, %s", ova->path,
                count, ova->members[ovf].name);
    char *xml = NULL, *label = NULL, *dir = NULL;
    h2k_vm_spec *spec = NULL;
    size_t *dm = NULL;
    int rc = read_small_member(ctx, ova, ovf, MAX_OVF_SIZE, &xml);
    if (rc < 0)
        return rc;
    label = hk_asprintf("%s:%s", ova->path, ova->members[ovf].name);
    dir = member_dir(ova->members[ovf].name);
    if (!label || !dir) {
        rc = hk_error_nomem(ctx);
        goto out;
    }
    if ((rc = h2k_ovf_parse_memory(ctx, xml, (size_t)ova->members[ovf].size, NULL, label,
                                   &spec)) < 0)
        goto out;
    if (!spec) {
        rc = hk_error(ctx, H2K_ERR_GENERIC, "%s: the OVF parser returned no spec", label);
        goto out;
    }
    dm = calloc(spec->n_disks ? spec->n_disks : 1, sizeof(*dm));
    if (!dm) {
        rc = hk_error_nomem(ctx);
        goto out;
    }
    for (size_t d = 0; d < spec->n_disks; d++) {
        h2k_vm_disk *disk = &spec->disks[d];
        dm[d] = SIZE_MAX;
        const char *ref = disk->file_ref && *disk->file_ref ? disk->file_ref : disk->path;
        if (!ref || !*ref)
            continue; /* a disk created empty, with no file */
        size_t idx = resolve_ref(ova, dir, ref);
        if (idx == SIZE_MAX && disk->path && disk->path != ref)
            idx = resolve_ref(ova, dir, disk->path);
        if (idx == SIZE_MAX) {
            rc = hk_error_at(ctx, H2K_ERR_FORMAT, ova->path, -1, "ovf",
                             "%s: disk %zu names the file %s, which is not in the OVA", label,
                             d, ref);
            goto out;
        }
        dm[d] = idx;
    }
    free(spec->source_type);
    free(spec->source_path);
    spec->source_type = strdup("ova");
    spec->source_path = strdup(ova->path);
    if (!spec->source_type || !spec->source_path) {
        rc = hk_error_nomem(ctx);
        goto out;
    }
    *out = spec;
    *disk_member = dm;
    spec = NULL;
    dm = NULL;
out:
    h2k_vm_spec_free(spec);
    free(dm);
    free(dir);
    free(label);
    free(xml);
    return rc;
}

static bool
is_uncompressed(const h2k_vm_disk *d)
{
    return !d->compression || !*d->compression || hk_streq_nocase(d->compression, "identity");
}

int
h2k_ova_read_spec(h2k_ctx *ctx, const h2k_ova *ova, h2k_vm_spec **out)
{
    if (out)
        *out = NULL;
    if (!ctx || !ova || !out)
        return hk_error(ctx, H2K_ERR_INVALID_ARG, "h2k_ova_read_spec: NULL argument");
    h2k_vm_spec *spec = NULL;
    size_t *dm = NULL;
    int rc = load_spec(ctx, ova, &spec, &dm);
    if (rc < 0)
        return rc;
    for (size_t d = 0; d < spec->n_disks; d++) {
        if (dm[d] == SIZE_MAX)
            continue;
        h2k_vm_disk *disk = &spec->disks[d];
        const h2k_ova_member *m = &ova->members[dm[d]];
        char *p = strdup(m->name);
        if (!p) {
            rc = hk_error_nomem(ctx);
            goto out;
        }
        free(disk->path);
        disk->path = p;
        free(disk->container_path);
        disk->container_path = NULL;
        disk->container_offset = 0;
        disk->container_size = 0;
        if (is_uncompressed(disk)) {
            if (!(disk->container_path = strdup(ova->path))) {
                rc = hk_error_nomem(ctx);
                goto out;
            }
            disk->container_offset = m->offset;
            disk->container_size = m->size;
        }
    }
    *out = spec;
    spec = NULL;
out:
    h2k_vm_spec_free(spec);
    free(dm);
    return rc;
}

/* --------------------------------------------------------------- extract */

typedef struct strvec {
    char **v;
    size_t n, cap;
} strvec;

static int
strvec_add(strvec *s, char *str)
{
    if (!str)
        return -1;
    if (s->n == s->cap) {
        size_t nc = s->cap ? s->cap * 2 : 16;
        char **nv = realloc(s->v, nc * sizeof(*nv));
        if (!nv) {
            free(str);
            return -1;
        }
        s->v = nv;
        s->cap = nc;
    }
    s->v[s->n++] = str;
    return 0;
}

static void
strvec_free(strvec *s)
{
    for (size_t i = 0; i < s->n; i++)
        free(s->v[i]);
    free(s->v);
    memset(s, 0, sizeof(*s));
}

typedef struct xstate {
    h2k_ctx *ctx;
    const h2k_ova *ova;
    const char *outdir;  /* absolute */
    int rootfd;
    strvec files;        /* relative paths written (final names) */
    strvec dirs;         /* relative folders created, in creation order */
    uint64_t budget;     /* bytes that may still be written */
    uint64_t done, total;
    uint8_t *in, *outbuf;
} xstate;

/* Opens the folder holding @rel (relative, normalised) under the output
 * folder, creating missing folders when @create; never follows a symbolic
 * link.  *pfd = -1 (and 0 returned) when a folder is missing and !create. */
static int
open_parent(xstate *x, const char *rel, bool create, int *pfd)
{
    *pfd = -1;
    int fd = dup(x->rootfd);
    if (fd < 0)
        return hk_error_errno(x->ctx, errno, x->outdir, "dup");
    const char *p = rel;
    const char *sl;
    while ((sl = strchr(p, '/'))) {
        char *comp = hk_strndup(p, (size_t)(sl - p));
        char *sofar = hk_strndup(rel, (size_t)(sl - rel));
        if (!comp || !sofar) {
            free(comp);
            free(sofar);
            close(fd);
            return hk_error_nomem(x->ctx);
        }
        if (create) {
            if (mkdirat(fd, comp, 0755) == 0) {
                if (strvec_add(&x->dirs, strdup(sofar)) < 0) {
                    free(comp);
                    free(sofar);
                    close(fd);
                    return hk_error_nomem(x->ctx);
                }
            } else if (errno != EEXIST) {
                int e = errno;
                char *full = hk_path_join(x->outdir, sofar);
                int rc = hk_error_errno(x->ctx, e, full ? full : sofar, "cannot create folder");
                hk_error_set_output(x->ctx, full);
                free(full);
                free(comp);
                free(sofar);
                close(fd);
                return rc;
            }
        }
        int nfd = openat(fd, comp, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        int e = errno;
        free(comp);
        close(fd);
        if (nfd < 0) {
            if (e == ENOENT && !create) {
                free(sofar);
                return 0;
            }
            char *full = hk_path_join(x->outdir, sofar);
            int rc;
            if (e == ELOOP || e == ENOTDIR)
                rc = hk_error(x->ctx, H2K_ERR_EXISTS,
                              "%s exists and is not a folder (symbolic links are not "
                              "followed)",
                              full ? full : sofar);
            else
                rc = hk_error_errno(x->ctx, e, full ? full : sofar, "cannot open folder");
            hk_error_set_output(x->ctx, full);
            free(full);
            free(sofar);
            return rc;
        }
        free(sofar);
        fd = nfd;
        p = sl + 1;
    }
    *pfd = fd;
    return 0;
}

static const char *
base_name(const char *rel)
{
    const char *s = strrchr(rel, '/');
    return s ? s + 1 : rel;
}

static int
write_all(xstate *x, int fd, const char *tmp_full, const uint8_t *b, size_t n)
{
    if ((uint64_t)n > x->budget)
        return hk_error(x->ctx, H2K_ERR_VALIDATION,
                        "extraction of %s exceeds the size limit (max_total_size): refused "
                        "(compression bomb?)",
                        x->ova->path);
    x->budget -= n;
    while (n > 0) {
        ssize_t w = write(fd, b, n);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            int rc = hk_error_errno(x->ctx, errno, tmp_full, "write failed");
            hk_error_set_output(x->ctx, tmp_full);
            return rc;
        }
        b += w;
        n -= (size_t)w;
    }
    return 0;
}

typedef struct copy_ud {
    xstate *x;
    int fd;
    const char *tmp_full;
    /* gzip */
    bool gz;
    bool gz_end;
    z_stream zs;
    size_t member;
} copy_ud;

static int
copy_chunk(h2k_ctx *ctx, void *ud, const uint8_t *buf, size_t len)
{
    copy_ud *c = ud;
    (void)ctx;
    if (!c->gz)
        return write_all(c->x, c->fd, c->tmp_full, buf, len);
    c->zs.next_in = (Bytef *)buf;
    c->zs.avail_in = (uInt)len;
    while (c->zs.avail_in > 0) {
        if (c->gz_end) {
            /* another gzip member follows (concatenated streams) */
            if (inflateReset(&c->zs) != Z_OK)
                return hk_error(ctx, H2K_ERR_GENERIC, "inflateReset failed");
            c->gz_end = false;
        }
        c->zs.next_out = c->x->outbuf;
        c->zs.avail_out = COPY_BUF;
        int zr = inflate(&c->zs, Z_NO_FLUSH);
        size_t produced = COPY_BUF - c->zs.avail_out;
        if (zr != Z_OK && zr != Z_STREAM_END && !(zr == Z_BUF_ERROR && produced > 0)) {
            const h2k_ova_member *m = &c->x->ova->members[c->member];
            return hk_error_at(ctx, H2K_ERR_FORMAT, c->x->ova->path,
                               (int64_t)(m->offset + c->zs.total_in), m->name,
                               "member %s: corrupt gzip data: %s", m->name,
                               c->zs.msg ? c->zs.msg : "inflate failed");
        }
        if (produced) {
            int rc = write_all(c->x, c->fd, c->tmp_full, c->x->outbuf, produced);
            if (rc < 0)
                return rc;
        }
        if (zr == Z_STREAM_END)
            c->gz_end = true;
    }
    /* output may still be pending with no input left */
    while (!c->gz_end) {
        c->zs.next_out = c->x->outbuf;
        c->zs.avail_out = COPY_BUF;
        int zr = inflate(&c->zs, Z_NO_FLUSH);
        size_t produced = COPY_BUF - c->zs.avail_out;
        if (produced) {
            int rc = write_all(c->x, c->fd, c->tmp_full, c->x->outbuf, produced);
            if (rc < 0)
                return rc;
        }
        if (zr == Z_STREAM_END)
            c->gz_end = true;
        if (produced == 0 || zr != Z_OK)
            break;
    }
    return 0;
}

/* Creates "<base>.part-XXXXXX" in @pfd; returns the fd and the name. */
static int
create_tmp(xstate *x, int pfd, const char *base, const char *rel, char **tmp_name)
{
    static const char al[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    *tmp_name = NULL;
    for (int tries = 0; tries < 100; tries++) {
        unsigned char r[6];
        if (getrandom(r, sizeof(r), 0) != (ssize_t)sizeof(r)) {
            /* no rand(): its hidden state is shared by every thread */
            uint64_t t = (uint64_t)(hk_now() * 1e9) ^ ((uint64_t)getpid() << 20) ^
                         (uint64_t)(uintptr_t)tmp_name ^ (uint64_t)tries;
            for (size_t k = 0; k < sizeof(r); k++, t >>= 7)
                r[k] = (unsigned char)t;
        }
        char sfx[7];
        for (size_t k = 0; k < 6; k++)
            sfx[k] = al[r[k] % (sizeof(al) - 1)];
        sfx[6] = '\0';
        char *t = hk_asprintf("%s.part-%s", base, sfx);
        if (!t)
            return hk_error_nomem(x->ctx);
        int fd = openat(pfd, t, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
        if (fd >= 0) {
            *tmp_name = t;
            return fd;
        }
        int e = errno;
        free(t);
        if (e != EEXIST) {
            char *full = hk_path_join(x->outdir, rel);
            int rc = hk_error_errno(x->ctx, e, full ? full : rel,
                                    "cannot create temporary output for");
            hk_error_set_output(x->ctx, full);
            free(full);
            return rc;
        }
    }
    return hk_error(x->ctx, H2K_ERR_IO, "cannot find a free temporary name for %s", rel);
}

static int
final_rename(int pfd, const char *tmp, const char *base)
{
    if (renameat2(pfd, tmp, pfd, base, RENAME_NOREPLACE) == 0)
        return 0;
    if (errno != EINVAL && errno != ENOSYS)
        return -1;
    /* file system without RENAME_NOREPLACE */
    struct stat st;
    if (fstatat(pfd, base, &st, AT_SYMLINK_NOFOLLOW) == 0) {
        errno = EEXIST;
        return -1;
    }
    return renameat(pfd, tmp, pfd, base);
}

/* Extracts member @i as @rel (relative output name), gunzipping when @gz. */
static int
extract_member(xstate *x, size_t i, const char *rel, bool gz)
{
    int pfd = -1, fd = -1, rc = 0;
    char *tmp = NULL, *tmp_full = NULL;
    copy_ud c;
    memset(&c, 0, sizeof(c));
    bool z_init = false;
    if ((rc = open_parent(x, rel, true, &pfd)) < 0)
        return rc;
    const char *base = base_name(rel);
    if ((fd = create_tmp(x, pfd, base, rel, &tmp)) < 0) {
        rc = fd;
        fd = -1;
        goto out;
    }
    char *dir = member_dir(rel);
    tmp_full = dir ? hk_asprintf("%s%s%s/%s", x->outdir, *dir ? "/" : "", dir, tmp) : NULL;
    free(dir);
    if (!tmp_full) {
        rc = hk_error_nomem(x->ctx);
        goto out;
    }
    c.x = x;
    c.fd = fd;
    c.tmp_full = tmp_full;
    c.gz = gz;
    c.member = i;
    if (gz) {
        if (inflateInit2(&c.zs, 15 + 16) != Z_OK) {
            rc = hk_error(x->ctx, H2K_ERR_GENERIC, "inflateInit2 failed");
            goto out;
        }
        z_init = true;
    }
    if ((rc = stream_member(x->ctx, x->ova, i, x->in, COPY_BUF, copy_chunk, &c, "extract",
                            &x->done, x->total)) < 0)
        goto out;
    if (gz && !c.gz_end) {
        const h2k_ova_member *m = &x->ova->members[i];
        rc = hk_error_at(x->ctx, H2K_ERR_FORMAT, x->ova->path, (int64_t)(m->offset + m->size),
                         m->name, "member %s: the gzip data is truncated", m->name);
        goto out;
    }
    if (fsync(fd) < 0 || close(fd) < 0) {
        fd = -1;
        rc = hk_error_errno(x->ctx, errno, tmp_full, "cannot write");
        hk_error_set_output(x->ctx, tmp_full);
        goto out;
    }
    fd = -1;
    if (final_rename(pfd, tmp, base) < 0) {
        int e = errno;
        char *full = hk_path_join(x->outdir, rel);
        rc = hk_error_errno(x->ctx, e, full ? full : rel, "cannot rename the output into place");
        hk_error_set_output(x->ctx, full);
        free(full);
        goto out;
    }
    free(tmp);
    tmp = NULL;
    if (strvec_add(&x->files, strdup(rel)) < 0)
        rc = hk_error_nomem(x->ctx);
out:
    if (z_init)
        inflateEnd(&c.zs);
    if (fd >= 0)
        close(fd);
    if (tmp && pfd >= 0)
        unlinkat(pfd, tmp, 0);
    free(tmp);
    free(tmp_full);
    if (pfd >= 0)
        close(pfd);
    return rc;
}

/* Removes everything written (files, then the folders created, deepest first). */
static void
cleanup_output(xstate *x)
{
    for (size_t i = x->files.n; i > 0; i--) {
        const char *rel = x->files.v[i - 1];
        int pfd = -1;
        if (open_parent(x, rel, false, &pfd) == 0 && pfd >= 0) {
            unlinkat(pfd, base_name(rel), 0);
            close(pfd);
        }
    }
    for (size_t i = x->dirs.n; i > 0; i--) {
        const char *rel = x->dirs.v[i - 1];
        int pfd = -1;
        if (open_parent(x, rel, false, &pfd) == 0 && pfd >= 0) {
            unlinkat(pfd, base_name(rel), AT_REMOVEDIR);
            close(pfd);
        }
    }
}

/* mkdir -p of the absolute @dir; folders created are appended to @made. */
static int
make_outdir(h2k_ctx *ctx, const char *dir, strvec *made)
{
    size_t len = strlen(dir);
    char *p = strdup(dir);
    if (!p)
        return hk_error_nomem(ctx);
    for (size_t i = 1; i <= len; i++) {
        if (p[i] != '/' && p[i] != '\0')
            continue;
        char save = p[i];
        p[i] = '\0';
        if (mkdir(p, 0755) == 0) {
            if (strvec_add(made, strdup(p)) < 0) {
                free(p);
                return hk_error_nomem(ctx);
            }
        } else if (errno != EEXIST) {
            int rc = hk_error_errno(ctx, errno, p, "cannot create output folder");
            hk_error_set_output(ctx, p);
            free(p);
            return rc;
        }
        p[i] = save;
    }
    free(p);
    return 0;
}

static int
cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

HK_OPTS_LAYOUT(extract_layout, h2k_ova_extract_options, sizeof(h2k_ova_extract_options));

int
h2k_ova_extract_options_init(h2k_ova_extract_options *opts, unsigned version)
{
    static const h2k_ova_extract_options defaults = H2K_OVA_EXTRACT_OPTIONS_INIT;
    return hk_opts_init(&extract_layout, opts, version, &defaults);
}

int
h2k_ova_extract(h2k_ctx *ctx, const h2k_ova *ova, const char *output_dir,
                const h2k_ova_extract_options *opts, h2k_vm_spec **spec_out)
{
    if (spec_out)
        *spec_out = NULL;
    if (!ctx || !ova || !output_dir || !*output_dir)
        return hk_error(ctx, H2K_ERR_INVALID_ARG, "h2k_ova_extract: NULL argument");
    static const h2k_ova_extract_options defaults = H2K_OVA_EXTRACT_OPTIONS_INIT;
    h2k_ova_extract_options o;
    int vrc = hk_opts_import(ctx, &extract_layout, opts, &defaults, &o);
    if (vrc < 0)
        return vrc;
    uint64_t max_total = o.max_total_size ? o.max_total_size : DEFAULT_MAX_TOTAL;

    int rc = 0;
    h2k_vm_spec *spec = NULL;
    size_t *dm = NULL;
    bool *gz = NULL;
    char **names = NULL, **sorted = NULL;
    strvec made = { 0 };
    xstate x;
    memset(&x, 0, sizeof(x));
    x.ctx = ctx;
    x.ova = ova;
    x.rootfd = -1;
    char *outdir = hk_abspath(output_dir);
    if (!outdir)
        return hk_error_nomem(ctx);
    x.outdir = outdir;

    /* 1. limits */
    uint64_t total = 0;
    for (size_t i = 0; i < ova->n; i++)
        total += ova->members[i].size; /* bounded by the file size */
    if (total > max_total) {
        rc = hk_error_at(ctx, H2K_ERR_VALIDATION, ova->path, -1, "size",
                         "the members add up to %llu bytes, over the limit of %llu "
                         "(max_total_size)",
                         (unsigned long long)total, (unsigned long long)max_total);
        goto out;
    }
    x.total = total;
    x.budget = max_total;

    /* 2. manifest */
    if (o.verify_manifest) {
        rc = h2k_ova_verify_manifest(ctx, ova);
        if ((rc == H2K_ERR_VALIDATION || rc == H2K_ERR_FORMAT) && o.ignore_manifest_mismatch) {
            hk_warn(ctx, OVA_DOMAIN, "manifest check failed, continuing as requested: %s",
                    h2k_ctx_last_error(ctx)->message);
            h2k_ctx_clear_error(ctx);
            rc = 0;
        }
        if (rc < 0)
            goto out;
    }

    /* 3. the descriptor: which members are gzip-compressed */
    gz = calloc(ova->n ? ova->n : 1, sizeof(*gz));
    names = calloc(ova->n ? ova->n : 1, sizeof(*names));
    sorted = calloc(ova->n ? ova->n : 1, sizeof(*sorted));
    if (!gz || !names || !sorted) {
        rc = hk_error_nomem(ctx);
        goto out;
    }
    bool has_ovf = false;
    for (size_t i = 0; i < ova->n; i++)
        if (hk_endswith_nocase(ova->members[i].name, ".ovf"))
            has_ovf = true;
    if (has_ovf || spec_out) {
        if ((rc = load_spec(ctx, ova, &spec, &dm)) < 0)
            goto out;
        for (size_t d = 0; d < spec->n_disks; d++) {
            const h2k_vm_disk *disk = &spec->disks[d];
            if (dm[d] == SIZE_MAX || is_uncompressed(disk))
                continue;
            if (hk_streq_nocase(disk->compression, "gzip")) {
                if (o.decompress_gzip)
                    gz[dm[d]] = true;
            } else {
                hk_warn(ctx, OVA_DOMAIN,
                        "%s: disk %s uses compression \"%s\", which is not known: extracted "
                        "as is",
                        ova->path, ova->members[dm[d]].name, disk->compression);
            }
        }
    }

    /* 4. output names, distinct */
    for (size_t i = 0; i < ova->n; i++) {
        const char *nm = ova->members[i].name;
        size_t l = strlen(nm);
        if (gz[i] && l > 3 && hk_endswith_nocase(nm, ".gz") && nm[l - 4] != '/')
            names[i] = hk_strndup(nm, l - 3);
        else
            names[i] = strdup(nm);
        if (!names[i]) {
            rc = hk_error_nomem(ctx);
            goto out;
        }
        sorted[i] = names[i];
    }
    if (ova->n > 1)
        qsort(sorted, ova->n, sizeof(*sorted), cmp_str);
    for (size_t i = 1; i < ova->n; i++)
        if (strcmp(sorted[i - 1], sorted[i]) == 0) {
            rc = hk_error_at(ctx, H2K_ERR_FORMAT, ova->path, -1, "name",
                             "two members would be extracted as %s", sorted[i]);
            goto out;
        }

    /* 5. the output folder, and nothing of ours in it yet */
    if ((rc = make_outdir(ctx, outdir, &made)) < 0)
        goto out;
    x.rootfd = open(outdir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (x.rootfd < 0) {
        rc = hk_error_errno(ctx, errno, outdir, "cannot open output folder");
        hk_error_set_output(ctx, outdir);
        goto out;
    }
    for (size_t i = 0; i < ova->n; i++) {
        int pfd = -1;
        if ((rc = open_parent(&x, names[i], false, &pfd)) < 0)
            goto out;
        if (pfd < 0)
            continue;
        struct stat st;
        int exists = fstatat(pfd, base_name(names[i]), &st, AT_SYMLINK_NOFOLLOW) == 0;
        close(pfd);
        if (exists) {
            char *full = hk_path_join(outdir, names[i]);
            rc = hk_error(ctx, H2K_ERR_EXISTS, "%s already exists: refusing to overwrite",
                          full ? full : names[i]);
            hk_error_set_output(ctx, full);
            free(full);
            goto out;
        }
    }

    /* 6. copy */
    x.in = malloc(COPY_BUF);
    x.outbuf = malloc(COPY_BUF);
    if (!x.in || !x.outbuf) {
        rc = hk_error_nomem(ctx);
        goto out;
    }
    hk_progress(ctx, "extract", 0, x.total);
    for (size_t i = 0; i < ova->n; i++) {
        if ((rc = extract_member(&x, i, names[i], gz[i])) < 0)
            goto out;
        hk_debug(ctx, OVA_DOMAIN, "extracted %s%s", names[i], gz[i] ? " (gunzipped)" : "");
    }
    hk_info(ctx, OVA_DOMAIN, "%s: %zu file(s) extracted into %s", ova->path, ova->n, outdir);

    /* 7. the spec, with disks inside the output folder */
    if (spec_out) {
        for (size_t d = 0; d < spec->n_disks; d++) {
            if (dm[d] == SIZE_MAX)
                continue;
            h2k_vm_disk *disk = &spec->disks[d];
            char *p = hk_path_join(outdir, names[dm[d]]);
            if (!p) {
                rc = hk_error_nomem(ctx);
                goto out;
            }
            free(disk->path);
            disk->path = p;
            free(disk->container_path);
            disk->container_path = NULL;
            disk->container_offset = 0;
            disk->container_size = 0;
            if (gz[dm[d]]) {
                free(disk->compression);
                disk->compression = NULL;
            }
        }
        *spec_out = spec;
        spec = NULL;
    }

out:
    if (rc < 0) {
        int saved = rc;
        if (x.rootfd >= 0)
            cleanup_output(&x);
        for (size_t i = made.n; i > 0; i--)
            rmdir(made.v[i - 1]);
        rc = saved;
    }
    if (x.rootfd >= 0)
        close(x.rootfd);
    strvec_free(&x.files);
    strvec_free(&x.dirs);
    strvec_free(&made);
    free(x.in);
    free(x.outbuf);
    if (names)
        for (size_t i = 0; i < ova->n; i++)
            free(names[i]);
    free(names);
    free(sorted);
    free(gz);
    free(dm);
    h2k_vm_spec_free(spec);
    free(outdir);
    return rc;
}
