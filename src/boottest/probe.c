/*
 * The boot probe: a tiny script the guest runs once multi-user.target is
 * reached (a systemd unit, or rc.local on guests without systemd).  It writes
 * "H2K-BOOT-OK <token> <hostname> <addresses>" to the serial port and the
 * console.  Written only into the boot test's throw-away overlay, through one
 * libguestfs appliance launch.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include <guestfs.h>

#include "boot_internal.h"

int
hk_boot_token(h2k_ctx *ctx, char out[17])
{
    unsigned char raw[8];
    size_t got = 0;
    while (got < sizeof(raw)) {
        ssize_t n = getrandom(raw + got, sizeof(raw) - got, 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return hk_error_errno(ctx, n < 0 ? errno : EIO, NULL, "getrandom");
        got += (size_t)n;
    }
    static const char hex[] = "0123456789abcdef";
    for (size_t i = 0; i < sizeof(raw); i++) {
        out[2 * i] = hex[raw[i] >> 4];
        out[2 * i + 1] = hex[raw[i] & 15];
    }
    out[16] = '\0';
    return 0;
}

/* POSIX sh only: no awk, no bash.  Waits (at most 20 s) for a global address
 * when the guest has a network interface, then reports three times, a second
 * apart, so that one line mixed with other console output does not matter. */
static const char script_template[] =
    "#!/bin/sh\n"
    "# hyper2kvm boot test probe: written into a throw-away overlay by the boot\n"
    "# tester, never into a converted guest.  Reports that user space is up.\n"
    "token=@TOKEN@\n"
    "addresses() {\n"
    "    if command -v ip >/dev/null 2>&1; then\n"
    "        ip -o addr show scope global 2>/dev/null | while read -r _ _ fam addr _; do\n"
    "            case $fam in inet|inet6) printf ' %s' \"${addr%%/*}\" ;; esac\n"
    "        done\n"
    "    elif command -v hostname >/dev/null 2>&1; then\n"
    "        for a in $(hostname -I 2>/dev/null); do printf ' %s' \"$a\"; done\n"
    "    fi\n"
    "}\n"
    "has_nic=\n"
    "for n in /sys/class/net/*; do\n"
    "    [ -e \"$n\" ] && [ \"${n##*/}\" != lo ] && has_nic=1\n"
    "done\n"
    "i=0\n"
    "addrs=$(addresses)\n"
    "while [ -n \"$has_nic\" ] && [ -z \"$addrs\" ] && [ $i -lt 20 ]; do\n"
    "    sleep 1\n"
    "    i=$((i + 1))\n"
    "    addrs=$(addresses)\n"
    "done\n"
    "host=$(cat /proc/sys/kernel/hostname 2>/dev/null)\n"
    "for k in 1 2 3; do\n"
    "    msg=\"H2K-BOOT-OK $token ${host:-none}${addrs:- none}\"\n"
    "    for t in /dev/ttyS0 /dev/console; do\n"
    "        [ -c \"$t\" ] && printf '\\r\\n%s\\r\\n' \"$msg\" >\"$t\" 2>/dev/null\n"
    "    done\n"
    "    sleep 1\n"
    "    addrs=$(addresses)\n"
    "done\n"
    "exit 0\n";

static const char unit_text[] = "# hyper2kvm boot test probe (throw-away overlay only)\n"
                                "[Unit]\n"
                                "Description=hyper2kvm boot test probe\n"
                                "After=multi-user.target\n"
                                "\n"
                                "[Service]\n"
                                "Type=oneshot\n"
                                "ExecStart=/bin/sh " HK_PROBE_SCRIPT_PATH "\n"
                                "StandardOutput=null\n"
                                "StandardError=null\n"
                                "\n"
                                "[Install]\n"
                                "WantedBy=multi-user.target\n";

char *
hk_probe_script(const char *token)
{
    const char *at = strstr(script_template, "@TOKEN@");
    if (!token || !at)
        return NULL;
    return hk_asprintf("%.*s%s%s", (int)(at - script_template), script_template, token,
                       at + strlen("@TOKEN@"));
}

const char *
hk_probe_unit(void)
{
    return unit_text;
}

