/*
 * Windows facts of an inspected guest: version, edition, control set, drive
 * letters, hibernation, VMware Tools and per-adapter network settings, read
 * from the registry hives (read-only copies) and the system volume.
 */
#ifndef HK_GUEST_WIN_INSPECT_H
#define HK_GUEST_WIN_INSPECT_H

#include <stdbool.h>

#include "gfs.h"

/* Fills id->windows (and id->vmware_tools) for a Windows guest whose file
 * systems are mounted.  A hive that does not parse is H2K_ERR_GUEST_DETECTION
 * naming it. */
int hk_win_inspect(hk_gfs *gfs, h2k_guest_identity *id);

/* After libguestfs inspection failed in its registry reader (inspect_os names
 * no file): looks for the Windows hive that does not parse, mounting each NTFS
 * file system read-only in turn.  H2K_ERR_GUEST_DETECTION naming the hive's
 * path and its device when one is found (nothing in the guest changes), 0
 * when none is (the caller keeps its own error).  Leaves nothing mounted. */
int hk_win_diagnose_hives(hk_gfs *gfs);

/* virtio-win's short name for a Windows version ("w7", "2k8r2", "w10", "w11",
 * "2k19", "2k22", "2k25"...); NULL when unknown.  Static. */
const char *hk_win_short_name(int major, int minor, int build, bool server);

/* Prefix length of a dotted IPv4 netmask, -1 when it is not one. */
int hk_win_mask_prefix(const char *mask);

#endif
