/*
 * VMware tools removal: with the guest's package manager when the tools came
 * as packages, else by removing their files and service links.
 */
#include <stdlib.h>
#include <string.h>

#include "fix_cmd.h"
#include "fixer_internal.h"

static const char *const packages[] = {"open-vm-tools",
                                       "open-vm-tools-desktop",
                                       "open-vm-tools-sdmp",
                                       "open-vm-tools-dev",
                                       "vmware-tools",
                                       "vmware-tools-core",
                                       NULL};

static const char *const leftovers[] = {
    "/etc/vmware-tools",
    "/usr/lib/vmware-tools",
    "/etc/systemd/system/vmtoolsd.service",
    "/etc/systemd/system/multi-user.target.wants/vmtoolsd.service",
    "/etc/systemd/system/multi-user.target.wants/open-vm-tools.service",
    "/etc/systemd/system/vmtoolsd.service.requires/vgauth.service",
    "/etc/init.d/vmware-tools",
    NULL,
};

#define N_PACKAGES (HK_ARRAY_LEN(packages) - 1)

/* Installed tool packages as a space-separated list ("" when none): only names
 * of our list, whatever the guest's package database prints. */
static char *
installed(h2k_offline_fixer *fx, h2k_fix_result *res, bool dpkg)
{
    char *cmd = hk_fix_cmd_pkg_query(dpkg, packages, N_PACKAGES);
    int saved = fx->opts.dry_run;
    fx->opts.dry_run = 0; /* a query changes nothing */
    char *out = NULL;
    int st = cmd ? hk_fix_sh(fx, res, cmd, &out) : -1;
    fx->opts.dry_run = saved;
    free(cmd);
    if (st != 0) {
        free(out);
        return NULL;
    }
    char *names = hk_fix_pkg_filter(out, packages, N_PACKAGES);
    free(out);
    return names;
}

int
hk_fix_vmware_tools(h2k_offline_fixer *fx, h2k_fix_result *res)
{
    if (!fx->id->vmware_tools) {
        res->status = H2K_FIX_STATUS_SKIPPED;
        res->message = strdup("VMware tools are not installed");
        return 0;
    }
    bool dpkg = hk_fix_exists(fx, "/usr/bin/dpkg");
    bool rpm = !dpkg && (hk_fix_exists(fx, "/usr/bin/rpm") || hk_fix_exists(fx, "/bin/rpm"));
    char *pkgs = (dpkg || rpm) ? installed(fx, res, dpkg) : NULL;
    if (pkgs && *pkgs) {
        char *cmd = hk_fix_cmd_pkg_remove(dpkg, pkgs, packages, N_PACKAGES);
        /* the package manager runs the guest's scripts, one at a time: the
         * initramfs repair's unpacking and packing use the other vCPU */
        char *prep = cmd && fx->in_run_all ? hk_fix_initramfs_prep_cmd(fx) : NULL;
        int st = cmd ? hk_fix_sh_beside(fx, res, cmd, prep, NULL) : -1;
        free(prep);
        free(cmd);
        if (st != 0) {
            hk_fix_fail(res, "removing %s failed (exit %d)", pkgs, st);
            free(pkgs);
            return 0;
        }
        res->status = H2K_FIX_STATUS_CHANGED;
        res->message = hk_asprintf("removed %s%s", pkgs, fx->opts.dry_run ? " (dry run)" : "");
    } else if (hk_fix_exists(fx, "/usr/bin/vmware-uninstall-tools.pl")) {
        int st = hk_fix_sh(fx, res, "/usr/bin/vmware-uninstall-tools.pl", NULL);
        if (st != 0)
            hk_fix_fail(res, "vmware-uninstall-tools.pl failed (exit %d)", st);
        else
            res->status = H2K_FIX_STATUS_CHANGED;
    }
    free(pkgs);
    /* leftovers of tarball installs and units */
    for (size_t i = 0; leftovers[i]; i++) {
        if (!hk_fix_exists(fx, leftovers[i]))
            continue;
        if (fx->gfs->fs.is_dir(&fx->gfs->fs, leftovers[i])) {
            if (!fx->opts.dry_run && guestfs_rm_rf(fx->gfs->g, leftovers[i]) < 0) {
                hk_fix_fail(res, "cannot remove %s", leftovers[i]);
                continue;
            }
            h2k_file_change *nc = realloc(res->changes, (res->n_changes + 1) * sizeof(*nc));
            if (nc) {
                res->changes = nc;
                memset(&nc[res->n_changes], 0, sizeof(*nc));
                nc[res->n_changes].path = strdup(leftovers[i]);
                nc[res->n_changes].action = strdup("deleted");
                res->n_changes++;
            }
            if (res->status == H2K_FIX_STATUS_UNCHANGED)
                res->status = H2K_FIX_STATUS_CHANGED;
        } else {
            hk_fix_delete(fx, res, leftovers[i], "VMware tools leftover");
        }
    }
    if (res->status != H2K_FIX_STATUS_FAILED && !fx->opts.dry_run)
        fx->id->vmware_tools = 0;
    return 0;
}
