/*
 * Azure: the Get Page Ranges response of a page blob,
 *   <PageList><PageRange><Start>0</Start><End>511</End></PageRange>...
 *   <NextMarker>..</NextMarker></PageList>
 * read with a strict scanner of just these elements (the document is small
 * and flat).  Pure: no I/O; fuzzed by tests/fuzz/fuzz_azure_pagelist.c.
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "providers/azure/az_internal.h"

static const char *
skip_ws(const char *p, const char *end)
{
    while (p < end && (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n'))
        p++;
    return p;
}

/* Expects "<TAG>digits</TAG>" at *p (after blanks). */
static bool
read_number(const char **pp, const char *end, const char *tag, uint64_t *out)
{
    const char *p = skip_ws(*pp, end);
    size_t tl = strlen(tag);
    if ((size_t)(end - p) < tl + 2 || p[0] != '<' || memcmp(p + 1, tag, tl) != 0 ||
        p[tl + 1] != '>')
        return false;
    p += tl + 2;
    uint64_t v = 0;
    const char *d = p;
    while (p < end && isdigit((unsigned char)*p)) {
        unsigned dig = (unsigned)(*p - '0');
        if (v > (UINT64_MAX - dig) / 10)
            return false;
        v = v * 10 + dig;
        p++;
    }
    if (p == d || p - d > 20)
        return false;
    if ((size_t)(end - p) < tl + 3 || memcmp(p, "</", 2) != 0 || memcmp(p + 2, tag, tl) != 0 ||
        p[tl + 2] != '>')
        return false;
    *pp = p + tl + 3;
    *out = v;
    return true;
}

static bool
expect(const char **pp, const char *end, const char *s)
{
    const char *p = skip_ws(*pp, end);
    size_t l = strlen(s);
    if ((size_t)(end - p) < l || memcmp(p, s, l) != 0)
        return false;
    *pp = p + l;
    return true;
}

int
hk_az_parse_pagelist(h2k_ctx *ctx, const char *what, const char *xml, size_t len,
                     uint64_t blob_size, hk_az_range **r, size_t *n, size_t *cap,
                     char **next_marker)
{
    *next_marker = NULL;
    const char *end = xml + len;
    const char *p = xml ? memmem(xml, len, "<PageList", 9) : NULL;
    if (!p)
        return hk_error_at(ctx, H2K_ERR_FORMAT, NULL, -1, "PageList",
                           "%s: the response is not a page list", what);
    const char *body = memchr(p, '>', (size_t)(end - p));
    if (!body)
        return hk_error_at(ctx, H2K_ERR_FORMAT, NULL, -1, "PageList", "%s: truncated page list",
                           what);
    const char *close = memmem(body, (size_t)(end - body), "</PageList>", 11);
    if (body[-1] == '/')
        close = body; /* <PageList/>: empty */
    else if (!close)
        return hk_error_at(ctx, H2K_ERR_FORMAT, NULL, -1, "PageList",
                           "%s: truncated page list (no </PageList>)", what);
    p = body + 1;
    while (p < close) {
        p = skip_ws(p, close);
        if (p >= close)
            break;
        int64_t off = (int64_t)(p - xml);
        if (expect(&p, close, "<PageRange>")) {
            uint64_t s, e;
            if (!read_number(&p, close, "Start", &s) || !read_number(&p, close, "End", &e) ||
                !expect(&p, close, "</PageRange>"))
                return hk_error_at(ctx, H2K_ERR_FORMAT, NULL, off, "PageRange",
                                   "%s: malformed <PageRange> at offset %lld", what,
                                   (long long)off);
            if (s % 512 != 0 || e % 512 != 511 || e < s || e >= blob_size)
                return hk_error_at(ctx, H2K_ERR_FORMAT, NULL, off, "PageRange",
                                   "%s: page range %llu-%llu is not 512-aligned inside the blob "
                                   "of %llu bytes",
                                   what, (unsigned long long)s, (unsigned long long)e,
                                   (unsigned long long)blob_size);
            if (*n > 0 && s <= (*r)[*n - 1].end)
                return hk_error_at(ctx, H2K_ERR_FORMAT, NULL, off, "PageRange",
                                   "%s: page range %llu-%llu overlaps or precedes the one before",
                                   what, (unsigned long long)s, (unsigned long long)e);
            if (*n > 0 && s == (*r)[*n - 1].end + 1) {
                (*r)[*n - 1].end = e; /* adjacent: one range */
                continue;
            }
            if (*n >= HK_AZ_MAX_RANGES)
                return hk_error(ctx, H2K_ERR_FORMAT, "%s: more than %u page ranges", what,
                                HK_AZ_MAX_RANGES);
            if (*n == *cap) {
                size_t nc = *cap ? *cap * 2 : 64;
                hk_az_range *nr = realloc(*r, nc * sizeof(*nr));
                if (!nr)
                    return hk_error_nomem(ctx);
                *r = nr;
                *cap = nc;
            }
            (*r)[(*n)++] = (hk_az_range){s, e};
        } else if (expect(&p, close, "<ClearRange>")) {
            uint64_t s, e;
            if (!read_number(&p, close, "Start", &s) || !read_number(&p, close, "End", &e) ||
                !expect(&p, close, "</ClearRange>"))
                return hk_error_at(ctx, H2K_ERR_FORMAT, NULL, off, "ClearRange",
                                   "%s: malformed <ClearRange> at offset %lld", what,
                                   (long long)off);
        } else if (expect(&p, close, "<NextMarker/>") || expect(&p, close, "<NextMarker />") ||
                   expect(&p, close, "<NextMarker></NextMarker>")) {
            continue;
        } else if (expect(&p, close, "<NextMarker>")) {
            const char *m = p;
            const char *me = memmem(p, (size_t)(close - p), "</NextMarker>", 13);
            if (!me || me - m > 1024)
                return hk_error_at(ctx, H2K_ERR_FORMAT, NULL, off, "NextMarker",
                                   "%s: malformed <NextMarker>", what);
            for (const char *q = m; q < me; q++)
                if (!isalnum((unsigned char)*q) && !strchr("+/=-_.!*~", *q))
                    return hk_error_at(ctx, H2K_ERR_FORMAT, NULL, off, "NextMarker",
                                       "%s: unexpected character in <NextMarker>", what);
            free(*next_marker);
            if (!(*next_marker = hk_strndup(m, (size_t)(me - m))))
                return hk_error_nomem(ctx);
            p = me + 13;
        } else {
            return hk_error_at(ctx, H2K_ERR_FORMAT, NULL, off, "PageList",
                               "%s: unexpected content in the page list at offset %lld", what,
                               (long long)off);
        }
    }
    return 0;
}
