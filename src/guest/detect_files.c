/*
 * Guest detection from the files of its root file system: release files, the
 * init system, the package manager, kernels and modules, VMware tools, SELinux
 * and the network stack.
 */
#define _POSIX_C_SOURCE 200809L /* strtok_r */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "detect_files.h"

#define SMALL_FILE (1u << 20)

char *
hk_shellvar_get(const char *text, const char *key)
{
    if (!text || !key)
        return NULL;
    size_t kl = strlen(key);
    const char *p = text;
    char *found = NULL;
    while (*p) {
        const char *eol = strchr(p, '\n');
        size_t ll = eol ? (size_t)(eol - p) : strlen(p);
        const char *s = p;
        while (s < p + ll && (*s == ' ' || *s == '\t'))
            s++;
        if (hk_startswith(s, "export "))
            s += 7;
        if ((size_t)(p + ll - s) > kl && strncmp(s, key, kl) == 0) {
            const char *v = s + kl;
            while (v < p + ll && (*v == ' ' || *v == '\t'))
                v++;
            if (v < p + ll && *v == '=') {
                v++;
                while (v < p + ll && (*v == ' ' || *v == '\t'))
                    v++;
                const char *e = p + ll;
                while (e > v && (e[-1] == '\r' || e[-1] == ' ' || e[-1] == '\t'))
                    e--;
                if (e - v >= 2 && (*v == '"' || *v == '\'') && e[-1] == *v) {
                    v++;
                    e--;
                }
                free(found);
                found = hk_strndup(v, (size_t)(e - v)); /* last assignment wins */
            }
        }
        p += ll;
        if (*p == '\n')
            p++;
    }
    return found;
}

static void
set_if_null(char **slot, char *value)
{
    if (!*slot)
        *slot = value;
    else
        free(value);
}

static void
parse_version(h2k_guest_identity *id)
{
    if (!id->os_version)
        return;
    const char *v = id->os_version;
    if (!isdigit((unsigned char)*v))
        return;
    id->major_version = atoi(v);
    const char *dot = strchr(v, '.');
    id->minor_version = dot ? atoi(dot + 1) : 0;
}

unsigned
hk_guest_x86_level(const char *os_id, int major)
{
    static const struct {
        const char *id;
        int v2_from, v3_from; /* major versions; 0: never */
    } map[] = {
        {"rhel", 9, 10},   {"centos", 9, 10}, {"rocky", 9, 10}, {"almalinux", 9, 10},
        {"ol", 9, 10},     {"sles", 16, 0},   {"sled", 16, 0},  {"opensuse-leap", 16, 0},
        {"amzn", 2023, 0}, {"debian", 0, 0},  {"ubuntu", 0, 0}, {"linuxmint", 0, 0},
        {"fedora", 0, 0},
    };
    if (!os_id || major <= 0)
        return 0;
    for (size_t i = 0; i < HK_ARRAY_LEN(map); i++) {
        if (strcmp(os_id, map[i].id) != 0)
            continue;
        if (map[i].v3_from && major >= map[i].v3_from)
            return 3;
        return map[i].v2_from && major >= map[i].v2_from ? 2 : 1;
    }
    return 0;
}

static const char *
family_of(const char *id, const char *like)
{
    static const struct {
        const char *name;
        const char *family;
    } map[] = {
        {"debian", "debian"}, {"ubuntu", "debian"},      {"linuxmint", "debian"},
        {"rhel", "redhat"},   {"centos", "redhat"},      {"fedora", "redhat"},
        {"rocky", "redhat"},  {"almalinux", "redhat"},   {"ol", "redhat"},
        {"amzn", "redhat"},   {"sles", "suse"},          {"sled", "suse"},
        {"opensuse", "suse"}, {"opensuse-leap", "suse"}, {"suse", "suse"},
        {"arch", "arch"},
    };
    for (size_t i = 0; i < HK_ARRAY_LEN(map); i++)
        if (id && strcmp(id, map[i].name) == 0)
            return map[i].family;
    if (like) {
        char *copy = strdup(like);
        const char *fam = NULL;
        char *save = NULL; /* strtok_r: strtok keeps its position in static state */
        for (char *tok = copy ? strtok_r(copy, " ", &save) : NULL; tok && !fam;
             tok = strtok_r(NULL, " ", &save))
            for (size_t i = 0; i < HK_ARRAY_LEN(map) && !fam; i++)
                if (strcmp(tok, map[i].name) == 0)
                    fam = map[i].family;
        free(copy);
        if (fam)
            return fam;
    }
    return NULL;
}

