/*
 * h2k_offline_fixer: one appliance per guest, the device map, and the order in
 * which repairs run.
 */
#include <errno.h>
#include <limits.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fixer_internal.h"
#include "hyper2kvm/h2k_disk.h"

static const struct {
    h2k_fix_kind kind;
    const char *name;
} kind_names[] = {
    {H2K_FIX_FSTAB, "fstab"},
    {H2K_FIX_GRUB, "grub"},
    {H2K_FIX_NETWORK, "network"},
    {H2K_FIX_INITRAMFS, "initramfs"},
    {H2K_FIX_VMWARE_TOOLS, "vmware_tools"},
    {H2K_FIX_SELINUX, "selinux"},
    {H2K_FIX_VIRTIO_WIN, "virtio_win"},
};

const char *
h2k_fix_kind_name(h2k_fix_kind kind)
{
    for (size_t i = 0; i < HK_ARRAY_LEN(kind_names); i++)
        if (kind_names[i].kind == kind)
            return kind_names[i].name;
    return NULL;
}

int
h2k_fix_kinds_parse(const char *list)
{
    if (!list)
        return -1;
    int bits = 0;
    const char *p = list;
    while (*p) {
        size_t n = strcspn(p, ",");
        bool found = false;
        if (n == 3 && strncmp(p, "all", 3) == 0) {
            bits |= H2K_FIX_ALL;
            found = true;
        }
        for (size_t i = 0; i < HK_ARRAY_LEN(kind_names) && !found; i++) {
            const char *nm = kind_names[i].name;
            bool tools_alias = kind_names[i].kind == H2K_FIX_VMWARE_TOOLS && n == 5 &&
                               strncmp(p, "tools", 5) == 0;
            if ((strlen(nm) == n && strncmp(p, nm, n) == 0) || tools_alias) {
                bits |= (int)kind_names[i].kind;
                found = true;
            }
        }
        if (!found || n == 0)
            return -1;
        p += n;
        if (*p == ',')
            p++;
    }
    return bits ? bits : -1;
}

const char *
h2k_fix_status_name(h2k_fix_status status)
{
    switch (status) {
    case H2K_FIX_STATUS_CHANGED:
        return "changed";
    case H2K_FIX_STATUS_UNCHANGED:
        return "unchanged";
    case H2K_FIX_STATUS_SKIPPED:
        return "skipped";
    case H2K_FIX_STATUS_FAILED:
        return "failed";
    }
    return "unknown";
}

void
h2k_fix_result_free(h2k_fix_result *r)
{
    if (!r)
        return;
    for (size_t i = 0; i < r->n_changes; i++) {
        h2k_file_change *c = &r->changes[i];
        free(c->path);
        free(c->action);
        free(c->before);
        free(c->after);
        for (size_t k = 0; k < c->n_notes; k++)
            free(c->notes[k]);
        free(c->notes);
    }
    free(r->changes);
    for (size_t i = 0; i < r->n_commands; i++) {
        free(r->commands[i].command);
        free(r->commands[i].output_tail);
    }
    free(r->commands);
    for (size_t i = 0; i < r->n_registry_changes; i++)
        hk_reg_change_clear(&r->registry_changes[i]);
    free(r->registry_changes);
    free(r->message);
    free(r);
}

/* The guest's file systems with their disk, partition, UUID and label: the
 * handle's table (kept by fx->gfs, so valid while the appliance is). */
static int
build_devmap(h2k_offline_fixer *fx)
{
    const hk_devmap *map;
    int rc = hk_gfs_devices(fx->gfs, &map);
    if (rc < 0)
        return rc;
    fx->map = *map;
    return 0;
}

/* ------------------------------------------------------------- atomic */

/* Probes @disk and its backing chain (as @format when given) and refuses what
 * qemu cannot write in place: a streamOptimized VMDK, whose grains cannot be
 * rewritten (a guest file system on it would be left half written).  Its
 * format goes to *fmt_out. */
