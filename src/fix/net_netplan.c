/*
 * netplan YAML (/etc/netplan/ *.yaml), edited line by line without a YAML
 * library: only block-mapping "key: value" lines are interpreted (plus a
 * one-line flow mapping after "match:"), every other line is kept as it is
 * (names in it are still renamed, as whole words, under keep_mac = false)
 * and ends the blocks it is not indented under.
 *
 *   ethernets:
 *     ens192:                       <- interface id (renamed)
 *       match:
 *         macaddress: 00:50:56:..   <- stale pin: dropped, or re-pinned to the new MAC
 *         driver: vmxnet3           <- removed in both modes (re-pinned if alone)
 *       set-name: ens192            <- renamed
 *       macaddress: 00:50:56:..     <- MAC override: dropped with new MACs
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fix/net_internal.h"

typedef struct yl {
    bool content; /* neither blank nor a comment: it closes shallower blocks */
    bool key_line;
    size_t indent;
    const char *key, *val;
    size_t key_len, val_len;
    size_t parent; /* SIZE_MAX when none */
    bool nic_done; /* block_nic() computed for this interface block */
    const hk_nic_rename *nic;
} yl;

/* Action decided for a line of a match: block. */
typedef enum {
    A_NONE,
    A_DROP,
    A_REPIN,
    A_DRIVER_TO_MAC,
    A_WARN
} yl_action;

static void
parse_value(const char *s, size_t n, const char **v, size_t *vlen)
{
    hk_net_trim(&s, &n);
    /* a trailing comment starts at " #" outside quotes */
    char q = 0;
    for (size_t i = 0; i < n; i++) {
        if (q) {
            if (s[i] == q)
                q = 0;
        } else if (s[i] == '"' || s[i] == '\'') {
            q = s[i];
        } else if (s[i] == '#' && (i == 0 || s[i - 1] == ' ' || s[i - 1] == '\t')) {
            n = i;
            break;
        }
    }
    hk_net_trim(&s, &n);
    *v = s;
    *vlen = n;
}

static void
parse_lines(const net_run *r, yl *v)
{
    size_t last_key = SIZE_MAX;
    for (size_t i = 0; i < r->n; i++) {
        const net_line *l = &r->lines[i];
        yl *e = &v[i];
        memset(e, 0, sizeof(*e));
        e->parent = SIZE_MAX;
        size_t k = 0;
        while (k < l->len && l->s[k] == ' ')
            k++;
        e->indent = k;
        if (k == l->len || l->s[k] == '#')
            continue;
        /* any other line ends the blocks it is not indented under, even one
           not read as "key: value" (a list item, a flow node, garbage):
           otherwise a line below it would join a block above it, and
           dropping a line in between would move it to another block */
        e->content = true;
        while (last_key != SIZE_MAX && v[last_key].indent >= k)
            last_key = v[last_key].parent;
        if (l->s[k] == '-' || l->s[k] == '\t' || l->s[k] == '{' || l->s[k] == '[')
            continue;
        const char *s = l->s + k;
        size_t n = l->len - k;
        size_t c = 0;
        char q = 0;
        bool found = false;
        if (s[0] == '"' || s[0] == '\'') {
            q = s[0];
            const char *end = memchr(s + 1, q, n - 1);
            if (!end)
                continue;
            c = (size_t)(end - s) + 1;
            if (c < n && s[c] == ':' && (c + 1 == n || s[c + 1] == ' ' || s[c + 1] == '\t'))
                found = true;
        } else {
            for (c = 0; c < n; c++) {
                if (s[c] == ':' && (c + 1 == n || s[c + 1] == ' ' || s[c + 1] == '\t')) {
                    found = true;
                    break;
                }
                if (s[c] == '#' && c > 0 && (s[c - 1] == ' ' || s[c - 1] == '\t'))
                    break;
            }
        }
        if (!found)
            continue;
        e->key_line = true;
        e->key = s;
        e->key_len = c;
        hk_net_unquote(&e->key, &e->key_len);
        parse_value(s + c + 1, n - c - 1, &e->val, &e->val_len);
        /* the previous key line and its ancestors form the stack of open
         * blocks (already popped above): climbing it is linear over the
         * whole file */
        e->parent = last_key;
        last_key = i;
    }
}

static bool
key_is(const yl *e, const char *k)
{
    return e->key_line && hk_net_eq(e->key, e->key_len, k);
}

