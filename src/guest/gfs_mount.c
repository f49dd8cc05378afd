/*
 * The guest's file systems as the appliance sees them, and a Linux guest
 * mounted from its own fstab instead of by libguestfs inspection (gfs.h).
 *
 * inspect_os mounts every file system and reads dozens of files on each to
 * recognise any operating system; under TCG that is about half of the
 * appliance's start.  A Linux guest says itself what it mounts: the root is
 * the one file system with /etc/fstab and a release file, and its fstab
 * names the others.  File systems that fstab names are not probed as roots
 * (they belong to this one), so a usual guest costs one or two probe mounts.
 */
#include <stdlib.h>
#include <string.h>

#include "fstab_mounts.h"
#include "gfs.h"

#define FSTAB_MAX (1u << 20)

/* File system types a Linux root can have. */
static const char *const root_types[] = {"ext2",  "ext3", "ext4",     "xfs",
                                         "btrfs", "jfs",  "reiserfs", "f2fs"};

static void
free_devs(hk_gfs *gfs)
{
    for (size_t i = 0; i < gfs->devmap.n; i++) {
        free((char *)gfs->devs[i].device);
        free((char *)gfs->devs[i].fstype);
        free((char *)gfs->devs[i].uuid);
        free((char *)gfs->devs[i].label);
        free((char *)gfs->devs[i].partuuid);
    }
    free(gfs->devs);
    gfs->devs = NULL;
    memset(&gfs->devmap, 0, sizeof(gfs->devmap));
    gfs->have_devmap = false;
}

/* A libguestfs string, or NULL when empty (adopted: the caller frees). */
static char *
nonempty(char *s)
{
    if (s && !*s) {
        free(s);
        return NULL;
    }
    return s;
}

int
hk_gfs_devices(hk_gfs *gfs, const hk_devmap **out)
{
    if (gfs->have_devmap) {
        *out = &gfs->devmap;
        return 0;
    }
    guestfs_h *g = gfs->g;
    char **disks = guestfs_list_devices(g);
    char **fss = disks ? guestfs_list_filesystems(g) : NULL;
    if (!disks || !fss) {
        hk_strv_free(disks);
        return hk_gfs_error(gfs, H2K_ERR_GUEST_DETECTION, "listing the guest's file systems");
    }
    size_t nfs = hk_strv_len(fss) / 2;
    gfs->devs = calloc(nfs ? nfs : 1, sizeof(hk_dev));
    if (!gfs->devs) {
        hk_strv_free(disks);
        hk_strv_free(fss);
        return hk_error_nomem(gfs->ctx);
    }
    size_t k = 0;
    for (size_t i = 0; i < nfs; i++) {
        const char *dev = fss[2 * i], *type = fss[2 * i + 1];
        if (!strcmp(type, "unknown") || !strcmp(type, ""))
            continue;
        hk_dev *d = &gfs->devs[k];
        d->device = strdup(dev);
        d->fstype = strdup(type);
        d->disk_index = -1;
        d->partition = 0;
        int pn = guestfs_part_to_partnum(g, dev);
        char *parent = pn > 0 ? guestfs_part_to_dev(g, dev) : NULL;
        const char *whole = parent ? parent : dev;
        for (size_t di = 0; disks[di]; di++)
            if (strcmp(disks[di], whole) == 0)
                d->disk_index = (int)di;
        if (pn > 0 && d->disk_index >= 0)
            d->partition = pn;
        free(parent);
        d->uuid = nonempty(guestfs_vfs_uuid(g, dev));
        d->label = nonempty(guestfs_vfs_label(g, dev));
        hk_debug(gfs->ctx, "guestfs", "device %s: disk %d part %d %s uuid %s label %s", dev,
                 d->disk_index, d->partition, type, d->uuid ? d->uuid : "-",
                 d->label ? d->label : "-");
        k++;
        gfs->devmap.n = k; /* so that free_devs() sees it */
        if (!d->device || !d->fstype) {
            hk_strv_free(disks);
            hk_strv_free(fss);
            free_devs(gfs);
            return hk_error_nomem(gfs->ctx);
        }
    }
    gfs->devmap.devs = gfs->devs;
    gfs->devmap.n = k;
    gfs->devmap.n_disks = (int)hk_strv_len(disks);
    gfs->have_devmap = true;
    hk_strv_free(disks);
    hk_strv_free(fss);
    *out = &gfs->devmap;
    return 0;
}

void
hk_gfs_devices_free(hk_gfs *gfs)
{
    free_devs(gfs);
}

static bool
root_type(const char *type)
{
    for (size_t i = 0; i < HK_ARRAY_LEN(root_types); i++)
        if (type && strcmp(type, root_types[i]) == 0)
            return true;
    return false;
}

static bool
exists(guestfs_h *g, const char *path)
{
    return guestfs_exists(g, path) == 1;
}