/* Under emulation the guest runs many times slower than on KVM while its clock
 * keeps real time: on a loaded host udev's coldplug can outlast systemd's
 * 90 s default job timeout, and the mounts of fstab then fail for want of
 * their devices (emergency mode) though nothing is wrong with the guest.  The
 * boot test's own timeout bounds the boot instead. */
static const char slow_conf_text[] =
    "# hyper2kvm boot test under emulation (throw-away overlay only)\n"
    "[Manager]\n"
    "DefaultTimeoutStartSec=" HK_PROBE_SLOW_START_TIMEOUT "\n"
    "DefaultDeviceTimeoutSec=" HK_PROBE_SLOW_START_TIMEOUT "\n";

const char *
hk_probe_slow_conf(void)
{
    return slow_conf_text;
}

static const char rc_line[] = "/bin/sh " HK_PROBE_SCRIPT_PATH " >/dev/null 2>&1 &\n";

/* ------------------------------------------------------------ libguestfs */

static int
gerr(h2k_ctx *ctx, guestfs_h *g, int code, const char *what)
{
    const char *m = guestfs_last_error(g);
    return hk_error(ctx, code, "boot probe: %s: %s", what, m ? m : "libguestfs failed");
}

static int
cmp_mp(const void *a, const void *b)
{
    const char *const *x = a, *const *y = b;
    size_t lx = strlen(x[0]), ly = strlen(y[0]);
    return lx < ly ? -1 : lx > ly ? 1 : strcmp(x[0], y[0]);
}

static void
selinux_label(guestfs_h *g, bool selinux, const char *path, const char *type, bool link)
{
    if (!selinux)
        return;
    char label[96];
    int n = snprintf(label, sizeof(label), "system_u:object_r:%s:s0", type);
    if (n <= 0 || (size_t)n >= sizeof(label))
        return;
    /* best effort: a guest without SELinux policy for the type just ignores it */
    if (link)
        guestfs_lsetxattr(g, "security.selinux", label, n + 1, path);
    else
        guestfs_setxattr(g, "security.selinux", label, n + 1, path);
}

static int
write_file(h2k_ctx *ctx, guestfs_h *g, const char *path, const char *text, int mode)
{
    if (guestfs_write(g, path, text, strlen(text)) < 0 || guestfs_chmod(g, mode, path) < 0)
        return gerr(ctx, g, H2K_ERR_IO, path);
    return 0;
}

/* Adds the rc.local line: after the first line when the file exists (so a
 * trailing "exit 0" does not skip it), else a new executable file. */
static int
add_rc_local(h2k_ctx *ctx, guestfs_h *g, const char *path)
{
    int rc = 0;
    if (guestfs_is_file_opts(g, path, GUESTFS_IS_FILE_OPTS_FOLLOWSYMLINKS, 1, -1) == 1) {
        size_t len = 0;
        char *old = guestfs_read_file(g, path, &len);
        if (!old)
            return gerr(ctx, g, H2K_ERR_IO, path);
        if (len > 1024 * 1024 || memchr(old, '\0', len)) {
            free(old);
            return hk_error(ctx, H2K_ERR_FORMAT, "boot probe: %s: not a small text file", path);
        }
        const char *nl = memchr(old, '\n', len);
        size_t head = nl ? (size_t)(nl - old) + 1 : len;
        char *text;
        if (len >= 2 && old[0] == '#' && old[1] == '!')
            text = hk_asprintf("%.*s%s%s%s", (int)head, old, nl ? "" : "\n", rc_line, old + head);
        else
            text = hk_asprintf("%s%.*s", rc_line, (int)len, old);
        free(old);
        if (!text)
            return hk_error_nomem(ctx);
        rc = write_file(ctx, g, path, text, 0755);
        free(text);
        return rc;
    }
    char *text = hk_asprintf("#!/bin/sh\n%sexit 0\n", rc_line);
    if (!text)
        return hk_error_nomem(ctx);
    rc = write_file(ctx, g, path, text, 0755);
    free(text);
    return rc;
}

