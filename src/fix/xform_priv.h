/*
 * Helpers shared by the text transforms (fstab_xform.c, grub_xform.c,
 * azure_xform.c).  Internal to src/fix; never installed.
 */
#ifndef HK_FIX_XFORM_PRIV_H
#define HK_FIX_XFORM_PRIV_H

#include <stdbool.h>
#include <stddef.h>

#include "core/internal.h"
#include "fix/xform.h"

/* The end of a line-by-line transform that wrote its whole output into @b:
 * out->text takes the text when @changed (else @b is freed and out->text
 * stays NULL).  0, or -1 when @b or this ran out of memory (then @b is freed
 * and @out cleared, as hk_xform_fail() does). */
int hk_xform_finish(hk_buf *b, bool changed, hk_xform_out *out);
/* Frees @b and clears @out; returns -1 (out of memory). */
int hk_xform_fail(hk_buf *b, hk_xform_out *out);

/* One replacement of the input bytes [start, end) by @repl. */
typedef struct hk_xedit {
    size_t start;
    size_t end;
    char *repl; /* owned */
} hk_xedit;

/* A list of non-overlapping edits, added in increasing order of @start. */
typedef struct hk_xedits {
    hk_xedit *v;
    size_t n;
    size_t cap;
    bool oom; /* set once an allocation failed */
} hk_xedits;

/* Takes ownership of @repl (freed on failure, which sets e->oom).  A NULL
 * @repl (failed allocation by the caller) also sets e->oom.  Edits that are
 * out of order or overlap the previous one are dropped (and @repl freed). */
void hk_xedits_add(hk_xedits *e, size_t start, size_t end, char *repl);
/* Applies the edits to @in (@in_len bytes); returns a malloc'd NUL-terminated
 * string (caller frees) or NULL on allocation failure.  *out_len (optional)
 * gets its length. */
char *hk_xedits_apply(const char *in, size_t in_len, const hk_xedits *e, size_t *out_len);
void hk_xedits_free(hk_xedits *e);

/* How a stable reference is spelled for its destination. */
typedef enum hk_ref_style {
    HK_REF_FSTAB,   /* fstab/crypttab field: labels octal-escaped (\040) */
    HK_REF_CMDLINE, /* kernel command line: labels only when made of safe characters */
} hk_ref_style;

/* The stable name of @d: "UUID=<uuid>", else "LABEL=<label>", else
 * "PARTUUID=<partuuid>".  Returns a malloc'd string (caller frees), or NULL
 * with *oom false when the device has no usable identifier, or NULL with
 * *oom true on allocation failure. */
char *hk_dev_stable_ref(const hk_dev *d, hk_ref_style style, bool *oom);

#endif
