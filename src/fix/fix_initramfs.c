/*
 * Virtio drivers in every initramfs.  An initramfs that already holds
 * virtio_blk (or a kernel with it built in) is left alone.
 *
 * initramfs-tools and dracut guests take a fast path: the image's main archive
 * is unpacked in the guest, the virtio storage drivers and their dependencies
 * are copied in from the guest's own /lib/modules, depmod re-indexes the tree
 * and it is packed again with the compressor the guest configured.  That is
 * what update-initramfs would produce for these modules, without its hooks
 * (which re-copy every binary and library): seconds instead of minutes under
 * emulation.  When the fast path cannot run (a tool missing, an unexpected
 * layout) the generator rebuilds the image as before.  Each generator has its
 * script (initrd_tools.c, initrd_dracut.c): their layouts and the way they
 * load drivers differ.
 */
#include <stdlib.h>
#include <string.h>

#include "fix_cmd.h"
#include "fixer_internal.h"

static const char *const virtio_modules[] = {"virtio_pci", "virtio_blk", "virtio_scsi",
                                             "virtio_net", NULL};

/* What the fast path adds: the drivers the root disk needs; the NIC driver is
 * loaded from the root file system, after the network repair's naming rules. */
static const char *const storage_modules = "virtio_pci virtio_blk virtio_scsi";

typedef hk_initrd_tool initrd_tool;
#define TOOL_NONE HK_INITRD_NONE
#define TOOL_INITRAMFS_TOOLS HK_INITRD_INITRAMFS_TOOLS
#define TOOL_DRACUT HK_INITRD_DRACUT
#define TOOL_MKINITRD HK_INITRD_MKINITRD

static initrd_tool
detect_tool(h2k_offline_fixer *fx)
{
    if (hk_fix_exists(fx, "/usr/sbin/update-initramfs"))
        return TOOL_INITRAMFS_TOOLS;
    if (hk_fix_exists(fx, "/usr/bin/dracut") || hk_fix_exists(fx, "/sbin/dracut") ||
        hk_fix_exists(fx, "/usr/sbin/dracut"))
        return TOOL_DRACUT;
    if (hk_fix_exists(fx, "/sbin/mkinitrd") || hk_fix_exists(fx, "/usr/sbin/mkinitrd"))
        return TOOL_MKINITRD;
    return TOOL_NONE;
}

/* 1 when the initramfs holds virtio_blk, 0 when not, -1 when it cannot be listed. */
static int
initrd_has_virtio(h2k_offline_fixer *fx, h2k_fix_result *res, initrd_tool tool,
                  const h2k_guest_kernel *k)
{
    char *cmd = hk_fix_cmd_list_initrd(tool, k->initrd_path);
    if (!cmd)
        return -1;
    /* listing is read-only: run it even in a dry run */
    int saved = fx->opts.dry_run;
    fx->opts.dry_run = 0;
    char *out = NULL;
    int st = hk_fix_sh(fx, res, cmd, &out);
    fx->opts.dry_run = saved;
    free(cmd);
    int r = -1;
    if (st == 0 && out)
        r = atoi(out) > 0 ? 1 : 0;
    free(out);
    return r;
}

static int
ensure_config(h2k_offline_fixer *fx, h2k_fix_result *res, initrd_tool tool)
{
    if (tool == TOOL_INITRAMFS_TOOLS) {
        const char *path = "/etc/initramfs-tools/modules";
        char *before = hk_fix_read(fx, path, NULL);
        hk_buf b = {0};
        hk_xform_out xo = {0};
        hk_buf_puts(&b, before ? before : "");
        bool added = false;
        for (size_t i = 0; virtio_modules[i]; i++) {
            bool present = false;
            for (const char *p = before; p && (p = strstr(p, virtio_modules[i])); p++) {
                bool sol = p == before || p[-1] == '\n';
                size_t l = strlen(virtio_modules[i]);
                bool eol = p[l] == '\n' || p[l] == '\0' || p[l] == ' ';
                if (sol && eol)
                    present = true;
            }
            if (present)
                continue;
            if (!added) {
                if (b.len && b.data[b.len - 1] != '\n')
                    hk_buf_puts(&b, "\n");
                hk_buf_puts(&b, "# virtio drivers for KVM, added by hyper2kvm\n");
                added = true;
            }
            hk_buf_printf(&b, "%s\n", virtio_modules[i]);
            hk_xform_note(&xo, "added %s", virtio_modules[i]);
        }
        int rc = 0;
        if (added) {
            xo.text = hk_buf_steal(&b);
            rc = hk_fix_apply(fx, res, path, before, &xo);
        }
        hk_buf_free(&b);
        hk_xform_out_clear(&xo);
        free(before);
        return rc;
    }
    if (tool == TOOL_DRACUT)
        return hk_fix_write_new(fx, res, "/etc/dracut.conf.d/90-hyper2kvm-virtio.conf",
                                "# virtio drivers for KVM, added by hyper2kvm\n"
                                "add_drivers+=\" virtio_pci virtio_blk virtio_scsi virtio_net \"\n",
                                "virtio drivers for every dracut initramfs");
    return 0;
}

