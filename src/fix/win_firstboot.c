/*
 * Windows first boot: the steps in run order, the embedded helper, and its
 * installation into the guest (files through libguestfs, the service through
 * the registry layer).  See win_firstboot.h.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "fb_blob.h"
#include "fb_runner.h"
#include "fixer_internal.h"
#include "win_firstboot.h"

const unsigned char *
hk_win_firstboot_helper(hk_win_arch arch, size_t *size)
{
    const unsigned char *p = arch == HK_WIN_ARCH_X86 ? hk_fb_helper_x86 : hk_fb_helper_x64;
    size_t n = arch == HK_WIN_ARCH_X86 ? hk_fb_helper_x86_size : hk_fb_helper_x64_size;
    *size = n;
    return n ? p : NULL;
}

static char
drive_of(const hk_win_firstboot *fb)
{
    char d = fb->system_drive ? fb->system_drive : 'C';
    return (d >= 'a' && d <= 'z') ? (char)(d - 'a' + 'A') : d;
}

char *
hk_win_firstboot_image_path(const hk_win_firstboot *fb)
{
    /* quoted: an unquoted path with a space makes Windows try C:\Program.exe first */
    return hk_asprintf("\"%c:\\%s\\%s\" --service %s%s%s", drive_of(fb), HK_WIN_FB_DIR,
                       HK_WIN_FB_EXE, HK_WIN_FB_SERVICE,
                       fb->reboot_if_needed ? " --reboot-if-needed" : "",
                       fb->remove_helper ? " --remove-self" : "");
}

static void
steps_free(hk_win_fb_step *s, size_t n)
{
    for (size_t i = 0; s && i < n; i++)
        hk_win_fb_step_clear(&s[i]);
    free(s);
}

int
hk_win_firstboot_steps(h2k_ctx *ctx, const hk_win_firstboot *fb, hk_win_fb_step **steps, size_t *n)
{
    *steps = NULL;
    *n = 0;
    if (!fb || (fb->n_nics && !fb->nics) || (fb->n_extra && !fb->extra))
        return hk_error(ctx, H2K_ERR_INVALID_ARG, "Windows first boot: no configuration");
    char d = drive_of(fb);
    if (d < 'A' || d > 'Z')
        return hk_error(ctx, H2K_ERR_VALIDATION,
                        "Windows first boot: system_drive: 0x%02x is not a drive letter; "
                        "refused",
                        (unsigned char)fb->system_drive);
    bool any_static = false;
    for (size_t i = 0; i < fb->n_nics; i++)
        any_static = any_static || !fb->nics[i].dhcp;

    size_t cap = 4 + fb->n_extra;
    hk_win_fb_step *s = calloc(cap, sizeof(*s));
    if (!s)
        return hk_error_nomem(ctx);
    size_t k = 0;
    int rc = 0;
    if (fb->driver_dir)
        rc = hk_win_fb_script_drivers(ctx, 10, &fb->os, fb->driver_dir, &s[k++]);
    if (rc == 0 && fb->vmware_tools_code)
        rc = hk_win_fb_script_vmware_tools(ctx, 20, fb->vmware_tools_code, &s[k++]);
    if (rc == 0 && any_static)
        rc = hk_win_fb_script_network(ctx, 30, &fb->os, fb->nics, fb->n_nics, &s[k++]);
    if (rc == 0 && fb->disks_online)
        rc = hk_win_fb_script_disks_online(ctx, 40, &fb->os, fb->n_disks, &s[k++]);
    for (size_t i = 0; rc == 0 && i < fb->n_extra; i++) {
        const hk_win_fb_step *e = &fb->extra[i];
        if (hk_fb_step_kind(e->name) == HK_FB_NOT_A_STEP || !e->text) {
            rc = hk_error(ctx, H2K_ERR_VALIDATION,
                          "Windows first boot: extra[%zu]: \"%.64s\" is not a step name "
                          "(NNNN-[A-Za-z0-9_.-].cmd or .ps1) with a text",
                          i, e->name && hk_fb_step_kind(e->name) ? e->name : "(invalid)");
            break;
        }
        for (size_t j = 0; j < k && rc == 0; j++)
            if (hk_streq_nocase(s[j].name, e->name))
                rc = hk_error(ctx, H2K_ERR_VALIDATION,
                              "Windows first boot: extra[%zu]: step %s is there already", i,
                              e->name);
        if (rc == 0) {
            s[k].name = strdup(e->name);
            s[k].text = strdup(e->text);
            if (!s[k++].name || !s[k - 1].text)
                rc = hk_error_nomem(ctx);
        }
    }
    if (rc < 0) {
        steps_free(s, cap);
        return rc;
    }
    *steps = s;
    *n = k;
    return 0;
}

