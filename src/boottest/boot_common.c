/*
 * What both boot testers share: the private work folder (overlay, firmware
 * variables, console log), watching the console, failure reports, results.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "boot_internal.h"
#include "core/json_util.h"
#include "hyper2kvm/h2k_disk.h"

#define LINGER_SECONDS 2.0
#define POLL_US (200 * 1000)
#define COPY_MAX (64u * 1024u * 1024u)

static int
copy_file(h2k_ctx *ctx, const char *src, const char *dst, mode_t mode)
{
    int in = open(src, O_RDONLY | O_CLOEXEC);
    if (in < 0)
        return hk_error_errno(ctx, errno, src, "cannot open");
    int out = open(dst, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
    if (out < 0) {
        int e = errno;
        close(in);
        return hk_error_errno(ctx, e, dst, "cannot create");
    }
    int rc = 0;
    char buf[65536];
    uint64_t total = 0;
    for (;;) {
        ssize_t n = read(in, buf, sizeof(buf));
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            rc = hk_error_errno(ctx, errno, src, "read");
            break;
        }
        if (n == 0)
            break;
        total += (uint64_t)n;
        if (total > COPY_MAX) {
            rc = hk_error(ctx, H2K_ERR_FORMAT, "%s: larger than %u MiB", src, COPY_MAX >> 20);
            break;
        }
        for (ssize_t off = 0; off < n;) {
            ssize_t w = write(out, buf + off, (size_t)(n - off));
            if (w < 0 && errno == EINTR)
                continue;
            if (w <= 0) {
                rc = hk_error_errno(ctx, w < 0 ? errno : EIO, dst, "write");
                break;
            }
            off += w;
        }
        if (rc < 0)
            break;
    }
    close(in);
    if (close(out) != 0 && rc == 0)
        rc = hk_error_errno(ctx, errno, dst, "close");
    return rc;
}

static int
touch(h2k_ctx *ctx, const char *path)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0)
        return hk_error_errno(ctx, errno, path, "cannot create");
    close(fd);
    return 0;
}

int
hk_boot_work_prepare(h2k_ctx *ctx, const char *image, const hk_boot_opts *o, hk_boot_work *w)
{
    memset(w, 0, sizeof(*w));
    int rc = 0;
    h2k_disk_info *info = NULL;
    if (o->uefi && (access(HK_OVMF_CODE, R_OK) != 0 || access(HK_OVMF_VARS, R_OK) != 0))
        return hk_error(ctx, H2K_ERR_NOT_FOUND, "UEFI firmware missing: %s and %s (package ovmf)",
                        HK_OVMF_CODE, HK_OVMF_VARS);
    if (o->format) {
        w->format = strdup(o->format);
    } else {
        h2k_probe_options po = H2K_PROBE_OPTIONS_INIT;
        if ((rc = h2k_disk_probe(ctx, image, &po, &info)) < 0)
            return rc;
        if (info->offset != 0)
            rc = hk_error(ctx, H2K_ERR_UNSUPPORTED,
                          "%s: the disk sits inside an archive; extract or convert it first",
                          image);
        else if (info->format == H2K_FORMAT_UNKNOWN)
            rc = hk_error(ctx, H2K_ERR_FORMAT, "%s: unknown disk format", image);
        else
            w->format = strdup(h2k_disk_format_qemu_name(info->format));
        h2k_disk_info_free(info);
        if (rc < 0)
            return rc;
    }
    if (!w->format)
        return hk_error_nomem(ctx);
    if (o->placed_token) {
        if (strlen(o->placed_token) != sizeof(w->token) - 1) {
            rc = hk_error(ctx, H2K_ERR_INVALID_ARG, "boot probe: bad token");
            goto fail;
        }
        memcpy(w->token, o->placed_token, sizeof(w->token));
    } else if ((rc = hk_boot_token(ctx, w->token)) < 0) {
        goto fail;
    }
    if ((rc = hk_temp_dir(ctx, "h2k-boot-", "work folder", &w->dir)) < 0)
        goto fail;
    /* libvirt's qemu may run as another user: let it reach the folder */
    chmod(w->dir, 0755);
    w->overlay = hk_path_join(w->dir, "overlay.qcow2");
    w->console_log = hk_path_join(w->dir, "console.log");
    w->qemu_log = hk_path_join(w->dir, "qemu.log");
    if (!w->overlay || !w->console_log || !w->qemu_log) {
        rc = hk_error_nomem(ctx);
        goto fail;
    }
    if ((rc = touch(ctx, w->console_log)) < 0)
        goto fail;

    if ((rc = hk_qcow2_overlay(ctx, image, w->format, w->overlay)) < 0)
        goto fail;

    if (o->uefi) {
        w->vars = hk_path_join(w->dir, "OVMF_VARS.fd");
        if (!w->vars) {
            rc = hk_error_nomem(ctx);
            goto fail;
        }
        if ((rc = copy_file(ctx, HK_OVMF_VARS, w->vars, 0644)) < 0)
            goto fail;
    }
    if (o->proof == H2K_PROOF_MARKER && !o->placed_token) {
        w->force_tcg = !hk_kvm_usable(ctx);
        bool emulated = strcmp(hk_boot_accel_name(ctx, o->accel), "tcg") == 0;
        if ((rc = hk_probe_inject(ctx, w->overlay, w->token, w->force_tcg, emulated)) < 0)
            goto fail;
    }
    if ((rc = hk_check_cancel(ctx)) < 0)
        goto fail;
    return 0;
