/*
 * Network repair: every network configuration file of the guest goes through
 * its pure transform (src/fix/net_xform.h) under one policy, then each NIC's
 * name is pinned to the MAC the KVM guest keeps (.link file and udev rule).
 */
#include <stdlib.h>
#include <string.h>

#include "core/util.h"
#include "fixer_internal.h"
#include "net_xform.h"

/* Where each format lives: a directory and a file name filter. */
static const struct {
    hk_net_fmt fmt;
    const char *dir;
    const char *prefix; /* NULL: any */
    const char *suffix; /* NULL: any */
} config_places[] = {
    {HK_NET_IFUPDOWN, "/etc/network", "interfaces", NULL},
    {HK_NET_IFUPDOWN, "/etc/network/interfaces.d", NULL, NULL},
    {HK_NET_NETPLAN, "/etc/netplan", NULL, ".yaml"},
    {HK_NET_NM, "/etc/NetworkManager/system-connections", NULL, NULL},
    {HK_NET_IFCFG, "/etc/sysconfig/network-scripts", "ifcfg-", NULL},
    {HK_NET_IFCFG, "/etc/sysconfig/network", "ifcfg-", NULL},
    {HK_NET_NETWORKD, "/etc/systemd/network", NULL, ".network"},
    {HK_NET_NETWORKD, "/etc/systemd/network", NULL, ".link"},
    {HK_NET_WICKED, "/etc/wicked/ifconfig", NULL, ".xml"},
    {HK_NET_UDEV, "/etc/udev/rules.d", NULL, "net.rules"},
};

typedef struct cfg_file {
    hk_net_fmt fmt;
    char *path;
    char *text;
} cfg_file;

typedef struct net_state {
    cfg_file *files;
    size_t n_files;
    hk_nic_rename *nics; /* the policy's NICs; strings owned below */
    size_t n_nics;
    char **owned; /* strings to free */
    size_t n_owned;
} net_state;

static const char *
keep(net_state *st, char *s)
{
    char **n = realloc(st->owned, (st->n_owned + 1) * sizeof(char *));
    if (!n) {
        free(s);
        return NULL;
    }
    st->owned = n;
    st->owned[st->n_owned++] = s;
    return s;
}

static bool
ours(const char *name)
{
    return hk_startswith(name, "10-hyper2kvm-") || strcmp(name, HK_NET_UDEV_RULES_FILE) == 0;
}

static void
collect_files(h2k_offline_fixer *fx, net_state *st)
{
    const hk_fsread *fs = &fx->gfs->fs;
    for (size_t i = 0; i < HK_ARRAY_LEN(config_places); i++) {
        char **names = fs->list(fs, config_places[i].dir);
        for (size_t k = 0; names && names[k]; k++) {
            const char *n = names[k];
            if (config_places[i].prefix && !hk_startswith(n, config_places[i].prefix))
                continue;
            if (config_places[i].suffix && !hk_endswith_nocase(n, config_places[i].suffix))
                continue;
            if (config_places[i].fmt == HK_NET_IFUPDOWN && config_places[i].prefix &&
                strcmp(n, "interfaces") != 0)
                continue;
            if (strcmp(n, "ifcfg-lo") == 0 || ours(n))
                continue;
            char *path = hk_asprintf("%s/%s", config_places[i].dir, n);
            char *text = path ? hk_fix_read(fx, path, NULL) : NULL;
            if (!text) {
                free(path);
                continue;
            }
            cfg_file *nf = realloc(st->files, (st->n_files + 1) * sizeof(*nf));
            if (!nf) {
                free(path);
                free(text);
                continue;
            }
            st->files = nf;
            st->files[st->n_files++] = (cfg_file){config_places[i].fmt, path, text};
        }
        hk_strv_free(names);
    }
}

static hk_nic_rename *
add_nic(net_state *st, const char *old_name, const char *new_name, const char *mac)
{
    hk_nic_rename *n = realloc(st->nics, (st->n_nics + 1) * sizeof(*n));
    if (!n)
        return NULL;
    st->nics = n;
    n[st->n_nics] = (hk_nic_rename){old_name ? keep(st, strdup(old_name)) : NULL,
                                    new_name ? keep(st, strdup(new_name)) : NULL,
                                    mac ? keep(st, strdup(mac)) : NULL};
    return &n[st->n_nics++];
}

static hk_nic_rename *
nic_by_mac(net_state *st, const char *mac)
{
    for (size_t i = 0; mac && i < st->n_nics; i++)
        if (st->nics[i].mac && strcasecmp(st->nics[i].mac, mac) == 0)
            return &st->nics[i];
    return NULL;
}

static bool
name_used(net_state *st, const char *name)
{
    for (size_t i = 0; i < st->n_nics; i++)
        if (st->nics[i].old_name && strcmp(st->nics[i].old_name, name) == 0)
            return true;
    return false;
}