static char *
first_line(const char *text)
{
    if (!text)
        return NULL;
    size_t n = strcspn(text, "\r\n");
    char *s = hk_strndup(text, n);
    return s ? hk_strtrim(s) : NULL;
}

/* "Red Hat Enterprise Linux release 9.3 (Plow)" -> id, version */
static void
parse_redhat_release(h2k_guest_identity *id, const char *text)
{
    char *line = first_line(text);
    if (!line)
        return;
    const char *osid = "rhel";
    if (strstr(line, "CentOS"))
        osid = "centos";
    else if (strstr(line, "Fedora"))
        osid = "fedora";
    else if (strstr(line, "Rocky"))
        osid = "rocky";
    else if (strstr(line, "AlmaLinux"))
        osid = "almalinux";
    else if (strstr(line, "Oracle"))
        osid = "ol";
    set_if_null(&id->os_id, strdup(osid));
    const char *rel = strstr(line, "release ");
    if (rel) {
        rel += 8;
        size_t n = strspn(rel, "0123456789.");
        if (n)
            set_if_null(&id->os_version, hk_strndup(rel, n));
    }
    set_if_null(&id->os_pretty, line);
}

static void
parse_suse_release(h2k_guest_identity *id, const char *text)
{
    char *line = first_line(text);
    set_if_null(&id->os_id, strdup(line && strstr(line, "openSUSE") ? "opensuse" : "sles"));
    char *ver = hk_shellvar_get(text, "VERSION");
    char *patch = hk_shellvar_get(text, "PATCHLEVEL");
    if (ver)
        set_if_null(&id->os_version,
                    patch && strcmp(patch, "0") ? hk_asprintf("%s.%s", ver, patch) : strdup(ver));
    free(ver);
    free(patch);
    set_if_null(&id->os_pretty, line);
}

static bool
any_exists(const hk_fsread *fs, const char *const *paths)
{
    for (size_t i = 0; paths[i]; i++)
        if (fs->exists(fs, paths[i]))
            return true;
    return false;
}

