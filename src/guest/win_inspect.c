/* Windows facts of an inspected guest, from its hives and its system volume. */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "win_drives.h"
#include "win_inspect.h"
#include "win_registry.h"

#define CUR_VERSION "Microsoft\\Windows NT\\CurrentVersion"
#define UNINSTALL "Microsoft\\Windows\\CurrentVersion\\Uninstall"
#define NET_CLASS "Control\\Class\\{4D36E972-E325-11CE-BFC1-08002BE10318}"

const char *
hk_win_short_name(int major, int minor, int build, bool server)
{
    if (major == 5)
        return minor == 1 ? "xp" : "2k3";
    if (major == 6) {
        switch (minor) {
        case 0:
            return server ? "2k8" : "vista";
        case 1:
            return server ? "2k8r2" : "w7";
        case 2:
            return server ? "2k12" : "w8";
        case 3:
            return server ? "2k12r2" : "w8.1";
        }
        return NULL;
    }
    if (major == 10) {
        if (!server)
            return build >= 22000 ? "w11" : "w10";
        if (build >= 26100)
            return "2k25";
        if (build >= 20348)
            return "2k22";
        if (build >= 17763)
            return "2k19";
        return "2k16";
    }
    return NULL;
}

int
hk_win_mask_prefix(const char *mask)
{
    struct in_addr a;
    if (!mask || inet_pton(AF_INET, mask, &a) != 1)
        return -1;
    uint32_t m = ntohl(a.s_addr);
    int n = 0;
    while (n < 32 && (m & (0x80000000u >> n)))
        n++;
    if (n < 32 && (m << n) != 0)
        return -1; /* not contiguous */
    return n;
}

static char **
split_list(const char *s, size_t *n)
{
    /* NameServer: "a,b" or "a b" */
    *n = 0;
    char **v = calloc(strlen(s) / 2 + 2, sizeof(char *));
    if (!v)
        return NULL;
    const char *p = s;
    while (*p) {
        p += strspn(p, ", ");
        size_t l = strcspn(p, ", ");
        if (!l)
            break;
        v[(*n)++] = hk_strndup(p, l);
        p += l;
    }
    return v;
}

static void
read_adapters(hk_hive *sys, const char *ccs, h2k_windows_info *w)
{
    char *ifs = hk_asprintf("%s\\Services\\Tcpip\\Parameters\\Interfaces", ccs);
    char *cls = hk_asprintf("%s\\" NET_CLASS, ccs);
    char **guids = ifs ? hk_hive_subkeys(sys, ifs) : NULL;
    char **entries = cls ? hk_hive_subkeys(sys, cls) : NULL;
    size_t n = hk_strv_len(guids);
    w->adapters = n ? calloc(n, sizeof(*w->adapters)) : NULL;
    for (size_t i = 0; w->adapters && i < n; i++) {
        char *key = hk_asprintf("%s\\%s", ifs, guids[i]);
        if (!key)
            continue;
        uint32_t dhcp = 0;
        char **ips = hk_hive_get_multi(sys, key, "IPAddress");
        bool has_dhcp = hk_hive_get_dword(sys, key, "EnableDHCP", &dhcp) == 0;
        /* an interface with neither is a tunnel or an unused stub */
        if (!has_dhcp && !ips) {
            free(key);
            continue;
        }
        h2k_win_adapter *a = &w->adapters[w->n_adapters++];
        a->guid = strdup(guids[i]);
        a->dhcp = has_dhcp && dhcp != 0;
        for (size_t e = 0; entries && entries[e]; e++) {
            char *ek = hk_asprintf("%s\\%s", cls, entries[e]);
            char *id = ek ? hk_hive_get_str(sys, ek, "NetCfgInstanceId") : NULL;
            if (id && hk_streq_nocase(id, guids[i]))
                a->description = hk_hive_get_str(sys, ek, "DriverDesc");
            free(id);
            free(ek);
        }
        if (!a->dhcp && ips) {
            char **masks = hk_hive_get_multi(sys, key, "SubnetMask");
            size_t ni = hk_strv_len(ips), nm = hk_strv_len(masks);
            a->addresses = calloc(ni + 1, sizeof(char *));
            a->prefixes = calloc(ni + 1, sizeof(int));
            for (size_t k = 0; a->addresses && a->prefixes && k < ni; k++) {
                if (!*ips[k] || strcmp(ips[k], "0.0.0.0") == 0)
                    continue;
                a->addresses[a->n_addresses] = strdup(ips[k]);
                int pfx = k < nm ? hk_win_mask_prefix(masks[k]) : -1;
                a->prefixes[a->n_addresses++] = pfx < 0 ? 24 : pfx;
            }
            hk_strv_free(masks);
            char **gw = hk_hive_get_multi(sys, key, "DefaultGateway");
            if (gw && gw[0] && *gw[0])
                a->gateway = strdup(gw[0]);
            hk_strv_free(gw);
        }
        char *ns = hk_hive_get_str(sys, key, "NameServer");
        if (ns && *ns)
            a->dns = split_list(ns, &a->n_dns);
        free(ns);
        hk_strv_free(ips);
        free(key);
    }
    hk_strv_free(guids);
    hk_strv_free(entries);
    free(ifs);
    free(cls);
}

