/*
 * wicked XML interface configs (/etc/wicked/ifconfig/ *.xml), kept simple:
 * names are renamed as whole words in element texts (<name>, <device>,
 * <link>...), and a line holding only an <address>/<lladdr>/<link-addr>/
 * <hwaddr> MAC of the old hardware is dropped.  An interface identified by
 * <permanent-address> keeps it (with a warning note): removing it would leave
 * the <name namespace="ethernet"> element without its key.
 */
#include <stdio.h>
#include <string.h>

#include "fix/net_internal.h"

static const char *const mac_tags[] = {"address", "lladdr", "link-addr", "hwaddr"};

/* When the trimmed line is exactly "<tag>TEXT</tag>", returns TEXT. */
static bool
single_element(const char *s, size_t n, const char *tag, const char **text, size_t *tlen)
{
    size_t tl = strlen(tag);
    if (n < 2 * tl + 5 || s[0] != '<' || memcmp(s + 1, tag, tl) != 0 || s[tl + 1] != '>')
        return false;
    const char *close = s + n - tl - 3;
    if (close[0] != '<' || close[1] != '/' || memcmp(close + 2, tag, tl) != 0 ||
        close[tl + 2] != '>')
        return false;
    *text = s + tl + 2;
    *tlen = (size_t)(close - *text);
    hk_net_trim(text, tlen);
    return true;
}

/* One line of a wicked XML file (see hk_net_line_fn). */
static void
wicked_line(net_run *r, size_t i, bool renaming)
{
    const hk_net_policy *p = r->p;
    const net_line *l = &r->lines[i];
    const char *s = l->s, *text;
    size_t n = l->len, tlen;
    hk_net_trim(&s, &n);
    for (size_t k = 0; k < HK_ARRAY_LEN(mac_tags); k++)
        if (single_element(s, n, mac_tags[k], &text, &tlen) &&
            hk_net_drop_stale_pin(r, i, text, tlen))
            return;
    if (single_element(s, n, "permanent-address", &text, &tlen) && hk_net_mac_stale(p, text, tlen))
        hk_net_note(r,
                    "line %zu: warning: the interface is identified by its old MAC "
                    "(%.*s); left unchanged, it will not match the new NIC",
                    i + 1, (int)tlen, text);
    if (renaming)
        hk_net_rename_line(r, i, "element");
    else
        hk_net_keep(r, i);
}

int
hk_net_xform_wicked(const char *in, const hk_net_policy *p, hk_xform_out *out)
{
    return hk_net_each_line(in, p, out, wicked_line);
}

/* Text of the first <tag>TEXT</tag> (no attributes) in [s, end), or NULL. */
static const char *
find_text(const char *s, const char *end, const char *tag, size_t *len)
{
    char open[40];
    int on = snprintf(open, sizeof(open), "<%s>", tag);
    size_t olen = (size_t)on;
    for (const char *q = s; q + olen <= end; q++) {
        if (memcmp(q, open, olen) != 0)
            continue;
        const char *t = q + olen;
        const char *lt = memchr(t, '<', (size_t)(end - t));
        if (!lt)
            return NULL;
        *len = (size_t)(lt - t);
        hk_net_trim(&t, len);
        return t;
    }
    return NULL;
}

static const char *
find_str(const char *s, const char *end, const char *lit)
{
    size_t n = strlen(lit);
    for (const char *q = s; q + n <= end; q++)
        if (memcmp(q, lit, n) == 0)
            return q;
    return NULL;
}

void
hk_net_scan_wicked(const net_run *t, net_refs *refs)
{
    if (t->n == 0)
        return;
    const char *s = t->lines[0].s;
    const net_line *last = &t->lines[t->n - 1];
    const char *end = last->s + last->len + last->eol_len;
    while (s < end) {
        const char *b = find_str(s, end, "<interface");
        if (!b)
            break;
        const char *e = find_str(b, end, "</interface>");
        if (!e)
            e = end;
        size_t nlen = 0, mlen = 0;
        const char *name = find_text(b, e, "name", &nlen);
        const char *mac = NULL;
        static const char *const tags[] = {"permanent-address", "address", "lladdr", "link-addr"};
        for (size_t k = 0; k < HK_ARRAY_LEN(tags) && !mac; k++) {
            mac = find_text(b, e, tags[k], &mlen);
            if (mac && !hk_mac_parse(mac, mlen, 0, NULL))
                mac = NULL;
        }
        hk_net_refs_add(refs, name, name ? nlen : 0, mac, mac ? mlen : 0);
        s = e < end ? e + 1 : end;
    }
}
