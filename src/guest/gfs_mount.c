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

#include "core/devmap.h"
#include "fstab_mounts.h"
#include "gfs.h"

#define FSTAB_MAX (1u << 20)

/* File system types a Linux root can have. */
static const char *const root_types[] = {"ext2",  "ext3", "ext4",     "xfs",
                                         "btrfs", "jfs",  "reiserfs", "f2fs"};

void
hk_gfs_devices_free(hk_gfs *gfs)
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

/* The value of @key in a libguestfs hash (key, value, ..., NULL), or NULL. */
static const char *
hash_get(char *const *h, const char *key)
{
    for (size_t i = 0; h && h[i] && h[i + 1]; i += 2)
        if (strcmp(h[i], key) == 0)
            return *h[i + 1] ? h[i + 1] : NULL;
    return NULL;
}

/* Appends a device; the strings are copied.  False on allocation failure. */
static bool
add_dev(hk_gfs *gfs, size_t *cap, const char *device, const char *type, const char *uuid,
        const char *label, const char *partuuid, int disk, int part)
{
    if (gfs->devmap.n == *cap) {
        size_t nc = *cap ? 2 * *cap : 16;
        hk_dev *nd = realloc(gfs->devs, nc * sizeof(*nd));
        if (!nd)
            return false;
        gfs->devs = nd;
        gfs->devmap.devs = nd;
        *cap = nc;
    }
    hk_dev *d = &gfs->devs[gfs->devmap.n++];
    memset(d, 0, sizeof(*d));
    d->device = strdup(device);
    d->fstype = strdup(type);
    d->uuid = hk_strdup0(uuid);
    d->label = hk_strdup0(label);
    d->partuuid = hk_strdup0(partuuid);
    d->disk_index = disk;
    d->partition = part;
    return d->device && d->fstype && (!uuid || d->uuid) && (!label || d->label) &&
           (!partuuid || d->partuuid);
}

/* The subvolumes of the btrfs file system on @dev, as "btrfsvol:DEV/PATH". */
static bool
add_subvolumes(hk_gfs *gfs, size_t *cap, const char *dev, const char *uuid)
{
    guestfs_h *g = gfs->g;
    if (guestfs_mount_ro(g, dev, "/") < 0)
        return true; /* its subvolumes are not known: only the volume is listed */
    struct guestfs_btrfssubvolume_list *l = guestfs_btrfs_subvolume_list(g, "/");
    bool ok = true;
    for (size_t i = 0; l && ok && i < l->len; i++) {
        char *vol = hk_asprintf("btrfsvol:%s/%s", dev, l->val[i].btrfssubvolume_path);
        ok = vol && add_dev(gfs, cap, vol, "btrfs", uuid, NULL, NULL, -1, 0);
        free(vol);
    }
    if (l)
        guestfs_free_btrfssubvolume_list(l);
    guestfs_umount_all(g);
    return ok;
}

/* Probes one block device with blkid and lists what it holds (@disk: its
 * index among the VM's disks or -1, @part: its partition number or 0). */
static bool
probe_device(hk_gfs *gfs, size_t *cap, const char *dev, int disk, int part)
{
    char **h = guestfs_blkid(gfs->g, dev);
    const char *type = hash_get(h, "TYPE");
    bool ok = true;
    /* a PV, a RAID member or nothing known: not a file system */
    if (type && strcmp(type, "LVM2_member") != 0 && strcmp(type, "linux_raid_member") != 0) {
        const char *uuid = hash_get(h, "UUID"), *label = hash_get(h, "LABEL");
        ok = add_dev(gfs, cap, dev, type, uuid, label, hash_get(h, "PARTUUID"), disk, part);
        hk_debug(gfs->ctx, "guestfs", "device %s: disk %d part %d %s uuid %s label %s", dev, disk,
                 part, type, uuid ? uuid : "-", label ? label : "-");
        if (ok && strcmp(type, "btrfs") == 0)
            ok = add_subvolumes(gfs, cap, dev, uuid);
    }
    hk_strv_free(h);
    return ok;
}

/* True when some partition in @parts is on the disk @dev. */
static bool
has_partitions(char *const *parts, const char *dev)
{
    size_t l = strlen(dev);
    for (size_t i = 0; parts && parts[i]; i++)
        if (strncmp(parts[i], dev, l) == 0 && parts[i][l] >= '0' && parts[i][l] <= '9')
            return true;
    return false;
}

/*
 * One blkid per block device: whole disks without a partition table,
 * partitions, logical volumes and RAID devices, and the subvolumes of each
 * btrfs file system.  libguestfs's list_filesystems gives the same list but
 * probes every device several times (8 to 11 s under TCG for four file
 * systems, against about 2 s this way), and the UUIDs and labels then need
 * a call each.
 */
int
hk_gfs_devices(hk_gfs *gfs, const hk_devmap **out)
{
    if (gfs->have_devmap) {
        *out = &gfs->devmap;
        return 0;
    }
    guestfs_h *g = gfs->g;
    char **disks = guestfs_list_devices(g);
    char **parts = disks ? guestfs_list_partitions(g) : NULL;
    char **lvs = parts ? guestfs_lvs(g) : NULL;
    char **mds = lvs ? guestfs_list_md_devices(g) : NULL;
    int rc = 0;
    if (!mds) {
        rc = hk_gfs_error(gfs, H2K_ERR_GUEST_DETECTION, "listing the guest's block devices");
        goto done;
    }
    size_t cap = 0, n_disks = hk_strv_len(disks);
    bool ok = true;
    for (size_t i = 0; ok && i < n_disks; i++)
        if (!has_partitions(parts, disks[i]))
            ok = probe_device(gfs, &cap, disks[i], (int)i, 0);
    for (size_t i = 0; ok && parts[i]; i++) {
        /* the appliance names a partition after its disk: sdb2 is partition 2 of disk 1 */
        int disk, part;
        if (!hk_parse_disk_name(parts[i], &disk, &part, NULL) || part == 0 ||
            (size_t)disk >= n_disks)
            disk = -1, part = 0;
        ok = probe_device(gfs, &cap, parts[i], disk, part);
    }
    for (size_t i = 0; ok && lvs[i]; i++)
        ok = probe_device(gfs, &cap, lvs[i], -1, 0);
    for (size_t i = 0; ok && mds[i]; i++)
        ok = probe_device(gfs, &cap, mds[i], -1, 0);
    if (!ok) {
        hk_gfs_devices_free(gfs);
        rc = hk_error_nomem(gfs->ctx);
        goto done;
    }
    gfs->devmap.devs = gfs->devs;
    gfs->devmap.n_disks = (int)n_disks;
    gfs->have_devmap = true;
    *out = &gfs->devmap;
done:
    hk_strv_free(disks);
    hk_strv_free(parts);
    hk_strv_free(lvs);
    hk_strv_free(mds);
    return rc;
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
    for (size_t i = 0; i < map->n && !why && result == 0; i++) {
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
        for (size_t c = 0; c < mounts.n && result == 0; c++)
            if (!hk_strv_add(&claims, &n_claims, hk_mountable_device(map, mounts.mountable[c])))
                result = hk_error_nomem(gfs->ctx);
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
