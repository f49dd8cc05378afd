/*
 * The boot probe written by the repair stage's appliance: see fix_bootprobe.h.
 */
#include "fix_bootprobe.h"
#include "fixer_internal.h"
#include "boottest/boot_internal.h"

static int
usable(h2k_offline_fixer *fx, const char *what)
{
    if (!fx)
        return H2K_ERR_INVALID_ARG;
    if (fx->opts.dry_run || !fx->gfs || fx->gfs->readonly)
        return hk_error(fx->ctx, H2K_ERR_INVALID_ARG, "%s: the fixer has no writable guest open",
                        what);
    return 0;
}

int
hk_fix_quiesce(h2k_offline_fixer *fx)
{
    int rc = usable(fx, "quiesce");
    if (rc < 0)
        return rc;
    double t0 = hk_now();
    if ((rc = hk_gfs_quiesce(fx->gfs)) < 0)
        return rc;
    hk_debug(fx->ctx, "fix", "guest unmounted and its disks flushed in %.1f s", hk_now() - t0);
    return 0;
}

int
hk_fix_place_boot_probe(h2k_offline_fixer *fx, const char *token, bool emulated)
{
    int rc = usable(fx, "boot probe");
    if (rc < 0)
        return rc;
    if (!fx->id || fx->id->type != H2K_GUEST_LINUX)
        return hk_error(fx->ctx, H2K_ERR_UNSUPPORTED,
                        "boot probe: the marker proof needs a Linux guest");
    double t0 = hk_now();
    if ((rc = hk_gfs_remount(fx->gfs)) < 0)
        return rc;
    if ((rc = hk_probe_install(fx->ctx, fx->gfs->g, token, emulated)) < 0)
        return rc;
    hk_info(fx->ctx, "test", "boot probe written by the repair appliance in %.1f s", hk_now() - t0);
    return 0;
}
