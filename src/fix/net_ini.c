/*
 * INI-style network configs: NetworkManager keyfiles (*.nmconnection) and
 * systemd-networkd .network / .link / .netdev files.  [Section] heads,
 * "Key=value" lines; comments (# ;) and anything unknown are kept as is.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fix/net_internal.h"

typedef enum {
    L_OTHER,
    L_SECTION,
    L_KEY
} line_kind;

typedef struct ini_line {
    line_kind kind;
    size_t section; /* index of the section line, or SIZE_MAX before any */
    const char *sec, *key, *val;
    size_t sec_len, key_len, val_len;
} ini_line;

static void
parse_lines(const net_run *r, ini_line *v)
{
    size_t section = SIZE_MAX;
    const char *sec = "";
    size_t sec_len = 0;
    for (size_t i = 0; i < r->n; i++) {
        const net_line *l = &r->lines[i];
        ini_line *e = &v[i];
        memset(e, 0, sizeof(*e));
        const char *s = l->s;
        size_t n = l->len;
        hk_net_trim(&s, &n);
        if (n == 0 || s[0] == '#' || s[0] == ';') {
            e->kind = L_OTHER;
        } else if (s[0] == '[' && s[n - 1] == ']') {
            e->kind = L_SECTION;
            section = i;
            sec = s + 1;
            sec_len = n - 2;
        } else {
            const char *eq = memchr(s, '=', n);
            if (!eq || eq == s) {
                e->kind = L_OTHER;
            } else {
                e->kind = L_KEY;
                e->key = s;
                e->key_len = (size_t)(eq - s);
                hk_net_trim(&e->key, &e->key_len);
                e->val = eq + 1;
                e->val_len = n - (size_t)(eq - s) - 1;
                hk_net_trim(&e->val, &e->val_len);
            }
        }
        e->section = section;
        e->sec = sec;
        e->sec_len = sec_len;
    }
}

/* Walks the blank/;/, separated tokens of a value. */
static bool
next_token(const char *s, size_t len, size_t *pos, const char **t, size_t *tlen)
{
    size_t i = *pos;
    while (i < len && (s[i] == ' ' || s[i] == '\t' || s[i] == ';' || s[i] == ','))
        i++;
    if (i >= len)
        return false;
    size_t b = i;
    while (i < len && s[i] != ' ' && s[i] != '\t' && s[i] != ';' && s[i] != ',')
        i++;
    *t = s + b;
    *tlen = i - b;
    *pos = i;
    return true;
}

typedef enum {
    PIN_NONE,
    PIN_MAC,
    PIN_DRIVER
} pin_kind;

/* Which kind of pin a [Match] line of a .network/.link file is. */
static pin_kind
networkd_pin(const ini_line *e)
{
    if (e->kind != L_KEY || !hk_net_eq(e->sec, e->sec_len, "Match"))
        return PIN_NONE;
    if (hk_net_eq(e->key, e->key_len, "MACAddress") ||
        hk_net_eq(e->key, e->key_len, "PermanentMACAddress"))
        return PIN_MAC;
    if (hk_net_eq(e->key, e->key_len, "Driver"))
        return PIN_DRIVER;
    return PIN_NONE;
}

/* True when the token is removed: a stale MAC, or a source hypervisor driver. */
static bool
token_removed(const hk_net_policy *p, pin_kind kind, const char *t, size_t tlen)
{
    if (kind == PIN_MAC)
        return hk_net_mac_stale(p, t, tlen);
    return hk_net_is_source_driver(t, tlen);
}

/* Value with removed tokens left out (blank-separated); *kept = tokens left. */
static size_t
filter_tokens(const hk_net_policy *p, pin_kind kind, const ini_line *e, hk_buf *b, size_t *kept)
{
    size_t pos = 0, removed = 0;
    const char *t;
    size_t tlen;
    *kept = 0;
    while (next_token(e->val, e->val_len, &pos, &t, &tlen)) {
        if (token_removed(p, kind, t, tlen)) {
            removed++;
            continue;
        }
        if (b) {
            if (*kept)
                hk_buf_puts(b, " ");
            hk_buf_append(b, t, tlen);
        }
        (*kept)++;
    }
    return removed;
}

/* True when [Match] section @sec keeps a criterion once the pins are removed. */
static bool
match_keeps_criterion(const hk_net_policy *p, const ini_line *v, size_t n, size_t sec,
                      unsigned char *cache)
{
    if (cache[sec])
        return cache[sec] == 1;
    cache[sec] = 2;
    for (size_t i = sec + 1; i < n && v[i].section == sec; i++) {
        if (v[i].kind != L_KEY)
            continue;
        pin_kind k = networkd_pin(&v[i]);
        size_t kept = 1;
        if (k != PIN_NONE)
            filter_tokens(p, k, &v[i], NULL, &kept);
        if (kept > 0) {
            cache[sec] = 1;
            return true;
        }
    }
    return false;
}