static bool
is_device_section(const yl *e)
{
    return key_is(e, "ethernets") || key_is(e, "bonds") || key_is(e, "bridges") ||
           key_is(e, "vlans") || key_is(e, "wifis") || key_is(e, "modems");
}

/* The NIC an interface block configures: by set-name, by its id, or the only one. */
static const hk_nic_rename *
block_nic(const net_run *r, yl *v, size_t iface)
{
    const hk_net_policy *p = r->p;
    const hk_nic_rename *nic = NULL;
    if (v[iface].nic_done)
        return v[iface].nic;
    for (size_t j = iface + 1; j < r->n && !nic; j++) {
        if (v[j].content && v[j].indent <= v[iface].indent)
            break;
        if (!v[j].key_line)
            continue;
        if (v[j].parent == iface && key_is(&v[j], "set-name")) {
            const char *s = v[j].val;
            size_t n = v[j].val_len;
            hk_net_unquote(&s, &n);
            nic = hk_net_renamed_nic(p, s, n);
            if (!nic)
                nic = hk_net_nic_by_name(p, s, n);
        }
    }
    if (!nic && iface < r->n && v[iface].key_line) {
        nic = hk_net_renamed_nic(p, v[iface].key, v[iface].key_len);
        if (!nic)
            nic = hk_net_nic_by_name(p, v[iface].key, v[iface].key_len);
    }
    if (!nic)
        nic = hk_net_only_nic(p);
    v[iface].nic_done = true;
    v[iface].nic = nic;
    return nic;
}

/* One criterion of a match: block (a line, or an entry of a flow mapping). */
typedef struct crit {
    const char *key, *val;
    size_t key_len, val_len;
    yl_action act;
} crit;

static bool
crit_is_mac(const crit *c)
{
    return hk_net_eq(c->key, c->key_len, "macaddress");
}

static bool
crit_removed(const hk_net_policy *p, const crit *c)
{
    const char *s = c->val;
    size_t n = c->val_len;
    hk_net_unquote(&s, &n);
    if (crit_is_mac(c))
        return hk_net_mac_stale(p, s, n);
    if (hk_net_eq(c->key, c->key_len, "driver"))
        return hk_net_is_source_driver(s, n);
    return false;
}

/* Decides the action of every criterion: A_WARN on each when a removed pin
 * would stay alone and no MAC can replace it. */
static void
decide(const hk_net_policy *p, crit *c, size_t n, const hk_nic_rename *nic)
{
    bool other = false, any = false;
    for (size_t i = 0; i < n; i++) {
        c[i].act = A_NONE;
        if (crit_removed(p, &c[i]))
            any = true;
        else
            other = true;
    }
    if (!any)
        return;
    if (other) {
        for (size_t i = 0; i < n; i++)
            if (crit_removed(p, &c[i]))
                c[i].act = A_DROP;
        return;
    }
    if (!nic || !nic->mac) {
        for (size_t i = 0; i < n; i++)
            c[i].act = A_WARN;
        return;
    }
    bool pinned = false;
    for (size_t i = 0; i < n; i++)
        if (crit_is_mac(&c[i]) && !pinned) {
            c[i].act = A_REPIN;
            pinned = true;
        }
    for (size_t i = 0; i < n; i++) {
        if (c[i].act != A_NONE)
            continue;
        if (!pinned) {
            c[i].act = A_DRIVER_TO_MAC;
            pinned = true;
        } else {
            c[i].act = A_DROP;
        }
    }
}

static const char *
why(const crit *c)
{
    return crit_is_mac(c) ? "the VM gets a new MAC" : "no such driver under KVM";
}

/* Value with the MAC inside replaced (quotes kept). */
static void
put_repinned(hk_buf *b, const char *val, size_t vlen, const char *mac)
{
    const char *s = val;
    size_t n = vlen;
    hk_net_unquote(&s, &n);
    hk_buf_append(b, val, (size_t)(s - val));
    hk_buf_puts(b, mac);
    hk_buf_append(b, s + n, vlen - (size_t)(s - val) - n);
}

/* The criteria of a flow mapping's inside [s, end), split at its commas
 * into c (room for one more than the commas); false when an entry has no
 * ": " (not a mapping this reader edits). */
