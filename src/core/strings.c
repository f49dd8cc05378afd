/*
 * Small string helpers: a growable buffer, duplication, parsing.
 */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "internal.h"

static bool
buf_reserve(hk_buf *b, size_t extra)
{
    if (b->oom)
        return false;
    if (extra > SIZE_MAX - b->len - 1) {
        b->oom = true;
        return false;
    }
    size_t need = b->len + extra + 1;
    if (need <= b->cap)
        return true;
    size_t cap = b->cap ? b->cap : 64;
    while (cap < need)
        cap = cap > SIZE_MAX / 2 ? need : cap * 2;
    char *p = realloc(b->data, cap);
    if (!p) {
        b->oom = true;
        return false;
    }
    b->data = p;
    b->cap = cap;
    return true;
}

void
hk_buf_append(hk_buf *b, const char *s, size_t n)
{
    if (!buf_reserve(b, n))
        return;
    if (n)
        memcpy(b->data + b->len, s, n);
    b->len += n;
    b->data[b->len] = '\0';
}

void
hk_buf_puts(hk_buf *b, const char *s)
{
    hk_buf_append(b, s, strlen(s));
}

void
hk_buf_vprintf(hk_buf *b, const char *fmt, va_list ap)
{
    va_list ap2;
    va_copy(ap2, ap);
    int n = vsnprintf(NULL, 0, fmt, ap2);
    va_end(ap2);
    if (n < 0) {
        b->oom = true;
        return;
    }
    if (!buf_reserve(b, (size_t)n))
        return;
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    b->len += (size_t)n;
}

void
hk_buf_printf(hk_buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    hk_buf_vprintf(b, fmt, ap);
    va_end(ap);
}

char *
hk_buf_steal(hk_buf *b)
{
    char *s = NULL;
    if (!b->oom) {
        s = b->data ? b->data : strdup("");
        b->data = NULL;
    }
    hk_buf_free(b);
    return s;
}

void
hk_buf_free(hk_buf *b)
{
    free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
    b->oom = false;
}

char *
hk_strdup0(const char *s)
{
    return s ? strdup(s) : NULL;
}

char *
hk_strndup(const char *s, size_t n)
{
    char *p = malloc(n + 1);
    if (!p)
        return NULL;
    memcpy(p, s, n);
    p[n] = '\0';
    return p;
}

char *
hk_asprintf(const char *fmt, ...)
{
    hk_buf b = { 0 };
    va_list ap;
    va_start(ap, fmt);
    hk_buf_vprintf(&b, fmt, ap);
    va_end(ap);
    return hk_buf_steal(&b);
}

bool
hk_streq_nocase(const char *a, const char *b)
{
    return a && b && strcasecmp(a, b) == 0;
}

bool
hk_startswith(const char *s, const char *prefix)
{
    return s && prefix && strncmp(s, prefix, strlen(prefix)) == 0;
}

bool
hk_endswith_nocase(const char *s, const char *suffix)
{
    if (!s || !suffix)
        return false;
    size_t ls = strlen(s), lx = strlen(suffix);
    return ls >= lx && strcasecmp(s + ls - lx, suffix) == 0;
}

/* @s between @wrap and @wrap, each @c written as @repl. */
static char *
escape_char(const char *s, char c, const char *repl, const char *wrap)
{
    hk_buf b = { 0 };
    hk_buf_puts(&b, wrap);
    for (const char *p = s; *p; p++) {
        if (*p == c)
            hk_buf_puts(&b, repl);
        else
            hk_buf_append(&b, p, 1);
    }
    hk_buf_puts(&b, wrap);
    return hk_buf_steal(&b);
}

char *
hk_sh_quote(const char *s)
{
    return escape_char(s, '\'', "'\\''", "'");
}

char *
hk_qemu_opt_escape(const char *s)
{
    return escape_char(s, ',', ",,", "");
}

char *
hk_strtrim(char *s)
{
    char *start = s;
    while (*start && isspace((unsigned char)*start))
        start++;
    size_t n = strlen(start);
    while (n > 0 && isspace((unsigned char)start[n - 1]))
        n--;
    memmove(s, start, n);
    s[n] = '\0';
    return s;
}

bool
hk_parse_u64(const char *s, uint64_t *out, bool allow_hex)
{
    if (!s || !*s)
        return false;
    int base = 10;
    if (allow_hex && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
        base = 16;
        s += 2;
        if (!*s)
            return false;
    }
    uint64_t v = 0;
    for (; *s; s++) {
        unsigned d;
        if (*s >= '0' && *s <= '9')
            d = (unsigned)(*s - '0');
        else if (base == 16 && isxdigit((unsigned char)*s))
            d = (unsigned)(tolower((unsigned char)*s) - 'a' + 10);
        else
            return false;
        if (v > (UINT64_MAX - d) / (uint64_t)base)
            return false;
        v = v * (uint64_t)base + d;
    }
    *out = v;
    return true;
}
