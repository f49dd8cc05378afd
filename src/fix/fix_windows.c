/*
 * Windows: the virtio drivers, offline.  The block driver (viostor, or vioscsi
 * for a virtio-scsi target) becomes a boot-start service bound to the legacy
 * and modern virtio PCI ids -- through the CriticalDeviceDatabase before
 * Windows 8, a driver-database record from Windows 8 on -- and every driver
 * for the guest's version and architecture is copied into
 * %SystemRoot%\Drivers\VirtIO, which DevicePath names so that PnP installs
 * netkvm and the others at the first boot.  A UEFI guest's ESP gets the
 * fallback loader EFI\Boot\bootx64.efi when it lacks it.
 *
 * Everything is decided before the guest is written: a refusal (hibernated,
 * hives that do not parse, no driver for this Windows) leaves it untouched.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <archive.h>
#include <archive_entry.h>

#include "fixer_internal.h"
#include "guest/win_inspect.h"
#include "win_firstboot.h"

#define VIRTIO_DIR "Drivers\\VirtIO"
#define STORAGE_CLASS "{4D36E97B-E325-11CE-BFC1-08002BE10318}"
#define MAX_DRIVER_FILE (64u << 20)

typedef struct drv_file {
    char *folder; /* the folder it came from, for the report ("viostor/2k22/amd64") */
    char *name;   /* file name */
    char *short_name;
    unsigned char *data;
    size_t len;
} drv_file;

typedef struct drv_set {
    drv_file *v;
    size_t n;
} drv_set;

static void
drv_set_free(drv_set *s)
{
    for (size_t i = 0; i < s->n; i++) {
        free(s->v[i].folder);
        free(s->v[i].name);
        free(s->v[i].short_name);
        free(s->v[i].data);
    }
    free(s->v);
    s->v = NULL;
    s->n = 0;
}

/* The short names to try for a guest, best first (a driver for the nearest
 * older release of the same family works where the exact one is missing). */
static void
short_chain(const char *sn, const char *out[3])
{
    static const struct {
        const char *sn, *fallback;
    } fb[] = {
        {"w11", "w10"},   {"2k25", "2k22"}, {"2k22", "2k19"},
        {"2k19", "2k16"}, {"w8.1", "w8"},   {"2k12r2", "2k12"},
    };
    out[0] = sn;
    out[1] = NULL;
    out[2] = NULL;
    for (size_t i = 0; i < HK_ARRAY_LEN(fb); i++)
        if (strcmp(fb[i].sn, sn) == 0)
            out[1] = fb[i].fallback;
}

static bool
in_chain(const char *const chain[3], const char *sn)
{
    for (size_t i = 0; i < 3 && chain[i]; i++)
        if (hk_streq_nocase(chain[i], sn))
            return true;
    return false;
}

/* Splits a relative path into at most 6 components; returns their number. */
static size_t
split_path(char *p, char *comp[6])
{
    size_t n = 0;
    for (char *s = strtok(p, "/"); s && n < 6; s = strtok(NULL, "/"))
        if (strcmp(s, ".") != 0)
            comp[n++] = s;
    return n;
}

/* Does relative @path belong to a driver folder for @arch and a short name of
 * @chain?  Layouts: DRIVER/OS/ARCH/FILE and drivers/by-os/ARCH/OS/FILE.  Fills
 * the folder, the short name and the file name (caller frees). */
static bool
match_path(const char *path, const char *const chain[3], const char *arch, char **folder, char **sn,
           char **name)
{
    char *p = strdup(path);
    if (!p)
        return false;
    char *c[6];
    size_t n = split_path(p, c);
    bool ok = false;
    if (n == 4 && in_chain(chain, c[1]) && hk_streq_nocase(c[2], arch)) {
        *folder = hk_asprintf("%s/%s/%s", c[0], c[1], c[2]);
        *sn = strdup(c[1]);
        *name = strdup(c[3]);
        ok = true;
    } else if (n == 5 && hk_streq_nocase(c[0], "drivers") && hk_streq_nocase(c[1], "by-os") &&
               hk_streq_nocase(c[2], arch) && in_chain(chain, c[3])) {
        *folder = hk_asprintf("%s/%s/%s/%s", c[0], c[1], c[2], c[3]);
        *sn = strdup(c[3]);
        *name = strdup(c[4]);
        ok = true;
    }
    if (ok && hk_endswith_nocase(*name, ".pdb")) {
        free(*folder);
        free(*sn);
        free(*name);
        ok = false;
    }
    free(p);
    return ok;
}