static bool
flow_crits(const char *s, const char *end, crit *c, size_t *np)
{
    size_t n = 0;
    while (s < end) {
        const char *comma = memchr(s, ',', (size_t)(end - s));
        const char *ee = comma ? comma : end;
        const char *colon = memchr(s, ':', (size_t)(ee - s));
        /* a MAC holds ':' too: the key ends at the first ": " */
        while (colon && colon + 1 < ee && colon[1] != ' ')
            colon = memchr(colon + 1, ':', (size_t)(ee - colon - 1));
        if (!colon)
            return false;
        c[n].key = s;
        c[n].key_len = (size_t)(colon - s);
        hk_net_trim(&c[n].key, &c[n].key_len);
        hk_net_unquote(&c[n].key, &c[n].key_len);
        c[n].val = colon + 1;
        c[n].val_len = (size_t)(ee - colon - 1);
        hk_net_trim(&c[n].val, &c[n].val_len);
        n++;
        s = comma ? comma + 1 : end;
    }
    *np = n;
    return true;
}

/* Writes line i, a flow match whose criteria are c[0..n), edited; false
 * when nothing in it changes (the caller keeps the line). */
static bool
flow_edit(net_run *r, yl *v, size_t i, crit *c, size_t n)
{
    const net_line *l = &r->lines[i];
    const yl *e = &v[i];
    const hk_nic_rename *nic = e->parent != SIZE_MAX ? block_nic(r, v, e->parent) : NULL;
    decide(r->p, c, n, nic);
    bool edit = false;
    for (size_t k = 0; k < n; k++)
        if (c[k].act == A_DROP || c[k].act == A_REPIN || c[k].act == A_DRIVER_TO_MAC)
            edit = true;
    if (!edit) {
        for (size_t k = 0; k < n; k++)
            if (c[k].act == A_WARN)
                hk_net_note(r,
                            "line %zu: warning: match: %.*s: %.*s cannot match under KVM (%s) "
                            "and no MAC is known to replace it; left unchanged",
                            i + 1, (int)c[k].key_len, c[k].key, (int)c[k].val_len, c[k].val,
                            why(&c[k]));
        return false;
    }
    hk_buf b = {0};
    hk_buf_append(&b, l->s, (size_t)(e->val - l->s));
    hk_buf_puts(&b, "{");
    size_t kept = 0;
    for (size_t k = 0; k < n; k++) {
        if (c[k].act == A_DROP) {
            hk_net_note(r, "line %zu: match: dropped %.*s: %.*s (%s)", i + 1, (int)c[k].key_len,
                        c[k].key, (int)c[k].val_len, c[k].val, why(&c[k]));
            continue;
        }
        hk_buf_puts(&b, kept++ ? ", " : "");
        if (c[k].act == A_REPIN || c[k].act == A_DRIVER_TO_MAC) {
            hk_buf_puts(&b, "macaddress: ");
            if (c[k].act == A_REPIN)
                put_repinned(&b, c[k].val, c[k].val_len, nic->mac);
            else
                hk_buf_puts(&b, nic->mac);
            hk_net_note(r,
                        "line %zu: match: %.*s: %.*s -> macaddress: %s (%s; pinned to the "
                        "NIC's MAC under KVM)",
                        i + 1, (int)c[k].key_len, c[k].key, (int)c[k].val_len, c[k].val, nic->mac,
                        why(&c[k]));
        } else {
            hk_buf_append(&b, c[k].key, c[k].key_len);
            hk_buf_puts(&b, ": ");
            hk_buf_append(&b, c[k].val, c[k].val_len);
        }
    }
    hk_buf_puts(&b, "}");
    hk_buf_append(&b, e->val + e->val_len, l->len - (size_t)(e->val + e->val_len - l->s));
    /* the names the rest of the line holds are renamed as on a line left as it
       was (a second run, finding nothing to edit, would rename them), and noted */
    bool oom = b.oom;
    if (oom)
        r->oom = true;
    else if (hk_net_renaming(r->p))
        hk_net_rename_text(r, i, "match", b.data, b.len);
    else
        hk_net_put(r, i, b.data, b.len);
    hk_buf_free(&b);
    return !oom;
}

/* "match: {k: v, k: v}" on one line, any number of entries. */
static bool
xform_flow_match(net_run *r, yl *v, size_t i)
{
    const yl *e = &v[i];
    if (e->val_len < 2 || e->val[0] != '{' || e->val[e->val_len - 1] != '}')
        return false;
    const char *s = e->val + 1, *end = e->val + e->val_len - 1;
    size_t cap = 1;
    for (const char *t = s; t < end; t++)
        cap += *t == ',';
    crit *c = calloc(cap, sizeof(*c));
    if (!c) {
        r->oom = true;
        return false;
    }
    size_t n = 0;
    bool edited = flow_crits(s, end, c, &n) && flow_edit(r, v, i, c, n);
    free(c);
    return edited;
}

