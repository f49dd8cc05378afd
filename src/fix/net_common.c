/*
 * Shared machinery of the network transforms: argument checks, line
 * splitting (line ends kept byte for byte), notes, whole-word renaming and
 * the small recognisers used by every format.
 */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fix/net_internal.h"

/* ------------------------------------------------------------- policy */

static bool
valid_ifname(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > HK_NET_MAX_IFNAME || strcmp(s, ".") == 0 || strcmp(s, "..") == 0)
        return false;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c <= ' ' || c >= 0x7f || c == '/' || c == ':' || c == '"' || c == '\'' || c == '\\' ||
            c == '=' || c == '#' || c == ',')
            return false;
    }
    return true;
}

static bool
valid_mac(const char *s)
{
    char n[18];
    return hk_mac_norm(s, strlen(s), 0, n) && strcmp(n, s) == 0; /* canonical only */
}

int
hk_net_policy_check(const hk_net_policy *p)
{
    if (!p || (p->n > 0 && !p->nics) || p->n > 4096)
        return H2K_ERR_INVALID_ARG;
    for (size_t i = 0; i < p->n; i++) {
        const hk_nic_rename *nic = &p->nics[i];
        if (nic->old_name && !valid_ifname(nic->old_name))
            return H2K_ERR_INVALID_ARG;
        if (nic->new_name && !valid_ifname(nic->new_name))
            return H2K_ERR_INVALID_ARG;
        if (nic->mac && !valid_mac(nic->mac))
            return H2K_ERR_INVALID_ARG;
        for (size_t j = 0; j < i; j++)
            if (nic->old_name && p->nics[j].old_name &&
                strcmp(nic->old_name, p->nics[j].old_name) == 0)
                return H2K_ERR_INVALID_ARG;
    }
    return 0;
}

static bool
nic_renamed(const hk_net_policy *p, const hk_nic_rename *nic)
{
    return !p->keep_mac && nic->old_name && nic->new_name &&
           strcmp(nic->old_name, nic->new_name) != 0;
}

bool
hk_net_renaming(const hk_net_policy *p)
{
    for (size_t i = 0; i < p->n; i++)
        if (nic_renamed(p, &p->nics[i]))
            return true;
    return false;
}

const hk_nic_rename *
hk_net_renamed_nic(const hk_net_policy *p, const char *s, size_t len)
{
    for (size_t i = 0; i < p->n; i++)
        if (nic_renamed(p, &p->nics[i]) && hk_net_eq(s, len, p->nics[i].old_name))
            return &p->nics[i];
    return NULL;
}

const char *
hk_net_target_name(const hk_net_policy *p, const hk_nic_rename *nic)
{
    if (!p->keep_mac && nic->new_name)
        return nic->new_name;
    return nic->old_name;
}

const hk_nic_rename *
hk_net_nic_by_name(const hk_net_policy *p, const char *s, size_t len)
{
    for (size_t i = 0; i < p->n; i++) {
        const char *t = hk_net_target_name(p, &p->nics[i]);
        if (t && hk_net_eq(s, len, t))
            return &p->nics[i];
    }
    return NULL;
}

/* ------------------------------------------------------------- strings */

bool
hk_net_eq(const char *s, size_t len, const char *lit)
{
    size_t n = strlen(lit);
    return n == len && memcmp(s, lit, n) == 0;
}

bool
hk_net_eq_nocase(const char *s, size_t len, const char *lit)
{
    size_t n = strlen(lit);
    if (n != len)
        return false;
    for (size_t i = 0; i < n; i++)
        if (tolower((unsigned char)s[i]) != tolower((unsigned char)lit[i]))
            return false;
    return true;
}

void
hk_net_trim(const char **s, size_t *len)
{
    while (*len > 0 && (**s == ' ' || **s == '\t')) {
        (*s)++;
        (*len)--;
    }
    while (*len > 0 && ((*s)[*len - 1] == ' ' || (*s)[*len - 1] == '\t'))
        (*len)--;
}

