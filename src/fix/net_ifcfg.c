/*
 * ifcfg files: Red Hat /etc/sysconfig/network-scripts/ifcfg-* (DEVICE=, NAME=,
 * HWADDR=, MACADDR=, PHYSDEV=...) and SUSE /etc/sysconfig/network/ifcfg-*
 * (LLADDR=, ETHERDEVICE=, BONDING_SLAVE*=, BRIDGE_PORTS=...).  Shell-style
 * KEY=value lines; anything else is kept as it is.
 */
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "fix/net_internal.h"

/* Splits "KEY=value": returns false for comments and other lines. */
static bool
split_assign(const char *s, size_t len, const char **k, size_t *klen, const char **v, size_t *vlen)
{
    size_t i = 0;
    while (i < len && (s[i] == ' ' || s[i] == '\t'))
        i++;
    if (i < len && s[i] == '#')
        return false;
    if (len - i > 7 && memcmp(s + i, "export ", 7) == 0)
        i += 7;
    size_t b = i;
    while (i < len && (isalnum((unsigned char)s[i]) || s[i] == '_'))
        i++;
    if (i == b || i >= len || s[i] != '=')
        return false;
    *k = s + b;
    *klen = i - b;
    *v = s + i + 1;
    *vlen = len - i - 1;
    return true;
}

/* The value without quotes and a trailing comment. */
static void
clean_value(const char **v, size_t *vlen)
{
    const char *s = *v;
    size_t n = *vlen;
    if (n > 0 && (s[0] == '"' || s[0] == '\'')) {
        const char *q = memchr(s + 1, s[0], n - 1);
        if (q) {
            *v = s + 1;
            *vlen = (size_t)(q - s - 1);
            return;
        }
    }
    size_t i = 0;
    while (i < n && s[i] != ' ' && s[i] != '\t' && s[i] != '#')
        i++;
    *vlen = i;
}

static bool
mac_key(const char *k, size_t klen)
{
    return hk_net_eq_nocase(k, klen, "HWADDR") || hk_net_eq_nocase(k, klen, "MACADDR") ||
           hk_net_eq_nocase(k, klen, "LLADDR");
}

/* One line of an ifcfg file (see hk_net_line_fn). */
static void
ifcfg_line(net_run *r, size_t i, bool renaming)
{
    const hk_net_policy *p = r->p;
    const net_line *l = &r->lines[i];
    const char *k, *v;
    size_t klen, vlen;
    if (!split_assign(l->s, l->len, &k, &klen, &v, &vlen)) {
        hk_net_keep(r, i);
        return;
    }
    if (mac_key(k, klen)) {
        clean_value(&v, &vlen);
        if (!hk_net_drop_stale_pin(r, i, v, vlen))
            hk_net_keep(r, i);
        return;
    }
    if (!renaming) {
        hk_net_keep(r, i);
        return;
    }
    char what[48];
    snprintf(what, sizeof(what), "%.*s", (int)(klen < 40 ? klen : 40), k);
    if (hk_net_eq(k, klen, "DEVICE")) {
        const char *d = v;
        size_t dlen = vlen;
        clean_value(&d, &dlen);
        const hk_nic_rename *nic = hk_net_renamed_nic(p, d, dlen);
        if (nic)
            hk_net_note(r, "line %zu: the file follows the device: ifcfg-%s -> ifcfg-%s", i + 1,
                        nic->old_name, nic->new_name);
    }
    hk_net_rename_line(r, i, what);
}

int
hk_net_xform_ifcfg(const char *in, const hk_net_policy *p, hk_xform_out *out)
{
    return hk_net_each_line(in, p, out, ifcfg_line);
}

void
hk_net_scan_ifcfg(const net_run *t, net_refs *refs)
{
    const char *dev = NULL, *mac = NULL;
    size_t dev_len = 0, mac_len = 0;
    for (size_t i = 0; i < t->n; i++) {
        const net_line *l = &t->lines[i];
        const char *k, *v;
        size_t klen, vlen;
        if (!split_assign(l->s, l->len, &k, &klen, &v, &vlen))
            continue;
        clean_value(&v, &vlen);
        if (hk_net_eq(k, klen, "DEVICE") && !dev) {
            dev = v;
            dev_len = vlen;
        } else if ((hk_net_eq_nocase(k, klen, "HWADDR") || hk_net_eq_nocase(k, klen, "LLADDR")) &&
                   !mac && hk_mac_parse(v, vlen, 0, NULL)) {
            mac = v;
            mac_len = vlen;
        } else if (hk_net_eq(k, klen, "PHYSDEV") || hk_net_eq(k, klen, "ETHERDEVICE") ||
                   (klen > 13 && memcmp(k, "BONDING_SLAVE", 13) == 0)) {
            hk_net_refs_add(refs, v, vlen, NULL, 0);
        }
    }
    hk_net_refs_add(refs, dev, dev_len, mac, mac_len);
}