static int
add_file(drv_set *s, char *folder, char *sn, char *name, unsigned char *data, size_t len)
{
    drv_file *nv = realloc(s->v, (s->n + 1) * sizeof(*nv));
    if (!nv) {
        free(folder);
        free(sn);
        free(name);
        free(data);
        return -1;
    }
    s->v = nv;
    s->v[s->n++] = (drv_file){folder, name, sn, data, len};
    return 0;
}

/* Walks a virtio-win folder (two levels of layouts, no deeper). */
static int
scan_dir(h2k_ctx *ctx, const char *root, const char *rel, int depth, const char *const chain[3],
         const char *arch, drv_set *s)
{
    char *dir = rel ? hk_path_join(root, rel) : strdup(root);
    DIR *d = dir ? opendir(dir) : NULL;
    if (!d) {
        int rc = hk_error_errno(ctx, errno, dir ? dir : root, "cannot read the virtio-win folder");
        free(dir);
        return rc;
    }
    int rc = 0;
    struct dirent *e;
    while (rc == 0 && (e = readdir(d))) {
        if (e->d_name[0] == '.')
            continue;
        char *r = rel ? hk_asprintf("%s/%s", rel, e->d_name) : strdup(e->d_name);
        char *full = hk_path_join(dir, e->d_name);
        struct stat st;
        if (r && full && stat(full, &st) == 0) {
            if (S_ISDIR(st.st_mode) && depth < 4) {
                rc = scan_dir(ctx, root, r, depth + 1, chain, arch, s);
            } else if (S_ISREG(st.st_mode)) {
                char *folder = NULL, *sn = NULL, *name = NULL;
                if (match_path(r, chain, arch, &folder, &sn, &name)) {
                    char *data = NULL;
                    size_t len = 0;
                    rc = hk_read_file(ctx, full, MAX_DRIVER_FILE, &data, &len);
                    if (rc == 0 && add_file(s, folder, sn, name, (unsigned char *)data, len) < 0)
                        rc = hk_error_nomem(ctx);
                    else if (rc < 0) {
                        free(folder);
                        free(sn);
                        free(name);
                    }
                }
            }
        }
        free(r);
        free(full);
    }
    closedir(d);
    free(dir);
    return rc;
}

/* Reads the matching files of a virtio-win ISO (libarchive reads ISO 9660 with
 * Rock Ridge / Joliet names). */
static int
scan_iso(h2k_ctx *ctx, const char *iso, const char *const chain[3], const char *arch, drv_set *s)
{
    struct archive *a = archive_read_new();
    if (!a)
        return hk_error_nomem(ctx);
    archive_read_support_format_iso9660(a);
    int rc = 0;
    if (archive_read_open_filename(a, iso, 64 * 1024) != ARCHIVE_OK) {
        rc = hk_error(ctx, H2K_ERR_IO, "%s: not a readable virtio-win ISO: %s", iso,
                      archive_error_string(a));
        archive_read_free(a);
        return rc;
    }
    struct archive_entry *e;
    int r;
    while (rc == 0 && (r = archive_read_next_header(a, &e)) == ARCHIVE_OK) {
        if (archive_entry_filetype(e) != AE_IFREG)
            continue;
        char *folder = NULL, *sn = NULL, *name = NULL;
        if (!match_path(archive_entry_pathname(e), chain, arch, &folder, &sn, &name))
            continue;
        int64_t size = archive_entry_size(e);
        if (size < 0 || (uint64_t)size > MAX_DRIVER_FILE) {
            rc = hk_error_at(ctx, H2K_ERR_FORMAT, iso, -1, archive_entry_pathname(e),
                             "driver file too large (%lld bytes)", (long long)size);
            free(folder);
            free(sn);
            free(name);
            break;
        }
        unsigned char *data = malloc((size_t)size + 1);
        ssize_t got = data ? archive_read_data(a, data, (size_t)size) : -1;
        if (got != size) {
            rc = hk_error(ctx, H2K_ERR_IO, "%s: cannot read %s: %s", iso, archive_entry_pathname(e),
                          data ? archive_error_string(a) : "no memory");
            free(data);
            free(folder);
            free(sn);
            free(name);
            break;
        }
        if (add_file(s, folder, sn, name, data, (size_t)size) < 0)
            rc = hk_error_nomem(ctx);
    }
    if (rc == 0 && r != ARCHIVE_EOF)
        rc = hk_error(ctx, H2K_ERR_IO, "%s: cannot read the ISO: %s", iso, archive_error_string(a));
    archive_read_free(a);
    return rc;
}

static int
cmp_file(const void *a, const void *b)
{
    const drv_file *x = a, *y = b;
    int c = strcmp(x->folder, y->folder);
    return c ? c : strcmp(x->name, y->name);
}