static void
xform_networkd_pin(net_run *r, const ini_line *v, size_t i, pin_kind kind, bool *repinned,
                   unsigned char *cache)
{
    const ini_line *e = &v[i];
    const net_line *l = &r->lines[i];
    size_t kept;
    hk_buf nb = {0};
    size_t removed = filter_tokens(r->p, kind, e, &nb, &kept);
    const char *why = kind == PIN_MAC ? "the VM gets a new MAC" : "no such driver under KVM";
    if (removed == 0) {
        hk_buf_free(&nb);
        hk_net_keep(r, i);
        return;
    }
    if (kept > 0) {
        hk_buf line = {0};
        hk_buf_append(&line, l->s, (size_t)(e->val - l->s));
        hk_buf_append(&line, nb.data ? nb.data : "", nb.len);
        hk_net_put(r, i, line.data ? line.data : "", line.len);
        if (line.oom)
            r->oom = true;
        hk_net_note(r, "line %zu: [Match] %.*s: removed %zu value(s) that cannot match (%s)", i + 1,
                    (int)e->key_len, e->key, removed, why);
        hk_buf_free(&line);
        hk_buf_free(&nb);
        return;
    }
    hk_buf_free(&nb);
    if (match_keeps_criterion(r->p, v, r->n, e->section, cache)) {
        hk_net_drop(r, i);
        hk_net_note(r, "line %zu: dropped '%.*s' (%s)", i + 1, NET_LINE_ARGS(l), why);
        return;
    }
    const hk_nic_rename *nic = hk_net_only_nic(r->p);
    if (*repinned) {
        hk_net_drop(r, i);
        hk_net_note(r, "line %zu: dropped '%.*s' (%s)", i + 1, NET_LINE_ARGS(l), why);
        return;
    }
    if (nic && nic->mac) {
        char buf[64];
        int bn = snprintf(buf, sizeof(buf), "MACAddress=%s", nic->mac);
        hk_net_put(r, i, buf, (size_t)bn);
        hk_net_note(r, "line %zu: '%.*s' -> '%s' (%s; pinned to the NIC's MAC under KVM)", i + 1,
                    NET_LINE_ARGS(l), buf, why);
        *repinned = true;
        return;
    }
    hk_net_keep(r, i);
    hk_net_note(r,
                "line %zu: warning: '%.*s' cannot match under KVM (%s) and is the only "
                "criterion of its [Match] section; left unchanged",
                i + 1, NET_LINE_ARGS(l), why);
}

/* NetworkManager [match] driver=: entries of source drivers removed. */
static void
xform_nm_driver(net_run *r, const ini_line *e, size_t i)
{
    const net_line *l = &r->lines[i];
    size_t pos = 0, kept = 0, removed = 0;
    const char *t;
    size_t tlen;
    hk_buf nb = {0};
    hk_buf_append(&nb, l->s, (size_t)(e->val - l->s));
    while (next_token(e->val, e->val_len, &pos, &t, &tlen)) {
        if (hk_net_is_source_driver(t, tlen)) {
            removed++;
            continue;
        }
        hk_buf_append(&nb, t, tlen);
        hk_buf_puts(&nb, ";");
        kept++;
    }
    if (removed == 0) {
        hk_net_keep(r, i);
    } else if (kept == 0) {
        hk_net_drop(r, i);
        hk_net_note(r, "line %zu: [match] dropped '%.*s' (no such driver under KVM)", i + 1,
                    NET_LINE_ARGS(l));
    } else {
        hk_net_put(r, i, nb.data, nb.len);
        hk_net_note(r, "line %zu: [match] driver: removed %zu driver(s) absent under KVM", i + 1,
                    removed);
    }
    if (nb.oom)
        r->oom = true;
    hk_buf_free(&nb);
}

