/*
 * Repairs of block device names: fstab and crypttab, and GRUB (defaults,
 * BLS entries, grubenv, device.map, then the kernel lines of grub.cfg edited
 * in place).
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

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
    hk_xform_out xo = {0};
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

/* The generated grub.cfg the guest boots from; NULL when none. */
static const char *
find_grub_cfg(h2k_offline_fixer *fx)
{
    static const char *const cands[] = {"/boot/grub/grub.cfg", "/boot/grub2/grub.cfg"};
    for (size_t i = 0; i < HK_ARRAY_LEN(cands); i++)
        if (hk_fix_exists(fx, cands[i]))
            return cands[i];
    return NULL;
}

/* grub.cfg files of UEFI guests that are not generated in /boot/grub*. */
static const char *const efi_cfgs[] = {
    "/boot/efi/EFI/redhat/grub.cfg",    "/boot/efi/EFI/centos/grub.cfg",
    "/boot/efi/EFI/fedora/grub.cfg",    "/boot/efi/EFI/rocky/grub.cfg",
    "/boot/efi/EFI/almalinux/grub.cfg", "/boot/efi/EFI/debian/grub.cfg",
    "/boot/efi/EFI/ubuntu/grub.cfg",    "/boot/efi/EFI/opensuse/grub.cfg",
    "/boot/efi/EFI/sles/grub.cfg",      NULL};

static bool
cfg_is_stub(const char *text)
{
    /* RHEL 9 / Debian UEFI stubs just load the real grub.cfg by UUID */
    return text && strstr(text, "configfile") && !strstr(text, "menuentry");
}

/* Copies guest file @from to @to (binary), recording it; 1 copied, 0 when @from
 * is absent or @to already holds it, -1 on failure (res marked failed). */
static int
copy_guest_file(h2k_offline_fixer *fx, h2k_fix_result *res, const char *from, const char *to,
                const char *note)
{
    size_t len = 0;
    char *data = hk_fix_read(fx, from, &len);
    if (!data)
        return 0;
    size_t before = res->n_changes;
    int rc = hk_fix_write_bytes(fx, res, to, data, len, note);
    free(data);
    if (rc < 0)
        return -1;
    if (res->n_changes > before)
        res->status = H2K_FIX_STATUS_CHANGED;
    return res->n_changes > before;
}

/* A UEFI guest's boot entry (\EFI\<vendor>\shimx64.efi or grubx64.efi) lives in
 * the source hypervisor's NVRAM, which does not come along: the new VM starts
 * with empty variables and its firmware only finds the removable-media path
 * \EFI\BOOT\BOOTX64.EFI.  When that is missing, the vendor's loader is copied
 * there (shim with its grubx64.efi beside it, else GRUB alone), with the
 * vendor's grub.cfg stub for the signed GRUB that reads it from its own folder. */
static void
fix_efi_fallback(h2k_offline_fixer *fx, h2k_fix_result *res)
{
    static const char *const esp = "/boot/efi/EFI";
    if (!fx->gfs->fs.is_dir(&fx->gfs->fs, esp))
        return;
    if (hk_fix_exists(fx, "/boot/efi/EFI/BOOT/BOOTX64.EFI"))
        return;
    char **dirs = fx->gfs->fs.list(&fx->gfs->fs, esp);
    char *loader = NULL, *vendor = NULL;
    bool shim = false;
    for (size_t i = 0; dirs && dirs[i] && !loader; i++) {
        if (strcasecmp(dirs[i], "BOOT") == 0 || dirs[i][0] == '.')
            continue;
        char *s = hk_asprintf("%s/%s/shimx64.efi", esp, dirs[i]);
        char *g = hk_asprintf("%s/%s/grubx64.efi", esp, dirs[i]);
        if (s && hk_fix_exists(fx, s)) {
            loader = s;
            s = NULL;
            shim = true;
        } else if (g && hk_fix_exists(fx, g)) {
            loader = g;
            g = NULL;
        }
        if (loader)
            vendor = hk_asprintf("%s/%s", esp, dirs[i]);
        free(s);
        free(g);
    }
    hk_strv_free(dirs);
    if (!loader || !vendor) {
        free(loader);
        free(vendor);
        return;
    }
    int rc = copy_guest_file(fx, res, loader, "/boot/efi/EFI/BOOT/BOOTX64.EFI",
                             "the firmware's fallback loader (the NVRAM boot entry stays "
                             "behind): ");
    if (rc >= 0 && shim) {
        char *g = hk_asprintf("%s/grubx64.efi", vendor);
        if (g)
            rc = copy_guest_file(fx, res, g, "/boot/efi/EFI/BOOT/grubx64.efi",
                                 "GRUB beside the fallback shim: ");
        free(g);
    }
    if (rc >= 0) {
        char *c = hk_asprintf("%s/grub.cfg", vendor);
        if (c)
            copy_guest_file(fx, res, c, "/boot/efi/EFI/BOOT/grub.cfg",
                            "GRUB's configuration stub beside the fallback loader: ");
        free(c);
    }
    free(loader);
    free(vendor);
}

int
hk_fix_grub(h2k_offline_fixer *fx, h2k_fix_result *res)
{
    fix_efi_fallback(fx, res);
    edit_file(fx, res, "/etc/default/grub", hk_grub_default_xform);
    char **entries = fx->gfs->fs.list(&fx->gfs->fs, "/boot/loader/entries");
    for (size_t i = 0; entries && entries[i]; i++) {
        if (!hk_endswith_nocase(entries[i], ".conf"))
            continue;
        char *p = hk_asprintf("/boot/loader/entries/%s", entries[i]);
        if (p)
            edit_file(fx, res, p, hk_bls_entry_xform);
        free(p);
    }
    hk_strv_free(entries);
    edit_file(fx, res, "/boot/grub2/grubenv", hk_grubenv_xform);
    edit_file(fx, res, "/boot/grub/grubenv", hk_grubenv_xform);
    edit_file(fx, res, "/boot/grub/device.map", device_map_fn);
    edit_file(fx, res, "/boot/grub2/device.map", device_map_fn);
    /* GRUB legacy menus are not generated: edit them */
    edit_file(fx, res, "/boot/grub/menu.lst", hk_grub_cfg_xform);
    edit_file(fx, res, "/boot/grub/grub.conf", hk_grub_cfg_xform);

    const char *cfg = find_grub_cfg(fx);
    if (!cfg) {
        if (res->status == H2K_FIX_STATUS_UNCHANGED && !hk_fix_exists(fx, "/boot/grub/menu.lst"))
            res->message = strdup("no GRUB configuration found");
        return 0;
    }
    /* grub.cfg names the root device the way /etc/default/grub told
     * grub-mkconfig to: its kernel lines get the same stable names, in place.
     * That is what regenerating it would give, without running every
     * /etc/grub.d script under emulation, and it keeps any hand edits. */
    edit_file(fx, res, cfg, hk_grub_cfg_xform);
    for (size_t i = 0; efi_cfgs[i]; i++) {
        char *text = hk_fix_read(fx, efi_cfgs[i], NULL);
        if (text && !cfg_is_stub(text))
            edit_file(fx, res, efi_cfgs[i], hk_grub_cfg_xform);
        free(text);
    }
    return 0;
}
