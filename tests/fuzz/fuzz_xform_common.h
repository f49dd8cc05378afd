/*
 * Helpers for the text-transform fuzz targets (fuzz_fstab.c, fuzz_grub.c):
 * a fixed small device map, and a runner that checks that a transform
 * succeeds and is idempotent (aborts otherwise, so libFuzzer reports it).
 */
#ifndef H2K_FUZZ_XFORM_COMMON_H
#define H2K_FUZZ_XFORM_COMMON_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fix/xform.h"

static const hk_dev fuzz_devs[] = {
    {"/dev/sda1", 0, 1, "0b6e4a52-9c1d-4f0e-8a3b-2d7c5e1f9a01", "boot", "ext4", "5c0ffee0-01"},
    {"/dev/sda2", 0, 2, "6f2d8c1b-3e4a-4b5c-9d6e-7f8091a2b3c4", NULL, "swap", NULL},
    {"/dev/sda3", 0, 3, NULL, "my root#\\", "ext4", "5c0ffee0-03"},
    {"/dev/sda4", 0, 4, NULL, "/", "ext4", NULL},
    {"/dev/sda5", 0, 5, NULL, NULL, NULL, "5c0ffee0-05"},
    {"/dev/sdb", 1, 0, "1A2B-3C4D", NULL, "vfat", NULL},
    {"/dev/sdb1", 1, 1, NULL, NULL, NULL, NULL},
    {"/dev/mapper/vg-root", -1, 0, "a0b1c2d3", NULL, "xfs", NULL},
};
static const hk_devmap fuzz_map1 = {fuzz_devs, sizeof(fuzz_devs) / sizeof(fuzz_devs[0]), 1};
static const hk_devmap fuzz_map2 = {fuzz_devs, sizeof(fuzz_devs) / sizeof(fuzz_devs[0]), 2};

typedef int (*fuzz_xform_fn)(const char *in, const hk_devmap *map, hk_xform_out *out);

/* NUL-terminated copy of the fuzz input (caller frees), or NULL. */
static inline char *
fuzz_cstr(const uint8_t *data, size_t size)
{
    char *s = malloc(size + 1);
    if (!s)
        return NULL;
    memcpy(s, data, size);
    s[size] = '\0';
    return s;
}

static inline void
fuzz_xform_check(fuzz_xform_fn fn, const char *in, const hk_devmap *map)
{
    hk_xform_out o = {0};
    if (fn(in, map, &o) != 0)
        abort(); /* only allocation failure may fail */
    for (size_t i = 0; i < o.n_notes; i++)
        if (!o.notes[i])
            abort();
    if (o.text) {
        hk_xform_out again = {0};
        if (fn(o.text, map, &again) != 0)
            abort();
        if (again.text)
            abort(); /* not idempotent */
        hk_xform_out_clear(&again);
    }
    hk_xform_out_clear(&o);
}

#endif