fail:
    hk_boot_work_cleanup(ctx, w, NULL, NULL);
    return rc;
}

void
hk_boot_work_cleanup(h2k_ctx *ctx, hk_boot_work *w, const char *keep_log, char **kept)
{
    if (kept)
        *kept = NULL;
    if (w->dir && keep_log && w->console_log) {
        /* the work folder's log is removed below: keep a copy; an error here must
         * not hide the test's own outcome, so it is only logged */
        h2k_error saved_err = *h2k_ctx_last_error(ctx);
        char *msg = hk_strdup0(saved_err.message), *tail = hk_strdup0(saved_err.console_tail);
        char *stage = hk_strdup0(saved_err.stage);
        int code = saved_err.code;
        if (rename(w->console_log, keep_log) == 0 ||
            copy_file(ctx, w->console_log, keep_log, 0600) == 0) {
            if (kept)
                *kept = hk_abspath(keep_log);
        } else {
            hk_warn(ctx, "test", "cannot keep the console log at %s", keep_log);
        }
        if (code < 0) {
            hk_error(ctx, code, "%s", msg ? msg : "");
            hk_error_set_console_tail(ctx, tail);
            hk_error_set_stage(ctx, stage);
        } else {
            h2k_ctx_clear_error(ctx);
        }
        free(msg);
        free(tail);
        free(stage);
    }
    if (w->dir) {
        DIR *d = opendir(w->dir);
        if (d) {
            struct dirent *e;
            while ((e = readdir(d)) != NULL) {
                if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
                    continue;
                if (unlinkat(dirfd(d), e->d_name, 0) != 0)
                    hk_warn(ctx, "test", "cannot remove %s/%s: %s", w->dir, e->d_name,
                            strerror(errno));
            }
            closedir(d);
        }
        if (rmdir(w->dir) != 0)
            hk_warn(ctx, "test", "cannot remove %s: %s", w->dir, strerror(errno));
    }
    free(w->dir);
    free(w->overlay);
    free(w->vars);
    free(w->console_log);
    free(w->qemu_log);
    free(w->format);
    memset(w, 0, sizeof(*w));
}

unsigned
hk_boot_auto_vcpus(unsigned requested, bool emulated, long host_cpus)
{
    if (requested)
        return requested;
    return emulated && host_cpus >= 2 ? HK_BOOT_EMULATED_VCPUS : 1;
}

/* x86-64-v2 beyond qemu64, in libvirt's spelling (qemu's has '-' for '_') */
static const char *const lean_features[] = {"pni",    "ssse3", "sse4.1", "sse4.2",
                                            "popcnt", "cx16",  "lahf_lm"};
