/*
 * Downloads for the vSphere exports: several files in parallel (curl multi,
 * at most client->streams at once), each written to "PATH.part" and renamed
 * when complete.
 *
 * Resume: a download marked resumable first asks the server for the file's
 * size and Last-Modified date (HEAD); a ".part" left by an earlier attempt is
 * kept when "PATH.part.meta" records the same size and date, and the rest is
 * requested with "Range: bytes=N-" (a 200 answer restarts from zero; a 206
 * must start at N).  Cancellation keeps the .part for a later resume.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/curl_util.h"
#include "providers/vmware/vmw_internal.h"

#define META_MAX 512
#define PROGRESS_STEP (1u << 20)

char *
hk_vmw_folder_url(h2k_vmware_client *c, const char *dc, const char *ds, const char *path)
{
    CURL *e = curl_easy_init();
    if (!e)
        return NULL;
    hk_buf b = {0};
    hk_buf_printf(&b, "%s/folder", c->base_url);
    const char *p = path;
    while (*p) {
        const char *slash = strchr(p, '/');
        size_t l = slash ? (size_t)(slash - p) : strlen(p);
        if (l) {
            char *seg = curl_easy_escape(e, p, (int)l);
            hk_buf_puts(&b, "/");
            hk_buf_puts(&b, seg ? seg : "");
            if (!seg)
                b.oom = true;
            curl_free(seg);
        }
        p += l;
        while (*p == '/')
            p++;
    }
    char *edc = curl_easy_escape(e, dc, 0);
    char *eds = curl_easy_escape(e, ds, 0);
    if (edc && eds)
        hk_buf_printf(&b, "?dcPath=%s&dsName=%s", edc, eds);
    else
        b.oom = true;
    curl_free(edc);
    curl_free(eds);
    curl_easy_cleanup(e);
    return hk_buf_steal(&b);
}

static int
http_error(h2k_vmware_client *c, long status, const char *method, const char *url)
{
    int code = status == 404                    ? H2K_ERR_NOT_FOUND
               : status == 401 || status == 403 ? H2K_ERR_AUTHENTICATION
                                                : H2K_ERR_CONNECTION;
    /* the URL names the file; it holds no credential */
    return hk_error(c->ctx, code, "%s: %s %s: HTTP status %ld", c->host, method, url, status);
}

/* ------------------------------------------------------------ small GET */

int
hk_vmw_fetch_small(h2k_vmware_client *c, const char *url, size_t max, char **out, size_t *len)
{
    *out = NULL;
    *len = 0;
    CURL *e = curl_easy_init();
    if (!e)
        return hk_error_nomem(c->ctx);
    char err[CURL_ERROR_SIZE] = "";
    hk_curl_sink m = {.max = max};
    hk_vmw_setup_easy(c, e);
    curl_easy_setopt(e, CURLOPT_URL, url);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, hk_curl_sink_write);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, &m);
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, err);
    curl_easy_setopt(e, CURLOPT_TIMEOUT, (long)c->timeout);
    c->pin_mismatch = 0;
    CURLcode cc = curl_easy_perform(e);
    long status = 0;
    curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_cleanup(e);
    int rc = 0;
    if (m.too_big)
        rc = hk_error(c->ctx, H2K_ERR_FORMAT, "%s: GET %s: larger than %zu bytes", c->host, url,
                      max);
    else if (cc != CURLE_OK)
        rc = hk_vmw_curl_error(c, cc, "GET", err);
    else if (status != 200)
        rc = http_error(c, status, "GET", url);
    if (rc < 0) {
        hk_buf_free(&m.b);
        return rc;
    }
    if (!m.b.data)
        hk_buf_puts(&m.b, "");
    if (m.b.oom) {
        hk_buf_free(&m.b);
        return hk_error_nomem(c->ctx);
    }
    *len = m.b.len;
    *out = m.b.data;
    return 0;
}

/* ------------------------------------------------------------ HEAD */

typedef struct head_info {
    char lm[128];
    char cr[128];
} head_info;