/* Builds the policy's NIC list from the options and what the configs say. */
static void
build_nics(h2k_offline_fixer *fx, net_state *st, h2k_fix_result *res)
{
    for (size_t i = 0; i < fx->n_nics; i++) {
        char *mac = hk_strdup0(fx->nics[i].mac);
        hk_mac_canon(mac);
        add_nic(st, fx->nics[i].old_name, fx->nics[i].new_name, mac);
        free(mac);
    }
    /* every (name, MAC) the configs tie together, and the bare names */
    char **bare = NULL;
    size_t n_bare = 0;
    for (size_t f = 0; f < st->n_files; f++) {
        hk_net_ref *refs = NULL;
        size_t n = 0;
        if (hk_net_scan(st->files[f].fmt, st->files[f].text, &refs, &n) < 0)
            continue;
        for (size_t r = 0; r < n; r++) {
            hk_mac_canon(refs[r].mac);
            if (refs[r].name && refs[r].mac) {
                hk_nic_rename *nic = nic_by_mac(st, refs[r].mac);
                if (nic && !nic->old_name)
                    nic->old_name = keep(st, strdup(refs[r].name));
                else if (!nic && !fx->n_nics && !name_used(st, refs[r].name))
                    add_nic(st, refs[r].name, NULL, refs[r].mac);
            } else if (refs[r].name) {
                char **nb = realloc(bare, (n_bare + 1) * sizeof(char *));
                if (nb) {
                    bare = nb;
                    bare[n_bare++] = strdup(refs[r].name);
                }
            }
        }
        hk_net_refs_free(refs, n);
    }
    /* NICs given without a name get the configured names in order */
    for (size_t i = 0, b = 0; i < st->n_nics; i++) {
        if (st->nics[i].old_name)
            continue;
        while (b < n_bare && (!bare[b] || name_used(st, bare[b])))
            b++;
        if (b < n_bare)
            st->nics[i].old_name = keep(st, strdup(bare[b++]));
    }
    for (size_t b = 0; b < n_bare; b++) {
        if (bare[b] && !name_used(st, bare[b]) && fx->opts.keep_mac) {
            bool dup = false;
            for (size_t c = 0; c < b; c++)
                dup |= bare[c] && strcmp(bare[c], bare[b]) == 0;
            if (!dup)
                hk_fix_note_warning(res,
                                    "interface %s has no known MAC, so its name cannot be "
                                    "pinned: give the VM's NICs to the fixer",
                                    bare[b]);
        }
        free(bare[b]);
    }
    free(bare);
}

static void
state_free(net_state *st)
{
    for (size_t i = 0; i < st->n_files; i++) {
        free(st->files[i].path);
        free(st->files[i].text);
    }
    free(st->files);
    free(st->nics);
    for (size_t i = 0; i < st->n_owned; i++)
        free(st->owned[i]);
    free(st->owned);
}

static void
rename_file(h2k_offline_fixer *fx, h2k_fix_result *res, const char *path, const hk_net_policy *p)
{
    char *dir = hk_dirname(path);
    const char *base = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
    char *nb = hk_net_file_rename(base, p);
    if (!dir || !nb) {
        free(dir);
        free(nb);
        return;
    }
    char *dst = hk_asprintf("%s/%s", dir, nb);
    if (dst && !hk_fix_exists(fx, dst)) {
        if (!fx->opts.dry_run && guestfs_mv(fx->gfs->g, path, dst) < 0)
            hk_fix_fail(res, "cannot rename %s to %s: %s", path, dst,
                        guestfs_last_error(fx->gfs->g));
        else
            hk_fix_record_rename(res, path, dst);
    }
    free(dst);
    free(dir);
    free(nb);
}

int
hk_fix_network(h2k_offline_fixer *fx, h2k_fix_result *res)
{
    net_state st = {0};
    collect_files(fx, &st);
    if (st.n_files == 0) {
        res->status = H2K_FIX_STATUS_SKIPPED;
        res->message = strdup("no network configuration found");
        state_free(&st);
        return 0;
    }
    build_nics(fx, &st, res);
    hk_net_policy p = {st.nics, st.n_nics, fx->opts.keep_mac != 0};
    if (hk_net_policy_check(&p) < 0) {
        hk_fix_fail(res, "invalid NIC names or MACs in the network policy");
        state_free(&st);
        return 0;
    }
    for (size_t f = 0; f < st.n_files; f++) {
        hk_xform_out xo = {0};
        if (hk_net_xform(st.files[f].fmt, st.files[f].text, &p, &xo) < 0)
            hk_fix_fail(res, "cannot transform %s", st.files[f].path);
        else
            hk_fix_apply(fx, res, st.files[f].path, st.files[f].text, &xo);
        hk_xform_out_clear(&xo);
        if (!p.keep_mac && (st.files[f].fmt == HK_NET_IFCFG || st.files[f].fmt == HK_NET_NM))
            rename_file(fx, res, st.files[f].path, &p);
    }
    /* pin every NIC's name to its MAC */
    hk_net_link *links = NULL;
    size_t n_links = 0;
    if (hk_net_link_files(&p, &links, &n_links) == 0 && n_links) {
        bool systemd = fx->id->init_system && strcmp(fx->id->init_system, "systemd") == 0;
        for (size_t i = 0; systemd && i < n_links; i++) {
            char *path = hk_asprintf("/etc/systemd/network/%s", links[i].file_name);
            char *note = hk_asprintf("pin %s to %s", links[i].name, links[i].mac);
            if (path)
                hk_fix_write_new(fx, res, path, links[i].link_text, note);
            free(path);
            free(note);
        }
        char *rules = hk_net_udev_rules(&p);
        if (rules)
            hk_fix_write_new(fx, res, "/etc/udev/rules.d/" HK_NET_UDEV_RULES_FILE, rules,
                             "interface names pinned to MACs for udev");
        free(rules);
    }
    hk_net_links_free(links, n_links);
    state_free(&st);
    return 0;
}