/* qemu64's own that a boot proof never needs: with SVM the guest loads kvm_amd
 * and runs its set-up on every vCPU under the emulation (about 2 s of a boot) */
static const char *const lean_dropped[] = {"svm"};

static bool
lean_cpu(unsigned level)
{
    return level == 1 || level == 2;
}

char *
hk_boot_tcg_cpu(unsigned level)
{
    if (!lean_cpu(level))
        return strdup("max");
    hk_buf b = {0};
    hk_buf_puts(&b, "qemu64");
    for (size_t i = 0; i < HK_ARRAY_LEN(lean_features); i++) {
        hk_buf_puts(&b, ",+");
        for (const char *s = lean_features[i]; *s; s++)
            hk_buf_append(&b, *s == '_' ? "-" : s, 1);
    }
    for (size_t i = 0; i < HK_ARRAY_LEN(lean_dropped); i++)
        hk_buf_printf(&b, ",-%s", lean_dropped[i]);
    return hk_buf_steal(&b);
}

void
hk_boot_tcg_cpu_xml(hk_buf *b, unsigned level)
{
    if (!lean_cpu(level)) {
        hk_buf_puts(b, "  <cpu mode='maximum'/>\n");
        return;
    }
    hk_buf_puts(b, "  <cpu mode='custom' match='exact' check='none'>\n"
                   "    <model fallback='forbid'>qemu64</model>\n");
    for (size_t i = 0; i < HK_ARRAY_LEN(lean_features); i++)
        hk_buf_printf(b, "    <feature policy='require' name='%s'/>\n", lean_features[i]);
    for (size_t i = 0; i < HK_ARRAY_LEN(lean_dropped); i++)
        hk_buf_printf(b, "    <feature policy='disable' name='%s'/>\n", lean_dropped[i]);
    hk_buf_puts(b, "  </cpu>\n");
}

hk_boot_vm
hk_boot_vm_of(const hk_boot_opts *o, const hk_boot_work *w)
{
    hk_boot_vm vm = {
        .machine = o->machine,
        .memory_mib = o->memory_mib,
        .vcpus = o->vcpus,
        .disk = w->overlay,
        .disk_format = "qcow2",
        .bus = o->bus,
        .nic_model = o->nic_model,
        .mac = o->mac,
        .ovmf_code = o->uefi ? HK_OVMF_CODE : NULL,
        .ovmf_vars = w->vars,
        .console_log = w->console_log,
        .cpu_level = o->cpu_level,
    };
    return vm;
}

int
hk_boot_console_start(h2k_ctx *ctx, const hk_boot_opts *o, const hk_boot_work *w,
                      const char *accel_prefix, const char *accel, hk_console *c,
                      h2k_boot_result **r)
{
    *r = NULL;
    if (hk_console_init(c, o->proof, w->token, o->expect_text) < 0)
        return hk_error_nomem(ctx);
    h2k_boot_result *res = calloc(1, sizeof(*res));
    if (!res || !(res->accel = hk_asprintf("%s%s", accel_prefix, accel))) {
        free(res);
        hk_console_free(c);
        return hk_error_nomem(ctx);
    }
    *r = res;
    return 0;
}

void
hk_boot_release(h2k_ctx *ctx, hk_boot_work *w, hk_console *c, const hk_boot_opts *o,
                h2k_boot_result *r)
{
    if (w)
        hk_boot_work_cleanup(ctx, w, r ? o->console_log : NULL, r ? &r->console_log_path : NULL);
    if (c)
        hk_console_free(c);
}

/* Reads what was appended to the log since the last call; returns whether
   there was any. */
static bool
drain(int fd, hk_console *c)
{
    char buf[16384];
    bool any = false;
    for (;;) {
        ssize_t n = read(fd, buf, sizeof(buf));
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return any;
        hk_console_feed(c, buf, (size_t)n);
        any = true;
    }
}