int
hk_win_firstboot_from_info(h2k_ctx *ctx, const h2k_windows_info *wi, hk_win_firstboot *fb)
{
    if (!wi || !fb)
        return hk_error(ctx, H2K_ERR_INVALID_ARG, "Windows first boot: no Windows information");
    hk_win_arch arch;
    if (wi->arch && hk_streq_nocase(wi->arch, "amd64"))
        arch = HK_WIN_ARCH_X64;
    else if (wi->arch && (hk_streq_nocase(wi->arch, "x86") || hk_streq_nocase(wi->arch, "i386")))
        arch = HK_WIN_ARCH_X86;
    else
        return hk_error(ctx, H2K_ERR_UNSUPPORTED,
                        "Windows first boot: no helper for the architecture \"%.32s\" "
                        "(amd64 and x86 only)",
                        wi->arch ? wi->arch : "(unknown)");
    fb->os.major = wi->major_version > 0 ? (unsigned)wi->major_version : 0;
    fb->os.minor = wi->minor_version > 0 ? (unsigned)wi->minor_version : 0;
    fb->os.build = wi->build > 0 ? (unsigned)wi->build : 0;
    fb->os.server = wi->server != 0;
    fb->os.arch = arch;
    fb->vmware_tools_code = wi->vmware_tools ? wi->vmware_tools_product_code : NULL;
    return 0;
}

void
hk_win_nic_from_adapter(const h2k_win_adapter *a, const char *mac, hk_win_ip *ips, hk_win_nic *out)
{
    memset(out, 0, sizeof(*out));
    out->mac = mac;
    out->dhcp = a->dhcp != 0;
    if (out->dhcp)
        return;
    for (size_t i = 0; i < a->n_addresses; i++) {
        ips[i].address = a->addresses[i];
        ips[i].prefix = a->prefixes && a->prefixes[i] > 0 ? (unsigned)a->prefixes[i] : 0;
    }
    out->addresses = ips;
    out->n_addresses = a->n_addresses;
    out->gateways = a->gateway ? (const char *const *)&a->gateway : NULL;
    out->n_gateways = a->gateway ? 1 : 0;
    out->dns = (const char *const *)a->dns;
    out->n_dns = a->n_dns;
}

/* "ControlSetNNN" from @given (checked) or from Select\Current. */
static int
control_set(h2k_ctx *ctx, hk_hive *system, const char *given, char out[16])
{
    if (given) {
        bool ok = strlen(given) == 13 && strncasecmp(given, "ControlSet", 10) == 0;
        for (size_t i = 10; ok && i < 13; i++)
            ok = given[i] >= '0' && given[i] <= '9';
        if (!ok)
            return hk_error(ctx, H2K_ERR_VALIDATION,
                            "Windows first boot: control set \"%.32s\" is not ControlSetNNN",
                            given);
        memcpy(out, given, 14);
        return 0;
    }
    uint32_t cur;
    if (hk_hive_get_dword(system, "Select", "Current", &cur) < 0 || cur == 0 || cur > 999)
        return hk_error(ctx, H2K_ERR_GUEST_DETECTION,
                        "Windows first boot: the %s hive has no valid Select\\Current",
                        hk_hive_name(system));
    snprintf(out, 16, "ControlSet%03u", (unsigned)cur);
    return 0;
}

/* The helper's folder as the guest spells it (NTFS is case-insensitive):
 * each existing component as found, the missing ones as we name them.
 * Caller frees; NULL on allocation failure. */
static char *
guest_dir(guestfs_h *g)
{
    char rel[] = HK_WIN_FB_DIR;
    char *save = NULL;
    char *dir = strdup("");
    bool exists = true;
    for (char *comp = strtok_r(rel, "\\", &save); comp && dir; comp = strtok_r(NULL, "\\", &save)) {
        char *next = hk_asprintf("%s/%s", dir, comp);
        free(dir);
        dir = next;
        if (!dir || !exists)
            continue;
        /* resolves the existing elements; fails when this one is missing */
        char *found = guestfs_case_sensitive_path(g, dir);
        exists = found && guestfs_is_dir(g, found) > 0;
        if (exists) {
            free(dir);
            dir = found;
        } else {
            free(found);
        }
    }
    return dir;
}