static int
check_writable(h2k_ctx *ctx, const char *disk, const char *format, h2k_disk_format *fmt_out)
{
    h2k_probe_options po = H2K_PROBE_OPTIONS_INIT;
    if (format)
        po.format = h2k_disk_format_from_name(format);
    h2k_disk_info *info = NULL;
    int rc = h2k_disk_probe(ctx, disk, &po, &info);
    if (rc < 0)
        return rc;
    /* the layer written: qemu refuses to rewrite a compressed grain */
    bool stream = info->layers[0].format == H2K_FORMAT_VMDK && info->layers[0].compressed;
    *fmt_out = info->format;
    h2k_disk_info_free(info);
    if (stream)
        return hk_error_at(ctx, H2K_ERR_UNSUPPORTED, disk, -1, "createType",
                           "a streamOptimized VMDK cannot be written in place; convert it "
                           "first (hyper2kvm convert)");
    return 0;
}

/* Atomic mode: a qcow2 overlay over each disk in a private folder; the
 * appliance gets the overlays.  Disks qemu-img cannot write back into are
 * refused before anything starts. */
static int
make_overlays(h2k_offline_fixer *fx, const char *const *disks, const char *const *formats, size_t n)
{
    h2k_ctx *ctx = fx->ctx;
    fx->overlays = calloc(n, sizeof(char *));
    fx->targets = calloc(n, sizeof(char *));
    if (!fx->overlays || !fx->targets)
        return hk_error_nomem(ctx);
    fx->n_overlays = n;
    for (size_t i = 0; i < n; i++) {
        h2k_disk_format fmt;
        int rc = check_writable(ctx, disks[i], formats ? formats[i] : NULL, &fmt);
        if (rc < 0)
            return rc;
        char abs[PATH_MAX];
        if (!realpath(disks[i], abs))
            return hk_error_errno(ctx, errno, disks[i], "realpath");
        if (access(abs, W_OK) != 0)
            return hk_error_errno(ctx, errno, abs, "the disk is not writable");
        fx->targets[i] = strdup(abs);
        fx->overlays[i] = hk_asprintf("%s/disk%zu.qcow2", fx->work_dir, i + 1);
        if (!fx->targets[i] || !fx->overlays[i])
            return hk_error_nomem(ctx);
        if ((rc = hk_qcow2_overlay(ctx, abs, h2k_disk_format_qemu_name(fmt), fx->overlays[i])) < 0)
            return rc;
    }
    return 0;
}

/* Removes the overlays and their folder (the disks keep what was committed). */
static void
drop_overlays(h2k_offline_fixer *fx)
{
    for (size_t i = 0; i < fx->n_overlays; i++) {
        if (fx->overlays[i])
            unlink(fx->overlays[i]);
        free(fx->overlays[i]);
        free(fx->targets[i]);
    }
    free(fx->overlays);
    free(fx->targets);
    fx->overlays = fx->targets = NULL;
    fx->n_overlays = 0;
    if (fx->work_dir)
        rmdir(fx->work_dir);
    free(fx->work_dir);
    fx->work_dir = NULL;
}

HK_OPTS_LAYOUT(fix_layout, h2k_fix_options, offsetof(h2k_fix_options, atomic),
               offsetof(h2k_fix_options, guest_identity), offsetof(h2k_fix_options, virtio_win),
               sizeof(h2k_fix_options));

int
h2k_fix_options_init(h2k_fix_options *opts, unsigned version)
{
    static const h2k_fix_options defaults = H2K_FIX_OPTIONS_INIT;
    return hk_opts_init(&fix_layout, opts, version, &defaults);
}

