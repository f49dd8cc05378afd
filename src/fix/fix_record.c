/*
 * Recording what a repair does: results, file changes with before/after,
 * commands with their output; guest file I/O through libguestfs.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/util.h"

#include "fixer_internal.h"

#define MAX_GUEST_FILE (16u << 20)
#define OUTPUT_TAIL 4096

void
hk_fix_note_warning(h2k_fix_result *res, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *m = hk_vasprintf(fmt, ap);
    va_end(ap);
    if (!m)
        return;
    char *j = res->message ? hk_asprintf("%s; warning: %s", res->message, m)
                           : hk_asprintf("warning: %s", m);
    free(m);
    if (j) {
        free(res->message);
        res->message = j;
    }
}

h2k_fix_result *
hk_fix_begin(h2k_offline_fixer *fx, h2k_fix_kind kind)
{
    h2k_fix_result *r = calloc(1, sizeof(*r));
    if (!r)
        return NULL;
    r->kind = kind;
    r->status = H2K_FIX_STATUS_UNCHANGED;
    r->dry_run = fx->opts.dry_run;
    r->duration_seconds = hk_now(); /* start time until hk_fix_end */
    return r;
}

int
hk_fix_fail(h2k_fix_result *res, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *m = hk_vasprintf(fmt, ap);
    va_end(ap);
    res->status = H2K_FIX_STATUS_FAILED;
    if (res->message) {
        char *j = hk_asprintf("%s; %s", res->message, m ? m : "");
        free(m);
        m = j;
    }
    free(res->message);
    res->message = m;
    return 0;
}

static char **
strv_dup(char *const *v, size_t n)
{
    char **out = calloc(n + 1, sizeof(char *));
    for (size_t i = 0; out && i < n; i++)
        out[i] = hk_strdup0(v[i]);
    return out;
}

static h2k_fix_result *
result_dup(const h2k_fix_result *r)
{
    h2k_fix_result *c = calloc(1, sizeof(*c));
    if (!c)
        return NULL;
    *c = *r;
    c->message = hk_strdup0(r->message);
    c->changes = r->n_changes ? calloc(r->n_changes, sizeof(*c->changes)) : NULL;
    c->commands = r->n_commands ? calloc(r->n_commands, sizeof(*c->commands)) : NULL;
    if ((r->n_changes && !c->changes) || (r->n_commands && !c->commands)) {
        free(c->changes);
        free(c->commands);
        free(c->message);
        free(c);
        return NULL;
    }
    for (size_t i = 0; i < r->n_changes; i++) {
        const h2k_file_change *s = &r->changes[i];
        h2k_file_change *d = &c->changes[i];
        d->path = hk_strdup0(s->path);
        d->action = hk_strdup0(s->action);
        d->before = hk_strdup0(s->before);
        d->after = hk_strdup0(s->after);
        d->notes = strv_dup(s->notes, s->n_notes);
        d->n_notes = d->notes ? s->n_notes : 0;
    }
    for (size_t i = 0; i < r->n_commands; i++) {
        c->commands[i] = r->commands[i];
        c->commands[i].command = hk_strdup0(r->commands[i].command);
        c->commands[i].output_tail = hk_strdup0(r->commands[i].output_tail);
    }
    c->registry_changes = NULL;
    c->n_registry_changes = 0;
    if (r->n_registry_changes) {
        c->registry_changes = calloc(r->n_registry_changes, sizeof(*c->registry_changes));
        for (size_t i = 0; c->registry_changes && i < r->n_registry_changes; i++) {
            const h2k_registry_change *s = &r->registry_changes[i];
            h2k_registry_change *d = &c->registry_changes[i];
            d->hive = hk_strdup0(s->hive);
            d->key = hk_strdup0(s->key);
            d->value = hk_strdup0(s->value);
            d->action = hk_strdup0(s->action);
            d->type = hk_strdup0(s->type);
            d->before = hk_strdup0(s->before);
            d->after = hk_strdup0(s->after);
            c->n_registry_changes++;
        }
    }
    return c;
}