int
hk_win_firstboot_install(h2k_offline_fixer *fx, h2k_fix_result *res, hk_hive *system,
                         const char *cset, const hk_win_firstboot *fb)
{
    h2k_ctx *ctx = fx->ctx;
    guestfs_h *g = fx->gfs->g;
    size_t exe_len = 0;
    const unsigned char *exe = fb ? hk_win_firstboot_helper(fb->os.arch, &exe_len) : NULL;
    if (!fb || !system)
        return hk_error(ctx, H2K_ERR_INVALID_ARG, "Windows first boot: no configuration");
    if (!exe)
        return hk_error(ctx, H2K_ERR_UNSUPPORTED,
                        "Windows first boot: this libhyper2kvm was built without the Windows "
                        "helper (the mingw-w64 cross compilers were missing)");
    char cs[16];
    int rc = control_set(ctx, system, cset, cs);
    if (rc < 0)
        return rc;
    hk_win_fb_step *steps = NULL;
    size_t n = 0;
    /* everything is validated before anything is written */
    if ((rc = hk_win_firstboot_steps(ctx, fb, &steps, &n)) < 0)
        return rc;
    char *image = hk_win_firstboot_image_path(fb);
    char *key = hk_asprintf("%s\\Services\\%s", cs, HK_WIN_FB_SERVICE);
    char *dir = NULL, *exe_path = NULL;
    if (!image || !key) {
        rc = hk_error_nomem(ctx);
        goto done;
    }
    if (n == 0) {
        hk_info(ctx, "fix", "Windows first boot: nothing to do at the first boot");
        goto done;
    }

    /* Windows is mounted read-only until a repair decides to write */
    if (!fx->opts.dry_run && (rc = hk_gfs_remount_rw(fx->gfs)) < 0)
        goto done;
    if (!(dir = guest_dir(g))) {
        rc = hk_error_nomem(ctx);
        goto done;
    }
    exe_path = hk_asprintf("%s/%s", dir, HK_WIN_FB_EXE);
    if (!exe_path) {
        rc = hk_error_nomem(ctx);
        goto done;
    }
    if (hk_fix_write_bytes(fx, res, exe_path, exe, exe_len,
                           fb->os.arch == HK_WIN_ARCH_X86
                               ? "first-boot service (x86), built from windows/firstboot"
                               : "first-boot service (x64), built from windows/firstboot") < 0) {
        rc = hk_error(ctx, H2K_ERR_FIXER, "Windows first boot: %s", res->message);
        goto done;
    }
    for (size_t i = 0; i < n; i++) {
        char *path = hk_asprintf("%s/scripts/%s", dir, steps[i].name);
        char *note = hk_asprintf("first-boot step %s", steps[i].name);
        int w = path && note ? hk_fix_write_new(fx, res, path, steps[i].text, note) : -1;
        free(path);
        free(note);
        if (w < 0) {
            rc = hk_error(ctx, H2K_ERR_FIXER, "Windows first boot: %s",
                          res->message ? res->message : "out of memory");
            goto done;
        }
    }

    /* the service: own process, automatic, as LocalSystem */
    if ((rc = hk_hive_set_dword(system, key, "Type", 0x10)) < 0 ||
        (rc = hk_hive_set_dword(system, key, "Start", 2)) < 0 ||
        (rc = hk_hive_set_dword(system, key, "ErrorControl", 1)) < 0 ||
        (rc = hk_hive_set_str(system, key, "ImagePath", HK_REG_EXPAND_SZ, image)) < 0 ||
        (rc = hk_hive_set_str(system, key, "ObjectName", HK_REG_SZ, "LocalSystem")) < 0 ||
        (rc = hk_hive_set_str(system, key, "DisplayName", HK_REG_SZ, "hyper2kvm first boot")) < 0 ||
        (rc = hk_hive_set_str(system, key, "Description", HK_REG_SZ,
                              "Runs the steps hyper2kvm left for the first boot on KVM, logs "
                              "them, then removes itself")) < 0)
        goto done;
    /* Vista and later: start after the other automatic services (and PnP) */
    if (fb->os.major >= 6 && (rc = hk_hive_set_dword(system, key, "DelayedAutostart", 1)) < 0)
        goto done;
    hk_info(ctx, "fix", "Windows first boot: %zu step%s, service %s in %s", n, n == 1 ? "" : "s",
            HK_WIN_FB_SERVICE, cs);
done:
    steps_free(steps, n);
    free(image);
    free(key);
    free(dir);
    free(exe_path);
    return rc;
}
