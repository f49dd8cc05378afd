/*
 * Azure: downloading a VM's managed disks.
 *
 * Per disk: a read grant (POST {disk}/beginGetAccess -> SAS URL to a page
 * blob holding the disk as a fixed VHD) -- or, for a running VM when asked, an
 * incremental snapshot and its grant --, HEAD for the size, Get Page Ranges
 * (?comp=pagelist, paged by marker), then only the allocated ranges fetched
 * in pieces of at most 4 MiB with parallel ranged GETs (curl multi) written
 * with pwrite into a sparse "NAME.vhd.part".  Each piece done is appended to
 * "NAME.vhd.part.state" (first line: blob size and ETag), so that an
 * interrupted download resumes with what is missing when the blob is
 * unchanged.  The result is checked (length, fixed-VHD footer) and renamed.
 * endGetAccess (and the deletion of a snapshot) always follows, also after a
 * failure or a cancel.  The SAS never leaves this file's memory unredacted.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "disk/vhd_util.h"
#include "providers/azure/az_internal.h"

#define PIECE (4u << 20)
#define GAP_MERGE (32u << 10)
#define ZERO_BLOCK 4096u
#define STATE_MAGIC "h2k-azure-download 1"

static void
wipe_free(char *s)
{
    if (s) {
        explicit_bzero(s, strlen(s));
        free(s);
    }
}

typedef struct dl_totals {
    uint64_t total; /* allocated bytes of every disk */
    uint64_t done;  /* of those, fetched or kept */
    uint64_t received;
    uint64_t resumed;
} dl_totals;

/* ------------------------------------------------------------ blob calls */

static int
blob_head(h2k_azure_client *c, const char *sas, const char *what, uint64_t *size, char **etag)
{
    const char *hdrs[] = {"x-ms-version: " HK_AZ_STORAGE_VERSION, NULL};
    hk_az_req q = {.method = "HEAD", .url = sas, .what = what, .headers = hdrs, .retry = true};
    hk_az_resp r;
    int rc = hk_az_http(c, &q, &r);
    if (rc < 0)
        return rc;
    if (r.content_length == UINT64_MAX || r.content_length < 1024 || r.content_length % 512)
        rc = hk_error(c->ctx, H2K_ERR_FORMAT,
                      "%s: the blob has no usable length (a fixed VHD is a multiple of 512 "
                      "bytes)",
                      what);
    else if (r.blob_type && !hk_streq_nocase(r.blob_type, "PageBlob"))
        rc = hk_error(c->ctx, H2K_ERR_FORMAT, "%s: the blob is a %.40s, not a page blob", what,
                      r.blob_type);
    if (rc == 0) {
        *size = r.content_length;
        *etag = strdup(r.etag ? r.etag : "-");
        if (!*etag)
            rc = hk_error_nomem(c->ctx);
        for (char *p = *etag; rc == 0 && *p; p++)
            if (*p == ' ' || *p == '\n' || *p == '\r')
                *p = '_';
    }
    hk_az_resp_clear(&r);
    return rc;
}

static int
blob_ranges(h2k_azure_client *c, const char *sas, const char *what, uint64_t size,
            hk_az_range **ranges, size_t *n)
{
    const char *hdrs[] = {"x-ms-version: " HK_AZ_STORAGE_VERSION, NULL};
    size_t cap = 0;
    char *marker = NULL;
    int rc = 0;
    *ranges = NULL;
    *n = 0;
    for (int page = 0;; page++) {
        char *url = hk_asprintf("%s%ccomp=pagelist%s%s", sas, strchr(sas, '?') ? '&' : '?',
                                marker ? "&marker=" : "", marker ? marker : "");
        if (!url) {
            rc = hk_error_nomem(c->ctx);
            break;
        }
        hk_az_req q = {.method = "GET", .url = url, .what = what, .headers = hdrs, .retry = true};
        hk_az_resp r;
        rc = hk_az_http(c, &q, &r);
        wipe_free(url);
        if (rc < 0)
            break;
        free(marker);
        marker = NULL;
        rc = hk_az_parse_pagelist(c->ctx, what, r.body, r.len, size, ranges, n, &cap, &marker);
        hk_az_resp_clear(&r);
        if (rc < 0 || !marker || !*marker)
            break;
        if (page > 100000) {
            rc = hk_error(c->ctx, H2K_ERR_FORMAT, "%s: too many pages of page ranges", what);
            break;
        }
    }
    free(marker);
    if (rc < 0) {
        free(*ranges);
        *ranges = NULL;
        *n = 0;
    }
    return rc;
}

