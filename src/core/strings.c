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
hk_buf_xml_escape(hk_buf *b, const char *s)
{
    if (!s)
        return;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        switch (*p) {
        case '&':
            hk_buf_puts(b, "&amp;");
            break;
        case '<':
            hk_buf_puts(b, "&lt;");
            break;
        case '>':
            hk_buf_puts(b, "&gt;");
            break;
        case '"':
            hk_buf_puts(b, "&quot;");
            break;
        case '\'':
            hk_buf_puts(b, "&apos;");
            break;
        default:
            if (*p < 0x20 && *p != '\t' && *p != '\n' && *p != '\r')
                hk_buf_puts(b, "?"); /* not representable in XML 1.0 */
            else
                hk_buf_append(b, (const char *)p, 1);
        }
    }
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
    va_list ap;
    va_start(ap, fmt);
    char *s = hk_vasprintf(fmt, ap);
    va_end(ap);
    return s;
}

char *
hk_vasprintf(const char *fmt, va_list ap)
{
    hk_buf b = {0};
    hk_buf_vprintf(&b, fmt, ap);
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
    hk_buf b = {0};
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

/* Length of the byte sequence at @p (of @n left) to copy as is, or 0 when
 * its first byte must be escaped. */
static size_t
safe_seq_len(const unsigned char *p, size_t n)
{
    if (n == 0)
        return 0;
    unsigned c = p[0];
    if (c < 0x20 || c == 0x7f)
        return 0;
    if (c < 0x80)
        return 1;
    size_t l;
    uint32_t cp;
    if (c >= 0xc2 && c <= 0xdf) {
        l = 2;
        cp = c & 0x1f;
    } else if (c >= 0xe0 && c <= 0xef) {
        l = 3;
        cp = c & 0x0f;
    } else if (c >= 0xf0 && c <= 0xf4) {
        l = 4;
        cp = c & 0x07;
    } else {
        return 0; /* a raw C1 byte, a continuation byte, or never valid */
    }
    if (n < l)
        return 0;
    for (size_t i = 1; i < l; i++) {
        if ((p[i] & 0xc0) != 0x80)
            return 0;
        cp = (cp << 6) | (p[i] & 0x3f);
    }
    if ((l == 3 && cp < 0x800) || (l == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
        (cp >= 0xd800 && cp <= 0xdfff))
        return 0; /* overlong, out of range or a surrogate */
    if (cp >= 0x80 && cp <= 0x9f)
        return 0; /* C1 control */
    if ((cp >= 0x202a && cp <= 0x202e) || (cp >= 0x2066 && cp <= 0x2069) || cp == 0x2028 ||
        cp == 0x2029)
        return 0; /* bidirectional overrides, line and paragraph separators */
    return l;
}

/* Escapes the whole sequence starting at @p when it is a well-formed but
 * unwanted UTF-8 character (C1, bidi), else just its first byte. */
static size_t
escape_len(const unsigned char *p, size_t n)
{
    size_t l = p[0] >= 0xc2 && p[0] <= 0xdf ? 2 : p[0] >= 0xe0 && p[0] <= 0xef ? 3 : 1;
    if (l > n)
        return 1;
    for (size_t i = 1; i < l; i++)
        if ((p[i] & 0xc0) != 0x80)
            return 1;
    return l;
}

char *
hk_str_safe_n(const char *s, size_t len)
{
    if (!s)
        return strdup("(null)");
    const unsigned char *p = (const unsigned char *)s;
    hk_buf b = {0};
    size_t i = 0;
    while (i < len) {
        size_t l = safe_seq_len(p + i, len - i);
        if (l) {
            hk_buf_append(&b, s + i, l);
            i += l;
            continue;
        }
        l = escape_len(p + i, len - i);
        for (size_t k = 0; k < l; k++)
            hk_buf_printf(&b, "\\x%02x", p[i + k]);
        i += l;
    }
    return hk_buf_steal(&b);
}

char *
hk_str_safe(const char *s)
{
    return hk_str_safe_n(s, s ? strlen(s) : 0);
}

size_t
hk_str_safe_char_len(const char *s, size_t n)
{
    return s ? safe_seq_len((const unsigned char *)s, n) : 0;
}

bool
hk_str_needs_escape(const char *s)
{
    if (!s)
        return false;
    const unsigned char *p = (const unsigned char *)s;
    size_t n = strlen(s);
    for (size_t i = 0; i < n;) {
        size_t l = safe_seq_len(p + i, n - i);
        if (!l)
            return true;
        i += l;
    }
    return false;
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
