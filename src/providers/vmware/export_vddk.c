/*
 * The "vddk" export of a vSphere VM: nbdkit's vddk plugin on a Unix socket,
 * copied by qemu-img from a snapshot.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "disk/vmdk_descriptor.h"
#include "core/util.h"
#include "providers/vmware/export_internal.h"
#include "providers/vmware/vmw_internal.h"

extern char **environ;

/* ------------------------------------------------------------ vddk */

/* The folder where nbdkit keeps its plugins ("plugindir=" of --dump-config). */
static char *
nbdkit_plugindir(h2k_vmware_client *c)
{
    const char *argv[] = {"nbdkit", "--dump-config", NULL};
    hk_run_opts o = {0};
    o.timeout_seconds = 30;
    hk_run_result r = {0};
    char *dir = NULL;
    if (hk_run(c->ctx, argv, &o, &r) == 0 && r.exit_status == 0 && r.stdout_tail) {
        const char *p = strstr(r.stdout_tail, "plugindir=");
        if (p) {
            p += 10;
            dir = hk_strndup(p, strcspn(p, "\n"));
        }
    }
    hk_run_result_clear(&r);
    h2k_ctx_clear_error(c->ctx);
    return dir;
}

static int
wait_socket(const char *path, pid_t pid, double timeout)
{
    double start = hk_now();
    struct stat st;
    while (hk_now() - start < timeout) {
        if (stat(path, &st) == 0)
            return 0;
        int status;
        if (waitpid(pid, &status, WNOHANG) == pid)
            return -1;
        struct timespec ts = {0, 50000000L};
        nanosleep(&ts, NULL);
    }
    return -1;
}

int
hk_vmw_export_vddk(h2k_vmware_client *c, hk_vmw_vm *vm, const char *snap, const char *out_dir,
                   char **paths)
{
    h2k_ctx *ctx = c->ctx;
    if (!c->vddk_libdir)
        return hk_error(ctx, H2K_ERR_UNSUPPORTED,
                        "%s: the vddk transport needs VMware's VDDK library: pass its folder "
                        "with --vddk-libdir (vddk_libdir)",
                        c->host);
    struct stat st;
    char *lib = hk_path_join(c->vddk_libdir, "lib64/libvixDiskLib.so");
    bool have_lib = lib && stat(lib, &st) == 0;
    free(lib);
    if (!have_lib)
        return hk_error(ctx, H2K_ERR_UNSUPPORTED,
                        "%s: the vddk transport needs VMware's VDDK library: %s has no "
                        "lib64/libvixDiskLib.so",
                        c->host, c->vddk_libdir);
    char *nbdkit = hk_find_program("nbdkit");
    char *pdir = nbdkit ? nbdkit_plugindir(c) : NULL;
    char *plugin = pdir ? hk_path_join(pdir, "nbdkit-vddk-plugin.so") : NULL;
    bool have_plugin = plugin && stat(plugin, &st) == 0;
    free(pdir);
    free(plugin);
    if (!have_plugin) {
        int rc = hk_error(ctx, H2K_ERR_UNSUPPORTED,
                          "%s: the vddk transport needs %s (package nbdkit-plugin-vddk)", c->host,
                          nbdkit ? "nbdkit's vddk plugin" : "nbdkit and its vddk plugin");
        free(nbdkit);
        return rc;
    }
    if (!c->seen_sha1[0]) {
        free(nbdkit);
        return hk_error(ctx, H2K_ERR_UNSUPPORTED,
                        "%s: the vddk transport needs the server's certificate thumbprint",
                        c->host);
    }
    /* the password goes to nbdkit through a private file, never argv */
    char *tmpdir = NULL;
    int trc = hk_temp_dir(ctx, "h2k-vddk-", "vddk folder", &tmpdir);
    if (trc < 0) {
        free(nbdkit);
        return trc;
    }
    char *pwfile = hk_path_join(tmpdir, "pw");
    char *sock = hk_path_join(tmpdir, "nbd.sock");
    int rc = 0;
    int fd = pwfile ? open(pwfile, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600) : -1;
    if (fd < 0 || write(fd, c->password, c->password_len) != (ssize_t)c->password_len)
        rc = hk_error_errno(ctx, errno, pwfile ? pwfile : tmpdir, "write");
    if (fd >= 0)
        close(fd);
    for (size_t i = 0; rc == 0 && i < vm->spec->n_disks; i++) {
        const char *ref = vm->spec->disks[i].file_ref;
        char *name = hk_asprintf("%s-disk%zu.raw", vm->spec->name, i + 1);
        for (char *p = name; p && *p; p++)
            if (*p == '/')
                *p = '_';
        char *a_lib = hk_asprintf("libdir=%s", c->vddk_libdir);
        char *a_srv = hk_asprintf("server=%s", c->host);
        char *a_usr = hk_asprintf("user=%s", c->user);
        char *a_pw = hk_asprintf("password=+%s", pwfile);
        char *a_tp = hk_asprintf("thumbprint=%s", c->seen_sha1);
        char *a_vm = hk_asprintf("vm=moref=%s", vm->moref);
        char *a_file = hk_asprintf("file=%s", ref ? ref : "");
        char *a_snap = snap ? hk_asprintf("snapshot=%s", snap) : NULL;
        char *out = name ? hk_path_join(out_dir, name) : NULL;
        char *nbd = hk_asprintf("nbd+unix:///?socket=%s", sock);
        if (!name || !a_lib || !a_srv || !a_usr || !a_pw || !a_tp || !a_vm || !a_file ||
            (snap && !a_snap) || !out || !nbd) {
            rc = hk_error_nomem(ctx);
        } else {
            char *argv[] = {nbdkit, "-r", "-f", "-U", sock,   "vddk", a_lib, a_srv,
                            a_usr,  a_pw, a_tp, a_vm, a_file, a_snap, NULL};
            pid_t pid;
            unlink(sock);
            if (posix_spawn(&pid, nbdkit, NULL, NULL, argv, environ) != 0) {
                rc = hk_error_errno(ctx, errno, nbdkit, "start");
            } else {
                if (wait_socket(sock, pid, c->timeout) < 0) {
                    rc = hk_error(ctx, H2K_ERR_CONNECTION, "%s: nbdkit vddk did not start for %s",
                                  c->host, ref ? ref : "?");
                } else {
                    const char *qargv[] = {"qemu-img", "convert", "-p", "-f", "raw",
                                           "-O",       "raw",     nbd,  out,  NULL};
                    hk_run_opts o = {0};
                    hk_run_result r = {0};
                    rc = hk_run(ctx, qargv, &o, &r);
                    if (rc == 0 && r.exit_status != 0)
                        rc = hk_error(ctx, H2K_ERR_CONNECTION, "%s: vddk copy of %s failed: %s",
                                      c->host, ref ? ref : "?",
                                      r.stderr_tail ? r.stderr_tail : "qemu-img failed");
                    hk_run_result_clear(&r);
                }
                kill(pid, SIGTERM);
                waitpid(pid, NULL, 0);
            }
        }
        if (rc == 0) {
            paths[i] = out;
            out = NULL;
        }
        free(name);
        free(a_lib);
        free(a_srv);
        free(a_usr);
        free(a_pw);
        free(a_tp);
        free(a_vm);
        free(a_file);
        free(a_snap);
        free(out);
        free(nbd);
    }
    if (pwfile) {
        unlink(pwfile);
        free(pwfile);
    }
    if (sock) {
        unlink(sock);
        free(sock);
    }
    rmdir(tmpdir);
    free(tmpdir);
    free(nbdkit);
    return rc;
}