int
hk_fix_end(h2k_offline_fixer *fx, h2k_fix_result *res, h2k_fix_result **out, const char *fmt, ...)
{
    res->duration_seconds = hk_now() - res->duration_seconds;
    if (fmt) {
        va_list ap;
        va_start(ap, fmt);
        char *m = hk_vasprintf(fmt, ap);
        va_end(ap);
        free(res->message);
        res->message = m;
    }
    if (!res->message) {
        if (res->status == H2K_FIX_STATUS_CHANGED)
            res->message = hk_asprintf("%zu file%s %s, %zu command%s", res->n_changes,
                                       res->n_changes == 1 ? "" : "s",
                                       res->dry_run ? "would change" : "changed", res->n_commands,
                                       res->n_commands == 1 ? "" : "s");
        else if (res->status == H2K_FIX_STATUS_UNCHANGED)
            res->message = strdup("nothing to change");
    }
    hk_log(fx->ctx, res->status == H2K_FIX_STATUS_FAILED ? H2K_LOG_WARNING : H2K_LOG_INFO, "fix",
           "%s: %s: %s", h2k_fix_kind_name(res->kind), h2k_fix_status_name(res->status),
           res->message ? res->message : "");
    h2k_fix_result *keep = out ? result_dup(res) : res;
    h2k_fix_result **nl = keep ? realloc(fx->results, (fx->n_results + 1) * sizeof(*nl)) : NULL;
    if (!nl) {
        if (keep != res)
            h2k_fix_result_free(keep);
        h2k_fix_result_free(res);
        return hk_error_nomem(fx->ctx);
    }
    fx->results = nl;
    fx->results[fx->n_results++] = keep;
    if (out)
        *out = res;
    return 0;
}

char *
hk_fix_read(h2k_offline_fixer *fx, const char *path, size_t *len)
{
    return fx->gfs->fs.read(&fx->gfs->fs, path, MAX_GUEST_FILE, len);
}

bool
hk_fix_exists(h2k_offline_fixer *fx, const char *path)
{
    return fx->gfs->fs.exists(&fx->gfs->fs, path);
}

static h2k_file_change *
add_change(h2k_fix_result *res, const char *path, const char *action, const char *before,
           const char *after)
{
    h2k_file_change *nc = realloc(res->changes, (res->n_changes + 1) * sizeof(*nc));
    if (!nc)
        return NULL;
    res->changes = nc;
    h2k_file_change *c = &nc[res->n_changes++];
    memset(c, 0, sizeof(*c));
    c->path = strdup(path);
    c->action = strdup(action);
    c->before = hk_strdup0(before);
    c->after = hk_strdup0(after);
    return c;
}

void
hk_fix_record_rename(h2k_fix_result *res, const char *from, const char *to)
{
    h2k_file_change *c = add_change(res, from, "renamed", NULL, NULL);
    if (c) {
        c->notes = calloc(2, sizeof(char *));
        if (c->notes) {
            c->notes[0] = hk_asprintf("renamed to %s", to);
            c->n_notes = 1;
        }
    }
    if (res->status == H2K_FIX_STATUS_UNCHANGED)
        res->status = H2K_FIX_STATUS_CHANGED;
}

static int
guest_write(h2k_offline_fixer *fx, h2k_fix_result *res, const char *path, const char *content)
{
    if (fx->opts.dry_run)
        return 0;
    if (guestfs_write(fx->gfs->g, path, content, strlen(content)) < 0) {
        hk_fix_fail(res, "cannot write %s: %s", path, guestfs_last_error(fx->gfs->g));
        return -1;
    }
    return 0;
}

int
hk_fix_apply(h2k_offline_fixer *fx, h2k_fix_result *res, const char *path, const char *before,
             hk_xform_out *xo)
{
    if (!xo->text)
        return 0;
    if (guest_write(fx, res, path, xo->text) < 0)
        return -1;
    h2k_file_change *c = add_change(res, path, "modified", before, xo->text);
    if (c) {
        c->notes = xo->notes;
        c->n_notes = xo->n_notes;
        xo->notes = NULL;
        xo->n_notes = 0;
    }
    if (res->status == H2K_FIX_STATUS_UNCHANGED)
        res->status = H2K_FIX_STATUS_CHANGED;
    return 0;
}

