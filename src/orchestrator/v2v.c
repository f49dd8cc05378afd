/*
 * The virt-v2v backend of the orchestrator: runs
 *   virt-v2v -i disk|ova|vmx INPUT -o local -os DIR -of qcow2|raw -on NAME --machine-readable
 * and links its disks to OUTPUT_DIR/<name>-diskN.<fmt>.  DIR is a hidden
 * folder inside OUTPUT_DIR (same filesystem: no copy), removed at the end with
 * virt-v2v's own XML; ours is written by the orchestrator as usual.
 *
 * virt-v2v's JSON messages on stdout drive the stages of the result: its
 * source set-up, inspection and conversion count as "fix", the mapping of
 * unused blocks as "trim", the rest as "copy" (progress events and timings
 * under those names).  Its warnings become warnings of the result; its error
 * message (or the last lines of its stderr) becomes ours.  Its large temporary
 * files go to the run's work folder (VIRT_V2V_TMPDIR, TMPDIR), so nothing
 * survives a failure or a cancel, which kills its whole process group
 * (virt-v2v, nbdkit, qemu).
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <json-c/json.h>

#include "orch_internal.h"

#define DOM "virt-v2v"
#define MSG_MAX 1024

/* virt-v2v 2.x announces its steps with these messages (prefixes). */
static const struct v2v_step {
    const char *prefix;
    const char *stage;
    unsigned step, steps;
} v2v_steps[] = {
    {"Setting up the source", "fix", 0, 5},
    {"Opening the source", "fix", 1, 5}, /* the appliance starts here */
    {"Inspecting the source", "fix", 2, 5},
    {"Checking for sufficient free disk space", "fix", 3, 5},
    {"Converting", "fix", 4, 5},
    {"Mapping filesystem data", "trim", 0, 1},
    {"Closing the overlay", "copy", 0, 6},
    {"Assigning disks to buses", "copy", 1, 6},
    {"Checking if the guest needs BIOS or UEFI", "copy", 2, 6},
    {"Setting up the destination", "copy", 3, 6},
    {"Copying disk", "copy", 4, 6},
    {"Creating output metadata", "copy", 5, 6},
    {"Finishing off", "copy", 5, 6},
};

typedef struct v2v_run {
    h2k_ctx *ctx;
    h2k_migration_result *res;
    const char *stage; /* current stage (static string) */
    const char *step;  /* virt-v2v's current step, for errors */
    double stage_t0;
    char *error; /* virt-v2v's error message */
} v2v_run;

/* Copy of @s with runs of white space (newlines too) made one space, at most
 * MSG_MAX bytes.  Caller frees. */
static char *
one_line(const char *s)
{
    hk_buf b = {0};
    bool space = false;
    for (const char *p = s; *p && b.len < MSG_MAX; p++) {
        if (isspace((unsigned char)*p)) {
            space = b.len > 0;
            continue;
        }
        if (space)
            hk_buf_append(&b, " ", 1);
        space = false;
        hk_buf_append(&b, p, 1);
    }
    return b.data ? hk_buf_steal(&b) : strdup("");
}

static void
enter_stage(v2v_run *r, const char *stage)
{
    if (r->stage && strcmp(r->stage, stage) == 0)
        return;
    double now = hk_now();
    if (r->stage) {
        hk_progress(r->ctx, r->stage, 1, 1);
        hk_orch_add_timing(r->res, r->stage, now - r->stage_t0);
    }
    r->stage = stage;
    r->stage_t0 = now;
}