void
hk_net_unquote(const char **s, size_t *len)
{
    if (*len >= 2 && ((*s)[0] == '"' || (*s)[0] == '\'') && (*s)[*len - 1] == (*s)[0]) {
        (*s)++;
        *len -= 2;
    }
}

bool
hk_net_is_source_driver(const char *s, size_t len)
{
    static const char *const drivers[] = {
        "vmxnet3",   "vmxnet", "vmxnet2", "e1000", "e1000e",       "pcnet32",      "vlance",
        "hv_netvsc", "netvsc", "tulip",   "de4x5", "xen_netfront", "xen-netfront",
    };
    for (size_t i = 0; i < HK_ARRAY_LEN(drivers); i++)
        if (hk_net_eq_nocase(s, len, drivers[i]))
            return true;
    return false;
}

/* Characters that continue a word before / after an interface name.  A '.'
 * or ':' after the name starts a VLAN or alias suffix, so it ends the word;
 * before the name, '.' and '/' mean it is part of a path or another name,
 * while a '-' is a prefix ("ifcfg-ens192", "slave-ens192") that follows it. */
static bool
word_char_before(char c)
{
    return isalnum((unsigned char)c) || c == '_' || c == '.' || c == '/' ||
           (unsigned char)c >= 0x80;
}

static bool
word_char_after(char c)
{
    return isalnum((unsigned char)c) || c == '_' || c == '-' || c == '/' ||
           (unsigned char)c >= 0x80;
}

size_t
hk_net_rename_words(const hk_net_policy *p, const char *s, size_t len, hk_buf *b)
{
    size_t count = 0, last = 0, i = 0;
    while (i < len) {
        const hk_nic_rename *hit = NULL;
        size_t hit_len = 0;
        if (i == 0 || !word_char_before(s[i - 1])) {
            for (size_t k = 0; k < p->n; k++) {
                const hk_nic_rename *nic = &p->nics[k];
                if (!nic_renamed(p, nic))
                    continue;
                size_t n = strlen(nic->old_name);
                if (n > len - i || n <= hit_len || memcmp(s + i, nic->old_name, n) != 0)
                    continue;
                if (i + n < len && word_char_after(s[i + n]))
                    continue;
                hit = nic;
                hit_len = n;
            }
        }
        if (hit) {
            hk_buf_append(b, s + last, i - last);
            hk_buf_puts(b, hit->new_name);
            i += hit_len;
            last = i;
            count++;
        } else {
            i++;
        }
    }
    hk_buf_append(b, s + last, len - last);
    return count;
}

/* ---------------------------------------------------------------- lines */

int
hk_net_split(net_run *r, const char *in)
{
    size_t total = strlen(in);
    size_t cap = 16;
    r->lines = malloc(cap * sizeof(*r->lines));
    if (!r->lines)
        return H2K_ERR_NO_MEMORY;
    r->n = 0;
    r->eol = NULL;
    const char *s = in, *end = in + total;
    while (s < end) {
        const char *nl = memchr(s, '\n', (size_t)(end - s));
        net_line l;
        l.s = s;
        if (nl) {
            l.len = (size_t)(nl - s);
            l.eol = nl;
            l.eol_len = 1;
            if (l.len > 0 && nl[-1] == '\r') {
                l.len--;
                l.eol = nl - 1;
                l.eol_len = 2;
            }
            s = nl + 1;
        } else {
            l.len = (size_t)(end - s);
            l.eol = end;
            l.eol_len = 0;
            s = end;
        }
        if (!r->eol && l.eol_len > 0)
            r->eol = l.eol_len == 2 ? "\r\n" : "\n";
        if (r->n == cap) {
            cap *= 2;
            net_line *nv = realloc(r->lines, cap * sizeof(*nv));
            if (!nv)
                return H2K_ERR_NO_MEMORY;
            r->lines = nv;
        }
        r->lines[r->n++] = l;
    }
    if (!r->eol)
        r->eol = "\n";
    return 0;
}

void
hk_net_run_free(net_run *r)
{
    free(r->lines);
    r->lines = NULL;
    r->n = 0;
    hk_buf_free(&r->buf);
}