/* The in-place script for @k in @mode (run, prep, commit: see
 * initrd_script.h); NULL when @k's version or path is unusable. */
static char *
add_cmd(initrd_tool tool, const h2k_guest_kernel *k, const char *mode)
{
    const char *script = tool == TOOL_DRACUT ? hk_initrd_dracut_add_script()
                                             : hk_initrd_tools_add_script();
    char *cmd = hk_fix_cmd_initramfs_add(k->version, k->initrd_path, storage_modules, script);
    char *full = cmd ? hk_asprintf("H2K_INITRD_MODE=%s\n%s", mode, cmd) : NULL;
    free(cmd);
    return full;
}

/* A kernel whose initramfs the fast path may change: a usable version and
 * paths, virtio_blk as a module, an initramfs. */
static bool
fast_path_kernel(const h2k_guest_kernel *k)
{
    return hk_kernel_version_ok(k->version) && k->initrd_path && hk_guest_path_ok(k->initrd_path) &&
           (!k->kernel_path || hk_guest_path_ok(k->kernel_path)) && k->has_virtio_blk;
}

char *
hk_fix_initramfs_prep_cmd(h2k_offline_fixer *fx)
{
    if (fx->opts.dry_run || fx->opts.force_initramfs || !(fx->opts.fixes & H2K_FIX_INITRAMFS) ||
        fx->id->type != H2K_GUEST_LINUX)
        return NULL;
    initrd_tool tool = detect_tool(fx);
    if (tool != TOOL_INITRAMFS_TOOLS && tool != TOOL_DRACUT)
        return NULL;
    hk_buf b = {0};
    for (size_t i = 0; i < fx->id->n_kernels; i++) {
        const h2k_guest_kernel *k = &fx->id->kernels[i];
        if (!fast_path_kernel(k))
            continue;
        char *cmd = add_cmd(tool, k, "prep");
        if (!cmd) {
            hk_buf_free(&b);
            return NULL;
        }
        hk_buf_printf(&b, "(\n%s\n) </dev/null >/dev/null 2>&1\n", cmd);
        free(cmd);
    }
    char *all = hk_buf_steal(&b);
    if (all && *all) {
        fx->initrd_prepared = true;
        return all;
    }
    free(all);
    return NULL;
}

void
hk_fix_initramfs_unprep(h2k_offline_fixer *fx)
{
    if (!fx->initrd_prepared || !fx->gfs)
        return;
    fx->initrd_prepared = false;
    static const char *const ends[] = {".hyper2kvm-prep.img", ".hyper2kvm-prep.out",
                                       ".hyper2kvm-prep.stamp"};
    for (size_t i = 0; i < fx->id->n_kernels; i++) {
        const h2k_guest_kernel *k = &fx->id->kernels[i];
        if (!fast_path_kernel(k))
            continue;
        for (size_t j = 0; j < HK_ARRAY_LEN(ends); j++) {
            char *p = hk_asprintf("%s%s", k->initrd_path, ends[j]);
            if (p && guestfs_rm_f(fx->gfs->g, p) < 0) /* a missing file is no error */
                hk_warn(fx->ctx, "fix", "cannot remove %s: %s", p, guestfs_last_error(fx->gfs->g));
            free(p);
        }
    }
}

/* The fast path (initramfs-tools, dracut): 1 when the image already had the
 * drivers, 2 when they were added, 0 when it does not apply (the caller
 * rebuilds). */
static int
add_storage_drivers(h2k_offline_fixer *fx, h2k_fix_result *res, initrd_tool tool,
                    const h2k_guest_kernel *k)
{
    char *cmd = add_cmd(tool, k, fx->initrd_prepared ? "commit" : "run");
    if (!cmd)
        return 0;
    double t0 = hk_now();
    char *out = NULL;
    int st = hk_fix_sh(fx, res, cmd, &out);
    free(cmd);
    int r = 0;
    const char *said = NULL;
    hk_initrd_add_outcome oc = hk_initrd_add_result(st, out, &said);
    if (oc == HK_INITRD_ADD_PRESENT) {
        r = 1;
    } else if (oc == HK_INITRD_ADD_ADDED) {
        hk_info(fx->ctx, "fix", "initramfs of %s (%s): %.*s in %.0f s", k->version,
                tool == TOOL_DRACUT ? "dracut" : "initramfs-tools", (int)strcspn(said, "\n"), said,
                hk_now() - t0);
        r = 2;
    } else {
        /* the guest's own output: rendered safely */
        char *so = hk_str_safe(out ? hk_strtrim(out) : "");
        hk_info(fx->ctx, "fix",
                "initramfs of %s: drivers cannot be added in place (exit %d: "
                "%s); rebuilding it",
                k->version, st, so ? so : "");
        free(so);
    }
    free(out);
    return r;
}