/* The criteria of the match: block on line i are its child key lines, as
 * many as there are: decides each one's action into act[] (and the NIC it
 * is pinned to into act_nic[]). */
static void
decide_block_match(net_run *r, yl *v, size_t i, yl_action *act, const hk_nic_rename **act_nic)
{
    const yl *e = &v[i];
    size_t end = i + 1, cap = 0;
    for (; end < r->n; end++) {
        if (v[end].content && v[end].indent <= e->indent)
            break;
        cap += v[end].key_line && v[end].parent == i;
    }
    if (cap == 0)
        return;
    crit *c = calloc(cap, sizeof(*c));
    size_t *idx = calloc(cap, sizeof(*idx));
    if (!c || !idx) {
        free(c);
        free(idx);
        r->oom = true;
        return;
    }
    size_t n = 0;
    for (size_t j = i + 1; j < end; j++) {
        if (!v[j].key_line || v[j].parent != i)
            continue;
        c[n].key = v[j].key;
        c[n].key_len = v[j].key_len;
        c[n].val = v[j].val;
        c[n].val_len = v[j].val_len;
        idx[n++] = j;
    }
    const hk_nic_rename *nic = block_nic(r, v, e->parent);
    decide(r->p, c, n, nic);
    for (size_t k = 0; k < n; k++) {
        act[idx[k]] = c[k].act;
        act_nic[idx[k]] = nic;
    }
    free(c);
    free(idx);
}

int
hk_net_xform_netplan(const char *in, const hk_net_policy *p, hk_xform_out *out)
{
    net_run r;
    int rc = hk_net_begin(&r, in, p, out);
    if (rc < 0)
        return rc;
    yl *v = calloc(r.n ? r.n : 1, sizeof(*v));
    yl_action *act = calloc(r.n ? r.n : 1, sizeof(*act));
    const hk_nic_rename **act_nic = calloc(r.n ? r.n : 1, sizeof(*act_nic));
    if (!v || !act || !act_nic) {
        free(v);
        free(act);
        free(act_nic);
        r.oom = true;
        return hk_net_finish(&r);
    }
    parse_lines(&r, v);
    bool renaming = hk_net_renaming(p);
    /* a dropped entry takes the lines indented under it along (a scalar's
       continuation, or what was nested below it): left behind, they would
       join the block above and a second run would judge them again there */
    size_t drop_indent = SIZE_MAX;
    for (size_t i = 0; i < r.n; i++) {
        const yl *e = &v[i];
        const net_line *l = &r.lines[i];
        if (drop_indent != SIZE_MAX && e->content) {
            if (e->indent > drop_indent) {
                hk_net_drop(&r, i);
                hk_net_note(&r, "line %zu: dropped with the entry it is indented under", i + 1);
                continue;
            }
            drop_indent = SIZE_MAX;
        }
        if (key_is(e, "match") && e->parent != SIZE_MAX) {
            if (e->val_len > 0) {
                if (xform_flow_match(&r, v, i))
                    continue;
            } else {
                /* block match: decide for its child lines now */
                decide_block_match(&r, v, i, act, act_nic);
            }
        }
        if (act[i] != A_NONE) {
            crit c = {e->key, e->val, e->key_len, e->val_len, act[i]};
            const hk_nic_rename *nic = act_nic[i];
            if (act[i] == A_DROP) {
                hk_net_drop(&r, i);
                drop_indent = e->indent;
                hk_net_note(&r, "line %zu: match: dropped '%.*s' (%s)", i + 1,
                            (int)(e->val + e->val_len - e->key), e->key, why(&c));
            } else if (act[i] == A_WARN) {
                hk_net_keep(&r, i);
                hk_net_note(&r,
                            "line %zu: warning: match: %.*s: %.*s cannot match under KVM (%s) "
                            "and no MAC is known to replace it; left unchanged",
                            i + 1, (int)e->key_len, e->key, (int)e->val_len, e->val, why(&c));
            } else {
                hk_buf b = {0};
                if (act[i] == A_REPIN) {
                    hk_buf_append(&b, l->s, (size_t)(e->val - l->s));
                    put_repinned(&b, e->val, e->val_len, nic->mac);
                    hk_buf_append(&b, e->val + e->val_len,
                                  l->len - (size_t)(e->val + e->val_len - l->s));
                } else {
                    hk_buf_append(&b, l->s, e->indent);
                    hk_buf_printf(&b, "macaddress: %s", nic->mac);
                }
                if (b.oom)
                    r.oom = true;
                else
                    hk_net_put(&r, i, b.data, b.len);
                hk_net_note(&r,
                            "line %zu: match: %.*s: %.*s -> macaddress: %s (%s; pinned to "
                            "the NIC's MAC under KVM)",
                            i + 1, (int)e->key_len, e->key, (int)e->val_len, e->val, nic->mac,
                            why(&c));
                hk_buf_free(&b);
            }
            continue;
        }
        /* "macaddress:" directly in an interface block sets the MAC */
        if (key_is(e, "macaddress") && e->parent != SIZE_MAX && v[e->parent].parent != SIZE_MAX &&
            is_device_section(&v[v[e->parent].parent])) {
            const char *s = e->val;
            size_t n = e->val_len;
            hk_net_unquote(&s, &n);
            if (hk_net_mac_stale(p, s, n)) {
                hk_net_drop(&r, i);
                drop_indent = e->indent;
                hk_net_note(&r, "line %zu: dropped MAC override '%.*s' (the VM gets a new MAC)",
                            i + 1, (int)(e->val + e->val_len - e->key), e->key);
                continue;
            }
        }
        if (!renaming || (!e->key_line && e->indent < l->len && l->s[e->indent] == '#') ||
            e->indent == l->len) {
            hk_net_keep(&r, i);
            continue;
        }
        char what[48];
        if (e->key_line)
            snprintf(what, sizeof(what), "%.*s", (int)(e->key_len < 40 ? e->key_len : 40), e->key);
        else
            snprintf(what, sizeof(what), "list item");
        hk_net_rename_line(&r, i, what);
    }
    free(v);
    free(act);
    free(act_nic);
    return hk_net_finish(&r);
}

