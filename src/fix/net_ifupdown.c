/*
 * Debian ifupdown (/etc/network/interfaces, interfaces.d/ *): stanza heads
 * (iface, auto, allow-*, mapping), options that name interfaces, hwaddress.
 */
#include <stdio.h>
#include <string.h>

#include "fix/net_internal.h"

/* First blank-separated word of [s, s+len) after leading blanks. */
static void
first_word(const char *s, size_t len, const char **w, size_t *wlen, size_t *after)
{
    size_t i = 0;
    while (i < len && (s[i] == ' ' || s[i] == '\t'))
        i++;
    size_t b = i;
    while (i < len && s[i] != ' ' && s[i] != '\t')
        i++;
    *w = s + b;
    *wlen = i - b;
    *after = i;
}

/* Next blank-separated word from *pos. */
static bool
next_word(const char *s, size_t len, size_t *pos, const char **w, size_t *wlen)
{
    size_t i = *pos;
    while (i < len && (s[i] == ' ' || s[i] == '\t'))
        i++;
    if (i >= len)
        return false;
    size_t b = i;
    while (i < len && s[i] != ' ' && s[i] != '\t')
        i++;
    *w = s + b;
    *wlen = i - b;
    *pos = i;
    return true;
}

static bool
is_comment_or_blank(const char *s, size_t len)
{
    size_t i = 0;
    while (i < len && (s[i] == ' ' || s[i] == '\t'))
        i++;
    return i == len || s[i] == '#';
}

/* One line of /etc/network/interfaces (see hk_net_line_fn). */
static void
ifupdown_line(net_run *r, size_t i, bool renaming)
{
    const hk_net_policy *p = r->p;
    const net_line *l = &r->lines[i];
    if (is_comment_or_blank(l->s, l->len)) {
        hk_net_keep(r, i);
        return;
    }
    const char *w;
    size_t wlen, pos;
    first_word(l->s, l->len, &w, &wlen, &pos);
    if (hk_net_eq(w, wlen, "hwaddress") && !p->keep_mac) {
        /* "hwaddress [ether] MAC": sets the old MAC over the new one */
        const char *a = NULL, *m;
        size_t alen = 0, mlen;
        size_t q = pos;
        while (next_word(l->s, l->len, &q, &m, &mlen)) {
            a = m;
            alen = mlen;
        }
        if (!a || !hk_net_drop_stale_pin(r, i, a, alen))
            hk_net_keep(r, i);
        return;
    }
    if (!renaming || hk_net_eq(w, wlen, "source") || hk_net_eq(w, wlen, "source-directory")) {
        hk_net_keep(r, i);
        return;
    }
    char what[48];
    snprintf(what, sizeof(what), "%.*s", (int)(wlen < 40 ? wlen : 40), w);
    hk_net_rename_line(r, i, what);
}

int
hk_net_xform_ifupdown(const char *in, const hk_net_policy *p, hk_xform_out *out)
{
    return hk_net_each_line(in, p, out, ifupdown_line);
}

/* Options whose values are interface names. */
static bool
names_option(const char *w, size_t wlen)
{
    static const char *const opts[] = {
        "bond-slaves",     "bond_slaves",     "slaves",       "bridge_ports", "bridge-ports",
        "vlan-raw-device", "vlan_raw_device", "bond-primary", "bond_primary",
    };
    for (size_t i = 0; i < HK_ARRAY_LEN(opts); i++)
        if (hk_net_eq(w, wlen, opts[i]))
            return true;
    return false;
}

void
hk_net_scan_ifupdown(const net_run *t, net_refs *refs)
{
    const char *cur = NULL;
    size_t cur_len = 0;
    for (size_t i = 0; i < t->n; i++) {
        const net_line *l = &t->lines[i];
        if (is_comment_or_blank(l->s, l->len))
            continue;
        const char *w, *a;
        size_t wlen, pos, alen;
        first_word(l->s, l->len, &w, &wlen, &pos);
        if (hk_net_eq(w, wlen, "iface")) {
            cur = NULL;
            if (next_word(l->s, l->len, &pos, &a, &alen)) {
                cur = a;
                cur_len = alen;
                hk_net_refs_add(refs, a, alen, NULL, 0);
            }
        } else if (hk_net_eq(w, wlen, "auto") || (wlen > 6 && memcmp(w, "allow-", 6) == 0)) {
            while (next_word(l->s, l->len, &pos, &a, &alen))
                hk_net_refs_add(refs, a, alen, NULL, 0);
        } else if (hk_net_eq(w, wlen, "mapping") || hk_net_eq(w, wlen, "source") ||
                   hk_net_eq(w, wlen, "source-directory")) {
            cur = NULL;
        } else if (hk_net_eq(w, wlen, "hwaddress")) {
            const char *last = NULL;
            size_t last_len = 0;
            while (next_word(l->s, l->len, &pos, &a, &alen)) {
                last = a;
                last_len = alen;
            }
            if (last && hk_mac_parse(last, last_len, 0, NULL))
                hk_net_refs_add(refs, cur, cur ? cur_len : 0, last, last_len);
        } else if (names_option(w, wlen)) {
            while (next_word(l->s, l->len, &pos, &a, &alen))
                if (!hk_net_eq(a, alen, "none") && !hk_net_eq(a, alen, "all"))
                    hk_net_refs_add(refs, a, alen, NULL, 0);
        }
    }
}