static const drv_file *
find_file(const drv_set *s, const char *sn, const char *name)
{
    for (size_t i = 0; i < s->n; i++)
        if (hk_streq_nocase(s->v[i].short_name, sn) && hk_streq_nocase(s->v[i].name, name))
            return &s->v[i];
    return NULL;
}

/* ------------------------------------------------------------- registry */

static const char *const viostor_ids[] = {"VEN_1AF4&DEV_1001&SUBSYS_00021AF4&REV_00",
                                          "VEN_1AF4&DEV_1042&SUBSYS_11001AF4&REV_01", NULL};
static const char *const vioscsi_ids[] = {"VEN_1AF4&DEV_1004&SUBSYS_00081AF4&REV_00",
                                          "VEN_1AF4&DEV_1048&SUBSYS_11001AF4&REV_01", NULL};

/* The service of the boot driver and its binding to the PCI ids. */
static int
bind_boot_driver(hk_hive *sys, const char *ccs, const char *drv, const char *arch, bool *ddb)
{
    const char *const *ids = strcmp(drv, "vioscsi") == 0 ? vioscsi_ids : viostor_ids;
    char *svc = hk_asprintf("%s\\Services\\%s", ccs, drv);
    char *image = hk_asprintf("system32\\drivers\\%s.sys", drv);
    int rc = (!svc || !image) ? H2K_ERR_NO_MEMORY : 0;
    if (rc == 0)
        rc = hk_hive_set_dword(sys, svc, "Type", 1); /* kernel driver */
    if (rc == 0)
        rc = hk_hive_set_dword(sys, svc, "Start", 0); /* boot start */
    if (rc == 0)
        rc = hk_hive_set_dword(sys, svc, "ErrorControl", 1);
    if (rc == 0)
        rc = hk_hive_set_str(sys, svc, "Group", HK_REG_SZ, "SCSI miniport");
    if (rc == 0)
        rc = hk_hive_set_str(sys, svc, "ImagePath", HK_REG_EXPAND_SZ, image);
    free(svc);
    free(image);
    *ddb = hk_hive_has_key(sys, "DriverDatabase");
    if (!*ddb) {
        /* before Windows 8: the critical device database names the service */
        for (size_t i = 0; rc == 0 && ids[i]; i++) {
            char *k = hk_asprintf("%s\\Control\\CriticalDeviceDatabase\\PCI#%s", ccs, ids[i]);
            rc = k ? hk_hive_set_str(sys, k, "Service", HK_REG_SZ, drv) : H2K_ERR_NO_MEMORY;
            if (rc == 0)
                rc = hk_hive_set_str(sys, k, "ClassGUID", HK_REG_SZ, STORAGE_CLASS);
            free(k);
        }
        return rc;
    }
    /* Windows 8 and later: a driver package record in the driver database */
    char *inf = hk_asprintf("h2k_%s.inf", drv);
    char *label = hk_asprintf("h2k_%s.inf_%s_0000000000000000", drv, arch);
    char *conf = hk_asprintf("%s_conf", drv);
    char *k_inf = hk_asprintf("DriverDatabase\\DriverInfFiles\\%s", inf ? inf : "");
    char *k_pkg = hk_asprintf("DriverDatabase\\DriverPackages\\%s", label ? label : "");
    char *k_conf = hk_asprintf("%s\\Configurations\\%s", k_pkg ? k_pkg : "", conf ? conf : "");
    if (!inf || !label || !conf || !k_inf || !k_pkg || !k_conf)
        rc = H2K_ERR_NO_MEMORY;
    const char *labels[] = {label, NULL}, *confs[] = {conf, NULL};
    if (rc == 0)
        rc = hk_hive_set_multi(sys, k_inf, "", labels);
    if (rc == 0)
        rc = hk_hive_set_str(sys, k_inf, "Active", HK_REG_SZ, label);
    if (rc == 0)
        rc = hk_hive_set_multi(sys, k_inf, "Configurations", confs);
    /* Version: flags, the storage class GUID (binary), then date and version (zero) */
    static const unsigned char version[48] = {
        0x00, 0xff, 0x09, 0x00, 0x00, 0x00, 0x00, 0x00, 0x7b, 0xe9, 0x36, 0x4d,
        0x25, 0xe3, 0xce, 0x11, 0xbf, 0xc1, 0x08, 0x00, 0x2b, 0xe1, 0x03, 0x18,
    };
    if (rc == 0)
        rc = hk_hive_set_raw(sys, k_pkg, "Version", HK_REG_BINARY, version, sizeof(version));
    if (rc == 0)
        rc = hk_hive_set_dword(sys, k_conf, "ConfigFlags", 0);
    if (rc == 0)
        rc = hk_hive_set_str(sys, k_conf, "Service", HK_REG_SZ, drv);
    static const unsigned char rank[4] = {0x01, 0xff, 0x00, 0x00};
    for (size_t i = 0; rc == 0 && ids[i]; i++) {
        char *dev = hk_asprintf("DriverDatabase\\DeviceIds\\PCI\\%s", ids[i]);
        char *desc = hk_asprintf("%s\\Descriptors\\PCI\\%s", k_pkg, ids[i]);
        rc = dev && desc ? hk_hive_set_raw(sys, dev, inf, HK_REG_BINARY, rank, sizeof(rank))
                         : H2K_ERR_NO_MEMORY;
        if (rc == 0)
            rc = hk_hive_set_str(sys, desc, "Configuration", HK_REG_SZ, conf);
        free(dev);
        free(desc);
    }
    free(inf);
    free(label);
    free(conf);
    free(k_inf);
    free(k_pkg);
    free(k_conf);
    return rc;
}