void
hk_net_scan_netplan(const net_run *t, net_refs *refs)
{
    yl *v = calloc(t->n ? t->n : 1, sizeof(*v));
    if (!v) {
        refs->oom = true;
        return;
    }
    parse_lines(t, v);
    for (size_t i = 0; i < t->n; i++) {
        const yl *e = &v[i];
        if (!e->key_line || e->parent == SIZE_MAX || !key_is(&v[e->parent], "ethernets"))
            continue;
        /* an interface block: set-name or id, match macaddress */
        const char *name = e->key, *mac = NULL;
        size_t name_len = e->key_len, mac_len = 0;
        bool glob = false, has_match = false, set_name = false;
        for (size_t j = i + 1; j < t->n; j++) {
            if (v[j].content && v[j].indent <= e->indent)
                break;
            if (!v[j].key_line)
                continue;
            const char *s = v[j].val;
            size_t n = v[j].val_len;
            hk_net_unquote(&s, &n);
            if (v[j].parent == i && key_is(&v[j], "match"))
                has_match = true;
            if (v[j].parent == i && key_is(&v[j], "set-name")) {
                name = s;
                name_len = n;
                set_name = true;
            } else if (key_is(&v[j], "macaddress") && v[j].parent != SIZE_MAX &&
                       key_is(&v[v[j].parent], "match") && hk_mac_parse(s, n, 0, NULL)) {
                mac = s;
                mac_len = n;
            } else if (key_is(&v[j], "name") && v[j].parent != SIZE_MAX &&
                       key_is(&v[v[j].parent], "match")) {
                glob = memchr(s, '*', n) || memchr(s, '?', n) || memchr(s, '[', n);
                if (!glob && !set_name) {
                    name = s;
                    name_len = n;
                }
            } else if (key_is(&v[j], "match") && v[j].val_len > 0) {
                /* flow match: look for the MAC inside */
                for (size_t k = 0; k + 17 <= v[j].val_len; k++)
                    if (hk_mac_parse(v[j].val + k, 17, 0, NULL)) {
                        mac = v[j].val + k;
                        mac_len = 17;
                        break;
                    }
            }
        }
        if (has_match && !set_name && name == e->key)
            name = NULL; /* the id only labels the block */
        hk_net_refs_add(refs, name, name ? name_len : 0, mac, mac_len);
    }
    free(v);
}
