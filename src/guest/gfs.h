/*
 * One libguestfs handle per guest: every disk of the VM added with its format
 * pinned, one appliance launch, the guest inspected and its file systems
 * mounted.  Shared by detection and every fixer so that the appliance is
 * launched once per migrated VM.
 */
#ifndef HK_GUEST_GFS_H
#define HK_GUEST_GFS_H

#include <stdbool.h>
#include <stddef.h>

#include <guestfs.h>

#include "core/devmap.h"
#include "core/internal.h"
#include "fsread.h"
#include "hyper2kvm/h2k_guest.h"

typedef struct hk_gfs_watch hk_gfs_watch;

typedef struct hk_gfs {
    h2k_ctx *ctx;
    guestfs_h *g;
    bool readonly;
    size_t n_disks;
    char *root;          /* the inspected root device, once hk_gfs_inspect_mount() ran */
    hk_fsread fs;        /* a view of the mounted guest */
    hk_gfs_watch *watch; /* the cancel watcher (gfs.c) */
    bool mounted_ro;     /* a writable Windows guest, mounted read-only until
                            hk_gfs_remount_rw() (so that a refusal writes nothing) */
    hk_dev *devs;        /* the file systems of hk_gfs_devices(), owned */
    hk_devmap devmap;    /* over devs, once built */
    bool have_devmap;
    char **own_mounts; /* (mount point, mountable) pairs, NULL-terminated, "/" first,
                          when the guest was mounted from its own fstab
                          (gfs_mount.c) instead of by libguestfs inspection */
} hk_gfs;

/* Creates a handle with @disks (formats given or probed; never guessed by
 * libguestfs) and launches the appliance.  @readonly adds the disks
 * read-only.  Caller closes with hk_gfs_close().
 *
 * Cancellation: a watcher thread follows the handle from before the launch to
 * hk_gfs_close().  Once h2k_ctx_cancel() is called on @ctx it kills the
 * appliance (SIGKILL to the qemu child of the direct backend, found by its
 * socket folder while the launch runs), so the libguestfs call in flight
 * (launch, a long guest command, fstrim) fails at once instead of running to
 * its end; from then on hk_gfs_error() records H2K_ERR_CANCELLED.  A killed
 * appliance wrote nothing more: a writable disk is left as the last completed
 * call left it (possibly half-repaired).  With the libvirt backend the cancel
 * is only seen between calls. */
int hk_gfs_open(h2k_ctx *ctx, const char *const *disks, const char *const *formats, size_t n_disks,
                bool readonly, hk_gfs **out);

/* Finds the guest's operating system (exactly one, else
 * H2K_ERR_GUEST_DETECTION) and mounts its file systems at their mount points.
 * A Linux guest is mounted from what its own files say (hk_gfs_mount_own());
 * libguestfs inspection (inspect_os) is the fallback, and the way for Windows
 * and for what the guest's fstab does not resolve. */
int hk_gfs_inspect_mount(hk_gfs *gfs);

/* Mounts a Linux guest without libguestfs inspection: the one file system
 * holding /etc/fstab and an OS release file is the root, and what its fstab
 * names (hk_fstab_mounts_resolve()) is mounted below it.  Returns 1 when
 * mounted (gfs->root and gfs->own_mounts set), 0 when this way does not
 * apply (no Linux root, more than one, an fstab entry it cannot resolve:
 * nothing is left mounted, the caller inspects), or an error code. */
int hk_gfs_mount_own(hk_gfs *gfs);

/* The guest's file systems (device, type, disk and partition, UUID, label),
 * read from the appliance on the first call and kept until hk_gfs_close().
 * Returns 0 with *out set, or an error code. */
int hk_gfs_devices(hk_gfs *gfs, const hk_devmap **out);

/* Frees what hk_gfs_devices() kept (called by hk_gfs_close()). */
void hk_gfs_devices_free(hk_gfs *gfs);

/* Remounts the file systems of a guest mounted read-only by
 * hk_gfs_inspect_mount() (Windows) read-write; 0 when already so. */
int hk_gfs_remount_rw(hk_gfs *gfs);

/* Unmounts the guest and flushes every disk through to its image file, the
 * appliance staying up: another process may then read the images (shared
 * mode) and see them complete.  hk_gfs_remount() mounts the guest again. */
int hk_gfs_quiesce(hk_gfs *gfs);

/* Mounts the file systems of a guest unmounted by hk_gfs_quiesce() again
 * (read-write on a writable handle). */
int hk_gfs_remount(hk_gfs *gfs);

/* Fills an identity from libguestfs inspection and the guest's files. */
int hk_gfs_identity(hk_gfs *gfs, h2k_guest_identity **out);

/* A deep copy of @id (the caller frees it with h2k_guest_identity_free()).
 * Returns 0, or H2K_ERR_NO_MEMORY recorded on @ctx. */
int hk_guest_identity_dup(h2k_ctx *ctx, const h2k_guest_identity *id, h2k_guest_identity **out);

/* Unmounts, syncs and shuts the appliance down; returns 0 or an error when a
 * writable guest could not be flushed.  After a cancel the appliance is only
 * stopped (nothing flushed) and 0 is returned.  NULL allowed. */
int hk_gfs_close(hk_gfs *gfs);

/* Records libguestfs's last error on the context with @what as context;
 * H2K_ERR_CANCELLED instead of @code once the context was cancelled. */
int hk_gfs_error(hk_gfs *gfs, int code, const char *what);

/* True once the watcher killed the appliance after a cancel. */
bool hk_gfs_killed(const hk_gfs *gfs);

#endif
