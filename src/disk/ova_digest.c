/*
 * The OVA's manifests checked against its members: every digest at once
 * (h2k_ova_verify_manifest), or member by member as its bytes go by
 * (hk_ova_hasher), each member hashed once.  The manifest text itself is
 * parsed in ova_manifest.c.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "ova_internal.h"

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
    int rc = hk_ova_read_small_member(ctx, ova, mi, HK_OVA_MAX_MF_SIZE, &text);
    if (rc < 0)
        return rc;
    if ((rc = hk_mf_parse(ctx, text, (size_t)mf->size, ova->path, mf->name, mf->offset, &ent,
                          &ne)) < 0)
        goto out;
    dir = hk_ova_member_dir(mf->name);
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
        size_t idx = hk_ova_resolve_ref(ova, dir, ent[i].name);
        if (idx == SIZE_MAX) {
            rc = hk_error_at(ctx, H2K_ERR_VALIDATION, ova->path, (int64_t)mf->offset, "manifest",
                             "manifest %s line %u lists %s, which is not in the OVA", mf->name,
                             ent[i].line, ent[i].name);
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
        hk_warn(ctx, HK_OVA_DOMAIN, "%s: manifest %s lists no file", ova->path, mf->name);
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
        if ((rc = hk_ova_stream_member(ctx, ova, idx, buf, HK_OVA_COPY_BUF, hash_chunk, md,
                                       "verify", &done, total)) < 0)
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
            rc = hk_error_at(ctx, H2K_ERR_VALIDATION, ova->path, (int64_t)ova->members[idx].offset,
                             hk_mf_algo_name(e->algo),
                             "member %s does not match manifest %s (line %u): %s expected "
                             "%s, actual %s",
                             ova->members[idx].name, mf->name, e->line, hk_mf_algo_name(e->algo),
                             e->digest, hex);
            goto out;
        }
        hk_debug(ctx, HK_OVA_DOMAIN, "%s: %s %s ok", ova->path, ova->members[idx].name,
                 hk_mf_algo_name(e->algo));
    }
    hk_info(ctx, HK_OVA_DOMAIN, "%s: manifest %s: %zu digest(s) verified", ova->path, mf->name, ne);
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
        if (!buf && !(buf = malloc(HK_OVA_COPY_BUF)))
            return hk_error_nomem(ctx);
        found++;
        rc = verify_one_manifest(ctx, ova, i, buf);
    }
    free(buf);
    if (rc == 0 && found == 0)
        hk_info(ctx, HK_OVA_DOMAIN, "%s: no manifest (.mf): digests not verified", ova->path);
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
        if ((rc = hk_ova_read_small_member(ctx, ova, mi, HK_OVA_MAX_MF_SIZE, &text)) < 0)
            break;
        rc = hk_mf_parse(ctx, text, (size_t)mf->size, ova->path, mf->name, mf->offset, &ent, &ne);
        if (rc == 0 && !(dir = hk_ova_member_dir(mf->name)))
            rc = hk_error_nomem(ctx);
        for (size_t i = 0; i < ne && rc == 0; i++) {
            if ((i & 1023) == 0 && (rc = hk_check_cancel(ctx)) < 0)
                break;
            size_t idx = hk_ova_resolve_ref(ova, dir, ent[i].name);
            if (idx == SIZE_MAX) {
                rc = hk_error_at(ctx, H2K_ERR_VALIDATION, ova->path, (int64_t)mf->offset,
                                 "manifest",
                                 "manifest %s line %u lists %s, which is not in the OVA", mf->name,
                                 ent[i].line, ent[i].name);
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
hk_ova_hasher_new(h2k_ctx *ctx, const h2k_ova *ova, const hk_ova_digest *d, size_t n, size_t member,
                  hk_ova_hasher **out)
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
        hk_debug(ctx, HK_OVA_DOMAIN, "%s: %s %s ok", h->ova->path, m->name,
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
    uint8_t *buf = malloc(HK_OVA_COPY_BUF);
    uint64_t done = 0;
    if (!buf)
        rc = hk_error_nomem(ctx);
    else
        rc = hk_ova_stream_member(ctx, ova, member, buf, HK_OVA_COPY_BUF, hasher_chunk, h, "verify",
                                  &done, ova->members[member].size);
    if (rc == 0)
        rc = hk_ova_hasher_check(ctx, h);
    free(buf);
    hk_ova_hasher_free(h);
    return rc;
}