/* DevicePath gets the driver folder, so that PnP finds the other drivers. */
static int
add_device_path(hk_hive *sw)
{
    const char *key = "Microsoft\\Windows\\CurrentVersion";
    const char *dir = "%SystemRoot%\\" VIRTIO_DIR;
    char *cur = hk_hive_get_str(sw, key, "DevicePath");
    int rc = 0;
    if (!cur) {
        rc = hk_hive_set_str(sw, key, "DevicePath", HK_REG_EXPAND_SZ,
                             "%SystemRoot%\\inf;%SystemRoot%\\" VIRTIO_DIR);
    } else {
        bool present = false;
        char *copy = strdup(cur);
        for (char *s = copy ? strtok(copy, ";") : NULL; s; s = strtok(NULL, ";"))
            if (hk_streq_nocase(s, dir))
                present = true;
        free(copy);
        if (!present) {
            char *nv = hk_asprintf("%s%s%s", cur, *cur ? ";" : "", dir);
            rc = nv ? hk_hive_set_str(sw, key, "DevicePath", HK_REG_EXPAND_SZ, nv)
                    : H2K_ERR_NO_MEMORY;
            free(nv);
        }
    }
    free(cur);
    return rc;
}

/* ------------------------------------------------------------- ESP */

/* A UEFI guest's ESP must hold EFI\Boot\bootx64.efi: OVMF starts it when its
 * NVRAM (new on KVM) has no boot entry.  Windows' own loader is copied there
 * when missing. */
static void
check_esp(h2k_offline_fixer *fx, h2k_fix_result *res, const char *mnt)
{
    guestfs_h *g = fx->gfs->g;
    bool found_esp = false;
    for (size_t i = 0; i < fx->map.n; i++) {
        const hk_dev *d = &fx->map.devs[i];
        if (!d->fstype || strcmp(d->fstype, "vfat") != 0)
            continue;
        if (guestfs_mount_ro(g, d->device, mnt) < 0)
            continue;
        char *efi = hk_asprintf("%s/EFI", mnt);
        char *efi_r = efi ? guestfs_case_sensitive_path(g, efi) : NULL;
        if (!efi_r || guestfs_is_dir(g, efi_r) <= 0) {
            free(efi);
            free(efi_r);
            guestfs_umount(g, mnt);
            continue;
        }
        found_esp = true;
        char *fb = hk_asprintf("%s/EFI/Boot/bootx64.efi", mnt);
        char *mgr = hk_asprintf("%s/EFI/Microsoft/Boot/bootmgfw.efi", mnt);
        char *fb_r = fb ? guestfs_case_sensitive_path(g, fb) : NULL;
        char *mgr_r = mgr ? guestfs_case_sensitive_path(g, mgr) : NULL;
        bool has_fb = fb_r && guestfs_is_file(g, fb_r) > 0;
        bool has_mgr = mgr_r && guestfs_is_file(g, mgr_r) > 0;
        hk_info(fx->ctx, "fix", "ESP %s: EFI\\Boot\\bootx64.efi %s, bootmgfw.efi %s", d->device,
                has_fb ? "present" : "missing", has_mgr ? "present" : "missing");
        if (!has_fb && has_mgr) {
            char *path = hk_asprintf("%s:/EFI/Boot/bootx64.efi", d->device);
            if (fx->opts.dry_run) {
                hk_fix_write_binary(fx, res, path ? path : "ESP", "", 0,
                                    "the fallback boot loader, a copy of "
                                    "EFI/Microsoft/Boot/bootmgfw.efi (dry run)");
            } else {
                guestfs_umount(g, mnt);
                char *dir = hk_asprintf("%s/EFI/Boot", mnt);
                if (guestfs_mount(g, d->device, mnt) < 0 || !dir || guestfs_mkdir_p(g, dir) < 0 ||
                    guestfs_cp(g, mgr_r, fb) < 0)
                    hk_fix_note_warning(res, "cannot add EFI\\Boot\\bootx64.efi on %s: %s",
                                        d->device, guestfs_last_error(g));
                else {
                    h2k_file_change *nc = realloc(res->changes, (res->n_changes + 1) * sizeof(*nc));
                    if (nc) {
                        res->changes = nc;
                        h2k_file_change *c = &nc[res->n_changes++];
                        memset(c, 0, sizeof(*c));
                        c->path = hk_strdup0(path);
                        c->action = strdup("created");
                        c->notes = calloc(2, sizeof(char *));
                        if (c->notes) {
                            c->notes[0] = strdup("the fallback boot loader OVMF starts without "
                                                 "a boot entry: a copy of "
                                                 "EFI/Microsoft/Boot/bootmgfw.efi");
                            c->n_notes = 1;
                        }
                        res->status = H2K_FIX_STATUS_CHANGED;
                    }
                }
                free(dir);
            }
            free(path);
        } else if (!has_fb) {
            hk_fix_note_warning(res,
                                "the ESP %s has neither EFI\\Boot\\bootx64.efi nor "
                                "EFI\\Microsoft\\Boot\\bootmgfw.efi: OVMF will not find a "
                                "boot loader",
                                d->device);
        }
        free(efi);
        free(efi_r);
        free(fb);
        free(mgr);
        free(fb_r);
        free(mgr_r);
        guestfs_umount(g, mnt);
    }
    if (!found_esp)
        hk_fix_note_warning(res, "UEFI guest without an EFI system partition holding EFI/");
}