int
hk_net_begin(net_run *r, const char *in, const hk_net_policy *p, hk_xform_out *out)
{
    memset(r, 0, sizeof(*r));
    if (!in || !out)
        return H2K_ERR_INVALID_ARG;
    out->text = NULL;
    out->notes = NULL;
    out->n_notes = 0;
    if (hk_net_policy_check(p) < 0 || strlen(in) > HK_NET_MAX_INPUT)
        return H2K_ERR_INVALID_ARG;
    r->p = p;
    r->out = out;
    int rc = hk_net_split(r, in);
    if (rc < 0)
        hk_net_run_free(r);
    return rc;
}

int
hk_net_finish(net_run *r)
{
    int rc = 0;
    if (r->notes_skipped > 0 &&
        !hk_xform_note(r->out, "... and %zu more changes", r->notes_skipped))
        r->oom = true;
    if (r->oom || r->buf.oom) {
        rc = H2K_ERR_NO_MEMORY;
    } else if (r->changed) {
        r->out->text = hk_buf_steal(&r->buf);
        if (!r->out->text) {
            /* an empty result: hk_buf never allocated */
            r->out->text = calloc(1, 1);
            if (!r->out->text)
                rc = H2K_ERR_NO_MEMORY;
        }
    }
    if (rc < 0)
        hk_xform_out_clear(r->out);
    hk_net_run_free(r);
    return rc;
}

void
hk_net_note(net_run *r, const char *fmt, ...)
{
    if (r->oom)
        return;
    if (r->out->n_notes >= HK_NET_MAX_NOTES) {
        r->notes_skipped++;
        return;
    }
    va_list ap;
    va_start(ap, fmt);
    char *s = hk_vasprintf(fmt, ap);
    va_end(ap);
    if (!s || !hk_xform_note(r->out, "%s", s))
        r->oom = true;
    free(s);
}

void
hk_net_keep(net_run *r, size_t i)
{
    const net_line *l = &r->lines[i];
    hk_buf_append(&r->buf, l->s, l->len + l->eol_len);
}

void
hk_net_put(net_run *r, size_t i, const char *s, size_t len)
{
    const net_line *l = &r->lines[i];
    if (len != l->len || memcmp(s, l->s, len) != 0)
        r->changed = true;
    hk_buf_append(&r->buf, s, len);
    hk_buf_append(&r->buf, l->eol, l->eol_len);
}

void
hk_net_drop(net_run *r, size_t i)
{
    (void)i;
    r->changed = true;
}

void
hk_net_rename_line(net_run *r, size_t i, const char *what)
{
    hk_net_rename_text(r, i, what, r->lines[i].s, r->lines[i].len);
}

void
hk_net_rename_text(net_run *r, size_t i, const char *what, const char *s, size_t len)
{
    const net_line *l = &r->lines[i];
    hk_buf nb = {0};
    size_t n = hk_net_rename_words(r->p, s, len, &nb);
    if (n == 0 || nb.oom) {
        if (nb.oom)
            r->oom = true;
        hk_buf_free(&nb);
        hk_net_put(r, i, s, len);
        return;
    }
    hk_net_put(r, i, nb.data, nb.len);
    const char *a = l->s, *b = nb.data;
    size_t an = l->len, bn = nb.len;
    hk_net_trim(&a, &an);
    hk_net_trim(&b, &bn);
    hk_net_note(r, "line %zu: %s: '%.*s' -> '%.*s'", i + 1, what, (int)an, a, (int)bn, b);
    hk_buf_free(&nb);
}

/* -------------------------------------------------------------- scanner */