int
h2k_offline_fixer_open(h2k_ctx *ctx, const char *const *disks, const char *const *formats,
                       size_t n_disks, const h2k_fix_options *opts, h2k_offline_fixer **out)
{
    if (!ctx || !disks || !n_disks || !out)
        return hk_error(ctx, H2K_ERR_INVALID_ARG, "h2k_offline_fixer_open: no disks");
    *out = NULL;
    const char **fmts = NULL; /* the formats found here, for hk_gfs_open() */
    static const h2k_fix_options defaults = H2K_FIX_OPTIONS_INIT;
    h2k_offline_fixer *fx = calloc(1, sizeof(*fx));
    if (!fx)
        return hk_error_nomem(ctx);
    fx->ctx = ctx;
    int vrc = hk_opts_import(ctx, &fix_layout, opts, &defaults, &fx->opts);
    if (vrc < 0) {
        free(fx);
        return vrc;
    }
    if (fx->opts.readonly_check)
        fx->opts.dry_run = 1;
    if (!fx->opts.command_timeout)
        fx->opts.command_timeout = 1800;
    int rc = 0;
    if (fx->opts.n_nics) {
        fx->nics = calloc(fx->opts.n_nics, sizeof(*fx->nics));
        if (!fx->nics) {
            rc = hk_error_nomem(ctx);
            goto fail;
        }
        for (size_t i = 0; i < fx->opts.n_nics; i++) {
            fx->nics[i].mac = hk_strdup0(fx->opts.nics[i].mac);
            fx->nics[i].old_name = hk_strdup0(fx->opts.nics[i].old_name);
            fx->nics[i].new_name = hk_strdup0(fx->opts.nics[i].new_name);
        }
        fx->n_nics = fx->opts.n_nics;
    }
    fx->opts.nics = NULL;
    fx->opts.n_nics = 0;
    if (fx->opts.virtio_win) {
        fx->virtio_win = strdup(fx->opts.virtio_win);
        if (!fx->virtio_win) {
            rc = hk_error_nomem(ctx);
            goto fail;
        }
    }
    fx->opts.virtio_win = fx->virtio_win;
    /* a dry run opens the disks read-only: not even a superblock is written;
     * atomic opens overlays of them, committed by h2k_offline_fixer_commit() */
    if (fx->opts.dry_run)
        fx->opts.atomic = 0;
    const char *const *open_disks = disks;
    if (!fx->opts.dry_run) {
        fmts = calloc(n_disks, sizeof(char *));
        if (!fmts) {
            rc = hk_error_nomem(ctx);
            goto fail;
        }
    }
    if (fx->opts.atomic) {
        if ((rc = hk_temp_dir(ctx, "h2k-fix-", "work folder", &fx->work_dir)) < 0 ||
            (rc = make_overlays(fx, disks, formats, n_disks)) < 0)
            goto fail;
        open_disks = (const char *const *)fx->overlays;
        for (size_t i = 0; i < n_disks; i++)
            fmts[i] = "qcow2";
    } else if (fmts) {
        for (size_t i = 0; i < n_disks; i++) {
            h2k_disk_format fmt;
            if ((rc = check_writable(ctx, disks[i], formats ? formats[i] : NULL, &fmt)) < 0)
                goto fail;
            fmts[i] = h2k_disk_format_qemu_name(fmt);
        }
    }
    rc = hk_gfs_open(ctx, open_disks, fmts ? fmts : formats, n_disks, fx->opts.dry_run != 0,
                     &fx->gfs);
    if (rc < 0)
        goto fail;
    free(fmts);
    fmts = NULL;
    if ((rc = hk_gfs_inspect_mount(fx->gfs)) < 0)
        goto fail;
    if (fx->opts.guest_identity) {
        /* the caller's detection stands: no second one */
        if ((rc = hk_guest_identity_dup(ctx, fx->opts.guest_identity, &fx->id)) < 0)
            goto fail;
        hk_debug(ctx, "fix", "guest identity given by the caller (%s %s): not detected again",
                 fx->id->os_id ? fx->id->os_id : "?", fx->id->os_version ? fx->id->os_version : "");
    } else if ((rc = hk_gfs_identity(fx->gfs, &fx->id)) < 0) {
        goto fail;
    }
    fx->opts.guest_identity = NULL; /* borrowed for the open only */
    if ((rc = build_devmap(fx)) < 0)
        goto fail;
    if ((rc = hk_check_cancel(ctx)) < 0)
        goto fail;
    *out = fx;
    return 0;
fail:
    free(fmts);
    if (h2k_ctx_is_cancelled(ctx)) {
        /* a killed appliance makes the call in flight fail with any message */
        rc = hk_error(ctx, H2K_ERR_CANCELLED, "cancelled while opening the guest (%s)",
                      !fx->gfs ? "appliance launch" : "inspection");
        hk_error_set_stage(ctx, "fix");
    }
    h2k_offline_fixer_close(fx);
    return rc;
}

