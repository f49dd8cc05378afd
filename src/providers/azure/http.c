/*
 * Azure: one HTTPS request with libcurl: TLS settings, response headers
 * (Location, Azure-AsyncOperation, Retry-After, Content-Length, ETag),
 * retries of 429 / 5xx / dropped connections with back-off, error bodies
 * mapped to h2k codes, and URLs named without their query (a SAS is a secret).
 */
#include <ctype.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/curl_util.h"
#include "providers/azure/az_internal.h"

static pthread_once_t global_once = PTHREAD_ONCE_INIT;

static void
global_init(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
}

void
hk_az_resp_clear(hk_az_resp *r)
{
    if (r->body) {
        explicit_bzero(r->body, r->len); /* may hold a SAS or a token */
        free(r->body);
    }
    free(r->location);
    free(r->async_op);
    free(r->etag);
    free(r->blob_type);
    memset(r, 0, sizeof(*r));
    r->retry_after = -1;
    r->content_length = UINT64_MAX;
}

char *
hk_az_redact(const char *url)
{
    if (!url)
        return strdup("(none)");
    size_t n = strcspn(url, "?#");
    hk_buf b = {0};
    hk_buf_append(&b, url, n);
    if (url[n])
        hk_buf_puts(&b, "?<query withheld>");
    char *s = hk_buf_steal(&b);
    return s;
}

void
hk_az_setup_easy(h2k_azure_client *c, CURL *e)
{
    pthread_once(&global_once, global_init);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "https");
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT, (long)c->timeout);
    curl_easy_setopt(e, CURLOPT_LOW_SPEED_LIMIT, 1L);
    curl_easy_setopt(e, CURLOPT_LOW_SPEED_TIME, (long)c->timeout);
    curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(e, CURLOPT_USERAGENT, "hyper2kvm");
    if (c->insecure) {
        if (!c->warned_insecure) {
            hk_warn(c->ctx, HK_AZ_DOMAIN,
                    "certificates are NOT verified (insecure was asked for): anyone on the path "
                    "can read the disks and the credentials");
            c->warned_insecure = true;
        }
    }
    hk_curl_tls(e, !c->insecure, c->ca_file);
}

int
hk_az_curl_error(h2k_azure_client *c, CURLcode cc, const char *what, const char *url,
                 const char *errbuf)
{
    char *safe = hk_az_redact(url);
    const char *detail = errbuf && *errbuf ? errbuf : curl_easy_strerror(cc);
    int rc;
    switch (cc) {
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_SSL_CERTPROBLEM:
        rc = hk_error(c->ctx, H2K_ERR_CONNECTION,
                      "%s: %s: the server's certificate is not trusted or TLS failed (%s); give "
                      "the CA that signed it (ca_file, --ca-file)",
                      what, safe ? safe : "(url)", detail);
        break;
    case CURLE_OPERATION_TIMEDOUT:
        rc = hk_error(c->ctx, H2K_ERR_TIMEOUT, "%s: %s: timed out (%s)", what,
                      safe ? safe : "(url)", detail);
        break;
    case CURLE_ABORTED_BY_CALLBACK:
        rc = hk_error(c->ctx, H2K_ERR_CANCELLED, "%s: cancelled", what);
        break;
    default:
        rc = hk_error(c->ctx, H2K_ERR_CONNECTION, "%s: %s: %s", what, safe ? safe : "(url)",
                      detail);
    }
    free(safe);
    return rc;
}

int
hk_az_sleep(h2k_azure_client *c, double seconds, bool no_cancel)
{
    double until = hk_now() + seconds;
    for (;;) {
        if (!no_cancel && h2k_ctx_is_cancelled(c->ctx))
            return hk_check_cancel(c->ctx);
        double left = until - hk_now();
        if (left <= 0)
            return 0;
        struct timespec ts = {0, (long)((left < 0.1 ? left : 0.1) * 1e9)};
        nanosleep(&ts, NULL);
    }
}

/* ------------------------------------------------------------ one request */

typedef struct req_state {
    hk_az_resp *r;
    hk_curl_sink body;
    h2k_ctx *ctx;
    bool no_cancel;
} req_state;