static void
on_message(v2v_run *r, const char *type, const char *msg)
{
    if (strcmp(type, "message") == 0) {
        for (size_t i = 0; i < sizeof(v2v_steps) / sizeof(v2v_steps[0]); i++) {
            const struct v2v_step *s = &v2v_steps[i];
            if (strncmp(msg, s->prefix, strlen(s->prefix)) != 0)
                continue;
            enter_stage(r, s->stage);
            r->step = s->prefix;
            /* in the stage's unit (h2k_progress_stage_unit): "fix" is per mille;
             * "copy" is bytes, which virt-v2v does not tell: 0 of 1 until done */
            if (strcmp(s->stage, "fix") == 0)
                hk_progress(r->ctx, s->stage, (uint64_t)s->step * 1000 / s->steps, 1000);
            else
                hk_progress(r->ctx, s->stage, 0, 1);
            break;
        }
        hk_info(r->ctx, DOM, "%s", msg);
    } else if (strcmp(type, "warning") == 0) {
        char *w = one_line(msg);
        if (w)
            hk_orch_warn(r->ctx, r->res, "virt-v2v: %s", w);
        free(w);
    } else if (strcmp(type, "error") == 0) {
        free(r->error);
        r->error = one_line(msg);
    } else {
        hk_info(r->ctx, DOM, "%s", msg);
    }
}

/* One stdout line: a JSON message ({"message", "type", "timestamp"}) or text. */
static void
v2v_line(void *ud, const char *line)
{
    v2v_run *r = ud;
    if (line[0] != '{') {
        hk_debug(r->ctx, DOM, "%s", line);
        return;
    }
    json_object *o = json_tokener_parse(line);
    json_object *m = NULL, *t = NULL;
    if (o && json_object_object_get_ex(o, "message", &m) &&
        json_object_object_get_ex(o, "type", &t) && json_object_is_type(m, json_type_string) &&
        json_object_is_type(t, json_type_string))
        on_message(r, json_object_get_string(t), json_object_get_string(m));
    else
        hk_debug(r->ctx, DOM, "%s", line);
    json_object_put(o);
}

/* The last meaningful lines of virt-v2v's stderr (progress bars, blank lines
 * and the "how to report bugs" advice dropped), on one line.  Caller frees. */
static char *
stderr_summary(const char *tail)
{
    if (!tail)
        return strdup("");
    const char *keep[3] = {0};
    size_t keep_len[3] = {0};
    const char *p = tail;
    while (*p) {
        const char *e = strchr(p, '\n');
        size_t n = e ? (size_t)(e - p) : strlen(p);
        /* a progress bar redraws itself after each '\r': keep the last part */
        const char *s = p;
        for (size_t i = 0; i < n; i++)
            if (p[i] == '\r')
                s = p + i + 1;
        size_t sn = n - (size_t)(s - p);
        bool blank = true;
        for (size_t i = 0; i < sn; i++)
            if (!isspace((unsigned char)s[i]))
                blank = false;
        bool noise = blank || (memmem(s, sn, "% [", 3) && memmem(s, sn, "]", 1)) ||
                     memmem(s, sn, "If reporting bugs", 17) || memmem(s, sn, "-v -x", 5);
        if (!noise) {
            memmove(keep, keep + 1, 2 * sizeof(keep[0]));
            memmove(keep_len, keep_len + 1, 2 * sizeof(keep_len[0]));
            keep[2] = s;
            keep_len[2] = sn;
        }
        p += n;
        if (*p == '\n')
            p++;
    }
    hk_buf b = {0};
    for (int i = 0; i < 3; i++)
        if (keep[i])
            hk_buf_printf(&b, "%s%.*s", b.len ? " " : "", (int)keep_len[i], keep[i]);
    char *joined = b.data ? hk_buf_steal(&b) : NULL;
    char *out = one_line(joined ? joined : "");
    free(joined);
    return out;
}

static int
fsync_path(h2k_ctx *ctx, const char *path, int flags)
{
    int fd = open(path, flags | O_CLOEXEC);
    if (fd < 0)
        return hk_error_errno(ctx, errno, path, "cannot open");
    int rc = 0;
    if (fsync(fd) < 0 && errno != EINVAL)
        rc = hk_error_errno(ctx, errno, path, "cannot sync");
    close(fd);
    return rc;
}

/* LIBGUESTFS_BACKEND_SETTINGS with force_tcg added to the caller's.  Caller frees. */
static char *
tcg_settings(void)
{
    const char *cur = getenv("LIBGUESTFS_BACKEND_SETTINGS");
    if (!cur || !*cur)
        return strdup("LIBGUESTFS_BACKEND_SETTINGS=force_tcg");
    if (strstr(cur, "force_tcg"))
        return hk_asprintf("LIBGUESTFS_BACKEND_SETTINGS=%s", cur);
    return hk_asprintf("LIBGUESTFS_BACKEND_SETTINGS=%s:force_tcg", cur);
}