void
hk_net_refs_add(net_refs *r, const char *name, size_t name_len, const char *mac, size_t mac_len)
{
    if (r->oom)
        return;
    if (name && name_len == 0)
        name = NULL;
    if (name && (name_len > HK_NET_MAX_IFNAME || hk_net_eq(name, name_len, "lo")))
        name = NULL;
    char m[18];
    if (!mac || !hk_mac_norm(mac, mac_len, 0, m))
        mac = NULL;
    if (!name && !mac)
        return;
    if (r->n >= HK_NET_MAX_REFS)
        return; /* a guest has a handful of NICs: the rest is noise */
    for (size_t i = 0; i < r->n; i++) {
        hk_net_ref *e = &r->v[i];
        bool same_name = name && e->name && hk_net_eq(name, name_len, e->name);
        bool same_mac = mac && e->mac && strcmp(e->mac, m) == 0;
        if (same_name && (!mac || same_mac))
            return;
        if (same_mac && !name)
            return;
        if (same_name && !e->mac) {
            /* the MAC completes a name seen before */
            e->mac = hk_strdup0(m);
            if (!e->mac)
                r->oom = true;
            return;
        }
        if (same_mac && !e->name) {
            e->name = hk_strndup(name, name_len);
            if (!e->name)
                r->oom = true;
            return;
        }
    }
    if (r->n == r->cap) {
        size_t cap = r->cap ? r->cap * 2 : 8;
        hk_net_ref *nv = realloc(r->v, cap * sizeof(*nv));
        if (!nv) {
            r->oom = true;
            return;
        }
        r->v = nv;
        r->cap = cap;
    }
    hk_net_ref *e = &r->v[r->n];
    e->name = name ? hk_strndup(name, name_len) : NULL;
    e->mac = mac ? hk_strdup0(m) : NULL;
    if ((name && !e->name) || (mac && !e->mac)) {
        free(e->name);
        free(e->mac);
        r->oom = true;
        return;
    }
    r->n++;
}

void
hk_net_refs_free(hk_net_ref *refs, size_t n)
{
    if (!refs)
        return;
    for (size_t i = 0; i < n; i++) {
        free(refs[i].name);
        free(refs[i].mac);
    }
    free(refs);
}

int
hk_net_scan(hk_net_fmt fmt, const char *text, hk_net_ref **refs_out, size_t *n_out)
{
    if (refs_out)
        *refs_out = NULL;
    if (n_out)
        *n_out = 0;
    if (!text || !refs_out || !n_out || (int)fmt < 0 || fmt >= HK_NET_FMT_COUNT ||
        strlen(text) > HK_NET_MAX_INPUT)
        return H2K_ERR_INVALID_ARG;
    net_run t;
    memset(&t, 0, sizeof(t));
    if (hk_net_split(&t, text) < 0) {
        hk_net_run_free(&t);
        return H2K_ERR_NO_MEMORY;
    }
    net_refs refs = {0};
    switch (fmt) {
    case HK_NET_IFUPDOWN:
        hk_net_scan_ifupdown(&t, &refs);
        break;
    case HK_NET_NETPLAN:
        hk_net_scan_netplan(&t, &refs);
        break;
    case HK_NET_NM:
        hk_net_scan_ini(&t, &refs, true);
        break;
    case HK_NET_IFCFG:
        hk_net_scan_ifcfg(&t, &refs);
        break;
    case HK_NET_NETWORKD:
        hk_net_scan_ini(&t, &refs, false);
        break;
    case HK_NET_WICKED:
        hk_net_scan_wicked(&t, &refs);
        break;
    case HK_NET_UDEV:
        hk_net_scan_udev(&t, &refs);
        break;
    default:
        break;
    }
    hk_net_run_free(&t);
    if (refs.oom) {
        hk_net_refs_free(refs.v, refs.n);
        return H2K_ERR_NO_MEMORY;
    }
    if (refs.n == 0) {
        free(refs.v);
        refs.v = NULL;
    }
    *refs_out = refs.v;
    *n_out = refs.n;
    return 0;
}

/* ------------------------------------------------------------ dispatch */

static const char *const fmt_names[HK_NET_FMT_COUNT] = {
    "ifupdown", "netplan", "nm", "ifcfg", "networkd", "wicked", "udev",
};

const char *
hk_net_fmt_name(hk_net_fmt fmt)
{
    if ((int)fmt < 0 || fmt >= HK_NET_FMT_COUNT)
        return NULL;
    return fmt_names[fmt];
}

int
hk_net_fmt_from_name(const char *name)
{
    for (int i = 0; name && i < HK_NET_FMT_COUNT; i++)
        if (strcmp(name, fmt_names[i]) == 0)
            return i;
    return -1;
}