/* ------------------------------------------------------------- first boot */

/* The system volume's drive letter (MountedDevices), 'C' when not found. */
static char
system_drive(h2k_offline_fixer *fx, const h2k_windows_info *w)
{
    for (size_t i = 0; fx->gfs->root && i < w->n_drives; i++)
        if (w->drive_devices[i] && w->drive_letters[i] && w->drive_letters[i][0] &&
            strcmp(w->drive_devices[i], fx->gfs->root) == 0)
            return w->drive_letters[i][0];
    return 'C';
}

/* The MAC of the KVM NIC that takes over source adapter @i: the VM's NIC in
 * the same place (h2k_fix_options.nics), or NULL when none is known
 * (inspection reads no MAC from the Windows registry). */
static const char *
adapter_mac(h2k_offline_fixer *fx, size_t i)
{
    return i < fx->n_nics && fx->nics[i].mac && fx->nics[i].mac[0] ? fx->nics[i].mac : NULL;
}

/* Installs the first-boot service after the drivers went in: pnputil for the
 * drivers in @win_dir (a Windows path), the VMware Tools uninstall, the
 * static IPs per adapter, data disks online.  Adds to @summary. */
static void
install_firstboot(h2k_offline_fixer *fx, h2k_fix_result *res, hk_hive *sys,
                  const h2k_windows_info *w, const char *win_dir, hk_buf *summary)
{
    h2k_ctx *ctx = fx->ctx;
    hk_win_firstboot fb = {0};
    if (hk_win_firstboot_from_info(ctx, w, &fb) < 0) {
        hk_fix_note_warning(res, "first boot not installed: %s", h2k_ctx_last_error(ctx)->message);
        hk_buf_printf(summary, "; first boot not installed (%s)", w->arch);
        return;
    }
    size_t exe_len = 0;
    if (!hk_win_firstboot_helper(fb.os.arch, &exe_len)) {
        hk_fix_note_warning(res, "first boot not installed: this libhyper2kvm was built without "
                                 "the Windows helper (no mingw-w64 cross compiler); the drivers "
                                 "are in place, but pnputil, the VMware Tools uninstall, the "
                                 "static IPs and the data disks must be done by hand");
        hk_buf_printf(summary, "; first boot NOT installed (no Windows helper in this build)");
        return;
    }
    char code[39];
    if (fb.vmware_tools_code &&
        hk_win_parse_guid(ctx, "vmware_tools_product_code", fb.vmware_tools_code, code) < 0) {
        hk_fix_note_warning(res, "VMware Tools not uninstalled at the first boot: %s",
                            h2k_ctx_last_error(ctx)->message);
        fb.vmware_tools_code = NULL;
    }
    fb.system_drive = system_drive(fx, w);
    fb.driver_dir = win_dir;
    if (!hk_win_path_ok(win_dir)) {
        hk_fix_note_warning(res,
                            "the drivers are not installed by pnputil at the first boot: "
                            "\"%.200s\" is not a folder name a script may hold",
                            win_dir);
        fb.driver_dir = NULL;
    }
    fb.disks_online = fx->map.n_disks > 1;
    fb.n_disks = fx->map.n_disks > 0 ? (unsigned)fx->map.n_disks : 1;
    fb.reboot_if_needed = true;
    fb.remove_helper = true;

    /* one NIC per static adapter with a known MAC; each checked alone, so one
     * adapter with values that do not parse is reported and left out */
    hk_win_nic *nics = calloc(w->n_adapters ? w->n_adapters : 1, sizeof(*nics));
    hk_win_ip **ips = calloc(w->n_adapters ? w->n_adapters : 1, sizeof(*ips));
    size_t n_nics = 0;
    for (size_t i = 0; nics && ips && i < w->n_adapters; i++) {
        const h2k_win_adapter *a = &w->adapters[i];
        const char *name = a->description ? a->description : (a->guid ? a->guid : "?");
        if (a->dhcp)
            continue;
        const char *mac = adapter_mac(fx, i);
        if (!mac) {
            hk_fix_note_warning(res,
                                "adapter %zu (%s) has a static IP configuration but the VM "
                                "description gives no MAC for it: not re-applied at the "
                                "first boot",
                                i, name);
            continue;
        }
        ips[i] = calloc(a->n_addresses ? a->n_addresses : 1, sizeof(hk_win_ip));
        if (!ips[i])
            break;
        hk_win_nic one;
        hk_win_nic_from_adapter(a, mac, ips[i], &one);
        hk_win_firstboot probe = {.os = fb.os, .nics = &one, .n_nics = 1};
        hk_win_fb_step *st = NULL;
        size_t nst = 0;
        if (hk_win_firstboot_steps(ctx, &probe, &st, &nst) < 0) {
            hk_fix_note_warning(res,
                                "adapter %zu (%s, MAC %s): static IP not re-applied, its "
                                "values are refused: %s",
                                i, name, mac, h2k_ctx_last_error(ctx)->message);
            continue;
        }
        for (size_t j = 0; j < nst; j++)
            hk_win_fb_step_clear(&st[j]);
        free(st);
        nics[n_nics++] = one;
    }
    fb.nics = nics;
    fb.n_nics = n_nics;
    int rc = (nics && ips) ? hk_win_firstboot_install(fx, res, sys, w->current_control_set, &fb)
                           : hk_error_nomem(ctx);
    if (rc < 0) {
        if (res->status != H2K_FIX_STATUS_FAILED)
            hk_fix_fail(res, "first boot: %s", h2k_ctx_last_error(ctx)->message);
    } else {
        hk_buf_printf(summary, "; first boot (%s): pnputil%s%s%s, %zu static adapter%s",
                      HK_WIN_FB_SERVICE, fb.vmware_tools_code ? ", VMware Tools uninstall" : "",
                      n_nics ? ", static IPs" : "", fb.disks_online ? ", data disks online" : "",
                      n_nics, n_nics == 1 ? "" : "s");
    }
    for (size_t i = 0; ips && i < w->n_adapters; i++)
        free(ips[i]);
    free(ips);
    free(nics);
}

