/*
 * The boot test of a VM with several disks (internal to the library: the
 * orchestrator boots every output disk, since a guest may mount file systems
 * of its other disks at boot, e.g. /var on a second disk).  Same contract as
 * h2k_qemu_test_run() (h2k_test.h); safe to call from several threads.
 */
#ifndef HK_TEST_BOOT_DISKS_H
#define HK_TEST_BOOT_DISKS_H

#include <stddef.h>

#include "hyper2kvm/h2k_test.h"

/* Boots @image (the boot disk, which gets the probe on a throw-away overlay)
 * with the @n_extra disks @extra attached after it on the same bus, in that
 * order, in the format of @image and with snapshot=on (never written).
 * Returns 0 or a negative h2k_code; *@out as h2k_qemu_test_run(). */
int hk_qemu_test_run_disks(h2k_ctx *ctx, const char *image, const char *const *extra,
                           size_t n_extra, const h2k_boot_test_options *opts,
                           h2k_boot_result **out);

#endif