static size_t
header_cb(char *d, size_t size, size_t nmemb, void *ud)
{
    head_info *h = ud;
    size_t n = size * nmemb;
    char line[256];
    size_t l = n < sizeof(line) - 1 ? n : sizeof(line) - 1;
    memcpy(line, d, l);
    line[l] = '\0';
    hk_strtrim(line);
    if (strncasecmp(line, "Last-Modified:", 14) == 0) {
        snprintf(h->lm, sizeof(h->lm), "%.*s", (int)sizeof(h->lm) - 1,
                 line + 14); /* truncation is fine */
        hk_strtrim(h->lm);
    } else if (strncasecmp(line, "Content-Range:", 14) == 0) {
        snprintf(h->cr, sizeof(h->cr), "%.*s", (int)sizeof(h->cr) - 1,
                 line + 14); /* truncation is fine */
        hk_strtrim(h->cr);
    }
    return n;
}

static int
head(h2k_vmware_client *c, const char *url, uint64_t *size, char *lm, size_t lm_size)
{
    CURL *e = curl_easy_init();
    if (!e)
        return hk_error_nomem(c->ctx);
    char err[CURL_ERROR_SIZE] = "";
    head_info h = {"", ""};
    hk_vmw_setup_easy(c, e);
    curl_easy_setopt(e, CURLOPT_URL, url);
    curl_easy_setopt(e, CURLOPT_NOBODY, 1L);
    curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, header_cb);
    curl_easy_setopt(e, CURLOPT_HEADERDATA, &h);
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, err);
    curl_easy_setopt(e, CURLOPT_TIMEOUT, (long)c->timeout);
    c->pin_mismatch = 0;
    CURLcode cc = curl_easy_perform(e);
    long status = 0;
    curl_off_t cl = -1;
    curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_getinfo(e, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &cl);
    curl_easy_cleanup(e);
    if (cc != CURLE_OK)
        return hk_vmw_curl_error(c, cc, "HEAD", err);
    if (status == 404 || status == 401 || status == 403)
        return http_error(c, status, "HEAD", url);
    *size = status == 200 && cl >= 0 ? (uint64_t)cl : 0;
    snprintf(lm, lm_size, "%s", status == 200 ? h.lm : "");
    return 0;
}

/* ------------------------------------------------------------ downloads */

typedef struct xfer {
    struct dl_run *run;
    hk_vmw_dl *dl;
    char *part;
    char *meta;
    int fd;
    uint64_t offset; /* where this session started writing */
    uint64_t written;
    CURL *e;
    bool started; /* status checked */
    bool active;
    bool done;
    head_info h;
    char err[CURL_ERROR_SIZE];
} xfer;

typedef struct dl_run {
    h2k_vmware_client *c;
    uint64_t done, total, last_report;
    int rc; /* first failure */
} dl_run;

static int
fail(dl_run *r, int rc)
{
    if (r->rc == 0)
        r->rc = rc;
    return r->rc;
}