static void
detect_os(const hk_fsread *fs, h2k_guest_identity *id)
{
    char *osr = fs->read(fs, "/etc/os-release", SMALL_FILE, NULL);
    if (!osr)
        osr = fs->read(fs, "/usr/lib/os-release", SMALL_FILE, NULL);
    char *like = NULL;
    if (osr) {
        set_if_null(&id->os_id, hk_shellvar_get(osr, "ID"));
        set_if_null(&id->os_version, hk_shellvar_get(osr, "VERSION_ID"));
        set_if_null(&id->os_pretty, hk_shellvar_get(osr, "PRETTY_NAME"));
        like = hk_shellvar_get(osr, "ID_LIKE");
        free(osr);
    }
    char *t;
    if ((t = fs->read(fs, "/etc/redhat-release", SMALL_FILE, NULL))) {
        parse_redhat_release(id, t);
        free(t);
    }
    if ((t = fs->read(fs, "/etc/SuSE-release", SMALL_FILE, NULL))) {
        parse_suse_release(id, t);
        free(t);
    }
    if ((t = fs->read(fs, "/etc/lsb-release", SMALL_FILE, NULL))) {
        char *did = hk_shellvar_get(t, "DISTRIB_ID");
        if (did) {
            for (char *c = did; *c; c++)
                *c = (char)tolower((unsigned char)*c);
            set_if_null(&id->os_id, did);
        }
        set_if_null(&id->os_version, hk_shellvar_get(t, "DISTRIB_RELEASE"));
        set_if_null(&id->os_pretty, hk_shellvar_get(t, "DISTRIB_DESCRIPTION"));
        free(t);
    }
    if ((t = fs->read(fs, "/etc/debian_version", SMALL_FILE, NULL))) {
        set_if_null(&id->os_id, strdup("debian"));
        char *line = first_line(t);
        if (line && isdigit((unsigned char)line[0]))
            set_if_null(&id->os_version, line);
        else
            free(line);
        free(t);
    }
    if (!id->os_id && fs->exists(fs, "/etc/arch-release"))
        id->os_id = strdup("arch");
    if (id->type == H2K_GUEST_WINDOWS) {
        /* inspection (libguestfs) found Windows: stray Linux-looking files on
         * its file systems do not overrule it */
    } else if (id->os_id) {
        id->type = H2K_GUEST_LINUX;
        const char *fam = family_of(id->os_id, like);
        if (fam)
            set_if_null(&id->distro_family, strdup(fam));
    } else {
        static const char *const win[] = {"/Windows/System32", "/WINDOWS/system32",
                                          "/windows/system32", NULL};
        for (size_t i = 0; win[i]; i++)
            if (fs->is_dir(fs, win[i])) {
                id->type = H2K_GUEST_WINDOWS;
                id->os_id = strdup("windows");
                set_if_null(&id->distro_family, strdup("windows"));
                break;
            }
    }
    free(like);
    parse_version(id);
}

static void
detect_init_and_pkg(const hk_fsread *fs, h2k_guest_identity *id)
{
    static const char *const systemd[] = {"/lib/systemd/systemd", "/usr/lib/systemd/systemd", NULL};
    static const char *const upstart[] = {"/sbin/initctl", NULL};
    if (!id->init_system) {
        if (any_exists(fs, systemd))
            id->init_system = strdup("systemd");
        else if (any_exists(fs, upstart) && fs->is_dir(fs, "/etc/init"))
            id->init_system = strdup("upstart");
        else if (fs->exists(fs, "/etc/inittab") || fs->exists(fs, "/sbin/init"))
            id->init_system = strdup("sysv");
    }
    static const struct {
        const char *path;
        const char *name;
    } pkg[] = {
        {"/usr/bin/dnf", "dnf"},     {"/usr/bin/yum", "yum"},         {"/usr/bin/zypper", "zypper"},
        {"/usr/bin/apt-get", "apt"}, {"/var/lib/dpkg/status", "apt"}, {"/usr/bin/pacman", "pacman"},
        {"/bin/rpm", "rpm"},         {"/usr/bin/rpm", "rpm"},
    };
    for (size_t i = 0; i < HK_ARRAY_LEN(pkg) && !id->package_manager; i++)
        if (fs->exists(fs, pkg[i].path))
            id->package_manager = strdup(pkg[i].name);
}

static void
detect_hostname(const hk_fsread *fs, h2k_guest_identity *id)
{
    if (id->hostname)
        return;
    char *t = fs->read(fs, "/etc/hostname", SMALL_FILE, NULL);
    if (!t)
        t = fs->read(fs, "/etc/HOSTNAME", SMALL_FILE, NULL);
    if (t) {
        char *l = first_line(t);
        if (l && *l)
            id->hostname = l;
        else
            free(l);
        free(t);
    }
    if (!id->hostname && (t = fs->read(fs, "/etc/sysconfig/network", SMALL_FILE, NULL))) {
        id->hostname = hk_shellvar_get(t, "HOSTNAME");
        free(t);
    }
}

