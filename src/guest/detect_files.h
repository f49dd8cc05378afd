/* Guest detection from files, shared by the directory and libguestfs detectors. */
#ifndef HK_GUEST_DETECT_FILES_H
#define HK_GUEST_DETECT_FILES_H

#include "fsread.h"
#include "hyper2kvm/h2k_guest.h"

/* Fills @id from the guest files behind @fs: OS identity, init system, package
 * manager, hostname, architecture, kernels and their virtio modules, VMware
 * tools, SELinux mode, network stack, and (when @fstab_mounts) mounts and root
 * device from /etc/fstab.  Fields already set in @id are kept.  Returns 0, or
 * H2K_ERR_GUEST_DETECTION when no operating system is recognised. */
int hk_guest_detect_files(h2k_ctx *ctx, const hk_fsread *fs, h2k_guest_identity *id,
                          bool fstab_mounts);

/* Appends the mount of @dev on @mp to @id (copies); false on allocation
 * failure. */
bool hk_guest_add_mount(h2k_guest_identity *id, const char *dev, const char *mp);

/* Parses "KEY=value" / KEY="value" text (os-release, lsb-release, sysconfig):
 * returns the unquoted value of @key (caller frees) or NULL. */
char *hk_shellvar_get(const char *text, const char *key);

#endif