static size_t
xfer_write(char *d, size_t size, size_t nmemb, void *ud)
{
    xfer *x = ud;
    dl_run *r = x->run;
    size_t n = size * nmemb;
    if (!x->started) {
        x->started = true;
        long status = 0;
        curl_easy_getinfo(x->e, CURLINFO_RESPONSE_CODE, &status);
        if (x->offset > 0 && status == 200) {
            hk_info(r->c->ctx, HK_VMW_DOMAIN, "%s: %s: the server ignored the range; starting over",
                    r->c->host, x->dl->url);
            r->done -= x->offset;
            x->dl->resumed = 0;
            x->offset = 0;
            if (ftruncate(x->fd, 0) < 0 || lseek(x->fd, 0, SEEK_SET) < 0) {
                fail(r, hk_error_errno(r->c->ctx, errno, x->part, "truncate"));
                return 0;
            }
        } else if (x->offset > 0 && status == 206) {
            uint64_t start = 0;
            char *dash = strchr(x->h.cr, '-');
            const char *sp = strchr(x->h.cr, ' ');
            if (!sp || !dash || dash < sp) {
                fail(r, hk_error(r->c->ctx, H2K_ERR_FORMAT,
                                 "%s: GET %s: 206 answer without a valid Content-Range", r->c->host,
                                 x->dl->url));
                return 0;
            }
            char num[32];
            size_t l = (size_t)(dash - sp - 1);
            if (l == 0 || l >= sizeof(num)) {
                fail(r, hk_error(r->c->ctx, H2K_ERR_FORMAT, "%s: GET %s: bad Content-Range",
                                 r->c->host, x->dl->url));
                return 0;
            }
            memcpy(num, sp + 1, l);
            num[l] = '\0';
            if (!hk_parse_u64(num, &start, false) || start != x->offset) {
                fail(r, hk_error(r->c->ctx, H2K_ERR_FORMAT,
                                 "%s: GET %s: Content-Range starts at %s, not at %" PRIu64,
                                 r->c->host, x->dl->url, num, x->offset));
                return 0;
            }
        } else if (status != 200) {
            return 0; /* reported with the status when the transfer ends */
        }
    }
    if (x->dl->size && x->offset + x->written + n > x->dl->size) {
        fail(r, hk_error(r->c->ctx, H2K_ERR_FORMAT,
                         "%s: GET %s: the server sent more than the %" PRIu64 " bytes announced",
                         r->c->host, x->dl->url, x->dl->size));
        return 0;
    }
    size_t off = 0;
    while (off < n) {
        ssize_t w = write(x->fd, d + off, n - off);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            fail(r, hk_error_errno(r->c->ctx, errno, x->part, "write"));
            return 0;
        }
        off += (size_t)w;
    }
    x->written += n;
    x->dl->received += n;
    r->done += n;
    if (r->done - r->last_report >= PROGRESS_STEP) {
        r->last_report = r->done;
        hk_progress(r->c->ctx, "download", r->done, r->total);
    }
    if (h2k_ctx_is_cancelled(r->c->ctx))
        return 0;
    return n;
}

static int
xfer_info(void *ud, curl_off_t dt, curl_off_t dn, curl_off_t ut, curl_off_t un)
{
    (void)dt, (void)dn, (void)ut, (void)un;
    xfer *x = ud;
    return h2k_ctx_is_cancelled(x->run->c->ctx) ? 1 : 0;
}