int
hk_fix_write_new(h2k_offline_fixer *fx, h2k_fix_result *res, const char *path, const char *content,
                 const char *note)
{
    char *before = hk_fix_read(fx, path, NULL);
    if (before && strcmp(before, content) == 0) {
        free(before);
        return 0; /* idempotent: already there */
    }
    if (!fx->opts.dry_run) {
        char *dir = hk_dirname(path);
        if (dir && !hk_fix_exists(fx, dir))
            guestfs_mkdir_p(fx->gfs->g, dir);
        free(dir);
    }
    int rc = guest_write(fx, res, path, content);
    if (rc == 0 && !fx->opts.dry_run && !before)
        guestfs_chmod(fx->gfs->g, 0644, path);
    if (rc == 0) {
        h2k_file_change *c = add_change(res, path, before ? "modified" : "created", before,
                                        content);
        if (c && note) {
            c->notes = calloc(2, sizeof(char *));
            if (c->notes) {
                c->notes[0] = strdup(note);
                c->n_notes = 1;
            }
        }
        if (res->status == H2K_FIX_STATUS_UNCHANGED)
            res->status = H2K_FIX_STATUS_CHANGED;
    }
    free(before);
    return rc;
}

/* Writes @data to @path (its folder created; a new file chmod'ed to @new_mode
 * unless 0) unless this is a dry run, then records the change with the note
 * @note (taken; may be NULL) and marks @res changed.  0, or -1 after
 * hk_fix_fail(). */
static int
write_and_record(h2k_offline_fixer *fx, h2k_fix_result *res, const char *path, const void *data,
                 size_t len, bool existed, int new_mode, char *note)
{
    guestfs_h *g = fx->gfs->g;
    if (!fx->opts.dry_run) {
        char *dir = hk_dirname(path);
        if (dir && guestfs_is_dir(g, dir) <= 0 && guestfs_mkdir_p(g, dir) < 0) {
            hk_fix_fail(res, "cannot create %s: %s", dir, guestfs_last_error(g));
            free(dir);
            free(note);
            return -1;
        }
        free(dir);
        if (guestfs_write(g, path, data, len) < 0) {
            hk_fix_fail(res, "cannot write %s: %s", path, guestfs_last_error(g));
            free(note);
            return -1;
        }
        if (!existed && new_mode)
            guestfs_chmod(g, new_mode, path);
    }
    h2k_file_change *c = add_change(res, path, existed ? "modified" : "created", NULL, NULL);
    if (c && note) {
        c->notes = calloc(2, sizeof(char *));
        if (c->notes) {
            c->notes[0] = note;
            c->n_notes = 1;
            note = NULL;
        }
    }
    free(note);
    if (res->status == H2K_FIX_STATUS_UNCHANGED)
        res->status = H2K_FIX_STATUS_CHANGED;
    return 0;
}

int
hk_fix_write_binary(h2k_offline_fixer *fx, h2k_fix_result *res, const char *path, const void *data,
                    size_t len, const char *note)
{
    guestfs_h *g = fx->gfs->g;
    bool existed = guestfs_is_file(g, path) > 0;
    if (existed) {
        int64_t sz = guestfs_filesize(g, path);
        if (sz == (int64_t)len) {
            size_t got = 0;
            char *cur = len ? guestfs_pread(g, path, (int)len, 0, &got) : NULL;
            bool same = (len == 0) || (cur && got == len && memcmp(cur, data, len) == 0);
            free(cur);
            if (same)
                return 0; /* idempotent: already there */
        }
    }
    return write_and_record(fx, res, path, data, len, existed, 0, note ? strdup(note) : NULL);
}

void
hk_fix_take_registry(h2k_fix_result *res, h2k_registry_change *c, size_t n)
{
    if (!n) {
        free(c);
        return;
    }
    h2k_registry_change *nr = realloc(res->registry_changes,
                                      (res->n_registry_changes + n) * sizeof(*nr));
    if (!nr) {
        for (size_t i = 0; i < n; i++)
            hk_reg_change_clear(&c[i]);
        free(c);
        return;
    }
    memcpy(nr + res->n_registry_changes, c, n * sizeof(*c));
    res->registry_changes = nr;
    res->n_registry_changes += n;
    free(c);
    if (res->status == H2K_FIX_STATUS_UNCHANGED)
        res->status = H2K_FIX_STATUS_CHANGED;
}

