/*
 * Windows drive letters: the \DosDevices\X: values of HKLM\SYSTEM\MountedDevices
 * resolved to the guest's partitions.
 *
 * A value names a volume in one of two binary forms: 12 bytes (an MBR disk's
 * 32-bit signature, little-endian, then the partition's start in bytes, 64-bit
 * little-endian), or 24 bytes "DMIO:ID:" followed by a GPT partition's unique
 * GUID in Windows' binary layout (first three fields little-endian).  Other
 * forms (a UTF-16 device path of a CD-ROM or removable disk) name no partition
 * and are left out.
 *
 * The parsing and matching are pure (tested on hive data without a guest);
 * hk_win_drive_parts() reads the partitions through libguestfs.
 *
 * Concurrency: no shared state; any thread.
 */
#ifndef HK_GUEST_WIN_DRIVES_H
#define HK_GUEST_WIN_DRIVES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <guestfs.h>

#include "core/internal.h"

enum {
    HK_WIN_MOUNT_MBR = 1,
    HK_WIN_MOUNT_GPT = 2
};

/* One parsed \DosDevices\X: value. */
typedef struct hk_win_mount {
    char letter;      /* 'C'... (upper case) */
    int kind;         /* HK_WIN_MOUNT_MBR or HK_WIN_MOUNT_GPT */
    uint32_t mbr_sig; /* MBR: the disk signature */
    uint64_t offset;  /* MBR: the partition's start in bytes */
    char guid[37];    /* GPT: the partition GUID, "XXXXXXXX-XXXX-..." upper case */
} hk_win_mount;

/* One partition of the guest as its partition table describes it. */
typedef struct hk_win_part {
    char *device;     /* "/dev/sda1" */
    bool gpt;         /* on a GPT disk (else MBR) */
    uint32_t mbr_sig; /* MBR disks: the signature at byte 440 of the disk */
    uint64_t start;   /* start in bytes */
    char *guid;       /* GPT: the partition's unique GUID (any case) */
} hk_win_part;

/* Parses one value of MountedDevices.  Returns 1 and fills *out for a
 * "\DosDevices\X:" value in one of the two partition forms, 0 for any other
 * value (another name, another form: nothing to resolve). */
int hk_win_mount_parse(const char *name, const void *data, size_t len, hk_win_mount *out);

/* The device of the partition @m names among @parts, or NULL (a disk that is
 * not part of this VM, a partition that moved).  Points into @parts. */
const char *hk_win_mount_resolve(const hk_win_mount *m, const hk_win_part *parts, size_t n);

/* The partitions of every disk of @g (an MBR disk's signature read from its
 * byte 440, a GPT partition's GUID from the table).  0 and *out (caller frees
 * with hk_win_parts_free()) or a negative code recorded on @ctx. */
int hk_win_drive_parts(h2k_ctx *ctx, guestfs_h *g, hk_win_part **out, size_t *n);

/* Frees what hk_win_drive_parts() returned.  NULL allowed. */
void hk_win_parts_free(hk_win_part *parts, size_t n);

#endif