/* ------------------------------------------------------------ state file */

typedef struct piece {
    uint64_t start, len;
    bool done;
    /* transfer */
    uint64_t got;
    unsigned tries;
} piece;

static int
cmp_u64pair(const void *a, const void *b)
{
    const uint64_t *x = a, *y = b;
    return (x[0] > y[0]) - (x[0] < y[0]);
}

/* Marks the pieces the state file records as done; false when the state is
 * not for this blob (then the partial file is started again). */
static bool
load_state(const char *state, const char *head, piece *p, size_t n)
{
    FILE *f = fopen(state, "re");
    if (!f)
        return false;
    char line[512];
    bool ok = fgets(line, sizeof(line), f) && strcmp(line, head) == 0;
    uint64_t(*done)[2] = NULL;
    size_t nd = 0, cap = 0;
    while (ok && fgets(line, sizeof(line), f)) {
        unsigned long long s, l;
        char nl;
        if (sscanf(line, "%llu %llu%c", &s, &l, &nl) != 3 || nl != '\n')
            break; /* a torn last line: ignored */
        if (nd == cap) {
            size_t ncap = cap ? cap * 2 : 256;
            void *np = realloc(done, ncap * sizeof(*done));
            if (!np) {
                ok = false;
                break;
            }
            done = np;
            cap = ncap;
        }
        done[nd][0] = s;
        done[nd][1] = l;
        nd++;
    }
    fclose(f);
    if (ok && nd) {
        qsort(done, nd, sizeof(*done), cmp_u64pair);
        size_t j = 0;
        for (size_t i = 0; i < n; i++) {
            while (j < nd && done[j][0] < p[i].start)
                j++;
            if (j < nd && done[j][0] == p[i].start && done[j][1] == p[i].len)
                p[i].done = true;
        }
    }
    free(done);
    return ok;
}

/* ------------------------------------------------------------ transfers */

typedef struct xfer {
    CURL *e;
    struct curl_slist *hdrs;
    piece *pc;
    int fd;
    bool overflow;
    bool io_error;
    int err;
    char errbuf[CURL_ERROR_SIZE];
} xfer;

static size_t
on_data(char *data, size_t sz, size_t nm, void *ud)
{
    xfer *x = ud;
    size_t n = sz * nm;
    if (x->pc->got + n > x->pc->len) {
        x->overflow = true;
        return 0;
    }
    /* blocks of zeros (gaps between merged ranges, unused pages) are not written:
     * the file was created at its full size, so they read as zeros and stay holes */
    static const char zeros[ZERO_BLOCK];
    uint64_t base = x->pc->start + x->pc->got;
    size_t off = 0;
    while (off < n) {
        size_t span = ZERO_BLOCK - (size_t)((base + off) % ZERO_BLOCK);
        if (span > n - off)
            span = n - off;
        if (memcmp(data + off, zeros, span) == 0) {
            off += span;
            continue;
        }
        /* a run of blocks that are not all zero */
        size_t run = span;
        while (off + run < n) {
            size_t next = n - off - run < ZERO_BLOCK ? n - off - run : ZERO_BLOCK;
            if (memcmp(data + off + run, zeros, next) == 0)
                break;
            run += next;
        }
        size_t done = 0;
        while (done < run) {
            ssize_t w = pwrite(x->fd, data + off + done, run - done, (off_t)(base + off + done));
            if (w < 0) {
                if (errno == EINTR)
                    continue;
                x->io_error = true;
                x->err = errno;
                return 0;
            }
            done += (size_t)w;
        }
        off += run;
    }
    x->pc->got += n;
    return n;
}

