/*
 * h2k_qemu_test_run: boots an image on a throw-away overlay under
 * qemu-system-x86_64 and waits for the proof that user space came up.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "boot_disks.h"
#include "boot_internal.h"
#include "guest/fsread.h"

#define QEMU "qemu-system-x86_64"
#define STOP_GRACE_MS 3000

typedef struct qemu_proc {
    pid_t pid;
} qemu_proc;

static bool
qemu_alive(void *ud, int *status)
{
    return !hk_proc_exited(((qemu_proc *)ud)->pid, status);
}

/* The last bytes qemu wrote on stdout/stderr (caller frees), or NULL. */
static char *
qemu_output(const char *path)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return NULL;
    off_t end = lseek(fd, 0, SEEK_END);
    off_t start = end > 1024 ? end - 1024 : 0;
    char buf[1025];
    ssize_t n = pread(fd, buf, 1024, start);
    close(fd);
    if (n <= 0)
        return NULL;
    buf[n] = '\0';
    for (ssize_t i = 0; i < n; i++)
        if (buf[i] == '\n' && i + 1 < n)
            buf[i] = ' ';
    char *s = strdup(buf);
    return s ? hk_console_sanitize(s) : NULL;
}

static int run_disks(h2k_ctx *ctx, char *abs, const char *const *extra, size_t n_extra,
                     hk_boot_opts *o, h2k_boot_result **out);
static int run_test(h2k_ctx *ctx, const char *image, const char *const *extra, size_t n_extra,
                    const h2k_boot_test_options *opts, const char *token, h2k_boot_result **out);

int
h2k_qemu_test_run(h2k_ctx *ctx, const char *image, const h2k_boot_test_options *opts,
                  h2k_boot_result **out)
{
    return run_test(ctx, image, NULL, 0, opts, NULL, out);
}

int
hk_qemu_test_run_disks(h2k_ctx *ctx, const char *image, const char *const *extra, size_t n_extra,
                       const h2k_boot_test_options *opts, h2k_boot_result **out)
{
    return run_test(ctx, image, extra, n_extra, opts, NULL, out);
}

int
hk_qemu_test_run_placed(h2k_ctx *ctx, const char *image, const h2k_boot_test_options *opts,
                        const char *token, h2k_boot_result **out)
{
    if (!token)
        return hk_error(ctx, H2K_ERR_INVALID_ARG, "boot test: no probe token");
    return run_test(ctx, image, NULL, 0, opts, token, out);
}

/* @token: the probe was placed already (hk_fix_place_boot_probe) with this token */
static int
run_test(h2k_ctx *ctx, const char *image, const char *const *extra, size_t n_extra,
         const h2k_boot_test_options *opts, const char *token, h2k_boot_result **out)
{
    if (n_extra && !extra)
        return H2K_ERR_INVALID_ARG;
    hk_boot_opts o;
    char *abs = NULL;
    int rc = hk_boot_begin(ctx, image, opts, out, &o, &abs);
    if (rc < 0)
        return rc;
    if (token && o.proof != H2K_PROOF_MARKER) {
        free(abs);
        return hk_error(ctx, H2K_ERR_INVALID_ARG,
                        "boot test: a placed probe needs the marker proof");
    }
    o.placed_token = token;
    char **extra_abs = calloc(n_extra + 1, sizeof(char *));
    if (!extra_abs) {
        free(abs);
        return hk_error_nomem(ctx);
    }
    for (size_t i = 0; i < n_extra; i++) {
        if (!extra[i] || !(extra_abs[i] = hk_abspath(extra[i]))) {
            hk_strv_free(extra_abs);
            free(abs);
            return extra[i] ? hk_error_nomem(ctx)
                            : hk_error(ctx, H2K_ERR_INVALID_ARG, "boot test: disk %zu has no path",
                                       i + 2);
        }
    }
    rc = run_disks(ctx, abs, (const char *const *)extra_abs, n_extra, &o, out);
    hk_strv_free(extra_abs);
    return rc;
}

/* Takes @abs. */
static int
run_disks(h2k_ctx *ctx, char *abs, const char *const *extra_disks, size_t n_extra,
          hk_boot_opts *opts_o, h2k_boot_result **out)
{
    hk_boot_opts o = *opts_o;
    int rc = 0;
    char *qemu = hk_find_program(QEMU);
    if (!qemu) {
        free(abs);
        return hk_error(ctx, H2K_ERR_NOT_FOUND, "boot test: %s not found (package qemu-system-x86)",
                        QEMU);
    }
    free(qemu);

    hk_boot_work w;
    hk_console con;
    char **argv = NULL;
    h2k_boot_result *r = NULL;
    qemu_proc proc = {.pid = -1};
    bool con_init = false, work = false;
    const char *accel = hk_boot_accel_name(ctx, o.accel);
    o.vcpus = hk_boot_auto_vcpus(o.vcpus, strcmp(accel, "tcg") == 0, hk_host_cpus());

    if ((rc = hk_boot_work_prepare(ctx, abs, &o, &w)) < 0)
        goto done;
    work = true;
    hk_qemu_plan plan = {
        .qemu = QEMU,
        .accel = accel,
        .vm = hk_boot_vm_of(&o, &w),
        .extra_disks = extra_disks,
        .n_extra_disks = n_extra,
        .extra_format = w.format,
    };
    if ((rc = hk_qemu_argv(ctx, &plan, &argv)) < 0)
        goto done;
    if ((rc = hk_boot_console_start(ctx, &o, &w, "", accel, &con, &r)) < 0)
        goto done;
    con_init = true;
    hk_info(ctx, "test", "booting %s%s (%s, %s, %u vCPU%s, %s bus, %s, proof %s, timeout %u s)",
            abs, n_extra ? " and the VM's other disks" : "", w.format, accel, o.vcpus,
            o.vcpus == 1 ? "" : "s", h2k_bus_name(o.bus), o.uefi ? "UEFI" : "BIOS",
            h2k_boot_proof_name(o.proof), o.timeout_seconds);
    if ((rc = hk_proc_spawn(ctx, (const char *const *)argv, w.qemu_log, &proc.pid)) < 0)
        goto done;

    int outcome = HK_WATCH_ENDED, status = 0;
    double seconds = 0;
    rc = hk_boot_watch(ctx, w.console_log, &con, o.timeout_seconds, qemu_alive, &proc, &outcome,
                       &status, &seconds);
    hk_proc_stop(proc.pid, STOP_GRACE_MS);
    proc.pid = -1;
    if (rc < 0)
        goto done;
    char *extra = outcome == HK_WATCH_PROVEN ? NULL : qemu_output(w.qemu_log);
    rc = hk_boot_conclude(ctx, r, &con, outcome, status, seconds, &o, abs, "qemu", extra);
    free(extra);

done:
    if (proc.pid > 0)
        hk_proc_stop(proc.pid, STOP_GRACE_MS);
    hk_boot_release(ctx, work ? &w : NULL, con_init ? &con : NULL, &o, r);
    hk_strv_free(argv);
    free(abs);
    hk_boot_result_give(r, proc.pid == -1, rc, out);
    return rc;
}