int
hk_fix_initramfs(h2k_offline_fixer *fx, h2k_fix_result *res)
{
    h2k_guest_identity *id = fx->id;
    if (id->n_kernels == 0) {
        res->status = H2K_FIX_STATUS_SKIPPED;
        res->message = strdup("no kernel found in /boot");
        return 0;
    }
    initrd_tool tool = detect_tool(fx);
    if (tool == TOOL_NONE)
        return hk_fix_fail(res, "no initramfs generator (update-initramfs, dracut, mkinitrd) "
                                "in the guest");
    size_t rebuilt = 0, ok = 0, added = 0;
    bool configured = false;
    for (size_t i = 0; i < id->n_kernels; i++) {
        h2k_guest_kernel *k = &id->kernels[i];
        if (!hk_kernel_version_ok(k->version) ||
            (k->initrd_path && !hk_guest_path_ok(k->initrd_path)) ||
            (k->kernel_path && !hk_guest_path_ok(k->kernel_path))) {
            /* the version comes from a file name in /boot: never let it near a
             * shell, not even quoted */
            char *sv = hk_str_safe(k->version);
            hk_warn(fx->ctx, "fix",
                    "kernel version \"%s\" (from /boot) is not a kernel version: "
                    "refused",
                    sv ? sv : "?");
            hk_fix_fail(res,
                        "kernel version \"%s\" from a file name in /boot has characters "
                        "outside [A-Za-z0-9._+~-] (or an unusable path): its initramfs "
                        "was not touched",
                        sv ? sv : "?");
            free(sv);
            continue;
        }
        if (!k->has_virtio_blk) {
            hk_warn(fx->ctx, "fix",
                    "kernel %s has no virtio_blk driver: it cannot boot on "
                    "virtio",
                    k->version);
            hk_fix_fail(res, "kernel %s has no virtio_blk driver", k->version);
            continue;
        }
        if (!k->initrd_path)
            continue; /* no initramfs: everything needed is built in */
        if (!fx->opts.force_initramfs && !fx->opts.dry_run &&
            (tool == TOOL_INITRAMFS_TOOLS || tool == TOOL_DRACUT)) {
            int fast = add_storage_drivers(fx, res, tool, k);
            if (fast == 1) {
                k->initrd_has_virtio = 1;
                ok++;
                continue;
            }
            if (fast == 2) {
                k->initrd_has_virtio = 1;
                added++;
                if (res->status == H2K_FIX_STATUS_UNCHANGED) /* keep an earlier FAILED */
                    res->status = H2K_FIX_STATUS_CHANGED;
                /* later rebuilds by the guest keep the drivers */
                if (!configured && ensure_config(fx, res, tool) < 0)
                    return 0;
                configured = true;
                continue;
            }
        }
        if (!fx->opts.force_initramfs) {
            k->initrd_has_virtio = initrd_has_virtio(fx, res, tool, k);
            if (k->initrd_has_virtio == 1) {
                ok++;
                continue;
            }
        }
        if (!configured) {
            if (ensure_config(fx, res, tool) < 0)
                return 0;
            configured = true;
        }
        char *cmd = hk_fix_cmd_rebuild_initrd(tool, k->version, k->initrd_path, k->kernel_path);
        if (!cmd)
            return hk_fix_fail(res,
                               "cannot build the command that rebuilds the initramfs of "
                               "%s (out of memory?)",
                               k->version);
        double t0 = hk_now();
        int st = hk_fix_sh(fx, res, cmd, NULL);
        free(cmd);
        if (st != 0) {
            hk_fix_fail(res, "rebuilding the initramfs of %s failed (exit %d)", k->version, st);
            continue;
        }
        hk_info(fx->ctx, "fix", "initramfs of %s rebuilt in %.0f s", k->version, hk_now() - t0);
        rebuilt++;
        if (!fx->opts.dry_run) {
            k->initrd_has_virtio = initrd_has_virtio(fx, res, tool, k);
            if (k->initrd_has_virtio == 0)
                hk_fix_fail(res, "the rebuilt initramfs of %s still lacks virtio_blk", k->version);
        }
        if (res->status == H2K_FIX_STATUS_UNCHANGED)
            res->status = H2K_FIX_STATUS_CHANGED;
    }
    if (res->status != H2K_FIX_STATUS_FAILED && !res->message)
        res->message = hk_asprintf("%zu initramfs rebuilt%s, %zu given virtio drivers in "
                                   "place, %zu already had them",
                                   rebuilt, fx->opts.dry_run ? " (dry run)" : "", added, ok);
    return 0;
}
