/*
 * fstab / crypttab transforms: see fstab_xform.h for the rules.
 */
#include <stdlib.h>
#include <string.h>

#include "core/internal.h"
#include "fix/fstab_xform.h"
#include "fix/xform_priv.h"

#define MAX_FIELDS 8
#define MAX_FIELD_LEN 4096

typedef struct field {
    size_t start; /* offset in the whole input */
    size_t len;
} field;

typedef enum tab_kind {
    TAB_FSTAB,
    TAB_CRYPTTAB
} tab_kind;

static bool
is_blank(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f';
}

/* NUL-terminated copy of a field, or NULL (too long / no memory: *oom). */
static char *
field_dup(const char *in, const field *f, bool *oom)
{
    if (f->len > MAX_FIELD_LEN)
        return NULL;
    char *s = hk_strndup(in + f->start, f->len);
    if (!s)
        *oom = true;
    return s;
}

/* True when the comma-separated list @list (length @n) holds @word. */
static bool
list_has(const char *list, size_t n, const char *word)
{
    size_t wl = strlen(word);
    size_t i = 0;
    while (i <= n) {
        size_t j = i;
        while (j < n && list[j] != ',')
            j++;
        if (j - i == wl && memcmp(list + i, word, wl) == 0)
            return true;
        i = j + 1;
    }
    return false;
}

static bool
is_removable_mountpoint(const char *mp, size_t n)
{
    static const char *const dirs[] = {"/media/", "/mnt/"};
    static const char *const kinds[] = {"cdrom", "cdrecorder", "dvd", "floppy"};
    for (size_t i = 0; i < HK_ARRAY_LEN(dirs); i++) {
        size_t dl = strlen(dirs[i]);
        if (n <= dl || strncmp(mp, dirs[i], dl) != 0)
            continue;
        for (size_t k = 0; k < HK_ARRAY_LEN(kinds); k++) {
            size_t kl = strlen(kinds[k]);
            if (n - dl >= kl && strncmp(mp + dl, kinds[k], kl) == 0)
                return true;
        }
    }
    return false;
}

/* Is this fstab entry a removable-media entry (see the header)? */
static bool
is_removable_entry(const char *in, const char *spec, const field *f, size_t nf)
{
    if (!hk_startswith(spec, "/dev/") || hk_startswith(spec, "/dev/mapper/"))
        return false;
    if (hk_devref_is_removable(spec))
        return true;
    if (nf >= 3 && (list_has(in + f[2].start, f[2].len, "iso9660") ||
                    list_has(in + f[2].start, f[2].len, "udf")))
        return true;
    if (nf >= 2 && is_removable_mountpoint(in + f[1].start, f[1].len))
        return true;
    return false;
}

/* Replaces the device field @f of line @lineno when it is unstable. */
static void
remap_field(const char *in, const field *f, const hk_devmap *map, unsigned long lineno,
            hk_xedits *ed, hk_xform_out *out, bool *oom)
{
    char *ref = field_dup(in, f, oom);
    if (!ref)
        return;
    if (hk_devref_is_unstable(ref)) {
        const hk_dev *d = map ? hk_devmap_lookup(map, ref) : NULL;
        char *stable = d ? hk_dev_stable_ref(d, HK_REF_FSTAB, oom) : NULL;
        if (stable) {
            if (!hk_xform_note(out, "line %lu: %s -> %s", lineno, ref, stable))
                *oom = true;
            hk_xedits_add(ed, f->start, f->start + f->len, stable);
        } else if (!*oom) {
            if (!hk_xform_note(out, "line %lu: no UUID known for %s (left as is)", lineno, ref))
                *oom = true;
        }
    }
    free(ref);
}

static void
removable_nofail(const char *in, const char *spec, const field *f, size_t nf, unsigned long lineno,
                 hk_xedits *ed, hk_xform_out *out, bool *oom)
{
    if (nf >= 4) {
        const char *o = in + f[3].start;
        if (list_has(o, f[3].len, "noauto") || list_has(o, f[3].len, "nofail"))
            return;
        hk_xedits_add(ed, f[3].start + f[3].len, f[3].start + f[3].len, hk_strdup0(",nofail"));
    } else if (nf == 3) {
        /* No options field: add one, separated like the previous fields. */
        size_t sep_start = f[1].start + f[1].len;
        char *ins = NULL;
        size_t sep_len = f[2].start - sep_start;
        hk_buf b = {0};
        hk_buf_append(&b, in + sep_start, sep_len);
        hk_buf_puts(&b, "nofail");
        ins = hk_buf_steal(&b);
        hk_xedits_add(ed, f[2].start + f[2].len, f[2].start + f[2].len, ins);
    } else {
        return;
    }
    if (ed->oom)
        *oom = true;
    else if (!hk_xform_note(out,
                            "line %lu: %s is removable media (likely absent on KVM): added nofail",
                            lineno, spec))
        *oom = true;
}

static int
tab_xform(const char *in, const hk_devmap *map, hk_xform_out *out, tab_kind kind)
{
    if (!in || !out)
        return H2K_ERR_INVALID_ARG;
    size_t len = strlen(in);
    hk_xedits ed = {0};
    bool oom = false;
    unsigned long lineno = 0;
    size_t pos = 0;
    while (pos < len && !oom && !ed.oom) {
        lineno++;
        const char *nl = memchr(in + pos, '\n', len - pos);
        size_t line_end = nl ? (size_t)(nl - in) : len;
        size_t next = nl ? line_end + 1 : len;

        field f[MAX_FIELDS];
        size_t nf = 0;
        size_t i = pos;
        while (i < line_end && is_blank(in[i]))
            i++;
        if (i < line_end && in[i] != '#') {
            while (i < line_end && nf < MAX_FIELDS) {
                size_t s = i;
                while (i < line_end && !is_blank(in[i]))
                    i++;
                f[nf].start = s;
                f[nf].len = i - s;
                nf++;
                while (i < line_end && is_blank(in[i]))
                    i++;
            }
        }

        if (kind == TAB_FSTAB && nf >= 1) {
            char *spec = field_dup(in, &f[0], &oom);
            if (spec) {
                if (is_removable_entry(in, spec, f, nf))
                    removable_nofail(in, spec, f, nf, lineno, &ed, out, &oom);
                else
                    remap_field(in, &f[0], map, lineno, &ed, out, &oom);
                free(spec);
            }
        } else if (kind == TAB_CRYPTTAB && nf >= 2) {
            remap_field(in, &f[1], map, lineno, &ed, out, &oom);
        }
        pos = next;
    }
    if (!oom && !ed.oom && ed.n > 0) {
        out->text = hk_xedits_apply(in, len, &ed, NULL);
        if (!out->text)
            oom = true;
    }
    if (ed.oom)
        oom = true;
    hk_xedits_free(&ed);
    if (oom) {
        hk_xform_out_clear(out);
        return H2K_ERR_NO_MEMORY;
    }
    return 0;
}

int
hk_fstab_xform(const char *in, const hk_devmap *map, hk_xform_out *out)
{
    return tab_xform(in, map, out, TAB_FSTAB);
}

int
hk_crypttab_xform(const char *in, const hk_devmap *map, hk_xform_out *out)
{
    return tab_xform(in, map, out, TAB_CRYPTTAB);
}
