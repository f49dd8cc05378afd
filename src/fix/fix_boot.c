/*
 * Repairs of block device names: fstab and crypttab, and GRUB (defaults,
 * BLS entries, grubenv, device.map, then grub.cfg regenerated in the guest,
 * with an in-place edit as the fallback).
 */
#include <stdlib.h>
#include <string.h>

#include "fixer_internal.h"
#include "fstab_xform.h"
#include "grub_xform.h"

typedef int (*xform_fn)(const char *in, const hk_devmap *map, hk_xform_out *out);

/* Reads @path, transforms it, writes it back and records the change.  Returns
 * 1 when the file changed, 0 when not (or absent), -1 on failure. */
static int
edit_file(h2k_offline_fixer *fx, h2k_fix_result *res, const char *path, xform_fn fn)
{
    char *before = hk_fix_read(fx, path, NULL);
    if (!before)
        return 0;
    hk_xform_out xo = { 0 };
    int rc = fn(before, &fx->map, &xo);
    int changed = 0;
    if (rc < 0) {
        hk_fix_fail(res, "cannot transform %s", path);
        changed = -1;
    } else if (xo.text) {
        changed = hk_fix_apply(fx, res, path, before, &xo) < 0 ? -1 : 1;
    }
    hk_xform_out_clear(&xo);
    free(before);
    return changed;
}

static int
device_map_fn(const char *in, const hk_devmap *map, hk_xform_out *out)
{
    (void)map;
    return hk_device_map_xform(in, out);
}

int
hk_fix_fstab(h2k_offline_fixer *fx, h2k_fix_result *res)
{
    if (!hk_fix_exists(fx, "/etc/fstab")) {
        res->status = H2K_FIX_STATUS_SKIPPED;
        res->message = strdup("the guest has no /etc/fstab");
        return 0;
    }
    edit_file(fx, res, "/etc/fstab", hk_fstab_xform);
    edit_file(fx, res, "/etc/crypttab", hk_crypttab_xform);
    return 0;
}

/* Which grub.cfg the guest boots from and how to regenerate it. */
typedef struct grub_target {
    const char *cfg;
    const char *mkconfig;
} grub_target;

static bool
find_grub_target(h2k_offline_fixer *fx, grub_target *t)
{
    static const grub_target cands[] = {
        { "/boot/grub/grub.cfg", "grub-mkconfig" },
        { "/boot/grub2/grub.cfg", "grub2-mkconfig" },
    };
    for (size_t i = 0; i < HK_ARRAY_LEN(cands); i++) {
        if (hk_fix_exists(fx, cands[i].cfg)) {
            *t = cands[i];
            return true;
        }
    }
    return false;
}

/* grub.cfg files of UEFI guests that are not generated in /boot/grub*. */
static const char *const efi_cfgs[] = { "/boot/efi/EFI/redhat/grub.cfg",
                                        "/boot/efi/EFI/centos/grub.cfg",
                                        "/boot/efi/EFI/fedora/grub.cfg",
                                        "/boot/efi/EFI/rocky/grub.cfg",
                                        "/boot/efi/EFI/almalinux/grub.cfg",
                                        "/boot/efi/EFI/debian/grub.cfg",
                                        "/boot/efi/EFI/ubuntu/grub.cfg",
                                        "/boot/efi/EFI/opensuse/grub.cfg",
                                        "/boot/efi/EFI/sles/grub.cfg",
                                        NULL };

static bool
cfg_is_stub(const char *text)
{
    /* RHEL 9 / Debian UEFI stubs just load the real grub.cfg by UUID */
    return text && strstr(text, "configfile") && !strstr(text, "menuentry");
}

int
hk_fix_grub(h2k_offline_fixer *fx, h2k_fix_result *res)
{
    int edits = 0;
    int r = edit_file(fx, res, "/etc/default/grub", hk_grub_default_xform);
    edits += r > 0;
    char **entries = fx->gfs->fs.list(&fx->gfs->fs, "/boot/loader/entries");
    for (size_t i = 0; entries && entries[i]; i++) {
        if (!hk_endswith_nocase(entries[i], ".conf"))
            continue;
        char *p = hk_asprintf("/boot/loader/entries/%s", entries[i]);
        if (p)
            edits += edit_file(fx, res, p, hk_bls_entry_xform) > 0;
        free(p);
    }
    hk_strv_free(entries);
    edits += edit_file(fx, res, "/boot/grub2/grubenv", hk_grubenv_xform) > 0;
    edits += edit_file(fx, res, "/boot/grub/grubenv", hk_grubenv_xform) > 0;
    edit_file(fx, res, "/boot/grub/device.map", device_map_fn);
    edit_file(fx, res, "/boot/grub2/device.map", device_map_fn);
    /* GRUB legacy menus are not generated: edit them */
    edit_file(fx, res, "/boot/grub/menu.lst", hk_grub_cfg_xform);
    edit_file(fx, res, "/boot/grub/grub.conf", hk_grub_cfg_xform);

    grub_target t;
    if (!find_grub_target(fx, &t)) {
        if (res->status == H2K_FIX_STATUS_UNCHANGED && !hk_fix_exists(fx, "/boot/grub/menu.lst"))
            res->message = strdup("no GRUB configuration found");
        return 0;
    }
    /* Does the generated grub.cfg still name unstable devices? */
    char *cfg = hk_fix_read(fx, t.cfg, NULL);
    hk_xform_out probe = { 0 };
    bool stale = cfg && hk_grub_cfg_xform(cfg, &fx->map, &probe) == 0 && probe.text;
    hk_xform_out_clear(&probe);
    free(cfg);
    if (stale || edits > 0) {
        char *tool = hk_asprintf("/usr/sbin/%s", t.mkconfig);
        bool have = tool && hk_fix_exists(fx, tool);
        free(tool);
        bool regenerated = false;
        if (have) {
            char *cmd = hk_asprintf("%s -o %s", t.mkconfig, t.cfg);
            char *before = hk_fix_read(fx, t.cfg, NULL);
            int st = cmd ? hk_fix_sh(fx, res, cmd, NULL) : -1;
            free(cmd);
            if (st == 0) {
                regenerated = true;
                char *after = fx->opts.dry_run ? NULL : hk_fix_read(fx, t.cfg, NULL);
                if (!fx->opts.dry_run && before && after && strcmp(before, after) != 0) {
                    hk_xform_out xo = { 0 };
                    xo.text = after;
                    hk_xform_note(&xo, "regenerated by %s", t.mkconfig);
                    hk_fix_apply(fx, res, t.cfg, before, &xo); /* records; content identical */
                    hk_xform_out_clear(&xo);
                    after = NULL;
                } else if (fx->opts.dry_run && res->status == H2K_FIX_STATUS_UNCHANGED) {
                    res->status = H2K_FIX_STATUS_CHANGED;
                }
                free(after);
            } else {
                hk_warn(fx->ctx, "fix", "%s failed (exit %d); editing %s in place", t.mkconfig,
                        st, t.cfg);
            }
            free(before);
        }
        /* Fallback and safety net: whatever the generator did, no stale root= may remain. */
        if (edit_file(fx, res, t.cfg, hk_grub_cfg_xform) > 0 && regenerated)
            hk_warn(fx->ctx, "fix", "%s still named unstable devices; edited in place", t.cfg);
    }
    for (size_t i = 0; efi_cfgs[i]; i++) {
        char *text = hk_fix_read(fx, efi_cfgs[i], NULL);
        if (text && !cfg_is_stub(text))
            edit_file(fx, res, efi_cfgs[i], hk_grub_cfg_xform);
        free(text);
    }
    return 0;
}