static int
start_piece(h2k_azure_client *c, CURLM *m, xfer *x, const char *sas, piece *pc, int fd)
{
    x->pc = pc;
    x->fd = fd;
    x->overflow = x->io_error = false;
    x->errbuf[0] = '\0';
    pc->got = 0;
    char range[96];
    snprintf(range, sizeof(range), "x-ms-range: bytes=%llu-%llu", (unsigned long long)pc->start,
             (unsigned long long)(pc->start + pc->len - 1));
    curl_slist_free_all(x->hdrs);
    x->hdrs = NULL;
    struct curl_slist *h = curl_slist_append(NULL, range);
    struct curl_slist *h2 = h ? curl_slist_append(h, "x-ms-version: " HK_AZ_STORAGE_VERSION) : NULL;
    if (!h2) {
        curl_slist_free_all(h);
        return hk_error_nomem(c->ctx);
    }
    x->hdrs = h2;
    if (!x->e && !(x->e = curl_easy_init()))
        return hk_error_nomem(c->ctx);
    curl_easy_reset(x->e);
    hk_az_setup_easy(c, x->e);
    curl_easy_setopt(x->e, CURLOPT_URL, sas);
    curl_easy_setopt(x->e, CURLOPT_HTTPHEADER, x->hdrs);
    curl_easy_setopt(x->e, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(x->e, CURLOPT_WRITEDATA, x);
    curl_easy_setopt(x->e, CURLOPT_ERRORBUFFER, x->errbuf);
    curl_easy_setopt(x->e, CURLOPT_PRIVATE, x);
    if (curl_multi_add_handle(m, x->e) != CURLM_OK)
        return hk_error(c->ctx, H2K_ERR_GENERIC, "azure: cannot start a transfer");
    return 0;
}

/* Fetches every piece not done; appends each finished one to @sf. */
static int
fetch_pieces(h2k_azure_client *c, const char *sas, const char *what, int fd, FILE *sf, piece *pcs,
             size_t n, dl_totals *t)
{
    h2k_ctx *ctx = c->ctx;
    unsigned streams = c->streams;
    xfer *xs = calloc(streams, sizeof(*xs));
    CURLM *m = curl_multi_init();
    int rc = 0;
    if (!xs || !m) {
        free(xs);
        if (m)
            curl_multi_cleanup(m);
        return hk_error_nomem(ctx);
    }
    size_t next = 0, active = 0;
    double last_progress = 0;
    /* queue of pieces to retry: taken before new ones */
    size_t *retry = calloc(n ? n : 1, sizeof(*retry));
    size_t n_retry = 0;
    if (!retry) {
        rc = hk_error_nomem(ctx);
        goto out;
    }
    for (;;) {
        /* fill the free slots */
        for (unsigned s = 0; s < streams && rc == 0; s++) {
            if (xs[s].pc)
                continue;
            piece *pc = NULL;
            if (n_retry)
                pc = &pcs[retry[--n_retry]];
            else {
                while (next < n && pcs[next].done)
                    next++;
                if (next < n)
                    pc = &pcs[next++];
            }
            if (!pc)
                break;
            if ((rc = start_piece(c, m, &xs[s], sas, pc, fd)) < 0)
                xs[s].pc = NULL;
            else
                active++;
        }
        if (rc < 0 || active == 0)
            break;
        if (h2k_ctx_is_cancelled(ctx)) {
            rc = hk_check_cancel(ctx);
            break;
        }
        int running = 0;
        if (curl_multi_perform(m, &running) != CURLM_OK) {
            rc = hk_error(ctx, H2K_ERR_CONNECTION, "%s: transfer failure", what);
            break;
        }
        CURLMsg *msg;
        int left;
        while (rc == 0 && (msg = curl_multi_info_read(m, &left))) {
            if (msg->msg != CURLMSG_DONE)
                continue;
            xfer *x = NULL;
            curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&x);
            CURLcode cc = msg->data.result;
            curl_multi_remove_handle(m, x->e);
            active--;
            piece *pc = x->pc;
            x->pc = NULL;
            long status = 0;
            curl_easy_getinfo(x->e, CURLINFO_RESPONSE_CODE, &status);
            if (x->io_error) {
                rc = hk_error_errno(ctx, x->err, NULL, "cannot write the disk");
                break;
            }
            bool ok = cc == CURLE_OK && status == 206 && pc->got == pc->len && !x->overflow;
            t->received += pc->got;
            if (ok) {
                pc->done = true;
                t->done += pc->len;
                fprintf(sf, "%llu %llu\n", (unsigned long long)pc->start,
                        (unsigned long long)pc->len);
                fflush(sf);
                hk_progress(ctx, "download", t->done, t->total);
                continue;
            }
            bool transient = (cc != CURLE_OK && cc != CURLE_PEER_FAILED_VERIFICATION &&
                              cc != CURLE_SSL_CACERT_BADFILE) ||
                             status == 429 || status == 500 || status == 503 || status == 502 ||
                             status == 504;
            if (transient && pc->tries < c->max_retries) {
                pc->tries++;
                hk_info(ctx, HK_AZ_DOMAIN, "%s: bytes %llu+%llu: %s; retrying", what,
                        (unsigned long long)pc->start, (unsigned long long)pc->len,
                        cc != CURLE_OK ? curl_easy_strerror(cc) : "throttled or busy");
                hk_az_sleep(c, 1.0 * pc->tries, false);
                retry[n_retry++] = (size_t)(pc - pcs);
                continue;
            }
            if (cc != CURLE_OK)
                rc = hk_az_curl_error(c, cc, what, sas, x->errbuf);
            else if (x->overflow || (status == 206 && pc->got != pc->len) || status == 200)
                rc = hk_error(ctx, H2K_ERR_FORMAT,
                              "%s: bytes %llu+%llu: the server sent %s than asked (HTTP %ld)", what,
                              (unsigned long long)pc->start, (unsigned long long)pc->len,
                              pc->got < pc->len ? "less" : "more", status);
            else
                rc = hk_error(ctx, hk_az_status_code(status),
                              "%s: bytes %llu+%llu: HTTP %ld (the grant may have expired or been "
                              "revoked)",
                              what, (unsigned long long)pc->start, (unsigned long long)pc->len,
                              status);
        }
        if (rc < 0)
            break;
        double now = hk_now();
        if (now - last_progress > 0.5) {
            hk_progress(ctx, "download", t->done, t->total);
            last_progress = now;
        }
        if (active > 0) {
            int nfds;
            curl_multi_poll(m, NULL, 0, 100, &nfds);
        }
    }
out:
    for (unsigned s = 0; s < streams; s++) {
        if (xs[s].e) {
            if (xs[s].pc)
                curl_multi_remove_handle(m, xs[s].e);
            curl_easy_cleanup(xs[s].e);
        }
        curl_slist_free_all(xs[s].hdrs);
    }
    curl_multi_cleanup(m);
    free(xs);
    free(retry);
    return rc;
}