/* The drop-in of slow_conf_text, for a systemd guest booted under TCG. */
static int
install_slow_conf(h2k_ctx *ctx, guestfs_h *g, bool selinux)
{
    const char *dir = "/etc/systemd/system.conf.d";
    const char *path = "/etc/systemd/system.conf.d/90-hyper2kvm-boot-test.conf";
    if (guestfs_is_dir(g, dir) != 1) {
        if (guestfs_mkdir_p(g, dir) < 0)
            return gerr(ctx, g, H2K_ERR_IO, dir);
        selinux_label(g, selinux, dir, "etc_t", false);
    }
    int rc = write_file(ctx, g, path, slow_conf_text, 0644);
    if (rc < 0)
        return rc;
    selinux_label(g, selinux, path, "etc_t", false);
    hk_debug(ctx, "test", "boot probe: %s (job timeouts %s under emulation)", path,
             HK_PROBE_SLOW_START_TIMEOUT);
    return 0;
}

static int
install_probe(h2k_ctx *ctx, guestfs_h *g, const char *root, const char *token, bool emulated)
{
    char *type = guestfs_inspect_get_type(g, root);
    bool linux_guest = type && strcmp(type, "linux") == 0;
    free(type);
    if (!linux_guest)
        return hk_error(ctx, H2K_ERR_UNSUPPORTED,
                        "boot probe: the marker proof needs a Linux guest (use the login or "
                        "text proof)");
    return hk_probe_install(ctx, g, token, emulated);
}

int
hk_probe_install(h2k_ctx *ctx, guestfs_h *g, const char *token, bool emulated)
{
    if (!token || !*token || strspn(token, "0123456789abcdef") != strlen(token))
        return hk_error(ctx, H2K_ERR_INVALID_ARG, "boot probe: bad token");
    bool selinux = guestfs_is_dir(g, "/etc/selinux") == 1;
    bool has_systemd = guestfs_exists(g, "/lib/systemd/systemd") == 1 ||
                       guestfs_exists(g, "/usr/lib/systemd/systemd") == 1;
    bool init_is_systemd = false;
    char *init = guestfs_readlink(g, "/sbin/init");
    if (init)
        init_is_systemd = strstr(init, "systemd") != NULL;
    else
        init_is_systemd = has_systemd && guestfs_exists(g, "/sbin/init") != 1;
    free(init);

    int rc = 0;
    char *script = hk_probe_script(token);
    if (!script)
        return hk_error_nomem(ctx);
    if (guestfs_is_dir(g, "/usr/local/sbin") != 1) {
        if (guestfs_mkdir_p(g, "/usr/local/sbin") < 0) {
            free(script);
            return gerr(ctx, g, H2K_ERR_IO, "/usr/local/sbin");
        }
        selinux_label(g, selinux, "/usr/local/sbin", "bin_t", false);
    }
    rc = write_file(ctx, g, HK_PROBE_SCRIPT_PATH, script, 0755);
    free(script);
    if (rc < 0)
        return rc;
    selinux_label(g, selinux, HK_PROBE_SCRIPT_PATH, "bin_t", false);

    if (has_systemd) {
        const char *unit = "/etc/systemd/system/" HK_PROBE_UNIT_NAME;
        const char *wants = "/etc/systemd/system/multi-user.target.wants";
        const char *link = "/etc/systemd/system/multi-user.target.wants/" HK_PROBE_UNIT_NAME;
        if (guestfs_mkdir_p(g, wants) < 0)
            return gerr(ctx, g, H2K_ERR_IO, wants);
        if ((rc = write_file(ctx, g, unit, unit_text, 0644)) < 0)
            return rc;
        if (guestfs_exists(g, link) != 1 && guestfs_ln_s(g, unit, link) < 0)
            return gerr(ctx, g, H2K_ERR_IO, link);
        selinux_label(g, selinux, unit, "systemd_unit_file_t", false);
        selinux_label(g, selinux, link, "systemd_unit_file_t", true);
        hk_debug(ctx, "test", "boot probe: systemd unit %s", unit);
        if (emulated && (rc = install_slow_conf(ctx, g, selinux)) < 0)
            return rc;
    }
    if (!init_is_systemd) {
        const char *rcl = guestfs_is_file_opts(g, "/etc/rc.d/rc.local",
                                               GUESTFS_IS_FILE_OPTS_FOLLOWSYMLINKS, 1, -1) == 1
                              ? "/etc/rc.d/rc.local"
                              : "/etc/rc.local";
        if ((rc = add_rc_local(ctx, g, rcl)) < 0)
            return rc;
        if (guestfs_is_dir(g, "/etc/local.d") == 1 &&
            (rc = write_file(ctx, g, "/etc/local.d/h2k-boot-probe.start", rc_line, 0755)) < 0)
            return rc;
        hk_debug(ctx, "test", "boot probe: %s", rcl);
    }
    return 0;
}