static int
xform_ini(const char *in, const hk_net_policy *p, hk_xform_out *out, bool nm)
{
    net_run r;
    int rc = hk_net_begin(&r, in, p, out);
    if (rc < 0)
        return rc;
    ini_line *v = calloc(r.n ? r.n : 1, sizeof(*v));
    unsigned char *cache = calloc(r.n ? r.n : 1, 1); /* per [Match]: 0 unknown, 1 keeps, 2 not */
    if (!v || !cache) {
        free(v);
        free(cache);
        r.oom = true;
        return hk_net_finish(&r);
    }
    parse_lines(&r, v);
    bool renaming = hk_net_renaming(p);
    size_t repin_section = SIZE_MAX;
    for (size_t i = 0; i < r.n; i++) {
        const ini_line *e = &v[i];
        const net_line *l = &r.lines[i];
        if (e->kind != L_KEY) {
            hk_net_keep(&r, i);
            continue;
        }
        if (nm) {
            bool eth = hk_net_eq(e->sec, e->sec_len, "ethernet") ||
                       hk_net_eq(e->sec, e->sec_len, "802-3-ethernet");
            if (eth &&
                (hk_net_eq(e->key, e->key_len, "mac-address") ||
                 hk_net_eq(e->key, e->key_len, "cloned-mac-address")) &&
                hk_net_mac_stale(p, e->val, e->val_len)) {
                hk_net_drop(&r, i);
                hk_net_note(&r, "line %zu: [%.*s] dropped MAC pin '%.*s' (the VM gets a new MAC)",
                            i + 1, (int)e->sec_len, e->sec, NET_LINE_ARGS(l));
                continue;
            }
            if (hk_net_eq(e->sec, e->sec_len, "match") && hk_net_eq(e->key, e->key_len, "driver")) {
                xform_nm_driver(&r, e, i);
                continue;
            }
        } else {
            pin_kind k = networkd_pin(e);
            if (k != PIN_NONE) {
                bool repinned = repin_section == e->section;
                xform_networkd_pin(&r, v, i, k, &repinned, cache);
                if (repinned)
                    repin_section = e->section;
                continue;
            }
            if (hk_net_eq(e->sec, e->sec_len, "Link") &&
                hk_net_eq(e->key, e->key_len, "MACAddress") &&
                hk_net_mac_stale(p, e->val, e->val_len)) {
                hk_net_drop(&r, i);
                hk_net_note(&r, "line %zu: [Link] dropped '%.*s' (the VM gets a new MAC)", i + 1,
                            NET_LINE_ARGS(l));
                continue;
            }
        }
        if (!renaming) {
            hk_net_keep(&r, i);
            continue;
        }
        char what[96];
        snprintf(what, sizeof(what), "[%.*s] %.*s", (int)(e->sec_len < 40 ? e->sec_len : 40),
                 e->sec, (int)(e->key_len < 40 ? e->key_len : 40), e->key);
        hk_net_rename_line(&r, i, what);
    }
    free(v);
    free(cache);
    return hk_net_finish(&r);
}

int
hk_net_xform_nm(const char *in, const hk_net_policy *p, hk_xform_out *out)
{
    return xform_ini(in, p, out, true);
}

int
hk_net_xform_networkd(const char *in, const hk_net_policy *p, hk_xform_out *out)
{
    return xform_ini(in, p, out, false);
}

static bool
has_glob(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (s[i] == '*' || s[i] == '?' || s[i] == '[' || s[i] == '!' || s[i] == '$' || s[i] == '%')
            return true;
    return false;
}

void
hk_net_scan_ini(const net_run *t, net_refs *refs, bool nm)
{
    ini_line *v = calloc(t->n ? t->n : 1, sizeof(*v));
    if (!v) {
        refs->oom = true;
        return;
    }
    parse_lines(t, v);
    /* one name and one MAC in a file belong together */
    const char *name = NULL, *mac = NULL;
    size_t name_len = 0, mac_len = 0, names = 0, macs = 0;
    net_refs tmp = {0};
    for (size_t i = 0; i < t->n; i++) {
        const ini_line *e = &v[i];
        if (e->kind != L_KEY)
            continue;
        bool is_name, is_mac;
        if (nm) {
            is_name = (hk_net_eq(e->sec, e->sec_len, "connection") ||
                       hk_net_eq(e->sec, e->sec_len, "match")) &&
                      hk_net_eq(e->key, e->key_len, "interface-name");
            is_name = is_name || (hk_net_eq(e->sec, e->sec_len, "vlan") &&
                                  hk_net_eq(e->key, e->key_len, "parent"));
            is_mac = (hk_net_eq(e->sec, e->sec_len, "ethernet") ||
                      hk_net_eq(e->sec, e->sec_len, "802-3-ethernet")) &&
                     hk_net_eq(e->key, e->key_len, "mac-address");
        } else {
            is_name = (hk_net_eq(e->sec, e->sec_len, "Match") &&
                       (hk_net_eq(e->key, e->key_len, "Name") ||
                        hk_net_eq(e->key, e->key_len, "OriginalName"))) ||
                      (hk_net_eq(e->sec, e->sec_len, "Link") &&
                       hk_net_eq(e->key, e->key_len, "Name"));
            is_mac = networkd_pin(e) == PIN_MAC;
        }
        if (!is_name && !is_mac)
            continue;
        size_t pos = 0;
        const char *tok;
        size_t tlen;
        while (next_token(e->val, e->val_len, &pos, &tok, &tlen)) {
            if (is_name && !has_glob(tok, tlen)) {
                if (!names++) {
                    name = tok;
                    name_len = tlen;
                }
                hk_net_refs_add(&tmp, tok, tlen, NULL, 0);
            } else if (is_mac && hk_mac_parse(tok, tlen, 0, NULL)) {
                if (!macs++) {
                    mac = tok;
                    mac_len = tlen;
                }
                hk_net_refs_add(&tmp, NULL, 0, tok, tlen);
            }
        }
    }
    if (names == 1 && macs == 1) {
        hk_net_refs_add(refs, name, name_len, mac, mac_len);
    } else {
        for (size_t i = 0; i < tmp.n; i++) {
            const char *nm_ = tmp.v[i].name, *mc = tmp.v[i].mac;
            hk_net_refs_add(refs, nm_, nm_ ? strlen(nm_) : 0, mc, mc ? strlen(mc) : 0);
        }
    }
    if (tmp.oom)
        refs->oom = true;
    hk_net_refs_free(tmp.v, tmp.n);
    free(v);
}
