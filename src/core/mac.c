/*
 * MAC addresses: one parser and one canonical form ("52:54:00:ab:cd:ef");
 * the value of a hex digit.
 */
#include <string.h>

#include "util.h"

int
hk_hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

bool
hk_mac_parse(const char *s, size_t len, unsigned flags, unsigned char mac[6])
{
    if (!s)
        return false;
    unsigned char b[6];
    size_t step;
    if (len == 17 && (s[2] == ':' || s[2] == '-'))
        step = 3;
    else if (len == 12 && (flags & HK_MAC_BARE))
        step = 2;
    else
        return false;
    for (size_t i = 0; i < 6; i++) {
        const char *p = s + i * step;
        int hi = hk_hexval(p[0]), lo = hk_hexval(p[1]);
        if (hi < 0 || lo < 0 || (step == 3 && i < 5 && p[2] != s[2]))
            return false;
        b[i] = (unsigned char)(hi << 4 | lo);
    }
    if (mac)
        memcpy(mac, b, 6);
    return true;
}

void
hk_mac_format(const unsigned char mac[6], char out[18])
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < 6; i++) {
        out[i * 3] = digits[mac[i] >> 4];
        out[i * 3 + 1] = digits[mac[i] & 15];
        out[i * 3 + 2] = i == 5 ? '\0' : ':';
    }
}

bool
hk_mac_norm(const char *s, size_t len, unsigned flags, char out[18])
{
    unsigned char b[6];
    out[0] = '\0';
    if (!hk_mac_parse(s, len, flags, b))
        return false;
    hk_mac_format(b, out);
    return true;
}

bool
hk_mac_canon(char *s)
{
    char n[18];
    if (!s || !hk_mac_norm(s, strlen(s), 0, n))
        return false;
    memcpy(s, n, sizeof(n));
    return true;
}