/* ------------------------------------------------------------- the repair */

/* @base (existing) + "/" + @rel, each existing component in the case the guest
 * has (NTFS is case-insensitive, the appliance is not); caller frees. */
static char *
guest_path_nocase(guestfs_h *g, const char *base, const char *rel)
{
    char *cur = strdup(base);
    char *r = strdup(rel);
    bool exists = true;
    for (char *c = r ? strtok(r, "/") : NULL; cur && c; c = strtok(NULL, "/")) {
        char *next = hk_asprintf("%s/%s", cur, c);
        if (next && exists) {
            char *found = guestfs_case_sensitive_path(g, next);
            if (found && guestfs_exists(g, found) > 0) {
                free(next);
                next = found;
            } else {
                free(found);
                exists = false;
            }
        }
        free(cur);
        cur = next;
    }
    free(r);
    return cur;
}

int
hk_fix_windows_writable(h2k_offline_fixer *fx)
{
    if (fx->opts.dry_run || fx->windows_rw)
        return 0;
    int rc = hk_gfs_remount_rw(fx->gfs);
    if (rc == 0)
        fx->windows_rw = true;
    return rc;
}

static const char *
virtio_win_source(h2k_offline_fixer *fx)
{
    if (fx->virtio_win)
        return fx->virtio_win;
    struct stat st;
    if (stat("/usr/share/virtio-win", &st) == 0 && S_ISDIR(st.st_mode))
        return "/usr/share/virtio-win";
    return NULL;
}