/* ------------------------------------------------------------ one disk */

static int
check_vhd(h2k_ctx *ctx, int fd, const char *path, uint64_t size)
{
    struct stat sb;
    if (fstat(fd, &sb) < 0)
        return hk_error_errno(ctx, errno, path, "cannot stat");
    if ((uint64_t)sb.st_size != size)
        return hk_error_at(ctx, H2K_ERR_FORMAT, path, -1, NULL,
                           "the download has %llu bytes, not the blob's %llu",
                           (unsigned long long)sb.st_size, (unsigned long long)size);
    uint8_t ft[512];
    int rc = hk_pread_exact(ctx, fd, path, ft, sizeof(ft), size - 512, "VHD footer");
    if (rc < 0)
        return rc;
    if (memcmp(ft, "conectix", 8) != 0)
        return hk_error_at(ctx, H2K_ERR_FORMAT, path, (int64_t)(size - 512), "cookie",
                           "the disk does not end with a VHD footer (\"conectix\")");
    if (hk_vhd_checksum(ft, sizeof(ft), 64) != hk_vhd_be32(ft + 64))
        return hk_error_at(ctx, H2K_ERR_FORMAT, path, (int64_t)(size - 512 + 64), "checksum",
                           "the VHD footer's checksum is wrong");
    if (hk_vhd_be32(ft + 60) != 2)
        return hk_error_at(ctx, H2K_ERR_FORMAT, path, (int64_t)(size - 512 + 60), "disk_type",
                           "the VHD is of type %u, not fixed (2)", hk_vhd_be32(ft + 60));
    if (hk_vhd_be64(ft + 48) != size - 512)
        return hk_error_at(ctx, H2K_ERR_FORMAT, path, (int64_t)(size - 512 + 48), "current_size",
                           "the VHD footer gives a size of %llu bytes, the blob holds %llu",
                           (unsigned long long)hk_vhd_be64(ft + 48),
                           (unsigned long long)(size - 512));
    return 0;
}