int
hk_fix_delete(h2k_offline_fixer *fx, h2k_fix_result *res, const char *path, const char *note)
{
    if (!hk_fix_exists(fx, path))
        return 0;
    char *before = hk_fix_read(fx, path, NULL);
    if (!fx->opts.dry_run && guestfs_rm_f(fx->gfs->g, path) < 0) {
        free(before);
        hk_fix_fail(res, "cannot delete %s: %s", path, guestfs_last_error(fx->gfs->g));
        return -1;
    }
    h2k_file_change *c = add_change(res, path, "deleted", before, NULL);
    if (c && note) {
        c->notes = calloc(2, sizeof(char *));
        if (c->notes) {
            c->notes[0] = strdup(note);
            c->n_notes = 1;
        }
    }
    free(before);
    if (res->status == H2K_FIX_STATUS_UNCHANGED)
        res->status = H2K_FIX_STATUS_CHANGED;
    return 0;
}

static char *
tail_of(const char *s)
{
    size_t n = strlen(s);
    return strdup(n > OUTPUT_TAIL ? s + n - OUTPUT_TAIL : s);
}

int
hk_fix_sh(h2k_offline_fixer *fx, h2k_fix_result *res, const char *cmd, char **output)
{
    return hk_fix_sh_beside(fx, res, cmd, NULL, output);
}

int
hk_fix_sh_beside(h2k_offline_fixer *fx, h2k_fix_result *res, const char *cmd, const char *beside,
                 char **output)
{
    if (output)
        *output = NULL;
    h2k_command_record *nc = realloc(res->commands, (res->n_commands + 1) * sizeof(*nc));
    if (!nc)
        return -1;
    res->commands = nc;
    h2k_command_record *rec = &nc[res->n_commands++];
    memset(rec, 0, sizeof(*rec));
    rec->command = strdup(cmd);
    if (fx->opts.dry_run) {
        rec->output_tail = strdup("(dry run: not executed)");
        return 0;
    }
    hk_info(fx->ctx, "fix", "running in the guest: %s%s", cmd,
            beside ? " (with other work beside it)" : "");
    double t0 = hk_now();
    /* always capture the exit status and both streams; what runs beside has
     * its own streams and ends before the call returns */
    char *wrapped = beside ? hk_asprintf("( %s ) </dev/null >/dev/null 2>&1 &\n"
                                         "( %s ) 2>&1; h2k_st=$?; wait; echo \"H2K-EXIT:$h2k_st\"",
                                         beside, cmd)
                           : hk_asprintf("( %s ) 2>&1; echo \"H2K-EXIT:$?\"", cmd);
    char *out = wrapped ? guestfs_sh(fx->gfs->g, wrapped) : NULL;
    free(wrapped);
    rec->duration_seconds = hk_now() - t0;
    if (!out) {
        const char *e = guestfs_last_error(fx->gfs->g);
        rec->exit_status = -1;
        rec->output_tail = strdup(e ? e : "could not run");
        return -1;
    }
    int status = -1;
    char *mark = strstr(out, "H2K-EXIT:");
    char *last = NULL;
    while (mark) { /* the last marker is ours */
        last = mark;
        mark = strstr(mark + 1, "H2K-EXIT:");
    }
    if (last) {
        status = atoi(last + 9);
        *last = '\0';
    }
    rec->exit_status = status;
    rec->output_tail = tail_of(out);
    hk_debug(fx->ctx, "fix", "exit %d: %s", status, rec->output_tail);
    if (output)
        *output = out;
    else
        free(out);
    return status;
}

int
hk_fix_write_bytes(h2k_offline_fixer *fx, h2k_fix_result *res, const char *path, const void *data,
                   size_t len, const char *note)
{
    guestfs_h *g = fx->gfs->g;
    size_t old_len = 0;
    char *old = NULL;
    if (guestfs_is_file(g, path) > 0) {
        old = guestfs_read_file(g, path, &old_len);
        if (old && old_len == len && memcmp(old, data, len) == 0) {
            free(old);
            return 0; /* idempotent: already there */
        }
    }
    bool existed = old != NULL;
    free(old);
    char hex[HK_DIGEST_HEX_MAX];
    hk_digest_mem(data, len, HK_DIGEST_SHA256, hex);
    return write_and_record(fx, res, path, data, len, existed, 0644,
                            hk_asprintf("%s%s%zu bytes, SHA-256 %s", note ? note : "",
                                        note ? ": " : "", len, hex));
}