static void
detect_arch(const hk_fsread *fs, h2k_guest_identity *id)
{
    if (id->architecture)
        return;
    static const char *const bins[] = {"/bin/sh", "/usr/bin/sh", "/bin/ls", "/usr/bin/ls", NULL};
    for (size_t i = 0; bins[i] && !id->architecture; i++) {
        size_t len = 0;
        char *elf = fs->read(fs, bins[i], 16u << 20, &len);
        if (elf && len >= 20 &&
            memcmp(elf,
                   "\x7f"
                   "ELF",
                   4) == 0) {
            unsigned m = (unsigned)(unsigned char)elf[18] | ((unsigned)(unsigned char)elf[19] << 8);
            const char *a = m == 0x3e   ? "x86_64"
                            : m == 0x03 ? "i386"
                            : m == 0xb7 ? "aarch64"
                            : m == 0x28 ? "arm"
                            : m == 0x15 ? "ppc64"
                            : m == 0x16 ? "s390x"
                                        : NULL;
            if (a)
                id->architecture = strdup(a);
        }
        free(elf);
    }
}

static bool
module_present(const hk_fsread *fs, const char *moddir, const char *rel, const char *builtin)
{
    static const char *const ext[] = {".ko", ".ko.xz", ".ko.zst", ".ko.gz", NULL};
    for (size_t i = 0; ext[i]; i++) {
        char *p = hk_asprintf("%s/kernel/%s%s", moddir, rel, ext[i]);
        bool ok = p && fs->exists(fs, p);
        free(p);
        if (ok)
            return true;
    }
    if (builtin) {
        char *needle = hk_asprintf("kernel/%s.ko", rel);
        bool ok = needle && strstr(builtin, needle);
        free(needle);
        if (ok)
            return true;
    }
    return false;
}

static void
add_kernel(const hk_fsread *fs, h2k_guest_identity *id, const char *version, const char *kpath)
{
    h2k_guest_kernel *nk = realloc(id->kernels, (id->n_kernels + 1) * sizeof(*nk));
    if (!nk)
        return;
    id->kernels = nk;
    h2k_guest_kernel *k = &nk[id->n_kernels++];
    memset(k, 0, sizeof(*k));
    k->version = strdup(version);
    k->kernel_path = strdup(kpath);
    k->initrd_has_virtio = -1;
    static const struct {
        const char *prefix, *suffix;
    } initrds[] = {{"/boot/initrd.img-", ""}, {"/boot/initramfs-", ".img"}, {"/boot/initrd-", ""}};
    for (size_t i = 0; i < HK_ARRAY_LEN(initrds) && !k->initrd_path; i++) {
        char *p = hk_asprintf("%s%s%s", initrds[i].prefix, version, initrds[i].suffix);
        if (p && fs->exists(fs, p))
            k->initrd_path = p;
        else
            free(p);
    }
    char *moddir = hk_asprintf("/lib/modules/%s", version);
    if (!moddir)
        return;
    char *bpath = hk_asprintf("%s/modules.builtin", moddir);
    char *builtin = bpath ? fs->read(fs, bpath, 8u << 20, NULL) : NULL;
    free(bpath);
    k->has_virtio_blk = module_present(fs, moddir, "drivers/block/virtio_blk", builtin);
    k->has_virtio_scsi = module_present(fs, moddir, "drivers/scsi/virtio_scsi", builtin);
    k->has_virtio_net = module_present(fs, moddir, "drivers/net/virtio_net", builtin);
    k->has_virtio_pci = module_present(fs, moddir, "drivers/virtio/virtio_pci", builtin);
    free(builtin);
    free(moddir);
}

