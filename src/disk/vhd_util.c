/*
 * Helpers for the VHD, VHDX and qcow2 probers (see vhd_util.h).
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/internal.h"
#include "vhd_util.h"

static uint32_t crc32c_table[256];
static pthread_once_t crc32c_once = PTHREAD_ONCE_INIT;

static void
crc32c_init(void)
{
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t c = i;
        for (int k = 0; k < 8; k++)
            c = (c & 1) ? (c >> 1) ^ 0x82F63B78u : c >> 1;
        crc32c_table[i] = c;
    }
}

uint32_t
hk_vhdx_crc32c(uint32_t crc, const void *data, size_t len)
{
    pthread_once(&crc32c_once, crc32c_init);
    const uint8_t *p = data;
    crc = ~crc;
    for (size_t i = 0; i < len; i++)
        crc = crc32c_table[(crc ^ p[i]) & 0xFF] ^ (crc >> 8);
    return ~crc;
}

uint32_t
hk_vhd_checksum(const uint8_t *buf, size_t len, size_t csum_off)
{
    uint32_t sum = 0;
    for (size_t i = 0; i < len; i++) {
        if (i >= csum_off && i < csum_off + 4)
            continue;
        sum += buf[i];
    }
    return ~sum;
}

void
hk_vhd_guid_to_string(const uint8_t g[16], char out[37])
{
    static const char hex[] = "0123456789abcdef";
    size_t o = 0;
    for (int i = 0; i < 16; i++) {
        if (i == 4 || i == 6 || i == 8 || i == 10)
            out[o++] = '-';
        out[o++] = hex[g[i] >> 4];
        out[o++] = hex[g[i] & 15];
    }
    out[o] = '\0';
}

bool
hk_vhd_guid_is_zero(const uint8_t g[16])
{
    for (int i = 0; i < 16; i++)
        if (g[i])
            return false;
    return true;
}

int
hk_vhd_utf16_to_utf8(const uint8_t *p, size_t nbytes, bool big_endian, char **out)
{
    *out = NULL;
    if (nbytes % 2)
        return -1;
    size_t n = nbytes / 2;
    /* each UTF-16 unit gives at most 3 bytes of UTF-8 (a pair gives 4) */
    char *s = malloc(n * 3 + 1);
    if (!s)
        return -2;
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        uint32_t u = big_endian ? hk_vhd_be16(p + 2 * i) : hk_vhd_le16(p + 2 * i);
        if (u == 0)
            break;
        if (u >= 0xD800 && u <= 0xDBFF) {
            if (i + 1 >= n)
                goto bad;
            uint32_t lo = big_endian ? hk_vhd_be16(p + 2 * i + 2) : hk_vhd_le16(p + 2 * i + 2);
            if (lo < 0xDC00 || lo > 0xDFFF)
                goto bad;
            u = 0x10000 + ((u - 0xD800) << 10) + (lo - 0xDC00);
            i++;
        } else if (u >= 0xDC00 && u <= 0xDFFF) {
            goto bad;
        }
        if (u < 0x80) {
            s[o++] = (char)u;
        } else if (u < 0x800) {
            s[o++] = (char)(0xC0 | (u >> 6));
            s[o++] = (char)(0x80 | (u & 0x3F));
        } else if (u < 0x10000) {
            s[o++] = (char)(0xE0 | (u >> 12));
            s[o++] = (char)(0x80 | ((u >> 6) & 0x3F));
            s[o++] = (char)(0x80 | (u & 0x3F));
        } else {
            s[o++] = (char)(0xF0 | (u >> 18));
            s[o++] = (char)(0x80 | ((u >> 12) & 0x3F));
            s[o++] = (char)(0x80 | ((u >> 6) & 0x3F));
            s[o++] = (char)(0x80 | (u & 0x3F));
        }
    }
    s[o] = '\0';
    *out = s;
    return 0;
bad:
    free(s);
    return -1;
}

char *
hk_vhd_winpath_normalize(const char *s)
{
    size_t n = strlen(s);
    char *r = malloc(n + 1);
    if (!r)
        return NULL;
    for (size_t i = 0; i <= n; i++)
        r[i] = s[i] == '\\' ? '/' : s[i];
    while (r[0] == '.' && r[1] == '/') {
        size_t skip = 2;
        while (r[skip] == '/')
            skip++;
        memmove(r, r + skip, strlen(r + skip) + 1);
    }
    return r;
}

bool
hk_vhd_path_is_absolute(const char *s)
{
    if (s[0] == '/')
        return true;
    return ((s[0] >= 'A' && s[0] <= 'Z') || (s[0] >= 'a' && s[0] <= 'z')) && s[1] == ':';
}

const char *
hk_vhd_path_basename(const char *s)
{
    const char *b = s;
    for (const char *p = s; *p; p++)
        if (*p == '/' || (*p == ':' && p == s + 1))
            b = p + 1;
    return b;
}

static int
hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

char *
hk_vhd_file_url_to_path(const char *url)
{
    if (strncmp(url, "file://", 7) != 0)
        return NULL;
    const char *p = url + 7;
    if (strncmp(p, "localhost/", 10) == 0)
        p += 9;
    if (*p != '/')
        return NULL;
    size_t n = strlen(p);
    char *r = malloc(n + 1);
    if (!r)
        return NULL;
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        if (p[i] == '%' && i + 2 < n && hexval(p[i + 1]) >= 0 && hexval(p[i + 2]) >= 0) {
            int v = hexval(p[i + 1]) * 16 + hexval(p[i + 2]);
            if (v == 0) {
                free(r);
                return NULL;
            }
            r[o++] = (char)v;
            i += 2;
        } else {
            r[o++] = p[i];
        }
    }
    r[o] = '\0';
    return r;
}

/* Candidate paths for one hint (up to two); returns how many were made. */
static size_t
parent_candidates(const char *child_dir, const char *hint, char *out[2])
{
    size_t n = 0;
    if (!hint || !*hint)
        return 0;
    if (hint[0] == '/') {
        out[n++] = hk_abspath(hint);
        out[n++] = hk_path_join(child_dir, hk_vhd_path_basename(hint));
    } else if (hk_vhd_path_is_absolute(hint)) {
        out[n++] = hk_path_join(child_dir, hk_vhd_path_basename(hint));
    } else {
        out[n++] = hk_path_join(child_dir, hint);
    }
    return n;
}

char *
hk_vhd_resolve_parent(const char *child_dir, const char *const *hints, size_t n_hints)
{
    char *first = NULL;
    for (size_t i = 0; i < n_hints; i++) {
        char *c[2] = {NULL, NULL};
        size_t n = parent_candidates(child_dir, hints[i], c);
        for (size_t k = 0; k < n; k++) {
            char *abs = c[k] && *hk_vhd_path_basename(c[k]) ? hk_abspath(c[k]) : NULL;
            free(c[k]);
            c[k] = NULL;
            if (!abs)
                continue;
            if (access(abs, F_OK) == 0) {
                for (size_t j = k + 1; j < n; j++)
                    free(c[j]);
                free(first);
                return abs;
            }
            if (!first)
                first = abs;
            else
                free(abs);
        }
    }
    return first;
}
