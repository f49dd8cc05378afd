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

/* The x86-64 level (1 to 4, as in x86-64-v2 = 2) the OS @os_id (os-release's
 * ID) of major version @major is built for, so that a CPU below it cannot run
 * it: the Red Hat family needs v2 from 9 and v3 from 10, SLES and Amazon
 * Linux 2023 need v2, the other distributions named here run on any x86-64.
 * 0 when not known (any other OS, a rolling release, Windows). */
unsigned hk_guest_x86_level(const char *os_id, int major);

#endif
