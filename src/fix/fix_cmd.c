/*
 * Shell commands for the appliance, built from guest-supplied strings: see
 * fix_cmd.h.  Each guest string is one single-quoted word; kernel versions are
 * checked against HK_KERNEL_VERSION_CHARS first, so a version taken from a
 * file name such as "vmlinuz-$(reboot)" is refused rather than quoted.
 */
#include <stdlib.h>
#include <string.h>

#include "core/internal.h"
#include "fix_cmd.h"

bool
hk_kernel_version_ok(const char *v)
{
    if (!v || !*v || v[0] == '-' || v[0] == '.')
        return false;
    size_t n = strlen(v);
    return n <= HK_KERNEL_VERSION_MAX && strspn(v, HK_KERNEL_VERSION_CHARS) == n;
}

bool
hk_guest_path_ok(const char *p)
{
    if (!p || p[0] != '/')
        return false;
    for (const unsigned char *q = (const unsigned char *)p; *q; q++)
        if (*q < 0x20 || *q == 0x7f)
            return false;
    return true;
}

char *
hk_fix_cmd_list_initrd(hk_initrd_tool tool, const char *initrd)
{
    if (!hk_guest_path_ok(initrd))
        return NULL;
    char *qi = hk_sh_quote(initrd);
    char *cmd = qi ? hk_asprintf("%s %s | grep -c 'virtio_blk' || true",
                                 tool == HK_INITRD_INITRAMFS_TOOLS ? "lsinitramfs" : "lsinitrd", qi)
                   : NULL;
    free(qi);
    return cmd;
}

char *
hk_fix_cmd_rebuild_initrd(hk_initrd_tool tool, const char *version, const char *initrd,
                          const char *kernel)
{
    if (!hk_kernel_version_ok(version))
        return NULL;
    char *qv = hk_sh_quote(version);
    char *qi = initrd && hk_guest_path_ok(initrd) ? hk_sh_quote(initrd) : NULL;
    char *qk = kernel && hk_guest_path_ok(kernel) ? hk_sh_quote(kernel) : NULL;
    char *cmd = NULL;
    if (!qv)
        goto out;
    switch (tool) {
    case HK_INITRD_INITRAMFS_TOOLS:
        cmd = hk_asprintf("update-initramfs -u -k %s", qv);
        break;
    case HK_INITRD_DRACUT:
        if (qi)
            cmd = hk_asprintf("dracut -f --add-drivers 'virtio_pci virtio_blk virtio_scsi "
                              "virtio_net' %s %s",
                              qi, qv);
        break;
    case HK_INITRD_MKINITRD:
        if (qi && qk)
            cmd = hk_asprintf("mkinitrd -f 'virtio_pci virtio_blk virtio_scsi virtio_net' -k "
                              "%s -i %s",
                              qk, qi);
        break;
    default:
        break;
    }
out:
    free(qv);
    free(qi);
    free(qk);
    return cmd;
}

char *
hk_fix_cmd_initramfs_add(const char *version, const char *initrd, const char *modules,
                         const char *script)
{
    if (!hk_kernel_version_ok(version) || !hk_guest_path_ok(initrd))
        return NULL;
    char *qv = hk_sh_quote(version);
    char *qi = hk_sh_quote(initrd);
    char *cmd = qv && qi ? hk_asprintf("set -- %s %s %s\n%s", qv, qi, modules, script) : NULL;
    free(qv);
    free(qi);
    return cmd;
}

hk_initrd_add_outcome
hk_initrd_add_result(int status, const char *out, const char **said)
{
    static const char mark[] = "hyper2kvm-initramfs: ";
    const char *p = NULL;
    /* the verdict is a line of its own */
    for (const char *q = out; q && (q = strstr(q, mark)); q++)
        if (q == out || q[-1] == '\n') {
            p = q + sizeof(mark) - 1;
            break;
        }
    if (said)
        *said = p;
    if (status != 0 || !p)
        return HK_INITRD_ADD_NOT_APPLIED;
    size_t n = strcspn(p, "\n");
    if (n == strlen("present") && hk_startswith(p, "present"))
        return HK_INITRD_ADD_PRESENT;
    if (hk_startswith(p, "added") && (p[5] == ' ' || p[5] == '\n' || p[5] == '\0'))
        return HK_INITRD_ADD_ADDED;
    return HK_INITRD_ADD_NOT_APPLIED;
}

char *
hk_fix_cmd_pkg_query(bool dpkg, const char *const *pkgs, size_t n)
{
    hk_buf b = {0};
    for (size_t i = 0; i < n; i++) {
        char *q = hk_sh_quote(pkgs[i]);
        if (!q) {
            hk_buf_free(&b);
            return NULL;
        }
        hk_buf_printf(&b, " %s", q);
        free(q);
    }
    char *list = hk_buf_steal(&b);
    if (!list)
        return NULL;
    /* one dpkg-query for all the names: it prints those it knows and only
     * complains (on stderr, exit status 1) about the others; a process per
     * name cost 10 s of the VMware tools repair under TCG */
    char *cmd = dpkg ? hk_asprintf("dpkg-query -W -f='${Status} ${Package}\\n'%s 2>/dev/null | "
                                   "awk '/install ok installed/ {print $4}'",
                                   list)
                     : hk_asprintf("rpm -q --qf '%%{NAME}\\n'%s 2>/dev/null | grep -v 'not "
                                   "installed' || true",
                                   list);
    free(list);
    return cmd;
}

/* Index of the word @w (@wl bytes) in @pkgs, or -1. */
static long
known(const char *w, size_t wl, const char *const *pkgs, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (strlen(pkgs[i]) == wl && memcmp(pkgs[i], w, wl) == 0)
            return (long)i;
    return -1;
}

char *
hk_fix_pkg_filter(const char *output, const char *const *pkgs, size_t n)
{
    bool *seen = calloc(n ? n : 1, sizeof(*seen));
    if (!seen)
        return NULL;
    hk_buf b = {0};
    hk_buf_append(&b, "", 0);
    static const char ws[] = " \t\r\n";
    for (const char *p = output ? output : ""; *p;) {
        p += strspn(p, ws);
        size_t wl = strcspn(p, ws);
        if (!wl)
            break;
        long k = known(p, wl, pkgs, n);
        if (k >= 0 && !seen[k]) {
            seen[k] = true;
            hk_buf_printf(&b, "%s%s", b.len ? " " : "", pkgs[k]);
        }
        p += wl;
    }
    free(seen);
    return hk_buf_steal(&b);
}

char *
hk_fix_cmd_pkg_remove(bool dpkg, const char *names, const char *const *pkgs, size_t n)
{
    hk_buf b = {0};
    hk_buf_puts(&b, dpkg ? "DEBIAN_FRONTEND=noninteractive dpkg --purge" : "rpm -e --nodeps");
    size_t words = 0;
    static const char ws[] = " \t\r\n";
    for (const char *p = names ? names : ""; *p;) {
        p += strspn(p, ws);
        size_t wl = strcspn(p, ws);
        if (!wl)
            break;
        long k = known(p, wl, pkgs, n);
        char *q = k >= 0 ? hk_sh_quote(pkgs[k]) : NULL;
        if (!q) {
            hk_buf_free(&b);
            return NULL;
        }
        hk_buf_printf(&b, " %s", q);
        free(q);
        words++;
        p += wl;
    }
    if (!words) {
        hk_buf_free(&b);
        return NULL;
    }
    return hk_buf_steal(&b);
}