int
hk_boot_watch(h2k_ctx *ctx, const char *log_path, hk_console *c, unsigned timeout_seconds,
              hk_alive_fn alive, void *ud, int *outcome, int *exit_status, double *seconds)
{
    *exit_status = 0;
    *seconds = 0;
    int fd = open(log_path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return hk_error_errno(ctx, errno, log_path, "cannot read the console log");
    double start = hk_now(), deadline = start + timeout_seconds, linger_until = 0;
    double last_output = start;
    for (;;) {
        bool any = drain(fd, c);
        double now = hk_now();
        if (any)
            last_output = now;
        else if (now - last_output >= HK_CONSOLE_QUIET_SECONDS)
            hk_console_idle(c);
        if (c->state == HK_CONSOLE_PROVEN) {
            *outcome = HK_WATCH_PROVEN;
            *seconds = now - start;
            break;
        }
        if (c->state == HK_CONSOLE_FAILED) {
            /* a few more lines make the report clearer */
            if (linger_until == 0) {
                linger_until = now + LINGER_SECONDS;
                *seconds = now - start;
            } else if (now >= linger_until) {
                *outcome = HK_WATCH_FAILED;
                break;
            }
        }
        if (h2k_ctx_is_cancelled(ctx)) {
            *outcome = HK_WATCH_CANCELLED;
            *seconds = now - start;
            break;
        }
        if (!alive(ud, exit_status)) {
            drain(fd, c);
            if (c->state == HK_CONSOLE_FAILED && linger_until == 0)
                *seconds = hk_now() - start;
            *outcome = c->state == HK_CONSOLE_PROVEN   ? HK_WATCH_PROVEN
                       : c->state == HK_CONSOLE_FAILED ? HK_WATCH_FAILED
                                                       : HK_WATCH_ENDED;
            if (*outcome != HK_WATCH_FAILED)
                *seconds = hk_now() - start;
            break;
        }
        if (now >= deadline && linger_until == 0) {
            *outcome = HK_WATCH_TIMEOUT;
            *seconds = now - start;
            break;
        }
        usleep(POLL_US);
    }
    close(fd);
    return 0;
}

static int
add_addresses(h2k_boot_result *r, const hk_console *c)
{
    if (!c->n_addresses)
        return 0;
    r->addresses = calloc(c->n_addresses + 1, sizeof(char *));
    if (!r->addresses)
        return H2K_ERR_NO_MEMORY;
    for (size_t i = 0; i < c->n_addresses; i++) {
        if (!(r->addresses[i] = strdup(c->addresses[i])))
            return H2K_ERR_NO_MEMORY;
        r->n_addresses++;
    }
    return 0;
}

int
hk_boot_result_fill(h2k_boot_result *r, const hk_console *c)
{
    r->success = c->state == HK_CONSOLE_PROVEN;
    free(r->console_tail);
    r->console_tail = hk_console_tail(c);
    if (!r->console_tail || c->oom)
        return H2K_ERR_NO_MEMORY;
    if (c->proof_line && !(r->proof_line = strdup(c->proof_line)))
        return H2K_ERR_NO_MEMORY;
    if (c->hostname && !(r->hostname = strdup(c->hostname)))
        return H2K_ERR_NO_MEMORY;
    return add_addresses(r, c);
}

int
hk_boot_fail(h2k_ctx *ctx, h2k_boot_result *r, const hk_console *c, int outcome, int exit_status,
             unsigned timeout_seconds, const char *what, const char *extra)
{
    int code = H2K_ERR_BOOT_TEST;
    char *msg = NULL;
    switch (outcome) {
    case HK_WATCH_FAILED:
        msg = hk_asprintf("the guest did not boot: %s (console: \"%s\")",
                          c->failure ? c->failure : "failure",
                          c->failure_line ? c->failure_line : "");
        break;
    case HK_WATCH_TIMEOUT:
        r->timed_out = 1;
        msg = hk_asprintf("no proof of boot (%s) within %u s; the guest did not boot in time",
                          h2k_boot_proof_name(c->proof), timeout_seconds);
        break;
    case HK_WATCH_CANCELLED:
        code = H2K_ERR_CANCELLED;
        msg = hk_asprintf("boot test cancelled");
        break;
    default:
        msg = hk_asprintf("%s ended (status %d) before the guest proved it booted%s%s", what,
                          exit_status, extra && *extra ? ": " : "", extra ? extra : "");
        break;
    }
    if (!msg)
        return hk_error_nomem(ctx);
    size_t ml = strlen(msg);
    while (ml && (msg[ml - 1] == '\n' || msg[ml - 1] == ' '))
        msg[--ml] = '\0';
    if (hk_boot_result_fill(r, c) < 0) {
        free(msg);
        return hk_error_nomem(ctx);
    }
    r->success = 0;
    free(r->error_message);
    r->error_message = msg;
    hk_error(ctx, code, "boot test: %s", msg);
    hk_error_set_stage(ctx, "boot-test");
    hk_error_set_console_tail(ctx, r->console_tail);
    return code;
}

int
hk_boot_conclude(h2k_ctx *ctx, h2k_boot_result *r, const hk_console *c, int outcome,
                 int exit_status, double seconds, const hk_boot_opts *o, const char *image,
                 const char *what, const char *extra)
{
    r->boot_seconds = seconds;
    if (outcome == HK_WATCH_PROVEN) {
        if (hk_boot_result_fill(r, c) < 0)
            return hk_error_nomem(ctx);
        hk_info(ctx, "test", "the guest booted in %.1f s: %s", seconds, r->proof_line);
        return 0;
    }
    int rc = hk_boot_fail(ctx, r, c, outcome, exit_status, o->timeout_seconds, what, extra);
    hk_error_set_source(ctx, image);
    return rc;
}

void
hk_boot_result_give(h2k_boot_result *r, bool ran, int rc, h2k_boot_result **out)
{
    if (r && ran && r->console_tail &&
        (rc == 0 || rc == H2K_ERR_BOOT_TEST || rc == H2K_ERR_CANCELLED))
        *out = r;
    else
        h2k_boot_result_free(r);
}

void
h2k_boot_result_free(h2k_boot_result *r)
{
    if (!r)
        return;
    free(r->accel);
    free(r->console_log_path);
    free(r->console_tail);
    free(r->proof_line);
    free(r->hostname);
    for (size_t i = 0; i < r->n_addresses; i++)
        free(r->addresses[i]);
    free(r->addresses);
    free(r->error_message);
    free(r);
}

char *
h2k_boot_result_to_json(const h2k_boot_result *r)
{
    if (!r)
        return NULL;
    json_object *o = json_object_new_object();
    if (!o)
        return NULL;
    json_object_object_add(o, "success", json_object_new_boolean(r->success != 0));
    hk_json_add_str(o, "verdict", r->success ? "proven" : r->not_proven ? "not proven" : "failed");
    json_object_object_add(o, "timed_out", json_object_new_boolean(r->timed_out != 0));
    json_object_object_add(o, "boot_seconds", json_object_new_double(r->boot_seconds));
    hk_json_add_str(o, "accel", r->accel);
    hk_json_add_str(o, "hostname", r->hostname);
    hk_json_add_strv(o, "addresses", r->addresses, r->n_addresses);
    hk_json_add_str(o, "proof_line", r->proof_line);
    hk_json_add_str(o, "console_log", r->console_log_path);
    hk_json_add_str(o, "error", r->error_message);
    hk_json_add_str(o, "console_tail", r->console_tail);
    return hk_json_steal_string(o);
}

int
hk_boot_begin(h2k_ctx *ctx, const char *image, const h2k_boot_test_options *opts,
              h2k_boot_result **out, hk_boot_opts *o, char **abs)
{
    *abs = NULL;
    if (!ctx || !out)
        return H2K_ERR_INVALID_ARG;
    *out = NULL;
    if (!image || !*image)
        return hk_error(ctx, H2K_ERR_INVALID_ARG, "boot test: no image given");
    int rc = hk_boot_opts_resolve(ctx, opts, o);
    if (rc < 0)
        return rc;
    if (access(image, R_OK) != 0)
        return hk_error_errno(ctx, errno, image, "boot test: cannot read the image");
    *abs = hk_abspath(image);
    return *abs ? 0 : hk_error_nomem(ctx);
}