int
hk_net_xform(hk_net_fmt fmt, const char *in, const hk_net_policy *p, hk_xform_out *out)
{
    switch (fmt) {
    case HK_NET_IFUPDOWN:
        return hk_net_xform_ifupdown(in, p, out);
    case HK_NET_NETPLAN:
        return hk_net_xform_netplan(in, p, out);
    case HK_NET_NM:
        return hk_net_xform_nm(in, p, out);
    case HK_NET_IFCFG:
        return hk_net_xform_ifcfg(in, p, out);
    case HK_NET_NETWORKD:
        return hk_net_xform_networkd(in, p, out);
    case HK_NET_WICKED:
        return hk_net_xform_wicked(in, p, out);
    case HK_NET_UDEV:
        return hk_net_xform_udev(in, p, out);
    default:
        return H2K_ERR_INVALID_ARG;
    }
}

/* ---------------------------------------------------------- file names */

char *
hk_net_file_rename(const char *basename, const hk_net_policy *p)
{
    static const char *const prefixes[] = {
        "ifcfg-", "route-", "route6-", "rule-", "rule6-", "",
    };
    if (!basename || hk_net_policy_check(p) < 0 || !hk_net_renaming(p))
        return NULL;
    size_t blen = strlen(basename);
    for (size_t k = 0; k < HK_ARRAY_LEN(prefixes); k++) {
        size_t plen = strlen(prefixes[k]);
        if (blen <= plen || memcmp(basename, prefixes[k], plen) != 0)
            continue;
        const char *rest = basename + plen;
        size_t rlen = blen - plen;
        /* the interface name runs up to a '.' suffix (VLAN, .xml, .nmconnection) */
        for (size_t i = 0; i < p->n; i++) {
            const hk_nic_rename *nic = &p->nics[i];
            if (!nic_renamed(p, nic))
                continue;
            size_t n = strlen(nic->old_name);
            if (n > rlen || memcmp(rest, nic->old_name, n) != 0)
                continue;
            const char *tail = rest + n;
            if (plen == 0) {
                /* NetworkManager keyfile: exactly "<old>.nmconnection" */
                if (strcmp(tail, ".nmconnection") != 0)
                    continue;
            } else if (*tail != '\0' && *tail != '.') {
                continue;
            }
            return hk_asprintf("%s%s%s", prefixes[k], nic->new_name, tail);
        }
    }
    return NULL;
}

bool
hk_net_mac_is_new(const hk_net_policy *p, const char *s, size_t len)
{
    char m[18];
    if (!hk_mac_norm(s, len, 0, m))
        return false;
    for (size_t i = 0; i < p->n; i++)
        if (p->nics[i].mac && strcmp(p->nics[i].mac, m) == 0)
            return true;
    return false;
}

bool
hk_net_mac_stale(const hk_net_policy *p, const char *s, size_t len)
{
    return !p->keep_mac && hk_mac_parse(s, len, 0, NULL) && !hk_net_mac_is_new(p, s, len);
}

const hk_nic_rename *
hk_net_only_nic(const hk_net_policy *p)
{
    return p->n == 1 ? &p->nics[0] : NULL;
}

int
hk_net_each_line(const char *in, const hk_net_policy *p, hk_xform_out *out, hk_net_line_fn fn)
{
    net_run r;
    int rc = hk_net_begin(&r, in, p, out);
    if (rc < 0)
        return rc;
    bool renaming = hk_net_renaming(p);
    for (size_t i = 0; i < r.n; i++)
        fn(&r, i, renaming);
    return hk_net_finish(&r);
}

bool
hk_net_drop_stale_pin(net_run *r, size_t i, const char *mac, size_t len)
{
    if (!hk_net_mac_stale(r->p, mac, len))
        return false;
    hk_net_drop(r, i);
    hk_net_note(r, "line %zu: dropped MAC pin '%.*s' (the VM gets a new MAC)", i + 1,
                NET_LINE_ARGS(&r->lines[i]));
    return true;
}
