/*
 * Pure text transforms of guest configuration files: text in, text and a list
 * of notes out.  No I/O: the fixers (src/fix/fix_*.c) read files through
 * libguestfs, call a transform, write the result back and record the change.
 * Every transform is idempotent: applied to its own output it changes nothing.
 */
#ifndef HK_FIX_XFORM_H
#define HK_FIX_XFORM_H

#include <stdbool.h>
#include <stddef.h>

#include "core/devmap.h"

/* Output of a transform. */
typedef struct hk_xform_out {
    char *text; /* new contents (malloc'd), or NULL when nothing changed */
    size_t n_notes;
    char **notes; /* one human-readable line per change ("line 3: /dev/sda1 -> UUID=...") */
} hk_xform_out;

/* Frees text and notes; leaves @o zeroed. */
void hk_xform_out_clear(hk_xform_out *o);
/* Appends a formatted note; returns false on allocation failure. */
bool hk_xform_note(hk_xform_out *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
