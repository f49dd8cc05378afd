/*
 * Virtio drivers in every initramfs.  Each kernel's initramfs is listed in the
 * guest first: an initramfs that already holds virtio_blk (or a kernel with it
 * built in) is left alone, because rebuilding one costs minutes.
 */
#include <stdlib.h>
#include <string.h>

#include "fixer_internal.h"

static const char *const virtio_modules[] = { "virtio_pci", "virtio_blk", "virtio_scsi",
                                              "virtio_net", NULL };

typedef enum { TOOL_NONE, TOOL_INITRAMFS_TOOLS, TOOL_DRACUT, TOOL_MKINITRD } initrd_tool;

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
    const char *lister = tool == TOOL_INITRAMFS_TOOLS ? "lsinitramfs" : "lsinitrd";
    char *cmd = hk_asprintf("%s %s | grep -c 'virtio_blk' || true", lister, k->initrd_path);
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
        hk_buf b = { 0 };
        hk_xform_out xo = { 0 };
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
    size_t rebuilt = 0, ok = 0;
    bool configured = false;
    for (size_t i = 0; i < id->n_kernels; i++) {
        h2k_guest_kernel *k = &id->kernels[i];
        if (!k->has_virtio_blk) {
            hk_warn(fx->ctx, "fix", "kernel %s has no virtio_blk driver: it cannot boot on "
                                    "virtio", k->version);
            hk_fix_fail(res, "kernel %s has no virtio_blk driver", k->version);
            continue;
        }
        if (!k->initrd_path)
            continue; /* no initramfs: everything needed is built in */
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
        char *cmd = NULL;
        if (tool == TOOL_INITRAMFS_TOOLS)
            cmd = hk_asprintf("update-initramfs -u -k %s", k->version);
        else if (tool == TOOL_DRACUT)
            cmd = hk_asprintf("dracut -f --add-drivers 'virtio_pci virtio_blk virtio_scsi "
                              "virtio_net' %s %s",
                              k->initrd_path, k->version);
        else
            cmd = hk_asprintf("mkinitrd -f 'virtio_pci virtio_blk virtio_scsi virtio_net' -k "
                              "%s -i %s",
                              k->kernel_path, k->initrd_path);
        if (!cmd)
            return hk_fix_fail(res, "out of memory");
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
                hk_fix_fail(res, "the rebuilt initramfs of %s still lacks virtio_blk",
                            k->version);
        }
        if (res->status == H2K_FIX_STATUS_UNCHANGED)
            res->status = H2K_FIX_STATUS_CHANGED;
    }
    if (res->status != H2K_FIX_STATUS_FAILED && !res->message)
        res->message = hk_asprintf("%zu initramfs rebuilt%s, %zu already had virtio drivers",
                                   rebuilt, fx->opts.dry_run ? " (dry run)" : "", ok);
    return 0;
}