/* With a candidate mounted on /: a Linux root says what it mounts and what it is. */
static bool
looks_like_root(guestfs_h *g)
{
    static const char *const release[] = {"/etc/os-release",     "/usr/lib/os-release",
                                          "/etc/redhat-release", "/etc/SuSE-release",
                                          "/etc/debian_version", "/etc/lsb-release"};
    if (!exists(g, "/etc/fstab") || !(exists(g, "/usr/bin") || exists(g, "/bin")))
        return false;
    for (size_t i = 0; i < HK_ARRAY_LEN(release); i++)
        if (exists(g, release[i]))
            return true;
    return false;
}

/* True when a root found before names @dev in its fstab (or is it). */
static bool
claimed(const hk_devmap *map, char *const *claims, size_t n, const char *dev)
{
    const char *plain = hk_mountable_device(map, dev);
    for (size_t i = 0; i < n; i++)
        if (strcmp(claims[i], dev) == 0 || strcmp(claims[i], plain) == 0)
            return true;
    return false;
}

/* The pairs of gfs->own_mounts: "/" on @root, then @m's. */
static int
set_own_mounts(hk_gfs *gfs, const char *root, const hk_fstab_mounts *m)
{
    char **v = calloc(2 * (m->n + 1) + 1, sizeof(char *));
    if (!v)
        return hk_error_nomem(gfs->ctx);
    bool ok = (v[0] = strdup("/")) && (v[1] = strdup(root));
    for (size_t i = 0; ok && i < m->n; i++)
        ok = (v[2 + 2 * i] = strdup(m->mountpoint[i])) && (v[3 + 2 * i] = strdup(m->mountable[i]));
    if (!ok || !(gfs->root = strdup(root))) {
        hk_strv_free(v);
        return hk_error_nomem(gfs->ctx);
    }
    gfs->own_mounts = v;
    return 0;
}

int
hk_gfs_mount_own(hk_gfs *gfs)
{
    guestfs_h *g = gfs->g;
    const hk_devmap *map;
    int rc = hk_gfs_devices(gfs, &map);
    if (rc < 0)
        return rc;
    char *root = NULL;
    hk_fstab_mounts mounts = {0};
    char **claims = NULL;
    size_t n_claims = 0;
    int result = 0;
    const char *why = NULL;
    for (size_t i = 0; i < map->n && !why; i++) {
        const hk_dev *d = &map->devs[i];
        if (!root_type(d->fstype) || claimed(map, claims, n_claims, d->device))
            continue;
        if ((rc = hk_check_cancel(gfs->ctx)) < 0) {
            result = rc;
            break;
        }
        if (guestfs_mount_ro(g, d->device, "/") < 0) {
            hk_debug(gfs->ctx, "guestfs", "%s does not mount: %s", d->device,
                     guestfs_last_error(g));
            continue;
        }
        bool is_root = looks_like_root(g);
        char *fstab = NULL;
        size_t len = 0;
        if (is_root && !root)
            fstab = guestfs_read_file(g, "/etc/fstab", &len);
        guestfs_umount_all(g);
        if (!is_root) {
            free(fstab);
            continue;
        }
        if (root) {
            why = "more than one Linux root file system";
            free(fstab);
            break;
        }
        if (!fstab || len > FSTAB_MAX || memchr(fstab, '\0', len)) {
            why = "its /etc/fstab cannot be read as text";
            free(fstab);
            break;
        }
        rc = hk_fstab_mounts_resolve(fstab, map, &mounts);
        free(fstab);
        if (rc < 0) {
            result = hk_error_nomem(gfs->ctx);
            break;
        }
        if (mounts.unresolved) {
            hk_info(gfs->ctx, "guestfs", "the guest's /etc/fstab, %s: inspecting instead",
                    mounts.unresolved);
            why = "an fstab entry";
            break;
        }
        if (!(root = strdup(d->device)) || !hk_strv_add(&claims, &n_claims, d->device) ||
            !hk_strv_add(&claims, &n_claims, hk_mountable_device(map, d->device))) {
            result = hk_error_nomem(gfs->ctx);
            break;
        }
        for (size_t c = 0; c < mounts.n_claimed; c++)
            if (!hk_strv_add(&claims, &n_claims, mounts.claimed[c])) {
                result = hk_error_nomem(gfs->ctx);
                break;
            }
    }
    if (result == 0 && !why && root) {
        result = set_own_mounts(gfs, root, &mounts);
        if (result == 0) {
            hk_info(gfs->ctx, "guestfs", "Linux root %s, %zu more file system%s from its fstab",
                    root, mounts.n, mounts.n == 1 ? "" : "s");
            result = 1;
        }
    } else if (result == 0 && why && !mounts.unresolved) {
        hk_info(gfs->ctx, "guestfs", "%s: inspecting instead", why);
    }
    hk_strv_clear(&claims, &n_claims);
    hk_fstab_mounts_free(&mounts);
    free(root);
    return result;
}