static void
detect_kernels(const hk_fsread *fs, h2k_guest_identity *id)
{
    if (id->n_kernels)
        return;
    char **boot = fs->list(fs, "/boot");
    for (size_t i = 0; boot && boot[i]; i++) {
        const char *n = boot[i];
        const char *ver = NULL;
        if (hk_startswith(n, "vmlinuz-"))
            ver = n + 8;
        else if (hk_startswith(n, "vmlinux-"))
            ver = n + 8;
        if (!ver || !*ver || strstr(n, ".old") || hk_endswith_nocase(n, ".hmac"))
            continue;
        char *kpath = hk_asprintf("/boot/%s", n);
        char *mods = hk_asprintf("/lib/modules/%s", ver);
        /* "vmlinuz-linux" (Arch) has no version in the name: match by modules dir */
        if (kpath && mods && (fs->is_dir(fs, mods) || strcmp(ver, "linux") != 0))
            add_kernel(fs, id, ver, kpath);
        free(kpath);
        free(mods);
    }
    hk_strv_free(boot);
}

static bool
dpkg_installed(const char *status, const char *pkg)
{
    /* paragraphs: "Package: X" ... "Status: install ok installed" */
    const char *p = status;
    size_t pl = strlen(pkg);
    while ((p = strstr(p, "Package: "))) {
        if ((p == status || p[-1] == '\n') && strncmp(p + 9, pkg, pl) == 0 &&
            (p[9 + pl] == '\n' || p[9 + pl] == '\r')) {
            const char *end = strstr(p, "\n\n");
            const char *st = strstr(p, "\nStatus: ");
            if (st && (!end || st < end))
                return hk_startswith(st + 9, "install ok installed");
            return false;
        }
        p += 9;
    }
    return false;
}

static void
detect_vmware_tools(const hk_fsread *fs, h2k_guest_identity *id)
{
    static const char *const files[] = {
        "/usr/bin/vmtoolsd",     "/usr/sbin/vmtoolsd",          "/etc/vmware-tools",
        "/usr/lib/vmware-tools", "/usr/bin/vmware-toolbox-cmd", NULL,
    };
    if (any_exists(fs, files)) {
        id->vmware_tools = 1;
        return;
    }
    char *status = fs->read(fs, "/var/lib/dpkg/status", 64u << 20, NULL);
    if (status) {
        if (dpkg_installed(status, "open-vm-tools") || dpkg_installed(status, "vmware-tools"))
            id->vmware_tools = 1;
        free(status);
    }
}

static void
detect_selinux(const hk_fsread *fs, h2k_guest_identity *id)
{
    char *t = fs->read(fs, "/etc/selinux/config", SMALL_FILE, NULL);
    if (t) {
        set_if_null(&id->selinux, hk_shellvar_get(t, "SELINUX"));
        free(t);
    }
}

static bool
dir_has_entries(const hk_fsread *fs, const char *dir, const char *prefix, const char *suffix,
                const char *except)
{
    char **v = fs->list(fs, dir);
    bool found = false;
    for (size_t i = 0; v && v[i] && !found; i++) {
        if (prefix && !hk_startswith(v[i], prefix))
            continue;
        if (suffix && !hk_endswith_nocase(v[i], suffix))
            continue;
        if (except && strcmp(v[i], except) == 0)
            continue;
        found = true;
    }
    hk_strv_free(v);
    return found;
}

static void
detect_network(const hk_fsread *fs, h2k_guest_identity *id)
{
    if (id->network_config)
        return;
    hk_buf b = {0};
    char *ifs = fs->read(fs, "/etc/network/interfaces", SMALL_FILE, NULL);
    bool ifupdown = false;
    if (ifs) {
        for (const char *p = ifs; (p = strstr(p, "iface ")); p += 6)
            if (!hk_startswith(p + 6, "lo ") && !hk_startswith(p + 6, "lo\t"))
                ifupdown = true;
        free(ifs);
    }
    if (ifupdown || dir_has_entries(fs, "/etc/network/interfaces.d", NULL, NULL, NULL))
        hk_buf_puts(&b, "ifupdown,");
    if (dir_has_entries(fs, "/etc/netplan", NULL, ".yaml", NULL))
        hk_buf_puts(&b, "netplan,");
    if (dir_has_entries(fs, "/etc/NetworkManager/system-connections", NULL, NULL, NULL))
        hk_buf_puts(&b, "NetworkManager,");
    if (dir_has_entries(fs, "/etc/sysconfig/network-scripts", "ifcfg-", NULL, "ifcfg-lo") ||
        dir_has_entries(fs, "/etc/sysconfig/network", "ifcfg-", NULL, "ifcfg-lo"))
        hk_buf_puts(&b, "ifcfg,");
    if (fs->is_dir(fs, "/etc/wicked") &&
        dir_has_entries(fs, "/etc/sysconfig/network", "ifcfg-", NULL, "ifcfg-lo"))
        hk_buf_puts(&b, "wicked,");
    if (dir_has_entries(fs, "/etc/systemd/network", NULL, ".network", NULL))
        hk_buf_puts(&b, "systemd-networkd,");
    if (b.len)
        b.data[--b.len] = '\0';
    id->network_config = b.len ? hk_buf_steal(&b) : NULL;
    hk_buf_free(&b);
}

