/*
 * Pure text transforms of guest configuration files: text in, text and a list
 * of notes out.  No I/O: the fixers (src/fix/fix_*.c) read files through
 * libguestfs, call a transform, write the result back and record the change.
 * Every transform is idempotent: applied to its own output it changes nothing.
 */
#ifndef HK_FIX_XFORM_H
#define HK_FIX_XFORM_H

#include <stdbool.h>
#include <stddef.h>

/* Output of a transform. */
typedef struct hk_xform_out {
    char *text; /* new contents (malloc'd), or NULL when nothing changed */
    size_t n_notes;
    char **notes; /* one human-readable line per change ("line 3: /dev/sda1 -> UUID=...") */
} hk_xform_out;

/* Frees text and notes; leaves @o zeroed. */
void hk_xform_out_clear(hk_xform_out *o);
/* Appends a formatted note; returns false on allocation failure. */
bool hk_xform_note(hk_xform_out *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

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

#endif
