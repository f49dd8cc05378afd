/*
 * Disk conversion with qemu-img: h2k_disk_convert() and h2k_disk_flatten().
 *
 * The source is probed and validated natively first (chain, extents); only a
 * sound source starts qemu-img.  qemu-img writes "<dst>.part-XXXXXX" beside
 * the destination, which is fsync'ed and renamed onto it once qemu-img
 * succeeded; on any failure, timeout or cancellation the partial file is
 * removed and the destination is left untouched.
 *
 * Durability: qemu-img leaves what it wrote in the page cache (it does not
 * flush its output).  Writing a whole disk back at one final fsync would add
 * the time of that write to the conversion, so we start the writeback of the
 * partial output every half percent of progress (sync_file_range, which does
 * not wait): the disk writes while qemu-img converts, and the final fsync has
 * little left.  On storage slower than the conversion the run is then bounded
 * by the storage's write speed, which a non-durable copy does not pay within
 * its own run; h2k_convert_options.no_sync opts out.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stddef.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "convert_internal.h"

#define DOMAIN "convert"
#define ERR_TAIL_MAX 1024

/* ----------------------------------------------------- pure helpers */

bool
hk_qemu_parse_progress(const char *line, unsigned *permille)
{
    if (!line || !permille)
        return false;
    const char *p = line;
    while (*p == ' ' || *p == '\t')
        p++;
    if (*p++ != '(')
        return false;
    if (*p < '0' || *p > '9')
        return false;
    uint64_t whole = 0;
    while (*p >= '0' && *p <= '9') {
        if (whole < 1000000)
            whole = whole * 10 + (uint64_t)(*p - '0');
        p++;
    }
    unsigned frac = 0; /* hundredths */
    if (*p == '.') {
        p++;
        if (*p < '0' || *p > '9')
            return false;
        unsigned digits = 0;
        while (*p >= '0' && *p <= '9') {
            if (digits < 2)
                frac = frac * 10 + (unsigned)(*p - '0');
            digits++;
            p++;
        }
        if (digits == 1)
            frac *= 10;
    }
    if (strncmp(p, "/100%)", 6) != 0)
        return false;
    p += 6;
    while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')
        p++;
    if (*p)
        return false;
    uint64_t hundredths = whole * 100 + frac; /* whole < 1e6: no overflow */
    uint64_t pm = hundredths / 10;
    *permille = pm > 1000 ? 1000 : (unsigned)pm;
    return true;
}

void
hk_argv_free(char **argv)
{
    if (!argv)
        return;
    for (size_t i = 0; argv[i]; i++)
        free(argv[i]);
    free(argv);
}

/* --image-opts description of the source: every layer pinned, or the window
 * of a container. */
static char *
image_opts(const h2k_disk_info *info, const hk_convert_plan *plan)
{
    hk_buf b = {0};
    bool window = plan->source_offset || plan->source_size;
    if (window && info->n_layers == 1) {
        char *esc = hk_qemu_opt_escape(info->layers[0].path);
        if (!esc)
            return NULL;
        hk_buf_printf(&b, "driver=%s,read-only=on,file.driver=raw,file.offset=%llu",
                      h2k_disk_format_qemu_name(info->layers[0].format),
                      (unsigned long long)plan->source_offset);
        if (plan->source_size)
            hk_buf_printf(&b, ",file.size=%llu", (unsigned long long)plan->source_size);
        hk_buf_printf(&b, ",file.file.driver=file,file.file.filename=%s", esc);
        free(esc);
        return hk_buf_steal(&b);
    }
    hk_buf prefix = {0};
    hk_buf_puts(&prefix, "");
    for (size_t i = 0; i < info->n_layers; i++) {
        const h2k_disk_layer *l = &info->layers[i];
        char *esc = hk_qemu_opt_escape(l->path);
        if (!esc || prefix.oom) {
            free(esc);
            hk_buf_free(&prefix);
            hk_buf_free(&b);
            return NULL;
        }
        if (plan->layer_size && plan->layer_size[i])
            hk_buf_printf(&b,
                          "%s%sdriver=%s,%sfile.driver=raw,%sfile.offset=%llu,%sfile.size=%llu,"
                          "%sfile.file.driver=file,%sfile.file.filename=%s",
                          i ? "," : "", prefix.data, h2k_disk_format_qemu_name(l->format),
                          prefix.data, prefix.data, (unsigned long long)plan->layer_offset[i],
                          prefix.data, (unsigned long long)plan->layer_size[i], prefix.data,
                          prefix.data, esc);
        else
            hk_buf_printf(&b, "%s%sdriver=%s,%sfile.driver=file,%sfile.filename=%s", i ? "," : "",
                          prefix.data, h2k_disk_format_qemu_name(l->format), prefix.data,
                          prefix.data, esc);
        if (i == 0)
            hk_buf_puts(&b, ",read-only=on");
        free(esc);
        hk_buf_puts(&prefix, "backing.");
    }
    hk_buf_free(&prefix);
    return hk_buf_steal(&b);
}