/* Header value (trimmed copy) when the line is "NAME: value". */
static char *
header_value(const char *line, size_t n, const char *name)
{
    size_t nl = strlen(name);
    if (n <= nl || line[nl] != ':' || strncasecmp(line, name, nl) != 0)
        return NULL;
    const char *v = line + nl + 1;
    const char *e = line + n;
    while (v < e && (*v == ' ' || *v == '\t'))
        v++;
    while (e > v && (e[-1] == '\r' || e[-1] == '\n' || e[-1] == ' ' || e[-1] == '\t'))
        e--;
    return hk_strndup(v, (size_t)(e - v));
}

static size_t
on_header(char *data, size_t sz, size_t nm, void *ud)
{
    req_state *s = ud;
    size_t n = sz * nm;
    char *v;
    if (n >= 5 && strncmp(data, "HTTP/", 5) == 0) { /* a new response (after 100) */
        free(s->r->location);
        free(s->r->async_op);
        s->r->location = s->r->async_op = NULL;
        s->r->retry_after = -1;
    } else if ((v = header_value(data, n, "Location"))) {
        free(s->r->location);
        s->r->location = v;
    } else if ((v = header_value(data, n, "Azure-AsyncOperation"))) {
        free(s->r->async_op);
        s->r->async_op = v;
    } else if ((v = header_value(data, n, "Retry-After"))) {
        uint64_t secs;
        if (hk_parse_u64(v, &secs, false))
            s->r->retry_after = secs > 3600 ? 3600 : (long)secs;
        free(v);
    } else if ((v = header_value(data, n, "Content-Length"))) {
        uint64_t len;
        if (hk_parse_u64(v, &len, false))
            s->r->content_length = len;
        free(v);
    } else if ((v = header_value(data, n, "ETag"))) {
        free(s->r->etag);
        s->r->etag = v;
    } else if ((v = header_value(data, n, "x-ms-blob-type"))) {
        free(s->r->blob_type);
        s->r->blob_type = v;
    }
    return n;
}

static int
on_xfer(void *ud, curl_off_t a, curl_off_t b, curl_off_t c2, curl_off_t d)
{
    (void)a;
    (void)b;
    (void)c2;
    (void)d;
    req_state *s = ud;
    return !s->no_cancel && h2k_ctx_is_cancelled(s->ctx) ? 1 : 0;
}

static bool
retryable_curl(CURLcode cc)
{
    return cc == CURLE_OPERATION_TIMEDOUT || cc == CURLE_RECV_ERROR || cc == CURLE_SEND_ERROR ||
           cc == CURLE_GOT_NOTHING || cc == CURLE_PARTIAL_FILE;
}

static bool
retryable_status(long st)
{
    return st == 429 || st == 500 || st == 502 || st == 503 || st == 504;
}