const h2k_guest_identity *
h2k_offline_fixer_identity(const h2k_offline_fixer *fx)
{
    return fx ? fx->id : NULL;
}

typedef int (*fix_fn)(h2k_offline_fixer *, h2k_fix_result *);

static int
run_one(h2k_offline_fixer *fx, h2k_fix_kind kind, fix_fn fn, h2k_fix_result **out)
{
    if (!fx)
        return H2K_ERR_INVALID_ARG;
    if (out)
        *out = NULL;
    if (!fx->gfs)
        return hk_error(fx->ctx, H2K_ERR_INVALID_ARG, "the %s repair: the fixer was committed",
                        h2k_fix_kind_name(kind));
    h2k_fix_result *res = hk_fix_begin(fx, kind);
    if (!res)
        return hk_error_nomem(fx->ctx);
    hk_info(fx->ctx, "fix", "%s%s", h2k_fix_kind_name(kind), fx->opts.dry_run ? " (dry run)" : "");
    if (kind == H2K_FIX_VIRTIO_WIN && fx->id->type != H2K_GUEST_WINDOWS) {
        res->status = H2K_FIX_STATUS_SKIPPED;
        return hk_fix_end(fx, res, out, "not a Windows guest (%s)",
                          h2k_guest_type_name(fx->id->type));
    }
    if (fx->id->type != H2K_GUEST_LINUX && kind != H2K_FIX_SELINUX && kind != H2K_FIX_VIRTIO_WIN) {
        res->status = H2K_FIX_STATUS_SKIPPED;
        return hk_fix_end(fx, res, out, "not a Linux guest (%s)",
                          h2k_guest_type_name(fx->id->type));
    }
    fn(fx, res);
    if (h2k_ctx_is_cancelled(fx->ctx)) {
        /* the appliance was killed under the repair: it did not finish */
        hk_fix_fail(res, "cancelled");
        hk_fix_end(fx, res, out, NULL);
        int rc = hk_error(fx->ctx, H2K_ERR_CANCELLED, "cancelled during the %s repair%s",
                          h2k_fix_kind_name(kind),
                          hk_gfs_killed(fx->gfs) ? " (appliance stopped)" : "");
        hk_error_set_stage(fx->ctx, "fix");
        return rc;
    }
    return hk_fix_end(fx, res, out, NULL);
}

int
h2k_offline_fixer_fix_fstab(h2k_offline_fixer *fx, h2k_fix_result **out)
{
    return run_one(fx, H2K_FIX_FSTAB, hk_fix_fstab, out);
}

int
h2k_offline_fixer_fix_grub(h2k_offline_fixer *fx, h2k_fix_result **out)
{
    return run_one(fx, H2K_FIX_GRUB, hk_fix_grub, out);
}

int
h2k_offline_fixer_fix_network(h2k_offline_fixer *fx, h2k_fix_result **out)
{
    return run_one(fx, H2K_FIX_NETWORK, hk_fix_network, out);
}

