/*
 * The block devices of a guest and the device references its configuration
 * files use ("/dev/sda1", "/dev/disk/by-path/...", "UUID=..."): shared by the
 * guest's own mounting (guest/gfs_mount.c) and the text transforms of the
 * fixers (fix/xform.h).  Pure: no I/O; every function may run concurrently.
 */
#ifndef HK_CORE_DEVMAP_H
#define HK_CORE_DEVMAP_H

#include <stdbool.h>
#include <stddef.h>

/* One block device of the guest as the source VM saw it. */
typedef struct hk_dev {
    const char *device; /* name in the source VM: "/dev/sda1", "/dev/sdb", "/dev/mapper/vg-root" */
    int disk_index;     /* 0 for sda/hda/vda, 1 for sdb, ...; -1 for non-partition devices (LVM) */
    int partition;      /* 1-based partition number, 0 for a whole disk */
    const char *uuid;   /* filesystem or swap UUID, or NULL */
    const char *label;  /* filesystem label, or NULL */
    const char *fstype; /* "ext4", "xfs", "swap", "vfat", "crypto_LUKS", ... or NULL */
    const char *partuuid; /* GPT/MBR partition UUID, or NULL */
} hk_dev;

/* The devices of a guest. */
typedef struct hk_devmap {
    const hk_dev *devs;
    size_t n;
    int n_disks; /* number of disks of the VM */
} hk_devmap;

/* Finds the device that a device reference in a config file names: "/dev/sda1",
 * "/dev/hdb2", "/dev/xvda1", "/dev/disk/by-path/pci-...-scsi-0:0:1:0-part2",
 * "/dev/disk/by-id/scsi-...-part1" (by-id/by-path: mapped by target/partition
 * where unambiguous).  Returns NULL when unknown or ambiguous. */
const hk_dev *hk_devmap_lookup(const hk_devmap *map, const char *ref);

/* True for references that depend on the source hypervisor's disk naming
 * (/dev/sdX, /dev/hdX, /dev/disk/by-path/..., /dev/disk/by-id/...) and so must
 * be replaced; false for UUID=, LABEL=, PARTUUID=, /dev/mapper/..., LVM paths. */
bool hk_devref_is_unstable(const char *ref);

/* True for a floppy or optical drive: /dev/floppy*, /dev/cdrom*, /dev/cdrw*,
 * /dev/dvd*, and /dev/fd, /dev/sr, /dev/scd with nothing or a number after
 * them.  Never a disk of the VM. */
bool hk_devref_is_removable(const char *ref);

/* Strict parse of a kernel disk name "/dev/(sd|hd|xvd|vd)<letters>[<digits>]":
 * returns true and the 0-based disk index and partition (0 = whole disk).
 * @prefix_out (optional) gets the length of "sd"/"hd"/"xvd"/"vd". */
bool hk_parse_disk_name(const char *ref, int *disk_out, int *part_out, size_t *prefix_out);

/* Spells the 0-based disk index @idx as kernel letters ("a", "z", "aa");
 * @out needs 8 bytes.  Returns false for a negative or huge index. */
bool hk_disk_letters(int idx, char out[8]);

#endif