int
hk_az_http(h2k_azure_client *c, const hk_az_req *q, hk_az_resp *out)
{
    pthread_once(&global_once, global_init);
    memset(out, 0, sizeof(*out));
    out->retry_after = -1;
    out->content_length = UINT64_MAX;
    CURL *e = curl_easy_init();
    if (!e)
        return hk_error_nomem(c->ctx);
    struct curl_slist *hdrs = NULL;
    char *auth = NULL;
    bool oom = false;
    if (q->bearer) {
        auth = hk_asprintf("Authorization: Bearer %s", q->bearer);
        oom |= !auth;
        struct curl_slist *t = auth ? curl_slist_append(hdrs, auth) : NULL;
        oom |= !t;
        hdrs = t ? t : hdrs;
    }
    if (q->content_type) {
        char ct[128];
        snprintf(ct, sizeof(ct), "Content-Type: %s", q->content_type);
        struct curl_slist *t = curl_slist_append(hdrs, ct);
        oom |= !t;
        hdrs = t ? t : hdrs;
    }
    for (size_t i = 0; q->headers && q->headers[i]; i++) {
        struct curl_slist *t = curl_slist_append(hdrs, q->headers[i]);
        oom |= !t;
        hdrs = t ? t : hdrs;
    }
    {
        struct curl_slist *t = curl_slist_append(hdrs, "Expect:");
        oom |= !t;
        hdrs = t ? t : hdrs;
    }
    int rc = 0;
    if (oom) {
        rc = hk_error_nomem(c->ctx);
        goto done;
    }
    unsigned attempts = c->max_retries + 1;
    for (unsigned attempt = 0;; attempt++) {
        if (!q->no_cancel && (rc = hk_check_cancel(c->ctx)) < 0)
            goto done;
        hk_az_resp_clear(out);
        req_state st = {.r = out,
                        .body = {.max = HK_AZ_MAX_RESPONSE},
                        .ctx = c->ctx,
                        .no_cancel = q->no_cancel};
        char errbuf[CURL_ERROR_SIZE] = "";
        curl_easy_reset(e);
        hk_az_setup_easy(c, e);
        if (q->allow_http)
            curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
        curl_easy_setopt(e, CURLOPT_URL, q->url);
        curl_easy_setopt(e, CURLOPT_HTTPHEADER, hdrs);
        curl_easy_setopt(e, CURLOPT_ERRORBUFFER, errbuf);
        curl_easy_setopt(e, CURLOPT_TIMEOUT, (long)c->timeout * 4);
        curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, hk_curl_sink_write);
        curl_easy_setopt(e, CURLOPT_WRITEDATA, &st.body);
        curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
        curl_easy_setopt(e, CURLOPT_HEADERDATA, &st);
        curl_easy_setopt(e, CURLOPT_NOPROGRESS, 0L);
        curl_easy_setopt(e, CURLOPT_XFERINFOFUNCTION, on_xfer);
        curl_easy_setopt(e, CURLOPT_XFERINFODATA, &st);
        if (strcmp(q->method, "HEAD") == 0) {
            curl_easy_setopt(e, CURLOPT_NOBODY, 1L);
        } else if (strcmp(q->method, "GET") != 0) {
            curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, q->method);
            curl_easy_setopt(e, CURLOPT_POSTFIELDS, q->body ? q->body : "");
            curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE, (long)(q->body ? strlen(q->body) : 0));
        }
        CURLcode cc = curl_easy_perform(e);
        /* the request body may hold the secret: curl keeps only a pointer to it */
        bool body_oom = st.body.b.oom;
        size_t blen = st.body.b.len;
        out->body = hk_buf_steal(&st.body.b);
        out->len = out->body ? blen : 0;
        if (body_oom) {
            rc = hk_error_nomem(c->ctx);
            goto done;
        }
        if (cc == CURLE_WRITE_ERROR && st.body.too_big) {
            rc = hk_error(c->ctx, H2K_ERR_FORMAT, "%s: the response is larger than %u bytes",
                          q->what, HK_AZ_MAX_RESPONSE);
            goto done;
        }
        long status = 0;
        if (cc == CURLE_OK)
            curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &status);
        out->status = status;
        bool again = cc != CURLE_OK ? retryable_curl(cc) : retryable_status(status);
        if (again && q->retry && attempt + 1 < attempts) {
            double wait = out->retry_after >= 0 ? (double)out->retry_after
                                                : (double)(1u << (attempt < 5 ? attempt : 5));
            if (wait > 120)
                wait = 120;
            hk_info(c->ctx, HK_AZ_DOMAIN, "%s: %s; retrying in %.0f s (attempt %u of %u)", q->what,
                    cc != CURLE_OK ? curl_easy_strerror(cc) : "throttled or busy", wait,
                    attempt + 2, attempts);
            if ((rc = hk_az_sleep(c, wait, q->no_cancel)) < 0)
                goto done;
            continue;
        }
        if (cc != CURLE_OK) {
            if (cc == CURLE_ABORTED_BY_CALLBACK)
                rc = hk_check_cancel(c->ctx);
            else
                rc = hk_az_curl_error(c, cc, q->what, q->url, errbuf);
            goto done;
        }
        if (status >= 400) {
            char *code = NULL, *msg = NULL;
            hk_az_parse_error(out->body, out->len, &code, &msg);
            /* a server message might echo what we sent: never a secret in ours */
            if (msg && c->secret && *c->secret && strstr(msg, c->secret)) {
                free(msg);
                msg = strdup("(message withheld: it repeats the secret)");
            }
            rc = hk_error(c->ctx, hk_az_status_code(status), "%s: HTTP %ld%s%s%s%s", q->what,
                          status, code ? " " : "", code ? code : "", msg ? ": " : "",
                          msg ? msg : "");
            free(code);
            free(msg);
            goto done;
        }
        rc = 0;
        break;
    }
done:
    curl_easy_cleanup(e);
    curl_slist_free_all(hdrs);
    if (auth) {
        explicit_bzero(auth, strlen(auth));
        free(auth);
    }
    if (rc < 0)
        hk_az_resp_clear(out);
    return rc;
}