int
h2k_offline_fixer_regenerate_initramfs(h2k_offline_fixer *fx, h2k_fix_result **out)
{
    return run_one(fx, H2K_FIX_INITRAMFS, hk_fix_initramfs, out);
}

int
h2k_offline_fixer_remove_vmware_tools(h2k_offline_fixer *fx, h2k_fix_result **out)
{
    return run_one(fx, H2K_FIX_VMWARE_TOOLS, hk_fix_guest_agents, out);
}

int
h2k_offline_fixer_fix_selinux(h2k_offline_fixer *fx, h2k_fix_result **out)
{
    return run_one(fx, H2K_FIX_SELINUX, hk_fix_selinux, out);
}

int
h2k_offline_fixer_inject_virtio_win(h2k_offline_fixer *fx, h2k_fix_result **out)
{
    return run_one(fx, H2K_FIX_VIRTIO_WIN, hk_fix_virtio_win, out);
}

int
h2k_offline_fixer_virtio_ready(const h2k_offline_fixer *fx)
{
    if (!fx || !fx->id)
        return 0;
    return fx->id->type == H2K_GUEST_WINDOWS ? fx->virtio_ready : 1;
}

int
h2k_offline_fixer_run_all(h2k_offline_fixer *fx)
{
    if (!fx)
        return H2K_ERR_INVALID_ARG;
    /* fstab and network first (pure file edits), tools before the initramfs
     * (package removal may rebuild it), grub after the initramfs (new images
     * must be in the menu), selinux last (it relabels what the others wrote). */
    static const struct {
        h2k_fix_kind kind;
        fix_fn fn;
    } order[] = {
        {H2K_FIX_VIRTIO_WIN, hk_fix_virtio_win}, {H2K_FIX_FSTAB, hk_fix_fstab},
        {H2K_FIX_NETWORK, hk_fix_network},       {H2K_FIX_VMWARE_TOOLS, hk_fix_guest_agents},
        {H2K_FIX_INITRAMFS, hk_fix_initramfs},   {H2K_FIX_GRUB, hk_fix_grub},
        {H2K_FIX_SELINUX, hk_fix_selinux},
    };
    size_t failed = 0;
    int rc = 0;
    fx->in_run_all = true;
    for (size_t i = 0; i < HK_ARRAY_LEN(order) && rc == 0; i++) {
        if (!(fx->opts.fixes & order[i].kind))
            continue;
        rc = hk_check_cancel(fx->ctx);
        if (rc < 0) {
            hk_error_set_stage(fx->ctx, "fix");
            break;
        }
        rc = run_one(fx, order[i].kind, order[i].fn, NULL);
        if (rc == 0 && fx->results[fx->n_results - 1]->status == H2K_FIX_STATUS_FAILED)
            failed++;
    }
    fx->in_run_all = false;
    /* a preparation the initramfs repair did not take leaves nothing behind */
    if (!h2k_ctx_is_cancelled(fx->ctx))
        hk_fix_initramfs_unprep(fx);
    if (rc < 0)
        return rc;
    if (failed) {
        hk_buf b = {0};
        for (size_t i = 0; i < fx->n_results; i++)
            if (fx->results[i]->status == H2K_FIX_STATUS_FAILED)
                hk_buf_printf(&b, "%s%s: %s", b.len ? "; " : "",
                              h2k_fix_kind_name(fx->results[i]->kind),
                              fx->results[i]->message ? fx->results[i]->message : "failed");
        rc = hk_error(fx->ctx, H2K_ERR_FIXER, "%zu repair%s failed: %s", failed,
                      failed == 1 ? "" : "s", b.data ? b.data : "");
        hk_error_set_stage(fx->ctx, "fix");
        hk_buf_free(&b);
        return rc;
    }
    return 0;
}

size_t
h2k_offline_fixer_result_count(const h2k_offline_fixer *fx)
{
    return fx ? fx->n_results : 0;
}

