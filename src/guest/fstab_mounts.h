/*
 * What a Linux guest's /etc/fstab mounts, resolved to the devices of the
 * appliance that holds its disks: the guest is then mounted from its own
 * files, without libguestfs inspection (gfs_mount.c).  Pure: no I/O; may run
 * concurrently on different inputs.
 */
#ifndef HK_GUEST_FSTAB_MOUNTS_H
#define HK_GUEST_FSTAB_MOUNTS_H

#include <stdbool.h>
#include <stddef.h>

#include "core/devmap.h"

/* The mounts of an fstab, besides "/". */
typedef struct hk_fstab_mounts {
    size_t n;
    char **mountpoint; /* "/boot", "/home", ... (octal escapes decoded) */
    char **mountable;  /* "/dev/sda2", "/dev/vg/home", "btrfsvol:/dev/sda1/@home"; the
                          device it claims is hk_mountable_device() of it */
    char *unresolved;  /* NULL, or why the fstab cannot be followed ("line 4: ...") */
} hk_fstab_mounts;

/* Resolves the local block file systems that @fstab mounts at boot against
 * @map (the appliance's file systems: device, type, UUID, label; btrfs
 * subvolumes as "btrfsvol:DEV/NAME" entries).  Left out: "/", swap, pseudo
 * and network file systems, bind mounts, "noauto" entries, removable media,
 * and references that cannot be resolved on an entry marked "nofail".  Any
 * other reference that cannot be resolved (PARTUUID=, subvolid=, a device no
 * disk has) sets out->unresolved and leaves the mounts empty: the caller
 * falls back to inspection.  Returns 0 or H2K_ERR_NO_MEMORY; @out is
 * zero-initialised by the caller and freed with hk_fstab_mounts_free(). */
int hk_fstab_mounts_resolve(const char *fstab, const hk_devmap *map, hk_fstab_mounts *out);

/* The plain device of @mountable: "/dev/sda1" for "btrfsvol:/dev/sda1/@"
 * when @map lists /dev/sda1, else @mountable itself (a pointer into @map or
 * @mountable). */
const char *hk_mountable_device(const hk_devmap *map, const char *mountable);

void hk_fstab_mounts_free(hk_fstab_mounts *m);

#endif