int
hk_orch_run_virt_v2v(h2k_ctx *ctx, const h2k_run_options *opts, const char *work_dir,
                     h2k_migration_result *res)
{
    const char *in = opts->inputs[0];
    const char *mode = hk_endswith_nocase(in, ".ova")   ? "ova"
                       : hk_endswith_nocase(in, ".vmx") ? "vmx"
                                                        : "disk";
    v2v_run r = {ctx, res, NULL, NULL, 0, NULL};
    enter_stage(&r, "fix");
    hk_progress(ctx, "fix", 0, 1000);
    if (opts->n_inputs != 1 || hk_endswith_nocase(in, ".ovf")) {
        int rc = hk_error_at(ctx, H2K_ERR_UNSUPPORTED, in, -1, "backend",
                             "the virt-v2v backend takes one disk, .ova or .vmx");
        hk_error_set_stage(ctx, "fix");
        return rc;
    }
    char *prog = hk_find_program("virt-v2v");
    if (!prog) {
        int rc = hk_error(ctx, H2K_ERR_NOT_FOUND,
                          "virt-v2v is not installed (packages virt-v2v and libnbd-bin)");
        hk_error_set_stage(ctx, "fix");
        return rc;
    }
    free(prog);
    const char *fmt = opts->output_format == H2K_FORMAT_RAW ? "raw" : "qcow2";
    bool compress = opts->compress && strcmp(fmt, "qcow2") == 0;
    char *out_dir = hk_abspath(opts->output_dir);
    char *os = out_dir ? hk_asprintf("%s/.%s.v2v-XXXXXX", out_dir, res->name) : NULL;
    char *tmp = hk_path_join(work_dir, "tmp");
    const char *tmpdir = getenv("TMPDIR");
    const char *cachedir = getenv("LIBGUESTFS_CACHEDIR");
    /* where libguestfs keeps its appliance when TMPDIR is not ours */
    char *env_cache = hk_asprintf("LIBGUESTFS_CACHEDIR=%s", cachedir && *cachedir ? cachedir
                                                            : tmpdir && *tmpdir   ? tmpdir
                                                                                  : "/var/tmp");
    char *env_tmp = tmp ? hk_asprintf("TMPDIR=%s", tmp) : NULL;
    char *env_v2vtmp = tmp ? hk_asprintf("VIRT_V2V_TMPDIR=%s", tmp) : NULL;
    /* a /dev/kvm that cannot run guests would hang the appliance: TCG there */
    bool kvm = hk_kvm_possible();
    const char *backend = getenv("LIBGUESTFS_BACKEND");
    char *env_settings = kvm ? NULL : tcg_settings();
    const char *env[8];
    size_t ne = 0;
    env[ne++] = env_cache;
    env[ne++] = env_tmp;
    env[ne++] = env_v2vtmp;
    if (!kvm || !backend || !*backend)
        env[ne++] = "LIBGUESTFS_BACKEND=direct";
    if (env_settings)
        env[ne++] = env_settings;
    env[ne] = NULL;
    int rc = 0;
    bool os_made = false;
    if (!out_dir || !os || !tmp || !env_cache || !env_tmp || !env_v2vtmp ||
        (!kvm && !env_settings)) {
        rc = hk_error_nomem(ctx);
        goto done;
    }
    if (mkdir(tmp, 0700) < 0) {
        rc = hk_error_errno(ctx, errno, tmp, "cannot create");
        goto done;
    }
    if (!mkdtemp(os)) {
        rc = hk_error_errno(ctx, errno, os, "cannot create");
        goto done;
    }
    os_made = true;
    const char *argv[16];
    size_t na = 0;
    argv[na++] = "virt-v2v";
    argv[na++] = "-i";
    argv[na++] = mode;
    argv[na++] = in;
    argv[na++] = "-o";
    argv[na++] = "local";
    argv[na++] = "-os";
    argv[na++] = os;
    argv[na++] = "-of";
    argv[na++] = fmt;
    argv[na++] = "-on";
    argv[na++] = res->name;
    if (compress) {
        argv[na++] = "-oo";
        argv[na++] = "compressed";
    }
    argv[na++] = "--machine-readable";
    argv[na] = NULL;
    hk_info(ctx, DOM, "running virt-v2v -i %s%s", mode, kvm ? "" : " (TCG: no usable KVM)");
    hk_run_opts ro = {0};
    ro.on_stdout_line = v2v_line;
    ro.userdata = &r;
    ro.timeout_seconds = 7200;
    ro.envp = env;
    hk_run_result rr;
    memset(&rr, 0, sizeof(rr));
    rc = hk_run(ctx, argv, &ro, &rr);
    if (rc == 0 && rr.exit_status != 0) {
        char *why = r.error ? strdup(r.error) : stderr_summary(rr.stderr_tail);
        rc = hk_error_at(ctx, H2K_ERR_CONVERSION, in, -1, NULL, "virt-v2v failed (exit %d)%s%s: %s",
                         rr.exit_status, r.step ? " at step: " : "", r.step ? r.step : "",
                         why && *why ? why : "no message");
        free(why);
    }
    hk_run_result_clear(&rr);
    if (rc < 0)
        goto done;

    /* its disks: NAME-sda, NAME-sdb, ...: linked under their final names */
    res->outputs = calloc(26, sizeof(*res->outputs));
    if (!res->outputs) {
        rc = hk_error_nomem(ctx);
        goto done;
    }
    for (int i = 0; i < 26; i++) {
        char *from = hk_asprintf("%s/%s-sd%c", os, res->name, 'a' + i);
        char *to = hk_asprintf("%s/%s-disk%d.%s", out_dir, res->name, i + 1, fmt);
        struct stat sb;
        if (!from || !to) {
            free(from);
            free(to);
            rc = hk_error_nomem(ctx);
            goto done;
        }
        if (stat(from, &sb) != 0) {
            free(from);
            free(to);
            break;
        }
        if ((rc = fsync_path(ctx, from, O_RDONLY)) < 0 || link(from, to) < 0) {
            if (rc == 0)
                rc = errno == EEXIST ? hk_error_at(ctx, H2K_ERR_EXISTS, to, -1, NULL,
                                                   "the output already exists")
                                     : hk_error_errno(ctx, errno, to, "cannot move the output");
            free(from);
            free(to);
            goto done;
        }
        unlink(from);
        free(from);
        h2k_migration_output *mo = &res->outputs[res->n_outputs++];
        mo->path = to;
        mo->format = strdup(fmt);
        mo->source_path = strdup(in);
        mo->source_format = strdup(mode);
        if (!mo->format || !mo->source_path || !mo->source_format) {
            rc = hk_error_nomem(ctx);
            goto done;
        }
    }
    if (res->n_outputs == 0)
        rc = hk_error_at(ctx, H2K_ERR_CONVERSION, in, -1, NULL, "virt-v2v wrote no disk for %s",
                         res->name);
    else
        rc = fsync_path(ctx, out_dir, O_RDONLY | O_DIRECTORY);
    if (rc == 0 && !opts->test_boot)
        hk_orch_warn(ctx, res,
                     "virt-v2v backend: hyper2kvm's repairs did not run and the output was not "
                     "boot-tested; virt-v2v leaves the GRUB root device of guests without "
                     "grubby (Debian, Ubuntu) and their interface names (ens192) as they were, "
                     "so such guests may not boot or reach the network on KVM");
done:
    if (rc < 0) {
        hk_error_set_stage(ctx, r.stage ? r.stage : "fix");
        /* the run removes the outputs it finalised (res->outputs), unless keep_partial */
    } else {
        hk_progress(ctx, r.stage, 1, 1);
        hk_orch_add_timing(res, r.stage, hk_now() - r.stage_t0);
    }
    if (os_made)
        hk_remove_tree(os);
    free(r.error);
    free(os);
    free(out_dir);
    free(tmp);
    free(env_cache);
    free(env_tmp);
    free(env_v2vtmp);
    free(env_settings);
    return rc;
}