int
hk_fix_virtio_win(h2k_offline_fixer *fx, h2k_fix_result *res)
{
    h2k_ctx *ctx = fx->ctx;
    const h2k_windows_info *w = fx->id->windows;
    guestfs_h *g = fx->gfs->g;
    if (!w) {
        res->status = H2K_FIX_STATUS_SKIPPED;
        return 0;
    }
    if (w->hibernated)
        return hk_fix_fail(res,
                           "refused, nothing changed: Windows is hibernated or was shut "
                           "down with Fast Startup (hiberfil.sys holds a hibernation "
                           "image%s); start it on the source, turn Fast Startup off "
                           "(powercfg /h off) and shut it down fully, then migrate again",
                           w->fast_startup ? ", HiberbootEnabled=1" : "");
    const char *src = virtio_win_source(fx);
    if (!src) {
        res->status = H2K_FIX_STATUS_SKIPPED;
        free(res->message);
        res->message = strdup("no virtio-win drivers given (--virtio-win PATH) and none in "
                              "/usr/share/virtio-win: the guest keeps SATA disks and an e1000e "
                              "NIC");
        return 0;
    }
    if (!w->os_short || !w->arch || !w->current_control_set || !w->system_root)
        return hk_fix_fail(res,
                           "refused, nothing changed: cannot tell which drivers fit "
                           "Windows %d.%d build %d (%s, arch %s, control set %s)",
                           w->major_version, w->minor_version, w->build,
                           w->product_name ? w->product_name : "?", w->arch ? w->arch : "?",
                           w->current_control_set ? w->current_control_set : "?");
    const char *blk = fx->opts.virtio_scsi ? "vioscsi" : "viostor";
    const char *chain[3];
    short_chain(w->os_short, chain);
    drv_set set = {0};
    struct stat st;
    int rc;
    if (stat(src, &st) < 0)
        return hk_fix_fail(res, "refused, nothing changed: virtio-win %s: %s", src,
                           strerror(errno));
    rc = S_ISDIR(st.st_mode) ? scan_dir(ctx, src, NULL, 0, chain, w->arch, &set)
                             : scan_iso(ctx, src, chain, w->arch, &set);
    if (rc < 0) {
        drv_set_free(&set);
        return hk_fix_fail(res, "refused, nothing changed: %s", h2k_ctx_last_error(ctx)->message);
    }
    /* a stable order for the copies and the report */
    if (set.n > 1)
        qsort(set.v, set.n, sizeof(*set.v), cmp_file);
    /* the first short name with the block driver wins */
    const char *sn = NULL;
    char *sys_name = hk_asprintf("%s.sys", blk), *inf_name = hk_asprintf("%s.inf", blk);
    for (size_t i = 0; i < 3 && chain[i] && !sn; i++)
        if (find_file(&set, chain[i], sys_name) && find_file(&set, chain[i], inf_name))
            sn = chain[i];
    if (!sn) {
        hk_buf looked = {0};
        for (size_t i = 0; i < 3 && chain[i]; i++)
            hk_buf_printf(&looked, "%s%s/%s/%s, drivers/by-os/%s/%s", i ? ", " : "", blk, chain[i],
                          w->arch, w->arch, chain[i]);
        hk_fix_fail(res,
                    "refused, nothing changed: no %s driver for %s (Windows %d.%d build %d, "
                    "%s, %s) in %s; looked in %s",
                    blk, w->product_name ? w->product_name : "Windows", w->major_version,
                    w->minor_version, w->build, w->os_short, w->arch, src,
                    looked.data ? looked.data : "");
        hk_buf_free(&looked);
        free(sys_name);
        free(inf_name);
        drv_set_free(&set);
        return 0;
    }

    /* the hives, read and changed in private copies; refused when they do not parse */
    char *tmp = NULL;
    hk_hive *sys = NULL, *sw = NULL;
    char *sys_path = guestfs_inspect_get_windows_system_hive(g, fx->gfs->root);
    char *sw_path = guestfs_inspect_get_windows_software_hive(g, fx->gfs->root);
    bool dry = fx->opts.dry_run != 0;
    rc = hk_temp_dir(ctx, "h2k-win-", "registry copies", &tmp);
    if (rc == 0)
        rc = sys_path ? hk_hive_open_guest(ctx, g, sys_path, "SYSTEM", tmp, true, dry, &sys)
                      : hk_error(ctx, H2K_ERR_GUEST_DETECTION, "no SYSTEM hive");
    if (rc == 0)
        rc = sw_path ? hk_hive_open_guest(ctx, g, sw_path, "SOFTWARE", tmp, true, dry, &sw)
                     : hk_error(ctx, H2K_ERR_GUEST_DETECTION, "no SOFTWARE hive");
    bool ddb = false;
    if (rc == 0 && (rc = bind_boot_driver(sys, w->current_control_set, blk, w->arch, &ddb)) < 0 &&
        rc == H2K_ERR_NO_MEMORY)
        rc = hk_error_nomem(ctx);
    if (rc == 0)
        rc = add_device_path(sw);
    if (rc < 0) {
        hk_fix_fail(res, "refused, nothing changed: %s", h2k_ctx_last_error(ctx)->message);
        goto out;
    }

    /* decided: from here on the guest is written (unless dry run) */
    if ((rc = hk_fix_windows_writable(fx)) < 0) {
        hk_fix_fail(res, "cannot mount Windows read-write: %s", h2k_ctx_last_error(ctx)->message);
        goto out;
    }
    char *vdir_r = guest_path_nocase(g, w->system_root, "Drivers/VirtIO");
    char *drv_dir_r = guest_path_nocase(g, w->system_root, "System32/drivers");
    if (!vdir_r || !drv_dir_r)
        hk_fix_fail(res, "no memory");
    size_t copied = 0;
    for (size_t i = 0; vdir_r && drv_dir_r && i < set.n; i++) {
        const drv_file *f = &set.v[i];
        if (!hk_streq_nocase(f->short_name, sn))
            continue;
        char *dst = hk_asprintf("%s/%s", vdir_r, f->name);
        char *note = hk_asprintf("%zu bytes from virtio-win %s/%s", f->len, f->folder, f->name);
        if (dst && note && hk_fix_write_binary(fx, res, dst, f->data, f->len, note) == 0)
            copied++;
        free(dst);
        free(note);
        if (hk_streq_nocase(f->name, sys_name)) {
            char *boot = hk_asprintf("%s/%s", drv_dir_r, sys_name);
            char *n2 = hk_asprintf("the boot-start %s driver (%s/%s)", blk, f->folder, f->name);
            if (boot && n2)
                hk_fix_write_binary(fx, res, boot, f->data, f->len, n2);
            free(boot);
            free(n2);
        }
    }
    /* the first boot: same SYSTEM hive, same result */
    hk_buf fbsum = {0};
    char *win_dir = NULL;
    if (res->status != H2K_FIX_STATUS_FAILED) {
        char d = system_drive(fx, w);
        hk_buf wd = {0};
        hk_buf_printf(&wd, "%c:", d);
        for (const char *p = w->system_root; *p; p++)
            hk_buf_printf(&wd, "%c", *p == '/' ? '\\' : *p);
        hk_buf_printf(&wd, "\\" VIRTIO_DIR);
        win_dir = wd.data;
        if (win_dir)
            install_firstboot(fx, res, sys, w, win_dir, &fbsum);
    }
    if (res->status == H2K_FIX_STATUS_FAILED) {
        free(vdir_r);
        free(drv_dir_r);
        free(win_dir);
        hk_buf_free(&fbsum);
        goto out;
    }
    if ((rc = hk_hive_commit(sys)) < 0 || (rc = hk_hive_commit(sw)) < 0) {
        hk_fix_fail(res, "%s", h2k_ctx_last_error(ctx)->message);
        free(vdir_r);
        free(drv_dir_r);
        free(win_dir);
        hk_buf_free(&fbsum);
        goto out;
    }
    size_t n = 0;
    h2k_registry_change *c = hk_hive_take_changes(sys, &n);
    hk_fix_take_registry(res, c, n);
    c = hk_hive_take_changes(sw, &n);
    hk_fix_take_registry(res, c, n);
    fx->virtio_ready = 1;
    free(res->message);
    res->message = hk_asprintf(
        "%s: %s made a boot-start service (%s) from virtio-win %s/%s; %zu driver file%s in "
        "%%SystemRoot%%\\" VIRTIO_DIR " (DevicePath)%s%s; %zu registry change%s",
        sn, blk, ddb ? "driver database" : "CriticalDeviceDatabase", sn, w->arch, copied,
        copied == 1 ? "" : "s", res->status == H2K_FIX_STATUS_UNCHANGED ? ", already in place" : "",
        fbsum.data ? fbsum.data : "", res->n_registry_changes,
        res->n_registry_changes == 1 ? "" : "s");
    free(win_dir);
    hk_buf_free(&fbsum);
    if (fx->id->firmware == H2K_FIRMWARE_UEFI)
        check_esp(fx, res, w->system_root);
    free(vdir_r);
    free(drv_dir_r);
out:
    hk_hive_close(sys);
    hk_hive_close(sw);
    if (tmp)
        rmdir(tmp);
    free(tmp);
    free(sys_path);
    free(sw_path);
    free(sys_name);
    free(inf_name);
    drv_set_free(&set);
    return 0;
}