bool
hk_convert_out_of_order(const h2k_disk_info *info, const hk_convert_plan *plan)
{
    if (plan->out_of_order >= 0)
        return plan->out_of_order > 0;
    if (!plan->compress || plan->output_format == H2K_FORMAT_RAW)
        return true;
    for (size_t i = 0; i < info->n_layers; i++) {
        const h2k_disk_layer *l = &info->layers[i];
        if (l->format == H2K_FORMAT_VMDK && l->compressed)
            return false;
    }
    return true;
}

char **
hk_convert_build_argv(const h2k_disk_info *info, const hk_convert_plan *plan, const char *out_path)
{
    enum {
        MAX_ARGS = 24
    };
    char **argv = calloc(MAX_ARGS + 1, sizeof(char *));
    if (!argv)
        return NULL;
    size_t n = 0;
    bool ok = true;
#define ADD(expr)                                                                                  \
    do {                                                                                           \
        char *_s = (expr);                                                                         \
        if (!_s)                                                                                   \
            ok = false;                                                                            \
        else if (n < MAX_ARGS)                                                                     \
            argv[n++] = _s;                                                                        \
        else                                                                                       \
            free(_s);                                                                              \
    } while (0)

    ADD(strdup(plan->qemu_img));
    ADD(strdup("convert"));
    ADD(strdup("-p"));
    if (plan->force_share)
        ADD(strdup("-U"));
    bool use_opts = info->n_layers > 1 || plan->source_offset || plan->source_size;
    if (use_opts) {
        ADD(strdup("--image-opts"));
    } else {
        ADD(strdup("-f"));
        ADD(strdup(h2k_disk_format_qemu_name(info->format)));
    }
    ADD(strdup("-O"));
    ADD(strdup(plan->output_format == H2K_FORMAT_RAW ? "raw" : "qcow2"));
    if (plan->output_format != H2K_FORMAT_RAW) {
        if (plan->compress) {
            ADD(strdup("-c"));
            ADD(strdup("-o"));
            ADD(hk_asprintf("compat=1.1,compression_type=%s", plan->compression_type));
        } else {
            ADD(strdup("-o"));
            ADD(strdup("compat=1.1"));
        }
    }
    ADD(strdup("-m"));
    ADD(hk_asprintf("%d", plan->coroutines));
    if (hk_convert_out_of_order(info, plan))
        ADD(strdup("-W"));
    ADD(use_opts ? image_opts(info, plan) : strdup(info->path));
    ADD(strdup(out_path));
#undef ADD
    if (!ok) {
        hk_argv_free(argv);
        return NULL;
    }
    return argv;
}

/* --------------------------------------------------------- conversion */

typedef struct progress_state {
    h2k_ctx *ctx;
    int last;      /* last per-mille reported, -1 before the first */
    int out_fd;    /* the temporary output, or -1 */
    int last_kick; /* per-mille at the last writeback kick */
} progress_state;

/* Per-mille steps between two writeback kicks of the output. */
#define KICK_STEP 5