const h2k_fix_result *
h2k_offline_fixer_result_at(const h2k_offline_fixer *fx, size_t i)
{
    return fx && i < fx->n_results ? fx->results[i] : NULL;
}

int
h2k_offline_fixer_trim(h2k_offline_fixer *fx)
{
    if (!fx)
        return H2K_ERR_INVALID_ARG;
    if (fx->opts.dry_run)
        return 0;
    if (!fx->gfs)
        return hk_error(fx->ctx, H2K_ERR_INVALID_ARG, "fstrim: the fixer was committed");
    double t0 = hk_now();
    guestfs_h *g = fx->gfs->g;
    char **mps = guestfs_mountpoints(g);
    for (size_t i = 0; mps && mps[i] && mps[i + 1]; i += 2) {
        if (h2k_ctx_is_cancelled(fx->ctx))
            break;
        if (guestfs_fstrim(g, mps[i + 1], -1) < 0)
            hk_debug(fx->ctx, "fix", "fstrim %s: %s", mps[i + 1], guestfs_last_error(g));
    }
    hk_strv_free(mps);
    if (h2k_ctx_is_cancelled(fx->ctx)) {
        int rc = hk_error(fx->ctx, H2K_ERR_CANCELLED, "cancelled during fstrim%s",
                          hk_gfs_killed(fx->gfs) ? " (appliance stopped)" : "");
        hk_error_set_stage(fx->ctx, "trim");
        return rc;
    }
    hk_info(fx->ctx, "fix", "fstrim done in %.1f s", hk_now() - t0);
    return 0;
}

int
h2k_offline_fixer_commit(h2k_offline_fixer *fx)
{
    if (!fx)
        return H2K_ERR_INVALID_ARG;
    if (!fx->gfs)
        return hk_error(fx->ctx, H2K_ERR_INVALID_ARG, "the fixer was already committed");
    h2k_ctx *ctx = fx->ctx;
    int rc = hk_gfs_close(fx->gfs);
    fx->gfs = NULL;
    memset(&fx->map, 0, sizeof(fx->map)); /* the table went with the handle */
    if (rc < 0)
        return rc;
    if (h2k_ctx_is_cancelled(ctx)) {
        rc = hk_error(ctx, H2K_ERR_CANCELLED, "cancelled: the repairs were not committed%s",
                      fx->n_overlays ? " (the disks are unchanged)" : "");
        hk_error_set_stage(ctx, "fix");
        return rc;
    }
    for (size_t i = 0; i < fx->n_overlays; i++) {
        double t0 = hk_now();
        /* -d: the overlay is dropped afterwards, no need to empty it */
        const char *argv[] = {"qemu-img", "commit",        "-q", "-d", "-f",
                              "qcow2",    fx->overlays[i], NULL};
        hk_run_opts ro = {0};
        ro.timeout_seconds = fx->opts.command_timeout;
        ro.ignore_cancel = true;
        if ((rc = hk_run_qemu_img(ctx, argv, &ro, fx->targets[i], "commit")) < 0) {
            hk_error_set_stage(ctx, "fix");
            return rc;
        }
        hk_info(ctx, "fix", "repairs written into %s in %.1f s", fx->targets[i], hk_now() - t0);
    }
    return 0;
}

int
h2k_offline_fixer_close(h2k_offline_fixer *fx)
{
    if (!fx)
        return 0;
    int rc = hk_gfs_close(fx->gfs);
    drop_overlays(fx);
    for (size_t i = 0; i < fx->n_results; i++)
        h2k_fix_result_free(fx->results[i]);
    free(fx->results);
    for (size_t i = 0; i < fx->n_nics; i++) {
        free((char *)fx->nics[i].mac);
        free((char *)fx->nics[i].old_name);
        free((char *)fx->nics[i].new_name);
    }
    free(fx->nics);
    free(fx->virtio_win);
    h2k_guest_identity_free(fx->id);
    free(fx);
    return rc;
}
