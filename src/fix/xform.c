/*
 * Shared pieces of the pure text transforms: the output object (see xform.h),
 * and the edit-list and stable-name helpers of xform_priv.h.  Device
 * references are looked up in core/devmap.c.
 */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/internal.h"
#include "fix/xform.h"
#include "fix/xform_priv.h"

void
hk_xform_out_clear(hk_xform_out *o)
{
    if (!o)
        return;
    free(o->text);
    for (size_t i = 0; i < o->n_notes; i++)
        free(o->notes[i]);
    free(o->notes);
    o->text = NULL;
    o->notes = NULL;
    o->n_notes = 0;
}

bool
hk_xform_note(hk_xform_out *o, const char *fmt, ...)
{
    if (!o || !fmt)
        return false;
    va_list ap;
    va_start(ap, fmt);
    char *s = hk_vasprintf(fmt, ap);
    va_end(ap);
    if (!s)
        return false;
    if (o->n_notes >= SIZE_MAX / sizeof(char *) - 1) {
        free(s);
        return false;
    }
    char **v = realloc(o->notes, (o->n_notes + 1) * sizeof(char *));
    if (!v) {
        free(s);
        return false;
    }
    o->notes = v;
    o->notes[o->n_notes++] = s;
    return true;
}

/* ------------------------------------------------------------ edits */

void
hk_xedits_add(hk_xedits *e, size_t start, size_t end, char *repl)
{
    if (!repl) {
        e->oom = true;
        return;
    }
    if (e->oom || end < start || (e->n > 0 && start < e->v[e->n - 1].end)) {
        free(repl);
        return;
    }
    if (e->n == e->cap) {
        size_t nc = e->cap ? e->cap * 2 : 8;
        hk_xedit *v = realloc(e->v, nc * sizeof(*v));
        if (!v) {
            free(repl);
            e->oom = true;
            return;
        }
        e->v = v;
        e->cap = nc;
    }
    e->v[e->n].start = start;
    e->v[e->n].end = end;
    e->v[e->n].repl = repl;
    e->n++;
}

char *
hk_xedits_apply(const char *in, size_t in_len, const hk_xedits *e, size_t *out_len)
{
    hk_buf b = {0};
    size_t pos = 0;
    for (size_t i = 0; i < e->n; i++) {
        const hk_xedit *x = &e->v[i];
        if (x->start > in_len || x->end > in_len || x->start < pos)
            continue;
        hk_buf_append(&b, in + pos, x->start - pos);
        hk_buf_puts(&b, x->repl);
        pos = x->end;
    }
    hk_buf_append(&b, in + pos, in_len - pos);
    size_t len = b.len;
    char *s = hk_buf_steal(&b);
    if (s && out_len)
        *out_len = len;
    return s;
}

void
hk_xedits_free(hk_xedits *e)
{
    for (size_t i = 0; i < e->n; i++)
        free(e->v[i].repl);
    free(e->v);
    memset(e, 0, sizeof(*e));
}

/* ------------------------------------------------------ stable names */

static bool
id_ok(const char *s)
{
    if (!s || !*s)
        return false;
    size_t n = 0;
    for (; s[n]; n++) {
        char c = s[n];
        bool hex = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
        if (!hex && c != '-')
            return false;
        if (n >= 128)
            return false;
    }
    return true;
}

static bool
label_cmdline_ok(const char *s)
{
    if (!s || !*s || strlen(s) > 255)
        return false;
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        bool ok = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                  c == '.' || c == '_' || c == '-' || c == '/' || c == '+' || c == ':' || c == '@';
        if (!ok)
            return false;
    }
    return true;
}

static bool
label_fstab_ok(const char *s)
{
    if (!s || !*s || strlen(s) > 255)
        return false;
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c < 0x20 && c != '\t')
            return false; /* newline or control: cannot be represented safely */
    }
    return true;
}

char *
hk_dev_stable_ref(const hk_dev *d, hk_ref_style style, bool *oom)
{
    *oom = false;
    if (!d)
        return NULL;
    char *r = NULL;
    if (id_ok(d->uuid)) {
        r = hk_asprintf("UUID=%s", d->uuid);
    } else if (style == HK_REF_CMDLINE ? label_cmdline_ok(d->label) : label_fstab_ok(d->label)) {
        hk_buf b = {0};
        hk_buf_puts(&b, "LABEL=");
        for (const char *s = d->label; *s; s++) {
            if (*s == ' ' || *s == '\t' || *s == '\\' || *s == '#')
                hk_buf_printf(&b, "\\%03o", (unsigned)(unsigned char)*s);
            else
                hk_buf_append(&b, s, 1);
        }
        r = hk_buf_steal(&b);
    } else if (id_ok(d->partuuid)) {
        r = hk_asprintf("PARTUUID=%s", d->partuuid);
    } else {
        return NULL;
    }
    if (!r)
        *oom = true;
    return r;
}

int
hk_xform_fail(hk_buf *b, hk_xform_out *out)
{
    hk_buf_free(b);
    hk_xform_out_clear(out);
    return -1;
}

int
hk_xform_finish(hk_buf *b, bool changed, hk_xform_out *out)
{
    if (b->oom)
        return hk_xform_fail(b, out);
    if (!changed) {
        hk_buf_free(b);
        return 0;
    }
    if (!(out->text = hk_buf_steal(b)))
        return hk_xform_fail(b, out);
    return 0;
}
