/*
 * udev rules (70-persistent-net.rules and friends): removes the net rules
 * that cannot (or must not) match under KVM, and generates the pins that
 * replace them (.link files and udev rules matched by MAC).
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fix/net_internal.h"

/* One KEY{attr}OP"value" of a rule. */
typedef struct utok {
    const char *key, *op, *val;
    size_t key_len, op_len, val_len;
} utok;

#define MAX_TOKS 32

/* Parses a rule; returns the number of tokens, 0 when it is not a rule we understand. */
static size_t
parse_rule(const char *s, size_t n, utok *t)
{
    size_t i = 0, k = 0;
    for (;;) {
        while (i < n && (s[i] == ' ' || s[i] == '\t' || s[i] == ','))
            i++;
        if (i >= n)
            break;
        if (k == MAX_TOKS)
            return 0;
        size_t b = i;
        while (i < n && (isalnum((unsigned char)s[i]) || s[i] == '_' || s[i] == '{' ||
                         s[i] == '}' || s[i] == '/' || s[i] == '.' || s[i] == '-' || s[i] == '*'))
            i++;
        if (i == b)
            return 0;
        t[k].key = s + b;
        t[k].key_len = i - b;
        size_t ob = i;
        while (i < n && (s[i] == '=' || s[i] == '!' || s[i] == '+' || s[i] == '-' || s[i] == ':'))
            i++;
        if (i == ob || i - ob > 2)
            return 0;
        t[k].op = s + ob;
        t[k].op_len = i - ob;
        while (i < n && (s[i] == ' ' || s[i] == '\t'))
            i++;
        if (i >= n || s[i] != '"')
            return 0;
        size_t vb = ++i;
        while (i < n && s[i] != '"') {
            if (s[i] == '\\' && i + 1 < n)
                i++;
            i++;
        }
        if (i >= n)
            return 0;
        t[k].val = s + vb;
        t[k].val_len = i - vb;
        i++;
        k++;
    }
    return k;
}

static const utok *
find_tok(const utok *t, size_t n, const char *key, bool match)
{
    for (size_t i = 0; i < n; i++) {
        if (!hk_net_eq(t[i].key, t[i].key_len, key))
            continue;
        bool is_match = hk_net_eq(t[i].op, t[i].op_len, "==");
        bool is_assign = hk_net_eq(t[i].op, t[i].op_len, "=") ||
                         hk_net_eq(t[i].op, t[i].op_len, ":=");
        if (match ? is_match : is_assign)
            return &t[i];
    }
    return NULL;
}

/* Why rule @t must go, or NULL. */
static const char *
rule_removal(const hk_net_policy *p, const utok *t, size_t n)
{
    const utok *sub = find_tok(t, n, "SUBSYSTEM", true);
    const utok *name = find_tok(t, n, "NAME", false);
    if (!sub || !hk_net_eq(sub->val, sub->val_len, "net") || !name)
        return NULL;
    const utok *drv = find_tok(t, n, "DRIVERS", true);
    if (!drv)
        drv = find_tok(t, n, "DRIVER", true);
    if (drv && hk_net_is_source_driver(drv->val, drv->val_len))
        return "bound to a NIC driver of the source hypervisor: cannot match under KVM";
    const hk_nic_rename *nic = NULL;
    for (size_t i = 0; i < p->n && !nic; i++)
        if (p->nics[i].old_name && hk_net_eq(name->val, name->val_len, p->nics[i].old_name))
            nic = &p->nics[i];
    if (!nic)
        return NULL;
    const utok *kern = find_tok(t, n, "KERNEL", true);
    if (kern && kern->val_len >= 3 && memcmp(kern->val, "eth", 3) == 0)
        return "matches on the kernel's eth* names; the name is pinned by MAC instead";
    if (find_tok(t, n, "ATTR{dev_id}", true))
        return "matches on ATTR{dev_id}; the name is pinned by MAC instead";
    if (drv)
        return "matches on DRIVERS; the name is pinned by MAC instead";
    const utok *addr = find_tok(t, n, "ATTR{address}", true);
    if (addr && hk_net_mac_stale(p, addr->val, addr->val_len))
        return "pins the old MAC; the NIC gets a new MAC";
    return NULL;
}

static bool
generator_comment(const char *s, size_t n)
{
    return (n >= 12 && memcmp(s, "# PCI device", 12) == 0) ||
           (n >= 12 && memcmp(s, "# USB device", 12) == 0) ||
           (n >= 12 && memcmp(s, "# net device", 12) == 0);
}

/* Joins a rule's physical lines (backslash continuations) into @b; returns
 * the index of its last line. */
static size_t
logical_line(const net_run *r, size_t i, hk_buf *b)
{
    size_t j = i;
    for (;;) {
        const net_line *l = &r->lines[j];
        if (l->len > 0 && l->s[l->len - 1] == '\\' && j + 1 < r->n) {
            hk_buf_append(b, l->s, l->len - 1);
            j++;
            continue;
        }
        hk_buf_append(b, l->s, l->len);
        return j;
    }
}

