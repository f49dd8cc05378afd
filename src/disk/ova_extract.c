/*
 * Extraction of an OVA into a folder: no path escapes, no links followed,
 * temporary names renamed when complete, gzip members inflated on the way,
 * everything removed again on failure.
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

#include <zlib.h>

#include "ova_internal.h"

#define DEFAULT_MAX_TOTAL (UINT64_C(16) << 40)

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
    const char *outdir; /* absolute */
    int rootfd;
    strvec files;    /* relative paths written (final names) */
    strvec dirs;     /* relative folders created, in creation order */
    uint64_t budget; /* bytes that may still be written */
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

/* Feeds @len bytes of gzip data (concatenated gzip members allowed) to @zs and
 * hands each inflated run, in @out (HK_OVA_COPY_BUF bytes), to @sink; @end is
 * set when a gzip member ends.  Corrupt data is an error naming @member of @ova
 * and the offset reached. */
typedef int (*inflate_sink)(h2k_ctx *ctx, void *ud, const uint8_t *buf, size_t len);

static int
inflate_feed(h2k_ctx *ctx, z_stream *zs, bool *end, uint8_t *out, const h2k_ova *ova, size_t member,
             const uint8_t *buf, size_t len, inflate_sink sink, void *ud)
{
    zs->next_in = (Bytef *)buf;
    zs->avail_in = (uInt)len;
    while (zs->avail_in > 0) {
        if (*end) {
            /* another gzip member follows (concatenated streams) */
            if (inflateReset(zs) != Z_OK)
                return hk_error(ctx, H2K_ERR_GENERIC, "inflateReset failed");
            *end = false;
        }
        zs->next_out = out;
        zs->avail_out = HK_OVA_COPY_BUF;
        int zr = inflate(zs, Z_NO_FLUSH);
        size_t produced = HK_OVA_COPY_BUF - zs->avail_out;
        if (zr != Z_OK && zr != Z_STREAM_END && !(zr == Z_BUF_ERROR && produced > 0)) {
            const h2k_ova_member *m = &ova->members[member];
            return hk_error_at(ctx, H2K_ERR_FORMAT, ova->path, (int64_t)(m->offset + zs->total_in),
                               m->name, "member %s: corrupt gzip data: %s", m->name,
                               zs->msg ? zs->msg : "inflate failed");
        }
        if (produced) {
            int rc = sink(ctx, ud, out, produced);
            if (rc < 0)
                return rc;
        }
        if (zr == Z_STREAM_END)
            *end = true;
    }
    /* output may still be pending with no input left */
    while (!*end) {
        zs->next_out = out;
        zs->avail_out = HK_OVA_COPY_BUF;
        int zr = inflate(zs, Z_NO_FLUSH);
        size_t produced = HK_OVA_COPY_BUF - zs->avail_out;
        if (produced) {
            int rc = sink(ctx, ud, out, produced);
            if (rc < 0)
                return rc;
        }
        if (zr == Z_STREAM_END)
            *end = true;
        if (produced == 0 || zr != Z_OK)
            break;
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
copy_sink(h2k_ctx *ctx, void *ud, const uint8_t *buf, size_t len)
{
    copy_ud *c = ud;
    (void)ctx;
    return write_all(c->x, c->fd, c->tmp_full, buf, len);
}

static int
copy_chunk(h2k_ctx *ctx, void *ud, const uint8_t *buf, size_t len)
{
    copy_ud *c = ud;
    if (!c->gz)
        return write_all(c->x, c->fd, c->tmp_full, buf, len);
    return inflate_feed(ctx, &c->zs, &c->gz_end, c->x->outbuf, c->x->ova, c->member, buf, len,
                        copy_sink, c);
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
    char *dir = hk_ova_member_dir(rel);
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
    if ((rc = hk_ova_stream_member(x->ctx, x->ova, i, x->in, HK_OVA_COPY_BUF, copy_chunk, &c,
                                   "extract", &x->done, x->total)) < 0)
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
    strvec made = {0};
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
            hk_warn(ctx, HK_OVA_DOMAIN, "manifest check failed, continuing as requested: %s",
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
        if ((rc = hk_ova_load_spec(ctx, ova, &spec, &dm)) < 0)
            goto out;
        for (size_t d = 0; d < spec->n_disks; d++) {
            const h2k_vm_disk *disk = &spec->disks[d];
            if (dm[d] == SIZE_MAX || hk_ova_disk_uncompressed(disk))
                continue;
            if (hk_streq_nocase(disk->compression, "gzip")) {
                if (o.decompress_gzip)
                    gz[dm[d]] = true;
            } else {
                hk_warn(ctx, HK_OVA_DOMAIN,
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
    x.in = malloc(HK_OVA_COPY_BUF);
    x.outbuf = malloc(HK_OVA_COPY_BUF);
    if (!x.in || !x.outbuf) {
        rc = hk_error_nomem(ctx);
        goto out;
    }
    hk_progress(ctx, "extract", 0, x.total);
    for (size_t i = 0; i < ova->n; i++) {
        if ((rc = extract_member(&x, i, names[i], gz[i])) < 0)
            goto out;
        hk_debug(ctx, HK_OVA_DOMAIN, "extracted %s%s", names[i], gz[i] ? " (gunzipped)" : "");
    }
    hk_info(ctx, HK_OVA_DOMAIN, "%s: %zu file(s) extracted into %s", ova->path, ova->n, outdir);

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
            hk_ova_disk_set_path(disk, p);
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

/* ------------------------------------------- one gzip member, inflated */

typedef struct gunzip_ud {
    const h2k_ova *ova;
    size_t member;
    int fd;
    const char *out_path;
    hk_ova_hasher *h;
    z_stream zs;
    bool end;
    uint64_t written, limit;
    uint8_t *out;
} gunzip_ud;

static int
gunzip_write(h2k_ctx *ctx, gunzip_ud *g, size_t n)
{
    if (n > g->limit - g->written)
        return hk_error_at(ctx, H2K_ERR_VALIDATION, g->ova->path,
                           (int64_t)g->ova->members[g->member].offset,
                           g->ova->members[g->member].name,
                           "member %s inflates to more than %llu bytes: refused (compression "
                           "bomb?)",
                           g->ova->members[g->member].name, (unsigned long long)g->limit);
    g->written += n;
    const uint8_t *b = g->out;
    while (n > 0) {
        ssize_t w = write(g->fd, b, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            int rc = hk_error_errno(ctx, w < 0 ? errno : ENOSPC, g->out_path, "write failed");
            hk_error_set_output(ctx, g->out_path);
            return rc;
        }
        b += w;
        n -= (size_t)w;
    }
    return 0;
}

static int
gunzip_sink(h2k_ctx *ctx, void *ud, const uint8_t *buf, size_t len)
{
    (void)buf; /* the inflated bytes are in g->out */
    return gunzip_write(ctx, ud, len);
}

static int
gunzip_chunk(h2k_ctx *ctx, void *ud, const uint8_t *buf, size_t len)
{
    gunzip_ud *g = ud;
    int rc = hk_ova_hasher_update(ctx, g->h, buf, len); /* the stored bytes */
    if (rc < 0)
        return rc;
    return inflate_feed(ctx, &g->zs, &g->end, g->out, g->ova, g->member, buf, len, gunzip_sink, g);
}

int
hk_ova_gunzip_member(h2k_ctx *ctx, const h2k_ova *ova, size_t member, int fd, const char *out_path,
                     uint64_t limit, hk_ova_hasher *h)
{
    gunzip_ud g;
    memset(&g, 0, sizeof(g));
    g.ova = ova;
    g.member = member;
    g.fd = fd;
    g.out_path = out_path;
    g.h = h;
    g.limit = limit ? limit : DEFAULT_MAX_TOTAL;
    uint8_t *in = malloc(HK_OVA_COPY_BUF);
    g.out = malloc(HK_OVA_COPY_BUF);
    if (!in || !g.out) {
        free(in);
        free(g.out);
        return hk_error_nomem(ctx);
    }
    int rc = 0;
    if (inflateInit2(&g.zs, 15 + 16) != Z_OK) {
        rc = hk_error(ctx, H2K_ERR_GENERIC, "inflateInit2 failed");
        goto out_nz;
    }
    uint64_t done = 0;
    const h2k_ova_member *m = &ova->members[member];
    rc = hk_ova_stream_member(ctx, ova, member, in, HK_OVA_COPY_BUF, gunzip_chunk, &g, "inflate",
                              &done, m->size);
    if (rc == 0 && !g.end)
        rc = hk_error_at(ctx, H2K_ERR_FORMAT, ova->path, (int64_t)(m->offset + m->size), m->name,
                         "member %s: the gzip data is truncated", m->name);
    if (rc == 0)
        rc = hk_ova_hasher_check(ctx, h);
    inflateEnd(&g.zs);
out_nz:
    free(in);
    free(g.out);
    return rc;
}
