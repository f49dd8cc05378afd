/*
 * The boot test's probe placed by the repair stage's appliance, so that a
 * migration launches one appliance per VM: the repaired disks are flushed
 * (the output is copied from them while the appliance waits), then the probe
 * is written into the same disks and the boot test boots an overlay of them.
 * The output never holds the probe: it is copied before the probe is written.
 *
 * Concurrency: like every h2k_offline_fixer call, one thread per fixer.
 */
#ifndef HK_FIX_BOOTPROBE_H
#define HK_FIX_BOOTPROBE_H

#include <stdbool.h>

#include "hyper2kvm/h2k_fix.h"

/* Unmounts the guest and flushes its disks through to the image files; the
 * appliance stays up, the disks may be read in shared mode
 * (hk_disk_convert_shared()) until the next call on @fx.  Returns 0 or an
 * error (H2K_ERR_INVALID_ARG for a dry run or a committed fixer). */
int hk_fix_quiesce(h2k_offline_fixer *fx);

/* After hk_fix_quiesce(): mounts the guest read-write again and writes the
 * boot probe of @token (16 hex digits, hk_boot_token()) into it, with
 * @emulated when the boot will run under TCG (hk_probe_install()).  Linux
 * guests only (H2K_ERR_UNSUPPORTED otherwise).  The caller then closes @fx
 * (which unmounts and flushes) and boots an overlay of the disks with
 * hk_qemu_test_run_placed().  Returns 0 or an error. */
int hk_fix_place_boot_probe(h2k_offline_fixer *fx, const char *token, bool emulated);

#endif