static void
read_vmware_tools(hk_hive *sw, h2k_windows_info *w)
{
    static const char *const roots[] = {UNINSTALL, "WOW6432Node\\" UNINSTALL};
    for (size_t r = 0; r < 2 && !w->vmware_tools; r++) {
        char **keys = hk_hive_subkeys(sw, roots[r]);
        for (size_t i = 0; keys && keys[i] && !w->vmware_tools; i++) {
            char *k = hk_asprintf("%s\\%s", roots[r], keys[i]);
            char *dn = k ? hk_hive_get_str(sw, k, "DisplayName") : NULL;
            if (dn && strcmp(dn, "VMware Tools") == 0) {
                w->vmware_tools = 1;
                if (keys[i][0] == '{')
                    w->vmware_tools_product_code = strdup(keys[i]);
            }
            free(dn);
            free(k);
        }
        hk_strv_free(keys);
    }
}

static void
read_hibernation(guestfs_h *g, h2k_windows_info *w)
{
    char *p = guestfs_case_sensitive_path(g, "/hiberfil.sys");
    if (p && guestfs_is_file(g, p) > 0) {
        size_t sz = 0;
        char *head = guestfs_pread(g, p, 4, 0, &sz);
        if (head && sz == 4 && (!strncasecmp(head, "hibr", 4) || !strncasecmp(head, "wake", 4)))
            w->hibernated = 1;
        free(head);
    }
    free(p);
}

static int
cmp_mount(const void *a, const void *b)
{
    return ((const hk_win_mount *)a)->letter - ((const hk_win_mount *)b)->letter;
}

/* The drive letters of MountedDevices, each with the partition it names (NULL
 * when that volume is on no disk of this VM), in letter order. */
static int
read_drives(h2k_ctx *ctx, guestfs_h *g, hk_hive *sys, h2k_windows_info *w)
{
    char **names = hk_hive_value_names(sys, "MountedDevices");
    size_t nn = hk_strv_len(names);
    hk_win_mount *m = calloc(nn + 1, sizeof(*m));
    if (!m) {
        hk_strv_free(names);
        return hk_error_nomem(ctx);
    }
    size_t nm = 0;
    for (size_t i = 0; i < nn; i++) {
        int type = 0;
        size_t len = 0;
        char *data = hk_hive_get_raw(sys, "MountedDevices", names[i], &type, &len);
        if (data && type == HK_REG_BINARY && hk_win_mount_parse(names[i], data, len, &m[nm]) == 1)
            nm++;
        free(data);
    }
    hk_strv_free(names);
    hk_win_part *parts = NULL;
    size_t np = 0;
    int rc = nm ? hk_win_drive_parts(ctx, g, &parts, &np) : 0;
    qsort(m, nm, sizeof(*m), cmp_mount);
    w->drive_letters = calloc(nm + 1, sizeof(char *));
    w->drive_devices = calloc(nm + 1, sizeof(char *));
    if (!w->drive_letters || !w->drive_devices)
        rc = hk_error_nomem(ctx);
    for (size_t i = 0; rc == 0 && i < nm; i++) {
        if (i && m[i].letter == m[i - 1].letter)
            continue; /* the same name twice cannot be in one key; be safe */
        char l[2] = {m[i].letter, '\0'};
        const char *dev = hk_win_mount_resolve(&m[i], parts, np);
        w->drive_letters[w->n_drives] = strdup(l);
        w->drive_devices[w->n_drives] = dev ? strdup(dev) : NULL;
        w->n_drives++;
    }
    hk_win_parts_free(parts, np);
    free(m);
    return rc;
}