static void
on_qemu_line(void *ud, const char *line)
{
    progress_state *ps = ud;
    unsigned pm;
    if (!hk_qemu_parse_progress(line, &pm))
        return;
    if ((int)pm <= ps->last)
        return; /* qemu repeats values; keep the callback monotonic */
    ps->last = (int)pm;
    /* Start writing back what qemu-img wrote so far, so the final fsync has
     * little left to do: the writeback overlaps the conversion. */
    if (ps->out_fd >= 0 && ps->last - ps->last_kick >= KICK_STEP) {
        ps->last_kick = ps->last;
        (void)sync_file_range(ps->out_fd, 0, 0, SYNC_FILE_RANGE_WRITE);
    }
    hk_progress(ps->ctx, "convert", pm, 1000);
}

/* Copies the last part of qemu-img's stderr, trimmed, for messages.  Static-free:
 * returns a pointer into @tail (modified). */
static const char *
stderr_excerpt(char *tail)
{
    if (!tail)
        return "";
    hk_strtrim(tail);
    size_t n = strlen(tail);
    return n > ERR_TAIL_MAX ? tail + n - ERR_TAIL_MAX : tail;
}

/* True when @path names the same file as @st. */
static bool
same_file(const char *path, const struct stat *st)
{
    struct stat s;
    return path && stat(path, &s) == 0 && s.st_dev == st->st_dev && s.st_ino == st->st_ino;
}

/* Refuses sources qemu-img cannot read before anything is created. */
static int
check_qemu_can_read(h2k_ctx *ctx, const h2k_disk_info *info, const h2k_convert_options *o)
{
    static const char *const vmdk_ok[] = {"SPARSE", "FLAT",       "ZERO",
                                          "VMFS",   "VMFSSPARSE", "SESPARSE"};
    for (size_t i = 0; i < info->n_layers; i++) {
        const h2k_disk_layer *l = &info->layers[i];
        if (!h2k_disk_format_qemu_name(l->format))
            return hk_error_at(ctx, H2K_ERR_UNSUPPORTED, l->path, -1, NULL, "unknown disk format");
        if ((l->format == H2K_FORMAT_VHD || l->format == H2K_FORMAT_VHDX) && l->subformat &&
            strcmp(l->subformat, "differencing") == 0)
            return hk_error_at(ctx, H2K_ERR_UNSUPPORTED, l->path, -1, "disk_type",
                               "qemu-img cannot read %s differencing disks; merge the chain "
                               "on the source platform first",
                               h2k_disk_format_name(l->format));
        if (l->format != H2K_FORMAT_VMDK)
            continue;
        for (size_t e = 0; e < l->n_extents; e++) {
            const char *t = l->extents[e].type;
            bool ok = false;
            for (size_t k = 0; t && k < HK_ARRAY_LEN(vmdk_ok); k++)
                ok = ok || strcmp(t, vmdk_ok[k]) == 0;
            if (!ok)
                return hk_error_at(ctx, H2K_ERR_UNSUPPORTED, l->path, -1, "extent",
                                   "extent %zu of type %s cannot be converted by qemu-img", e,
                                   t ? t : "(none)");
            if ((o->source_offset || o->source_size) && l->extents[e].path &&
                strcmp(l->extents[e].path, l->path) != 0)
                return hk_error_at(ctx, H2K_ERR_UNSUPPORTED, l->path, (int64_t)o->source_offset,
                                   "extent",
                                   "a VMDK inside a container cannot use separate extent "
                                   "files (%s)",
                                   l->extents[e].path);
        }
    }
    return 0;
}

/* Checks the destination: not the source nor any of its files, and absent
 * unless overwriting. */