bool
hk_guest_add_mount(h2k_guest_identity *id, const char *dev, const char *mp)
{
    h2k_guest_mount *nm = realloc(id->mounts, (id->n_mounts + 1) * sizeof(*nm));
    if (!nm)
        return false;
    id->mounts = nm;
    nm[id->n_mounts].device = strdup(dev);
    nm[id->n_mounts].mountpoint = strdup(mp);
    id->n_mounts++;
    return nm[id->n_mounts - 1].device && nm[id->n_mounts - 1].mountpoint;
}

static void
detect_fstab_mounts(const hk_fsread *fs, h2k_guest_identity *id)
{
    char *t = fs->read(fs, "/etc/fstab", SMALL_FILE, NULL);
    if (!t)
        return;
    char *save = NULL;
    for (char *line = strtok_r(t, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        char dev[512], mp[512], type[64];
        if (line[0] == '#')
            continue;
        if (sscanf(line, "%511s %511s %63s", dev, mp, type) != 3 || dev[0] == '#')
            continue;
        if (mp[0] != '/')
            continue;
        if (!strcmp(type, "proc") || !strcmp(type, "sysfs") || !strcmp(type, "tmpfs") ||
            !strcmp(type, "devpts"))
            continue;
        hk_guest_add_mount(id, dev, mp);
        if (strcmp(mp, "/") == 0 && !id->root_device)
            id->root_device = strdup(dev);
        if (strcmp(mp, "/boot/efi") == 0 && id->firmware == H2K_FIRMWARE_UNKNOWN)
            id->firmware = H2K_FIRMWARE_UEFI;
    }
    free(t);
}

int
hk_guest_detect_files(h2k_ctx *ctx, const hk_fsread *fs, h2k_guest_identity *id, bool fstab_mounts)
{
    detect_os(fs, id);
    if (id->type == H2K_GUEST_UNKNOWN)
        return hk_error(ctx, H2K_ERR_GUEST_DETECTION,
                        "no operating system found: none of /etc/os-release, "
                        "/etc/redhat-release, /etc/SuSE-release, /etc/lsb-release, "
                        "/etc/debian_version or /Windows/System32 exists");
    if (id->type == H2K_GUEST_LINUX) {
        detect_init_and_pkg(fs, id);
        detect_hostname(fs, id);
        detect_kernels(fs, id);
        detect_vmware_tools(fs, id);
        detect_selinux(fs, id);
        detect_network(fs, id);
        if (fstab_mounts)
            detect_fstab_mounts(fs, id);
    }
    detect_arch(fs, id);
    if (id->firmware == H2K_FIRMWARE_UNKNOWN && fs->is_dir(fs, "/boot/efi/EFI"))
        id->firmware = H2K_FIRMWARE_UEFI;
    hk_debug(ctx, "guest", "detected %s %s (%s)", id->os_id ? id->os_id : "?",
             id->os_version ? id->os_version : "?", id->os_pretty ? id->os_pretty : "");
    return 0;
}
