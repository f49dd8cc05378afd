/*
 * The source hypervisor's guest agents: VMware tools (fix_tools.c), then what
 * an Azure guest carries: the Azure Linux agent (walinuxagent / WALinuxAgent,
 * removed with the package manager, else its services disabled), cloud-init's
 * Azure datasource (dropped from datasource_list: on KVM it would wait for
 * Azure's wire server) and fstab entries of Azure's resource disk.  Hyper-V
 * settings (KVP reporting, udev rules for Hyper-V disks) stay: they do
 * nothing on KVM.  Runs as the "vmware_tools" repair.
 */
#include <stdlib.h>
#include <string.h>

#include "azure_xform.h"
#include "fixer_internal.h"

static const char *const agent_units[] = {
    "/etc/systemd/system/multi-user.target.wants/walinuxagent.service",
    "/etc/systemd/system/multi-user.target.wants/waagent.service",
    "/etc/systemd/system/walinuxagent.service",
    "/etc/systemd/system/waagent.service",
    NULL,
};

/* Applies @xf to @path when it exists; true when it changed something. */
static bool
apply(h2k_offline_fixer *fx, h2k_fix_result *res, const char *path,
      int (*xf)(const char *, hk_xform_out *))
{
    char *before = hk_fix_read(fx, path, NULL);
    if (!before)
        return false;
    hk_xform_out xo;
    bool changed = false;
    if (xf(before, &xo) < 0) {
        hk_fix_fail(res, "%s: out of memory", path);
    } else if (xo.text) {
        changed = hk_fix_apply(fx, res, path, before, &xo) == 0;
    }
    hk_xform_out_clear(&xo);
    free(before);
    return changed;
}

/* The Azure part; returns the number of things changed. */
static int
azure_cleanup(h2k_offline_fixer *fx, h2k_fix_result *res, hk_buf *what)
{
    int n = 0;
    bool dpkg = hk_fix_exists(fx, "/usr/bin/dpkg");
    bool rpm = !dpkg && (hk_fix_exists(fx, "/usr/bin/rpm") || hk_fix_exists(fx, "/bin/rpm"));
    bool agent = hk_fix_exists(fx, "/usr/sbin/waagent") || hk_fix_exists(fx, "/usr/bin/waagent");
    if (agent && (dpkg || rpm)) {
        int saved = fx->opts.dry_run;
        fx->opts.dry_run = 0; /* a query changes nothing */
        char *pkgs = NULL;
        int st = hk_fix_sh(fx, res,
                           dpkg ? "dpkg-query -W -f='${Status} ${Package}\\n' walinuxagent "
                                  "2>/dev/null | awk '/install ok installed/ {print $4}'"
                                : "rpm -q --qf '%{NAME}\\n' WALinuxAgent WALinuxAgent-udev "
                                  "2>/dev/null | grep -v 'not installed' || true",
                           &pkgs);
        fx->opts.dry_run = saved;
        bool installed = st == 0 && pkgs && strstr(pkgs, dpkg ? "walinuxagent" : "WALinuxAgent");
        free(pkgs);
        if (installed) {
            /* constant commands: no guest text goes into them */
            st = hk_fix_sh(fx, res,
                           dpkg ? "DEBIAN_FRONTEND=noninteractive dpkg --purge walinuxagent"
                                : "rpm -e --nodeps $(rpm -q --qf '%{NAME} ' WALinuxAgent "
                                  "WALinuxAgent-udev 2>/dev/null | sed 's/package [^ ]* is not "
                                  "installed//g')",
                           NULL);
            if (st != 0) {
                hk_fix_fail(res, "removing the Azure Linux agent failed (exit %d)", st);
            } else {
                n++;
                hk_buf_puts(what, ", the Azure Linux agent");
            }
        }
    }
    /* an agent installed without a package, or left behind: its units */
    int units = 0;
    for (size_t i = 0; agent_units[i]; i++)
        if (hk_fix_exists(fx, agent_units[i]) &&
            hk_fix_delete(fx, res, agent_units[i], "Azure Linux agent service disabled") == 0)
            units++;
    if (units) {
        n++;
        hk_buf_puts(what, ", the Azure agent's services");
    }
    /* cloud-init: the Azure datasource */
    int cfgs = apply(fx, res, "/etc/cloud/cloud.cfg", hk_xform_cloudinit_azure) ? 1 : 0;
    char **names = fx->gfs->fs.list(&fx->gfs->fs, "/etc/cloud/cloud.cfg.d");
    for (size_t i = 0; names && names[i]; i++) {
        if (!hk_endswith_nocase(names[i], ".cfg"))
            continue;
        char *p = hk_asprintf("/etc/cloud/cloud.cfg.d/%s", names[i]);
        if (p && apply(fx, res, p, hk_xform_cloudinit_azure))
            cfgs++;
        free(p);
    }
    hk_strv_free(names);
    if (cfgs) {
        n++;
        hk_buf_puts(what, ", cloud-init's Azure datasource");
    }
    if (apply(fx, res, "/etc/fstab", hk_xform_fstab_azure)) {
        n++;
        hk_buf_puts(what, ", the Azure resource disk in fstab");
    }
    return n;
}

int
hk_fix_guest_agents(h2k_offline_fixer *fx, h2k_fix_result *res)
{
    int rc = hk_fix_vmware_tools(fx, res);
    if (rc < 0 || res->status == H2K_FIX_STATUS_FAILED)
        return rc;
    h2k_fix_status vm_status = res->status;
    /* the Azure part records its own changes; its status joins the VMware one */
    res->status = H2K_FIX_STATUS_UNCHANGED;
    hk_buf what = {0};
    int n = azure_cleanup(fx, res, &what);
    if (res->status == H2K_FIX_STATUS_FAILED) {
        hk_buf_free(&what);
        return 0;
    }
    if (n == 0) {
        res->status = vm_status;
        hk_buf_free(&what);
        return 0;
    }
    char *msg = hk_asprintf("%s%s%s removed or disabled%s",
                            vm_status == H2K_FIX_STATUS_CHANGED && res->message ? res->message : "",
                            vm_status == H2K_FIX_STATUS_CHANGED && res->message ? "; " : "",
                            what.data + 2, fx->opts.dry_run ? " (dry run)" : "");
    hk_buf_free(&what);
    if (msg) {
        free(res->message);
        res->message = msg;
    }
    res->status = H2K_FIX_STATUS_CHANGED;
    return 0;
}