typedef struct grant {
    char *id; /* resource granted (disk or snapshot) */
    char *sas;
    bool snapshot; /* id is a snapshot made for this download */
} grant;

static int
begin_access(h2k_azure_client *c, const char *id, const char *what, char **sas)
{
    char *p = hk_asprintf("%s/beginGetAccess", id);
    if (!p)
        return hk_error_nomem(c->ctx);
    json_object *o = NULL;
    int rc = hk_az_arm(c, "POST", p, HK_AZ_API_DISK,
                       "{\"access\":\"Read\",\"durationInSeconds\":3600}", what, false, &o);
    free(p);
    if (rc == 0)
        rc = o ? hk_az_parse_sas(c->ctx, what, o, sas)
               : hk_error(c->ctx, H2K_ERR_FORMAT, "%s: the grant has no body", what);
    json_object_put(o);
    return rc;
}

/* Revokes the grant and deletes a snapshot; runs even when cancelled.  Keeps
 * an earlier error (@rc < 0) and only logs its own then. */
static int
end_access(h2k_azure_client *c, grant *g, int rc)
{
    h2k_ctx *ctx = c->ctx;
    if (!g->id)
        return rc;
    const h2k_error *le = h2k_ctx_last_error(ctx);
    char *saved = rc < 0 ? strdup(le->message) : NULL;
    int saved_code = rc;
    char *p = hk_asprintf("%s/endGetAccess", g->id);
    char *name = hk_az_id_name(g->id);
    char what[200];
    snprintf(what, sizeof(what), "endGetAccess of %s %.100s", g->snapshot ? "snapshot" : "disk",
             name ? name : "?");
    int erc = p ? hk_az_arm(c, "POST", p, HK_AZ_API_DISK, NULL, what, true, NULL)
                : hk_error_nomem(ctx);
    free(p);
    if (erc < 0)
        hk_warn(ctx, HK_AZ_DOMAIN, "%s", h2k_ctx_last_error(ctx)->message);
    else
        hk_info(ctx, HK_AZ_DOMAIN, "%s: done", what);
    if (g->snapshot) {
        snprintf(what, sizeof(what), "DELETE snapshot %.100s", name ? name : "?");
        int drc = hk_az_arm(c, "DELETE", g->id, HK_AZ_API_DISK, NULL, what, true, NULL);
        if (drc < 0) {
            hk_warn(ctx, HK_AZ_DOMAIN, "%s", h2k_ctx_last_error(ctx)->message);
            if (erc == 0)
                erc = drc;
        }
    }
    free(name);
    if (rc < 0) {
        /* the first failure is the one reported */
        hk_error(ctx, saved_code, "%s", saved ? saved : "download failed");
        free(saved);
        return rc;
    }
    return erc;
}

static int
make_snapshot(h2k_azure_client *c, const h2k_azure_vm *vm, const h2k_azure_disk *d, char **id)
{
    *id = NULL;
    char name[128];
    snprintf(name, sizeof(name), "%.60s-h2k-%ld", d->name, (long)time(NULL));
    char *p = hk_asprintf("/subscriptions/%s/resourceGroups/%s/providers/Microsoft.Compute/"
                          "snapshots/%s",
                          c->subscription, c->resource_group, name);
    json_object *body = json_object_new_object();
    json_object *props = json_object_new_object();
    json_object *cd = json_object_new_object();
    if (!p || !body || !props || !cd) {
        free(p);
        json_object_put(body);
        json_object_put(props);
        json_object_put(cd);
        return hk_error_nomem(c->ctx);
    }
    json_object_object_add(cd, "createOption", json_object_new_string("Copy"));
    json_object_object_add(cd, "sourceResourceId", json_object_new_string(d->id));
    json_object_object_add(props, "creationData", cd);
    json_object_object_add(props, "incremental", json_object_new_boolean(1));
    json_object_object_add(body, "location",
                           json_object_new_string(vm->location ? vm->location : ""));
    json_object_object_add(body, "properties", props);
    char what[320];
    snprintf(what, sizeof(what), "PUT snapshot %s of disk %.60s", name, d->name);
    int rc = hk_az_arm(c, "PUT", p, HK_AZ_API_DISK, json_object_to_json_string(body), what, false,
                       NULL);
    json_object_put(body);
    if (rc < 0) {
        /* it may exist half made: try to remove it */
        hk_az_arm(c, "DELETE", p, HK_AZ_API_DISK, NULL, what, true, NULL);
        free(p);
        return rc;
    }
    *id = p;
    return 0;
}