static int
check_output(h2k_ctx *ctx, const h2k_disk_info *info, const char *dst, bool overwrite)
{
    struct stat st;
    if (stat(dst, &st) != 0) {
        if (errno == ENOENT) {
            struct stat lst;
            if (lstat(dst, &lst) == 0) /* dangling symlink: rename would replace the link */
                goto exists;
            return 0;
        }
        return hk_error_errno(ctx, errno, dst, "cannot check output");
    }
    for (size_t i = 0; i < info->n_layers; i++) {
        const h2k_disk_layer *l = &info->layers[i];
        bool same = same_file(l->path, &st) || strcmp(l->path, dst) == 0;
        for (size_t e = 0; !same && e < l->n_extents; e++)
            same = same_file(l->extents[e].path, &st);
        if (same) {
            int rc = hk_error_at(ctx, H2K_ERR_VALIDATION, dst, -1, NULL,
                                 "the output is the source image%s (%s)",
                                 i || info->layers[i].n_extents > 1 ? " or one of its files" : "",
                                 l->path);
            hk_error_set_source(ctx, info->path);
            hk_error_set_output(ctx, dst);
            return rc;
        }
    }
    if (S_ISDIR(st.st_mode)) {
        int rc = hk_error_at(ctx, H2K_ERR_VALIDATION, dst, -1, NULL, "the output is a directory");
        hk_error_set_output(ctx, dst);
        return rc;
    }
exists:
    if (!overwrite) {
        int rc = hk_error_at(ctx, H2K_ERR_EXISTS, dst, -1, NULL,
                             "the output already exists (use overwrite to replace it)");
        hk_error_set_source(ctx, info->path);
        hk_error_set_output(ctx, dst);
        return rc;
    }
    return 0;
}