/* Reads "size=N\nmodified=DATE\n" from @meta; true when it matches. */
static bool
meta_matches(const char *meta, uint64_t size, const char *lm)
{
    /* never through a symlink planted in the staging folder */
    int fd = open(meta, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
    FILE *f = fd >= 0 ? fdopen(fd, "r") : NULL;
    if (!f && fd >= 0)
        close(fd);
    if (!f)
        return false;
    char buf[META_MAX + 1];
    size_t n = fread(buf, 1, META_MAX, f);
    fclose(f);
    buf[n] = '\0';
    char want[META_MAX + 1];
    snprintf(want, sizeof(want), "size=%" PRIu64 "\nmodified=%s\n", size, lm);
    return strcmp(buf, want) == 0;
}

static int
write_meta(h2k_vmware_client *c, const char *meta, uint64_t size, const char *lm)
{
    /* O_NOFOLLOW: a symlink planted in the staging folder is not followed */
    int fd = open(meta, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
    FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;
    if (!f) {
        int e = errno;
        if (fd >= 0)
            close(fd);
        return hk_error_errno(c->ctx, e, meta, "create");
    }
    fprintf(f, "size=%" PRIu64 "\nmodified=%s\n", size, lm);
    if (fclose(f) != 0)
        return hk_error_errno(c->ctx, errno, meta, "write");
    return 0;
}

/* Opens the .part of @x, deciding where to resume. */
static int
xfer_prepare(dl_run *r, xfer *x)
{
    h2k_vmware_client *c = r->c;
    hk_vmw_dl *dl = x->dl;
    char lm[128] = "";
    int rc;
    x->fd = -1;
    if (!(x->part = hk_asprintf("%s.part", dl->path)) ||
        !(x->meta = hk_asprintf("%s.part.meta", dl->path)))
        return hk_error_nomem(c->ctx);
    if (dl->resume && (rc = head(c, dl->url, &dl->size, lm, sizeof(lm))) < 0)
        return rc;
    bool can_resume = dl->resume && dl->size > 0 && lm[0];
    struct stat st;
    uint64_t have = 0;
    if (can_resume && stat(x->part, &st) == 0 && S_ISREG(st.st_mode) &&
        (uint64_t)st.st_size <= dl->size && meta_matches(x->meta, dl->size, lm))
        have = (uint64_t)st.st_size;
    x->fd = open(x->part, O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (x->fd < 0)
        return hk_error_errno(c->ctx, errno, x->part, "create");
    if (have == 0 && ftruncate(x->fd, 0) < 0)
        return hk_error_errno(c->ctx, errno, x->part, "truncate");
    if (lseek(x->fd, (off_t)have, SEEK_SET) < 0)
        return hk_error_errno(c->ctx, errno, x->part, "seek");
    if (can_resume) {
        if ((rc = write_meta(c, x->meta, dl->size, lm)) < 0)
            return rc;
    } else {
        unlink(x->meta);
    }
    x->offset = have;
    dl->resumed = have;
    r->done += have;
    if (have)
        hk_info(c->ctx, HK_VMW_DOMAIN, "%s: resuming %s at byte %" PRIu64 " of %" PRIu64, c->host,
                dl->path, have, dl->size);
    return 0;
}

static int
xfer_finish(dl_run *r, xfer *x)
{
    h2k_vmware_client *c = r->c;
    uint64_t total = x->offset + x->written;
    if (x->dl->size && total != x->dl->size)
        return hk_error(c->ctx, H2K_ERR_CONNECTION,
                        "%s: GET %s: the transfer ended after %" PRIu64 " of %" PRIu64 " bytes",
                        c->host, x->dl->url, total, x->dl->size);
    if (fsync(x->fd) < 0)
        return hk_error_errno(c->ctx, errno, x->part, "fsync");
    close(x->fd);
    x->fd = -1;
    if (rename(x->part, x->dl->path) < 0)
        return hk_error_errno(c->ctx, errno, x->dl->path, "rename");
    unlink(x->meta);
    if (!x->dl->size)
        x->dl->size = total;
    x->done = true;
    hk_debug(c->ctx, HK_VMW_DOMAIN, "%s: %s complete (%" PRIu64 " bytes)", c->host, x->dl->path,
             total);
    return 0;
}

static int
xfer_start(dl_run *r, xfer *x, CURLM *m)
{
    h2k_vmware_client *c = r->c;
    if (x->dl->size && x->offset == x->dl->size) {
        x->written = 0;
        return xfer_finish(r, x); /* nothing left to fetch */
    }
    if (!(x->e = curl_easy_init()))
        return hk_error_nomem(c->ctx);
    hk_vmw_setup_easy(c, x->e);
    curl_easy_setopt(x->e, CURLOPT_URL, x->dl->url);
    curl_easy_setopt(x->e, CURLOPT_WRITEFUNCTION, xfer_write);
    curl_easy_setopt(x->e, CURLOPT_WRITEDATA, x);
    curl_easy_setopt(x->e, CURLOPT_HEADERFUNCTION, header_cb);
    curl_easy_setopt(x->e, CURLOPT_HEADERDATA, &x->h);
    curl_easy_setopt(x->e, CURLOPT_XFERINFOFUNCTION, xfer_info);
    curl_easy_setopt(x->e, CURLOPT_XFERINFODATA, x);
    curl_easy_setopt(x->e, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(x->e, CURLOPT_ERRORBUFFER, x->err);
    curl_easy_setopt(x->e, CURLOPT_LOW_SPEED_LIMIT, 1L);
    curl_easy_setopt(x->e, CURLOPT_LOW_SPEED_TIME, (long)c->timeout);
    curl_easy_setopt(x->e, CURLOPT_PRIVATE, x);
    if (x->offset) {
        char range[48];
        snprintf(range, sizeof(range), "%" PRIu64 "-", x->offset);
        curl_easy_setopt(x->e, CURLOPT_RANGE, range); /* copied by libcurl */
    }
    if (curl_multi_add_handle(m, x->e) != CURLM_OK)
        return hk_error_nomem(c->ctx);
    x->active = true;
    return 0;
}

static int
xfer_ended(dl_run *r, xfer *x, CURLcode cc)
{
    h2k_vmware_client *c = r->c;
    long status = 0;
    curl_easy_getinfo(x->e, CURLINFO_RESPONSE_CODE, &status);
    if (r->rc)
        return r->rc;
    if (h2k_ctx_is_cancelled(c->ctx))
        return hk_error(c->ctx, H2K_ERR_CANCELLED, "%s: download of %s cancelled", c->host,
                        x->dl->path);
    if (status >= 400 || (status != 200 && status != 206 && cc == CURLE_WRITE_ERROR))
        return http_error(c, status, "GET", x->dl->url);
    if (cc != CURLE_OK)
        return hk_vmw_curl_error(c, cc, "GET", x->err);
    return xfer_finish(r, x);
}

int
hk_vmw_download(h2k_vmware_client *c, hk_vmw_dl *dls, size_t n, hk_vmw_tick_fn tick, void *tick_ud)
{
    dl_run r = {c, 0, 0, 0, 0};
    xfer *xs = calloc(n ? n : 1, sizeof(*xs));
    CURLM *m = curl_multi_init();
    if (!xs || !m) {
        free(xs);
        if (m)
            curl_multi_cleanup(m);
        return hk_error_nomem(c->ctx);
    }
    for (size_t i = 0; i < n; i++) {
        xs[i].run = &r;
        xs[i].dl = &dls[i];
        xs[i].fd = -1;
        dls[i].resumed = dls[i].received = 0;
    }
    for (size_t i = 0; i < n && r.rc == 0; i++) {
        int rc = xfer_prepare(&r, &xs[i]);
        if (rc < 0)
            fail(&r, rc);
        r.total += dls[i].size;
    }
    hk_progress(c->ctx, "download", r.done, r.total);
    size_t next = 0, active = 0;
    double last_tick = hk_now();
    while (r.rc == 0 && (next < n || active > 0)) {
        while (r.rc == 0 && next < n && active < c->streams) {
            int rc = xfer_start(&r, &xs[next], m);
            if (rc < 0)
                fail(&r, rc);
            else if (xs[next].active)
                active++;
            next++;
        }
        if (r.rc || active == 0)
            continue;
        int running = 0;
        CURLMcode mc = curl_multi_perform(m, &running);
        if (mc == CURLM_OK)
            mc = curl_multi_poll(m, NULL, 0, 200, NULL);
        if (mc != CURLM_OK) {
            fail(&r, hk_error(c->ctx, H2K_ERR_CONNECTION, "%s: download: %s", c->host,
                              curl_multi_strerror(mc)));
            break;
        }
        CURLMsg *msg;
        int left;
        while ((msg = curl_multi_info_read(m, &left))) {
            if (msg->msg != CURLMSG_DONE)
                continue;
            xfer *x = NULL;
            curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&x);
            CURLcode cc = msg->data.result;
            curl_multi_remove_handle(m, msg->easy_handle);
            x->active = false;
            active--;
            int rc = xfer_ended(&r, x, cc);
            curl_easy_cleanup(x->e);
            x->e = NULL;
            if (rc < 0)
                fail(&r, rc);
        }
        if (r.rc == 0 && tick && hk_now() - last_tick >= 1.0) {
            last_tick = hk_now();
            int rc = tick(tick_ud, r.done, r.total);
            if (rc < 0)
                fail(&r, rc);
        }
        if (r.rc == 0 && h2k_ctx_is_cancelled(c->ctx))
            fail(&r, hk_error(c->ctx, H2K_ERR_CANCELLED, "%s: download cancelled", c->host));
    }
    for (size_t i = 0; i < n; i++) {
        xfer *x = &xs[i];
        if (x->e) {
            curl_multi_remove_handle(m, x->e);
            curl_easy_cleanup(x->e);
        }
        if (x->fd >= 0)
            close(x->fd);
        if (!x->done && x->part && !x->dl->resume) {
            unlink(x->part);
        }
        free(x->part);
        free(x->meta);
    }
    curl_multi_cleanup(m);
    free(xs);
    if (r.rc == 0)
        hk_progress(c->ctx, "download", r.done, r.total);
    return r.rc;
}