static int
download_disk(h2k_azure_client *c, const h2k_azure_vm *vm, const h2k_azure_disk *d,
              const char *final, dl_totals *t, uint64_t *disk_bytes, uint64_t *alloc)
{
    h2k_ctx *ctx = c->ctx;
    grant g = {0};
    int rc = 0;
    char what[256];
    char *part = NULL, *state = NULL, *etag = NULL, *head = NULL;
    hk_az_range *ranges = NULL;
    size_t n_ranges = 0;
    piece *pcs = NULL;
    int fd = -1;
    FILE *sf = NULL;
    bool snapshot = c->running == H2K_AZURE_RUNNING_SNAPSHOT && vm->power_state &&
                    strcmp(vm->power_state, "deallocated") != 0 &&
                    strcmp(vm->power_state, "stopped") != 0;
    if (snapshot) {
        if ((rc = make_snapshot(c, vm, d, &g.id)) < 0)
            return rc;
        g.snapshot = true;
    } else if (!(g.id = strdup(d->id))) {
        return hk_error_nomem(ctx);
    }
    snprintf(what, sizeof(what), "beginGetAccess of %s %.100s",
             g.snapshot ? "snapshot for disk" : "disk", d->name);
    if ((rc = begin_access(c, g.id, what, &g.sas)) < 0) {
        if (g.snapshot)
            rc = end_access(c, &g, rc); /* deletes the snapshot */
        free(g.id);
        return rc;
    }
    snprintf(what, sizeof(what), "disk %.100s (blob)", d->name);
    uint64_t size = 0;
    if ((rc = blob_head(c, g.sas, what, &size, &etag)) < 0)
        goto done;
    if (d->size_bytes && size != d->size_bytes + 512)
        hk_warn(ctx, HK_AZ_DOMAIN, "%s: the blob has %llu bytes, the disk %llu (+512 footer)", what,
                (unsigned long long)size, (unsigned long long)d->size_bytes);
    if ((rc = blob_ranges(c, g.sas, what, size, &ranges, &n_ranges)) < 0)
        goto done;
    /* the footer lies in the last page: it must be allocated */
    size_t np = 0;
    uint64_t allocated = 0;
    for (size_t i = 0; i < n_ranges; i++) {
        uint64_t l = ranges[i].end - ranges[i].start + 1;
        allocated += l;
        np += (size_t)((l + PIECE - 1) / PIECE);
    }
    if (n_ranges == 0 || ranges[n_ranges - 1].end != size - 1) {
        rc = hk_error(ctx, H2K_ERR_FORMAT,
                      "%s: the last 512 bytes (the VHD footer) are not allocated: not a fixed VHD",
                      what);
        goto done;
    }
    *disk_bytes += size;
    *alloc += allocated;
    t->total += allocated;
    if (!(pcs = calloc(np, sizeof(*pcs)))) {
        rc = hk_error_nomem(ctx);
        goto done;
    }
    np = 0;
    /* ranges closer than GAP_MERGE share a request (the gap reads as zeros and is
     * not written): a file system's many small extents cost few round trips */
    for (size_t i = 0; i < n_ranges; i++) {
        uint64_t s = ranges[i].start, end = ranges[i].end + 1;
        while (s < end) {
            piece *last = np ? &pcs[np - 1] : NULL;
            if (last && s - (last->start + last->len) <= GAP_MERGE && last->len < PIECE) {
                uint64_t e = end < last->start + PIECE ? end : last->start + PIECE;
                last->len = e - last->start;
                s = e;
                continue;
            }
            uint64_t l = end - s;
            pcs[np++] = (piece){.start = s, .len = l < PIECE ? l : PIECE};
            s += pcs[np - 1].len;
        }
    }
    part = hk_asprintf("%s.part", final);
    state = hk_asprintf("%s.part.state", final);
    head = hk_asprintf(STATE_MAGIC " %llu %s\n", (unsigned long long)size, etag);
    if (!part || !state || !head) {
        rc = hk_error_nomem(ctx);
        goto done;
    }
    bool resume = load_state(state, head, pcs, np);
    uint64_t kept = 0;
    if (resume) {
        struct stat sb;
        if (stat(part, &sb) != 0 || (uint64_t)sb.st_size != size) {
            resume = false;
            for (size_t i = 0; i < np; i++)
                pcs[i].done = false;
        } else {
            for (size_t i = 0; i < np; i++)
                if (pcs[i].done)
                    kept += pcs[i].len;
        }
    }
    if (!resume) {
        unlink(part);
        unlink(state);
    }
    fd = open(part, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0) {
        rc = hk_error_errno(ctx, errno, part, "cannot create");
        goto done;
    }
    if (ftruncate(fd, (off_t)size) < 0) {
        rc = hk_error_errno(ctx, errno, part, "cannot size");
        goto done;
    }
    int sfd = open(state, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    if (sfd < 0 || !(sf = fdopen(sfd, "a"))) {
        rc = hk_error_errno(ctx, errno, state, "cannot create");
        if (sfd >= 0)
            close(sfd);
        goto done;
    }
    if (!resume)
        fputs(head, sf);
    fflush(sf);
    if (kept)
        hk_info(ctx, HK_AZ_DOMAIN, "%s: resuming: %llu of %llu allocated bytes already here", what,
                (unsigned long long)kept, (unsigned long long)allocated);
    t->done += kept;
    t->resumed += kept;
    hk_info(ctx, HK_AZ_DOMAIN, "%s: %llu bytes, %llu allocated in %zu ranges", what,
            (unsigned long long)size, (unsigned long long)allocated, n_ranges);
    if ((rc = fetch_pieces(c, g.sas, what, fd, sf, pcs, np, t)) < 0)
        goto done;
    if (fsync(fd) < 0) {
        rc = hk_error_errno(ctx, errno, part, "cannot sync");
        goto done;
    }
    if ((rc = check_vhd(ctx, fd, part, size)) < 0) {
        /* a wrong copy is not worth resuming */
        unlink(part);
        unlink(state);
        goto done;
    }
    if (rename(part, final) < 0) {
        rc = hk_error_errno(ctx, errno, final, "cannot rename the download to");
        goto done;
    }
    /* the progress file stays until every disk is done: a later failure puts this
     * disk back under its partial name, and a resume then fetches nothing of it */
done:
    if (sf)
        fclose(sf);
    if (fd >= 0)
        close(fd);
    rc = end_access(c, &g, rc);
    free(g.id);
    wipe_free(g.sas);
    free(part);
    free(state);
    free(head);
    free(etag);
    free(ranges);
    free(pcs);
    return rc;
}

/* ------------------------------------------------------------ VM */

H2K_EXTERN void
h2k_azure_download_result_free(h2k_azure_download_result *res)
{
    if (!res)
        return;
    free(res->vm_name);
    free(res->output_dir);
    for (size_t i = 0; i < res->n_disks; i++)
        free(res->disk_paths[i]);
    free(res->disk_paths);
    h2k_azure_vm_free(res->vm);
    free(res);
}

static bool
is_running(const char *ps)
{
    return ps && strcmp(ps, "deallocated") != 0 && strcmp(ps, "stopped") != 0;
}

static int
mkdir_p(h2k_ctx *ctx, const char *dir)
{
    char *d = strdup(dir);
    if (!d)
        return hk_error_nomem(ctx);
    for (char *p = d + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(d, 0755) < 0 && errno != EEXIST) {
            int rc = hk_error_errno(ctx, errno, d, "cannot create the folder");
            free(d);
            return rc;
        }
        *p = '/';
    }
    int rc = 0;
    if (mkdir(d, 0755) < 0 && errno != EEXIST)
        rc = hk_error_errno(ctx, errno, d, "cannot create the folder");
    free(d);
    return rc;
}