int
hk_probe_inject(h2k_ctx *ctx, const char *overlay, const char *token, bool force_tcg, bool emulated)
{
    if ((size_t)strspn(token, "0123456789abcdef") != strlen(token) || !*token)
        return hk_error(ctx, H2K_ERR_INVALID_ARG, "boot probe: bad token");
    guestfs_h *g = guestfs_create_flags(GUESTFS_CREATE_NO_ENVIRONMENT);
    if (!g)
        return hk_error(ctx, H2K_ERR_IO, "boot probe: cannot create a libguestfs handle");
    guestfs_set_error_handler(g, NULL, NULL);
    int rc = 0;
    char **roots = NULL, **mps = NULL;
    bool mounted = false;
    if (guestfs_parse_environment(g) < 0) {
        rc = gerr(ctx, g, H2K_ERR_IO, "libguestfs environment");
        goto done;
    }
    if (force_tcg && guestfs_set_backend_setting(g, "force_tcg", "1") < 0) {
        rc = gerr(ctx, g, H2K_ERR_IO, "libguestfs backend setting");
        goto done;
    }
    if (guestfs_add_drive_opts(g, overlay, GUESTFS_ADD_DRIVE_OPTS_FORMAT, "qcow2",
                               GUESTFS_ADD_DRIVE_OPTS_READONLY, 0, -1) < 0) {
        rc = gerr(ctx, g, H2K_ERR_IO, overlay);
        goto done;
    }
    if ((rc = hk_check_cancel(ctx)) < 0)
        goto done;
    hk_info(ctx, "test", "writing the boot probe into the overlay (libguestfs%s)",
            force_tcg ? ", TCG" : "");
    double t0 = hk_now();
    if (guestfs_launch(g) < 0) {
        rc = gerr(ctx, g, H2K_ERR_IO, "appliance launch failed");
        goto done;
    }
    hk_debug(ctx, "test", "appliance up in %.1f s", hk_now() - t0);
    if ((rc = hk_check_cancel(ctx)) < 0)
        goto done;
    roots = guestfs_inspect_os(g);
    if (!roots) {
        rc = gerr(ctx, g, H2K_ERR_GUEST_DETECTION, "inspection failed");
        goto done;
    }
    if (!roots[0] || roots[1]) {
        rc = hk_error(ctx, H2K_ERR_GUEST_DETECTION,
                      "boot probe: %s operating system found in the image; the marker proof "
                      "needs exactly one (use the login or text proof)",
                      roots[0] ? "more than one" : "no");
        goto done;
    }
    mps = guestfs_inspect_get_mountpoints(g, roots[0]);
    if (!mps) {
        rc = gerr(ctx, g, H2K_ERR_GUEST_DETECTION, "cannot list mount points");
        goto done;
    }
    size_t nm = 0;
    while (mps[2 * nm] && mps[2 * nm + 1])
        nm++;
    qsort(mps, nm, 2 * sizeof(char *), cmp_mp);
    for (size_t i = 0; i < nm; i++) {
        if (guestfs_mount(g, mps[2 * i + 1], mps[2 * i]) < 0) {
            if (strcmp(mps[2 * i], "/") == 0) {
                rc = gerr(ctx, g, H2K_ERR_GUEST_DETECTION, "cannot mount the root file system");
                goto done;
            }
            hk_warn(ctx, "test", "boot probe: cannot mount %s on %s", mps[2 * i + 1], mps[2 * i]);
        }
        mounted = true;
    }
    rc = install_probe(ctx, g, roots[0], token, emulated);
done:
    if (mounted && guestfs_umount_all(g) < 0 && rc == 0)
        rc = gerr(ctx, g, H2K_ERR_IO, "unmounting");
    if (guestfs_shutdown(g) < 0 && rc == 0)
        rc = gerr(ctx, g, H2K_ERR_IO, "shutting the appliance down");
    guestfs_close(g);
    hk_strv_free(roots);
    hk_strv_free(mps);
    return rc;
}