/* fsyncs @path and, after the rename, its folder. */
static int
sync_path(h2k_ctx *ctx, const char *path, bool dir)
{
    int fd = open(path, (dir ? O_DIRECTORY : 0) | O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return hk_error_errno(ctx, errno, path, "cannot open for fsync");
    int rc = 0;
    if (fsync(fd) != 0 && !(dir && (errno == EINVAL || errno == EBADF)))
        rc = hk_error_errno(ctx, errno, path, "fsync");
    close(fd);
    return rc;
}

/* fsyncs the output qemu-img wrote: through @fd when it still names @tmp
 * (qemu-img truncates the file it is given rather than replacing it). */
static int
sync_output(h2k_ctx *ctx, int fd, const char *tmp)
{
    struct stat a, b;
    if (fd < 0 || fstat(fd, &a) != 0 || stat(tmp, &b) != 0 || a.st_dev != b.st_dev ||
        a.st_ino != b.st_ino)
        return sync_path(ctx, tmp, false);
    if (fsync(fd) != 0)
        return hk_error_errno(ctx, errno, tmp, "fsync");
    return 0;
}

/* Renames @tmp onto @dst; without @overwrite, atomically refuses an existing @dst. */
static int
publish(h2k_ctx *ctx, const char *tmp, const char *dst, bool overwrite)
{
    if (overwrite) {
        if (rename(tmp, dst) != 0)
            return hk_error_errno(ctx, errno, dst, "cannot rename the output into place");
        return 0;
    }
    if (renameat2(AT_FDCWD, tmp, AT_FDCWD, dst, RENAME_NOREPLACE) == 0)
        return 0;
    if (errno != EINVAL && errno != ENOSYS)
        return errno == EEXIST
                   ? hk_error_at(ctx, H2K_ERR_EXISTS, dst, -1, NULL,
                                 "the output appeared during the conversion")
                   : hk_error_errno(ctx, errno, dst, "cannot rename the output into place");
    /* file system without RENAME_NOREPLACE: link() fails on an existing name */
    if (link(tmp, dst) != 0)
        return errno == EEXIST
                   ? hk_error_at(ctx, H2K_ERR_EXISTS, dst, -1, NULL,
                                 "the output appeared during the conversion")
                   : hk_error_errno(ctx, errno, dst, "cannot link the output into place");
    unlink(tmp);
    return 0;
}

static int
validate_options(h2k_ctx *ctx, const h2k_convert_options *o, hk_convert_plan *plan)
{
    plan->output_format = o->output_format == H2K_FORMAT_UNKNOWN ? H2K_FORMAT_QCOW2
                                                                 : o->output_format;
    if (plan->output_format != H2K_FORMAT_QCOW2 && plan->output_format != H2K_FORMAT_RAW)
        return hk_error(ctx, H2K_ERR_INVALID_ARG,
                        "output format %s is not supported (qcow2 or raw)",
                        h2k_disk_format_name(plan->output_format));
    plan->compress = o->compress != 0;
    if (plan->compress && plan->output_format != H2K_FORMAT_QCOW2)
        return hk_error(ctx, H2K_ERR_INVALID_ARG, "compression needs qcow2 output");
    plan->compression_type = o->compression_type ? o->compression_type : "zstd";
    if (strcmp(plan->compression_type, "zstd") != 0 && strcmp(plan->compression_type, "zlib") != 0)
        return hk_error(ctx, H2K_ERR_INVALID_ARG,
                        "compression type %s is not supported "
                        "(zstd or zlib)",
                        plan->compression_type);
    plan->coroutines = o->parallel_coroutines <= 0   ? 8
                       : o->parallel_coroutines > 16 ? 16
                                                     : o->parallel_coroutines;
    plan->out_of_order = o->out_of_order < 0 ? -1 : o->out_of_order != 0;
    plan->qemu_img = o->qemu_img && *o->qemu_img ? o->qemu_img : "qemu-img";
    plan->source_offset = o->source_offset;
    plan->source_size = o->source_size;
    plan->sync = !o->no_sync;
    return 0;
}

HK_OPTS_LAYOUT(convert_layout, h2k_convert_options, offsetof(h2k_convert_options, no_sync),
               offsetof(h2k_convert_options, output_mode), sizeof(h2k_convert_options));

int
h2k_convert_options_init(h2k_convert_options *opts, unsigned version)
{
    static const h2k_convert_options defaults = H2K_CONVERT_OPTIONS_INIT;
    return hk_opts_init(&convert_layout, opts, version, &defaults);
}

/* Copies the caller's options, of any accepted version, into @eff (the
 * current layout), the fields an older struct lacks left at their defaults. */
static int
effective_options(h2k_ctx *ctx, const h2k_convert_options *o, h2k_convert_options *eff)
{
    static const h2k_convert_options defaults = H2K_CONVERT_OPTIONS_INIT;
    return hk_opts_import(ctx, &convert_layout, o, &defaults, eff);
}

static int
do_convert(h2k_ctx *ctx, const char *src, const char *dst, const h2k_convert_options *opts,
           bool flatten, bool force_share, h2k_convert_result **out)
{
    if (out)
        *out = NULL;
    if (!ctx)
        return H2K_ERR_INVALID_ARG;
    if (!src || !dst || !*src || !*dst)
        return hk_error(ctx, H2K_ERR_INVALID_ARG, "%s: NULL or empty path",
                        flatten ? "h2k_disk_flatten" : "h2k_disk_convert");
    h2k_convert_options eff;
    int rc = effective_options(ctx, opts, &eff);
    if (rc < 0)
        return rc;
    const h2k_convert_options *o = &eff;
    hk_convert_plan plan;
    memset(&plan, 0, sizeof(plan));
    rc = validate_options(ctx, o, &plan);
    if (rc < 0)
        return rc;
    plan.force_share = force_share;

    double t0 = hk_now();
    h2k_disk_info *info = NULL;
    char *dst_abs = NULL, *tmp = NULL, *prog = NULL;
    int out_fd = -1;
    char **argv = NULL;
    uint64_t *win_off = NULL, *win_size = NULL;
    h2k_convert_result *res = NULL;
    hk_run_result run;
    memset(&run, 0, sizeof(run));

    /* 1. probe and validate the source: nothing is created before this passes */
    h2k_probe_options po = H2K_PROBE_OPTIONS_INIT;
    po.format = o->source_format;
    po.offset = o->source_offset;
    po.size = o->source_size;
    if ((rc = h2k_disk_probe(ctx, src, &po, &info)) < 0) {
        hk_error_set_stage(ctx, "probe");
        goto done;
    }
    if ((rc = check_qemu_can_read(ctx, info, o)) < 0)
        goto done;
    if (plan.source_offset || plan.source_size)
        plan.source_size = info->size;
    /* a layer read in place inside a container (the probe checked it there) */
    for (size_t i = 1; i < info->n_layers; i++) {
        const char *hint = info->layers[i - 1].parent_hint;
        char *wfmt = NULL, *wfile = NULL;
        uint64_t off = 0, sz = 0;
        if (!hk_reference_has_protocol(hint) ||
            hk_window_json_parse(hint, &wfmt, &wfile, &off, &sz) < 0) {
            free(wfmt);
            free(wfile);
            continue;
        }
        free(wfmt);
        free(wfile);
        const h2k_disk_layer *l = &info->layers[i];
        for (size_t e = 0; e < l->n_extents; e++)
            if (l->extents[e].path && strcmp(l->extents[e].path, l->path) != 0) {
                rc = hk_error_at(ctx, H2K_ERR_UNSUPPORTED, l->path, (int64_t)off, "extent",
                                 "an image inside a container cannot use separate extent "
                                 "files (%s)",
                                 l->extents[e].path);
                goto done;
            }
        if (!win_off && (!(win_off = calloc(info->n_layers, sizeof(*win_off))) ||
                         !(win_size = calloc(info->n_layers, sizeof(*win_size))))) {
            rc = hk_error_nomem(ctx);
            goto done;
        }
        win_off[i] = off;
        win_size[i] = sz;
    }
    plan.layer_offset = win_off;
    plan.layer_size = win_size;
    if (flatten && info->n_layers < 2 &&
        !(info->format == H2K_FORMAT_VMDK && info->layers[0].n_extents > 1)) {
        rc = hk_error_at(ctx, H2K_ERR_VALIDATION, info->path, -1, NULL,
                         "nothing to flatten: a single %s image without a snapshot chain",
                         h2k_disk_format_name(info->format));
        goto done;
    }

    /* 2. the output */
    dst_abs = hk_abspath(dst);
    if (!dst_abs) {
        rc = hk_error_nomem(ctx);
        goto done;
    }
    if ((rc = check_output(ctx, info, dst_abs, o->overwrite != 0)) < 0)
        goto done;
    prog = hk_find_program(plan.qemu_img);
    if (!prog) {
        rc = hk_error(ctx, H2K_ERR_NOT_FOUND, "%s is not installed (not found in PATH)",
                      plan.qemu_img);
        goto done;
    }
    plan.qemu_img = prog;
    if ((rc = hk_check_cancel(ctx)) < 0)
        goto done;

    /* 3. the temporary output beside dst, readable like the source, writable by us */
    out_fd = hk_tmpfile_beside(ctx, dst_abs, &tmp);
    if (out_fd < 0) {
        rc = out_fd;
        goto done;
    }
    struct stat sst;
    mode_t mode = hk_output_mode(o->output_mode, stat(info->path, &sst) == 0 ? &sst : NULL);
    if (fchmod(out_fd, mode) != 0) {
        rc = hk_error_errno(ctx, errno, tmp, "cannot set the mode of");
        goto done;
    }
    /* out_fd stays open: it kicks writeback during the run and fsyncs at the end */

    argv = hk_convert_build_argv(info, &plan, tmp);
    if (!argv) {
        rc = hk_error_nomem(ctx);
        goto done;
    }
    hk_info(ctx, DOMAIN, "converting %s (%s, %zu layer%s) to %s (%s)", info->path,
            h2k_disk_format_name(info->format), info->n_layers, info->n_layers == 1 ? "" : "s",
            dst_abs, h2k_disk_format_name(plan.output_format));

    /* 4. run qemu-img */
    progress_state ps = {ctx, -1, plan.sync ? out_fd : -1, 0};
    hk_run_opts ro = {.on_stdout_line = on_qemu_line,
                      .userdata = &ps,
                      .timeout_seconds = o->timeout_seconds,
                      .split_cr = true};
    rc = hk_run(ctx, (const char *const *)argv, &ro, &run);
    if (rc == H2K_ERR_CANCELLED) {
        rc = hk_error(ctx, H2K_ERR_CANCELLED, "conversion of %s cancelled", info->path);
    } else if (rc == H2K_ERR_TIMEOUT) {
        rc = hk_error(ctx, H2K_ERR_TIMEOUT, "conversion of %s timed out after %u s%s%s", info->path,
                      o->timeout_seconds,
                      run.stderr_tail && *stderr_excerpt(run.stderr_tail) ? ": " : "",
                      stderr_excerpt(run.stderr_tail));
    } else if (rc == 0 && run.exit_status != 0) {
        rc = hk_error(ctx, H2K_ERR_CONVERSION, "qemu-img convert of %s failed (exit status %d): %s",
                      info->path, run.exit_status, stderr_excerpt(run.stderr_tail));
    }
    if (rc < 0) {
        hk_error_set_source(ctx, info->path);
        hk_error_set_output(ctx, dst_abs);
        hk_error_set_stage(ctx, "convert");
        goto done;
    }
    if (ps.last < 1000)
        hk_progress(ctx, "convert", 1000, 1000);

    /* 5. make it durable, then publish */
    if ((plan.sync && (rc = sync_output(ctx, out_fd, tmp)) < 0) ||
        (rc = publish(ctx, tmp, dst_abs, o->overwrite)) < 0) {
        hk_error_set_source(ctx, info->path);
        hk_error_set_output(ctx, dst_abs);
        goto done;
    }
    free(tmp);
    tmp = NULL;
    if (plan.sync) {
        char *dir = hk_dirname(dst_abs);
        if (dir)
            (void)sync_path(ctx, dir, true);
        free(dir);
    }

    /* 6. the result */
    struct stat ost;
    if (stat(dst_abs, &ost) != 0) {
        rc = hk_error_errno(ctx, errno, dst_abs, "cannot stat the output");
        goto done;
    }
    res = calloc(1, sizeof(*res));
    if (!res || !(res->source_path = strdup(info->path)) || !(res->output_path = strdup(dst_abs))) {
        rc = hk_error_nomem(ctx);
        goto done;
    }
    res->source_format = info->format;
    res->output_format = plan.output_format;
    res->virtual_size = info->virtual_size;
    res->output_size = (uint64_t)ost.st_blocks * 512u;
    res->chain_length = info->n_layers;
    res->duration_seconds = hk_now() - t0;
    hk_info(ctx, DOMAIN, "converted %s in %.1f s%s", dst_abs, res->duration_seconds,
            plan.sync ? "" : " (not synced to disk: no_sync)");
    if (out) {
        *out = res;
        res = NULL;
    }

done:
    if (out_fd >= 0)
        close(out_fd);
    if (tmp) {
        if (unlink(tmp) != 0 && errno != ENOENT)
            hk_warn(ctx, DOMAIN, "cannot remove partial output %s: %s", tmp, strerror(errno));
        free(tmp);
    }
    h2k_convert_result_free(res);
    hk_run_result_clear(&run);
    hk_argv_free(argv);
    free(win_off);
    free(win_size);
    free(prog);
    free(dst_abs);
    h2k_disk_info_free(info);
    return rc;
}

void
h2k_convert_result_free(h2k_convert_result *res)
{
    if (!res)
        return;
    free(res->source_path);
    free(res->output_path);
    free(res);
}

int
h2k_disk_convert(h2k_ctx *ctx, const char *src, const char *dst, const h2k_convert_options *opts,
                 h2k_convert_result **out)
{
    return do_convert(ctx, src, dst, opts, false, false, out);
}

int
hk_disk_convert_shared(h2k_ctx *ctx, const char *src, const char *dst,
                       const h2k_convert_options *opts, h2k_convert_result **out)
{
    return do_convert(ctx, src, dst, opts, false, true, out);
}

int
h2k_disk_flatten(h2k_ctx *ctx, const char *src, const char *dst, const h2k_convert_options *opts,
                 h2k_convert_result **out)
{
    return do_convert(ctx, src, dst, opts, true, false, out);
}
