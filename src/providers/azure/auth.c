/*
 * Azure: OAuth2 access tokens for the resource manager.
 *   client credentials: POST {authority}/{tenant}/oauth2/v2.0/token
 *     grant_type=client_credentials&client_id=..&client_secret=..&scope=https://management.azure.com/.default
 *   managed identity:   GET {identity
 * endpoint}?api-version=2018-02-01&resource=https://management.azure.com/ with "Metadata: true" The
 * token is cached in the client and refreshed 5 minutes before it expires. The secret and the token
 * are wiped from every buffer that held them.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "providers/azure/az_internal.h"

#define ARM_SCOPE "https://management.azure.com/.default"
#define ARM_RESOURCE "https://management.azure.com/"
#define REFRESH_MARGIN 300

static void
wipe_free(char *s)
{
    if (s) {
        explicit_bzero(s, strlen(s));
        free(s);
    }
}

/* URL-encodes @s (form encoding); caller wipes and frees. */
static char *
form_escape(const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t n = strlen(s);
    char *out = malloc(n * 3 + 1);
    if (!out)
        return NULL;
    char *o = out;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') ||
            *p == '-' || *p == '_' || *p == '.' || *p == '~') {
            *o++ = (char)*p;
        } else {
            *o++ = '%';
            *o++ = hex[*p >> 4];
            *o++ = hex[*p & 15];
        }
    }
    *o = '\0';
    return out;
}

static int
fetch_token(h2k_azure_client *c)
{
    h2k_ctx *ctx = c->ctx;
    hk_az_resp r;
    int rc;
    char *url = NULL, *body = NULL;
    if (c->auth == H2K_AZURE_AUTH_MANAGED_IDENTITY) {
        char *cid = c->client_id ? form_escape(c->client_id) : NULL;
        if (c->client_id && !cid)
            return hk_error_nomem(ctx);
        url = hk_asprintf("%s?api-version=2018-02-01&resource=%s%s%s", c->identity_endpoint,
                          "https%3A%2F%2Fmanagement.azure.com%2F", cid ? "&client_id=" : "",
                          cid ? cid : "");
        free(cid);
        if (!url)
            return hk_error_nomem(ctx);
        const char *hdrs[] = {"Metadata: true", NULL};
        hk_az_req q = {.method = "GET",
                       .url = url,
                       .what = "managed identity token",
                       .headers = hdrs,
                       .retry = true,
                       .allow_http = true};
        rc = hk_az_http(c, &q, &r);
    } else {
        char *tenant = form_escape(c->tenant), *cid = form_escape(c->client_id);
        char *sec = form_escape(c->secret);
        if (tenant && cid && sec) {
            url = hk_asprintf("%s/%s/oauth2/v2.0/token", c->authority, tenant);
            body = hk_asprintf("grant_type=client_credentials&client_id=%s&client_secret=%s"
                               "&scope=https%%3A%%2F%%2Fmanagement.azure.com%%2F.default",
                               cid, sec);
        }
        free(tenant);
        free(cid);
        wipe_free(sec);
        if (!url || !body) {
            free(url);
            wipe_free(body);
            return hk_error_nomem(ctx);
        }
        char what[160];
        snprintf(what, sizeof(what), "token for client %.40s in tenant %.40s", c->client_id,
                 c->tenant);
        hk_az_req q = {.method = "POST",
                       .url = url,
                       .what = what,
                       .body = body,
                       .content_type = "application/x-www-form-urlencoded",
                       .retry = true};
        rc = hk_az_http(c, &q, &r);
        wipe_free(body);
        if (rc == H2K_ERR_VALIDATION || rc == H2K_ERR_AUTHENTICATION) {
            /* the directory answers 400/401 invalid_client for a bad secret */
            const h2k_error *e = h2k_ctx_last_error(ctx);
            char *msg = strdup(e->message);
            rc = hk_error(ctx, H2K_ERR_AUTHENTICATION, "%s (check the client id and the secret)",
                          msg ? msg : "credentials refused");
            free(msg);
        }
    }
    free(url);
    if (rc < 0)
        return rc;
    char *tok = NULL;
    long exp = 0;
    long now = (long)time(NULL);
    rc = hk_az_parse_token(ctx, r.body, r.len, now, &tok, &exp);
    hk_az_resp_clear(&r);
    if (rc < 0)
        return rc;
    wipe_free(c->token);
    c->token = tok;
    c->token_expires = exp;
    hk_debug(ctx, HK_AZ_DOMAIN, "got a token valid for %ld s", exp - now);
    return 0;
}

int
hk_az_token(h2k_azure_client *c, const char **token)
{
    long now = (long)time(NULL);
    if (!c->token || c->token_expires - REFRESH_MARGIN <= now) {
        int rc = fetch_token(c);
        if (rc < 0)
            return rc;
    }
    *token = c->token;
    return 0;
}

H2K_EXTERN int
h2k_azure_authenticate(h2k_azure_client *client)
{
    if (!client)
        return H2K_ERR_INVALID_ARG;
    const char *t;
    return hk_az_token(client, &t);
}