int
hk_win_diagnose_hives(hk_gfs *gfs)
{
    guestfs_h *g = gfs->g;
    h2k_ctx *ctx = gfs->ctx;
    static const char *const hives[] = {"SYSTEM", "SOFTWARE"};
    char **fss = guestfs_list_filesystems(g);
    char *tmp = NULL;
    int rc = 0;
    if (!fss || hk_temp_dir(ctx, "h2k-reg-", "registry copies", &tmp) < 0) {
        hk_strv_free(fss);
        return 0;
    }
    for (size_t i = 0; rc == 0 && fss[i] && fss[i + 1]; i += 2) {
        if (strcmp(fss[i + 1], "ntfs") != 0)
            continue;
        /* an inspection that threw may have left a file system mounted */
        guestfs_umount_all(g);
        if (guestfs_mount_ro(g, fss[i], "/") < 0) {
            hk_debug(ctx, "guest", "%s: not mounted to look for hives: %s", fss[i],
                     guestfs_last_error(g) ? guestfs_last_error(g) : "?");
            continue;
        }
        for (size_t k = 0; rc == 0 && k < HK_ARRAY_LEN(hives); k++) {
            char *want = hk_asprintf("/Windows/System32/config/%s", hives[k]);
            char *path = want ? guestfs_case_sensitive_path(g, want) : NULL;
            if (path && guestfs_is_file(g, path) > 0) {
                hk_hive *h = NULL;
                if (hk_hive_open_guest(ctx, g, path, hives[k], tmp, false, true, &h) < 0) {
                    const h2k_error *e = h2k_ctx_last_error(ctx);
                    char *msg = strdup(e && e->message ? e->message : path);
                    rc = hk_error(ctx, H2K_ERR_GUEST_DETECTION,
                                  "inspection failed: %s on %s; a Windows guest whose "
                                  "registry does not parse is neither inspected nor repaired "
                                  "(nothing was changed)",
                                  msg ? msg : path, fss[i]);
                    free(msg);
                }
                hk_hive_close(h);
            }
            free(path);
            free(want);
        }
        guestfs_umount_all(g);
    }
    hk_strv_free(fss);
    rmdir(tmp);
    free(tmp);
    return rc;
}

int
hk_win_inspect(hk_gfs *gfs, h2k_guest_identity *id)
{
    guestfs_h *g = gfs->g;
    h2k_ctx *ctx = gfs->ctx;
    h2k_windows_info *w = calloc(1, sizeof(*w));
    if (!w)
        return hk_error_nomem(ctx);
    id->windows = w;
    w->major_version = id->major_version;
    w->minor_version = id->minor_version;
    w->system_root = guestfs_inspect_get_windows_systemroot(g, gfs->root);
    w->current_control_set = guestfs_inspect_get_windows_current_control_set(g, gfs->root);
    if (id->architecture)
        w->arch = strdup(strcmp(id->architecture, "i386") == 0 ? "x86" : "amd64");
    read_hibernation(g, w);

    char *sys_path = guestfs_inspect_get_windows_system_hive(g, gfs->root);
    char *sw_path = guestfs_inspect_get_windows_software_hive(g, gfs->root);
    char *tmp = NULL;
    hk_hive *sys = NULL, *sw = NULL;
    int rc = hk_temp_dir(ctx, "h2k-reg-", "registry copies", &tmp);
    if (rc == 0 && sw_path)
        rc = hk_hive_open_guest(ctx, g, sw_path, "SOFTWARE", tmp, false, true, &sw);
    if (rc == 0 && sys_path)
        rc = hk_hive_open_guest(ctx, g, sys_path, "SYSTEM", tmp, false, true, &sys);
    if (rc == 0 && sw) {
        w->product_name = hk_hive_get_str(sw, CUR_VERSION, "ProductName");
        w->installation_type = hk_hive_get_str(sw, CUR_VERSION, "InstallationType");
        w->edition = hk_hive_get_str(sw, CUR_VERSION, "EditionID");
        char *b = hk_hive_get_str(sw, CUR_VERSION, "CurrentBuild");
        if (!b)
            b = hk_hive_get_str(sw, CUR_VERSION, "CurrentBuildNumber");
        w->build = b ? atoi(b) : 0;
        free(b);
        uint32_t v;
        if (hk_hive_get_dword(sw, CUR_VERSION, "CurrentMajorVersionNumber", &v) == 0)
            w->major_version = (int)v;
        if (hk_hive_get_dword(sw, CUR_VERSION, "CurrentMinorVersionNumber", &v) == 0)
            w->minor_version = (int)v;
        w->server = w->installation_type && hk_startswith(w->installation_type, "Server");
        read_vmware_tools(sw, w);
        id->vmware_tools = w->vmware_tools;
    }
    if (rc == 0 && sys && w->current_control_set) {
        char *pw = hk_asprintf("%s\\Control\\Session Manager\\Power", w->current_control_set);
        uint32_t hb = 0;
        if (pw && hk_hive_get_dword(sys, pw, "HiberbootEnabled", &hb) == 0)
            w->fast_startup = hb != 0;
        free(pw);
        read_adapters(sys, w->current_control_set, w);
    }
    if (rc == 0 && sys)
        rc = read_drives(ctx, g, sys, w);
    const char *sn = hk_win_short_name(w->major_version, w->minor_version, w->build, w->server);
    w->os_short = sn ? strdup(sn) : NULL;
    hk_hive_close(sw);
    hk_hive_close(sys);
    if (tmp)
        rmdir(tmp);
    free(tmp);
    free(sys_path);
    free(sw_path);
    return rc;
}
