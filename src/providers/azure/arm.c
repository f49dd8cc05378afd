/*
 * Azure: resource manager calls.  Every call carries a pinned api-version and
 * the bearer token; a 202 (or a 201 with Azure-AsyncOperation) is followed:
 * Azure-AsyncOperation is polled until its status is final, Location until it
 * stops answering 202, each wait honouring Retry-After.  Poll URLs must lie on
 * the resource manager's own host: the token is sent to no other.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "providers/azure/az_internal.h"

/* Longest wait for an async operation. */
#define POLL_LIMIT_SECONDS 3600.0

char *
hk_az_arm_url(h2k_azure_client *c, const char *path, const char *api)
{
    if (hk_startswith(path, "https://"))
        return strdup(path);
    return hk_asprintf("%s%s%capi-version=%s", c->arm, path, strchr(path, '?') ? '&' : '?', api);
}

/* True when @url is on the resource manager's host (scheme, host and port). */
static bool
on_arm_host(h2k_azure_client *c, const char *url)
{
    size_t n = strlen(c->arm);
    return url && strncmp(url, c->arm, n) == 0 && (url[n] == '/' || url[n] == '?');
}

static int
parse_body(h2k_azure_client *c, const char *what, hk_az_resp *r, json_object **out)
{
    if (!out)
        return 0;
    *out = NULL;
    if (r->len == 0 || r->status == 204)
        return 0;
    return hk_az_json_parse(c->ctx, what, r->body, r->len, out);
}

static int
get_with_token(h2k_azure_client *c, const char *url, const char *what, bool no_cancel,
               hk_az_resp *r)
{
    const char *tok;
    int rc = hk_az_token(c, &tok);
    if (rc < 0)
        return rc;
    hk_az_req q = {.method = "GET",
                   .url = url,
                   .what = what,
                   .bearer = tok,
                   .retry = true,
                   .no_cancel = no_cancel};
    return hk_az_http(c, &q, r);
}

static int
poll(h2k_azure_client *c, hk_az_resp *first, const char *what, bool no_cancel, json_object **out)
{
    h2k_ctx *ctx = c->ctx;
    char *async = first->async_op ? strdup(first->async_op) : NULL;
    char *loc = first->location ? strdup(first->location) : NULL;
    long wait = first->retry_after;
    int rc = 0;
    char pwhat[256];
    snprintf(pwhat, sizeof(pwhat), "%s (waiting for the operation)", what);
    if ((first->async_op && !async) || (first->location && !loc)) {
        rc = hk_error_nomem(ctx);
        goto done;
    }
    if (!async && !loc) {
        rc = hk_error(ctx, H2K_ERR_FORMAT,
                      "%s: HTTP %ld without a Location or Azure-AsyncOperation to follow", what,
                      first->status);
        goto done;
    }
    if ((async && !on_arm_host(c, async)) || (loc && !on_arm_host(c, loc))) {
        rc = hk_error(ctx, H2K_ERR_FORMAT,
                      "%s: the operation is to be followed on another host than %s: refused "
                      "(the token is only sent to the resource manager)",
                      what, c->arm);
        goto done;
    }
    double start = hk_now();
    for (;;) {
        double w = wait >= 0 ? (double)wait : c->poll_min;
        if ((rc = hk_az_sleep(c, w, no_cancel)) < 0)
            goto done;
        if (hk_now() - start > POLL_LIMIT_SECONDS) {
            rc = hk_error(ctx, H2K_ERR_TIMEOUT, "%s: the operation did not end within %.0f s", what,
                          POLL_LIMIT_SECONDS);
            goto done;
        }
        hk_az_resp r;
        if (async) {
            if ((rc = get_with_token(c, async, pwhat, no_cancel, &r)) < 0)
                goto done;
            json_object *op = NULL;
            rc = hk_az_json_parse(ctx, pwhat, r.body, r.len, &op);
            wait = r.retry_after;
            hk_az_resp_clear(&r);
            if (rc < 0)
                goto done;
            rc = hk_az_parse_operation(ctx, what, op);
            if (rc < 0 || rc == 0) {
                json_object_put(op);
                if (rc < 0)
                    goto done;
                continue;
            }
            /* done: the result is at Location when there is one, else in the operation */
            if (!loc) {
                if (out)
                    *out = op;
                else
                    json_object_put(op);
                rc = 0;
                goto done;
            }
            json_object_put(op);
            free(async);
            async = NULL;
            wait = 0;
            continue;
        }
        if ((rc = get_with_token(c, loc, pwhat, no_cancel, &r)) < 0)
            goto done;
        if (r.status == 202) {
            wait = r.retry_after;
            hk_az_resp_clear(&r);
            continue;
        }
        rc = parse_body(c, what, &r, out);
        hk_az_resp_clear(&r);
        goto done;
    }
done:
    free(async);
    free(loc);
    return rc < 0 ? rc : 0;
}

int
hk_az_arm(h2k_azure_client *c, const char *method, const char *path, const char *api,
          const char *body, const char *what, bool no_cancel, json_object **out)
{
    if (out)
        *out = NULL;
    char *url = hk_az_arm_url(c, path, api);
    if (!url)
        return hk_error_nomem(c->ctx);
    if (!on_arm_host(c, url)) {
        free(url);
        return hk_error(c->ctx, H2K_ERR_FORMAT, "%s: a link to another host than %s: refused", what,
                        c->arm);
    }
    const char *tok;
    int rc = hk_az_token(c, &tok);
    if (rc < 0) {
        free(url);
        return rc;
    }
    hk_az_req q = {.method = method,
                   .url = url,
                   .what = what,
                   .bearer = tok,
                   .body = body,
                   .content_type = body ? "application/json" : NULL,
                   .retry = true,
                   .no_cancel = no_cancel};
    hk_az_resp r;
    rc = hk_az_http(c, &q, &r);
    free(url);
    if (rc < 0)
        return rc;
    if (r.status == 202 || (r.status == 201 && r.async_op))
        rc = poll(c, &r, what, no_cancel, out);
    else
        rc = parse_body(c, what, &r, out);
    hk_az_resp_clear(&r);
    return rc;
}