int
hk_net_xform_udev(const char *in, const hk_net_policy *p, hk_xform_out *out)
{
    net_run r;
    int rc = hk_net_begin(&r, in, p, out);
    if (rc < 0)
        return rc;
    utok *t = malloc(MAX_TOKS * sizeof(*t));
    if (!t) {
        r.oom = true;
        return hk_net_finish(&r);
    }
    size_t pending_comment = SIZE_MAX; /* a "# PCI device" line waiting for its rule */
    for (size_t i = 0; i < r.n; i++) {
        const net_line *l = &r.lines[i];
        const char *s = l->s;
        size_t n = l->len;
        hk_net_trim(&s, &n);
        if (n == 0 || s[0] == '#') {
            if (pending_comment != SIZE_MAX)
                hk_net_keep(&r, pending_comment);
            pending_comment = SIZE_MAX;
            if (n > 0 && generator_comment(s, n))
                pending_comment = i;
            else
                hk_net_keep(&r, i);
            continue;
        }
        hk_buf lb = {0};
        size_t last = logical_line(&r, i, &lb);
        if (lb.oom)
            r.oom = true;
        size_t nt = lb.data ? parse_rule(lb.data, lb.len, t) : 0;
        const char *why = nt ? rule_removal(p, t, nt) : NULL;
        if (why) {
            if (pending_comment != SIZE_MAX)
                hk_net_drop(&r, pending_comment);
            const utok *name = find_tok(t, nt, "NAME", false);
            for (size_t j = i; j <= last; j++)
                hk_net_drop(&r, j);
            hk_net_note(&r, "line %zu: removed the rule naming %.*s (%s)", i + 1,
                        (int)name->val_len, name->val, why);
        } else {
            if (pending_comment != SIZE_MAX)
                hk_net_keep(&r, pending_comment);
            for (size_t j = i; j <= last; j++)
                hk_net_keep(&r, j);
        }
        pending_comment = SIZE_MAX;
        hk_buf_free(&lb);
        i = last;
    }
    if (pending_comment != SIZE_MAX)
        hk_net_keep(&r, pending_comment);
    free(t);
    return hk_net_finish(&r);
}

void
hk_net_scan_udev(const net_run *t, net_refs *refs)
{
    utok *tk = malloc(MAX_TOKS * sizeof(*tk));
    if (!tk) {
        refs->oom = true;
        return;
    }
    for (size_t i = 0; i < t->n; i++) {
        const net_line *l = &t->lines[i];
        const char *s = l->s;
        size_t n = l->len;
        hk_net_trim(&s, &n);
        if (n == 0 || s[0] == '#')
            continue;
        hk_buf lb = {0};
        size_t last = logical_line(t, i, &lb);
        if (lb.oom)
            refs->oom = true;
        size_t nt = lb.data ? parse_rule(lb.data, lb.len, tk) : 0;
        const utok *sub = nt ? find_tok(tk, nt, "SUBSYSTEM", true) : NULL;
        if (sub && hk_net_eq(sub->val, sub->val_len, "net")) {
            const utok *name = find_tok(tk, nt, "NAME", false);
            const utok *addr = find_tok(tk, nt, "ATTR{address}", true);
            hk_net_refs_add(refs, name ? name->val : NULL, name ? name->val_len : 0,
                            addr ? addr->val : NULL, addr ? addr->val_len : 0);
        }
        hk_buf_free(&lb);
        i = last;
    }
    free(tk);
}

/* ------------------------------------------------------------ the pins */

void
hk_net_links_free(hk_net_link *links, size_t n)
{
    if (!links)
        return;
    for (size_t i = 0; i < n; i++) {
        free(links[i].name);
        free(links[i].mac);
        free(links[i].file_name);
        free(links[i].link_text);
        free(links[i].udev_rule);
    }
    free(links);
}

int
hk_net_link_files(const hk_net_policy *p, hk_net_link **links_out, size_t *n_out)
{
    if (links_out)
        *links_out = NULL;
    if (n_out)
        *n_out = 0;
    if (!links_out || !n_out || hk_net_policy_check(p) < 0)
        return H2K_ERR_INVALID_ARG;
    hk_net_link *v = calloc(p->n ? p->n : 1, sizeof(*v));
    if (!v)
        return H2K_ERR_NO_MEMORY;
    size_t k = 0;
    for (size_t i = 0; i < p->n; i++) {
        const hk_nic_rename *nic = &p->nics[i];
        const char *name = hk_net_target_name(p, nic);
        if (!name || !nic->mac)
            continue;
        hk_net_link *e = &v[k++];
        e->name = hk_strdup0(name);
        e->mac = hk_strdup0(nic->mac);
        e->file_name = hk_asprintf("10-hyper2kvm-%s.link", name);
        e->link_text = hk_asprintf(
            "# Written by hyper2kvm: the NIC with MAC %s keeps the name %s\n"
            "# after the migration to KVM, so the network configs of the guest still apply.\n"
            "[Match]\n"
            "MACAddress=%s\n"
            "\n"
            "[Link]\n"
            "Name=%s\n",
            nic->mac, name, nic->mac, name);
        e->udev_rule = hk_asprintf(
            "SUBSYSTEM==\"net\", ACTION==\"add\", ATTR{address}==\"%s\", NAME=\"%s\"\n", nic->mac,
            name);
        if (!e->name || !e->mac || !e->file_name || !e->link_text || !e->udev_rule) {
            hk_net_links_free(v, k);
            return H2K_ERR_NO_MEMORY;
        }
    }
    if (k == 0) {
        free(v);
        v = NULL;
    }
    *links_out = v;
    *n_out = k;
    return 0;
}

char *
hk_net_udev_rules(const hk_net_policy *p)
{
    hk_net_link *links = NULL;
    size_t n = 0;
    if (hk_net_link_files(p, &links, &n) < 0 || n == 0)
        return NULL;
    hk_buf b = {0};
    hk_buf_puts(&b, "# Written by hyper2kvm: every NIC keeps its interface name after the\n"
                    "# migration to KVM (matched by MAC), so the network configs still apply.\n");
    for (size_t i = 0; i < n; i++)
        hk_buf_puts(&b, links[i].udev_rule);
    hk_net_links_free(links, n);
    return hk_buf_steal(&b);
}