H2K_EXTERN int
h2k_azure_download_vm(h2k_azure_client *c, const char *vm_name, const char *output_dir,
                      h2k_azure_download_result **out)
{
    if (!c)
        return H2K_ERR_INVALID_ARG;
    h2k_ctx *ctx = c->ctx;
    if (out)
        *out = NULL;
    if (!output_dir || !*output_dir)
        return hk_error_at(ctx, H2K_ERR_INVALID_ARG, NULL, -1, "output_dir",
                           "azure: no output folder given");
    h2k_azure_vm *vm = NULL;
    int rc = hk_az_get_vm(c, vm_name, &vm);
    if (rc < 0)
        return rc;
    if (vm->n_disks == 0) {
        rc = hk_error_at(ctx, H2K_ERR_VALIDATION, NULL, -1, "disks",
                         "azure: VM %s has no managed disk to download", vm->name);
        h2k_azure_vm_free(vm);
        return rc;
    }
    if (is_running(vm->power_state) && c->running != H2K_AZURE_RUNNING_SNAPSHOT) {
        rc = hk_error_at(ctx, H2K_ERR_VALIDATION, NULL, -1, "power_state",
                         "azure: VM %s is %s: its disks cannot be copied consistently; "
                         "deallocate it first, or ask for a snapshot-based copy (running = "
                         "H2K_AZURE_RUNNING_SNAPSHOT, --snapshot)",
                         vm->name, vm->power_state);
        h2k_azure_vm_free(vm);
        return rc;
    }
    h2k_azure_download_result *res = calloc(1, sizeof(*res));
    if (!res) {
        h2k_azure_vm_free(vm);
        return hk_error_nomem(ctx);
    }
    res->vm = vm;
    res->used_snapshot = is_running(vm->power_state);
    res->vm_name = strdup(vm->name);
    res->output_dir = hk_abspath(output_dir);
    res->disk_paths = calloc(vm->n_disks, sizeof(char *));
    if (!res->vm_name || !res->output_dir || !res->disk_paths) {
        rc = hk_error_nomem(ctx);
        goto done;
    }
    if ((rc = mkdir_p(ctx, res->output_dir)) < 0)
        goto done;
    /* every final name free before any grant */
    for (size_t i = 0; i < vm->n_disks; i++) {
        char *p = hk_asprintf("%s/%s.vhd", res->output_dir, vm->disks[i].name);
        if (!p) {
            rc = hk_error_nomem(ctx);
            goto done;
        }
        res->disk_paths[res->n_disks++] = p;
        for (size_t k = 0; k + 1 < res->n_disks; k++)
            if (strcmp(res->disk_paths[k], p) == 0) {
                rc = hk_error_at(ctx, H2K_ERR_VALIDATION, p, -1, "disks",
                                 "two disks of VM %s have the same name", vm->name);
                goto done;
            }
        struct stat sb;
        if (lstat(p, &sb) == 0) {
            rc = hk_error_at(ctx, H2K_ERR_EXISTS, p, -1, NULL, "the output already exists");
            goto done;
        }
    }
    dl_totals t = {0};
    for (size_t i = 0; i < vm->n_disks && rc == 0; i++)
        rc = download_disk(c, vm, &vm->disks[i], res->disk_paths[i], &t, &res->disk_bytes,
                           &res->allocated_bytes);
    res->bytes_downloaded = t.received;
    res->bytes_resumed = t.resumed;
    if (rc < 0) {
        /* disks finished before the failure are not left under their final names */
        for (size_t i = 0; i < res->n_disks; i++) {
            char *part = hk_asprintf("%s.part", res->disk_paths[i]);
            struct stat sb;
            if (part && lstat(part, &sb) != 0 && lstat(res->disk_paths[i], &sb) == 0)
                rename(res->disk_paths[i], part); /* kept for a resume, as a partial file */
            free(part);
        }
        goto done;
    }
    hk_progress(ctx, "download", t.done, t.total);
    for (size_t i = 0; i < res->n_disks; i++) {
        char *state = hk_asprintf("%s.part.state", res->disk_paths[i]);
        if (state)
            unlink(state);
        free(state);
    }
    for (size_t i = 0; i < vm->n_disks; i++) {
        free(vm->spec->disks[i].path);
        if (!(vm->spec->disks[i].path = strdup(res->disk_paths[i]))) {
            rc = hk_error_nomem(ctx);
            goto done;
        }
    }
    hk_info(ctx, HK_AZ_DOMAIN, "VM %s: %llu bytes of disks, %llu allocated, %llu downloaded",
            vm->name, (unsigned long long)res->disk_bytes, (unsigned long long)res->allocated_bytes,
            (unsigned long long)res->bytes_downloaded);
done:
    if (rc < 0 || !out)
        h2k_azure_download_result_free(res);
    else
        *out = res;
    return rc;
}
