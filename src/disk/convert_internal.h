/*
 * Internals of the qemu-img conversion (convert.c), exposed for unit tests:
 * the progress parser and the argv builder are pure functions.
 */
#ifndef HK_DISK_CONVERT_INTERNAL_H
#define HK_DISK_CONVERT_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>

#include "core/internal.h"
#include "hyper2kvm/h2k_disk.h"

/* Parses one progress record of "qemu-img convert -p", e.g. "    (12.34/100%)"
 * (leading blanks allowed, at most two decimals are used, trailing blanks
 * allowed).  On success stores the progress in per-mille (0..1000; values over
 * 100% are clamped to 1000) in *permille and returns true; returns false for
 * anything else (garbage, empty, negative, a missing "/100%)"). */
bool hk_qemu_parse_progress(const char *line, unsigned *permille);

/* Options of hk_convert_build_argv(), already validated and defaulted. */
typedef struct hk_convert_plan {
    const char *qemu_img;          /* program (path or name) */
    h2k_disk_format output_format; /* QCOW2 or RAW */
    bool compress;
    const char *compression_type; /* "zstd" or "zlib" (used when compress) */
    int coroutines;               /* -m, 1..16 */
    int out_of_order;             /* -W: 1 on, 0 off, -1 auto (hk_convert_out_of_order) */
    bool sync;                    /* writeback during the run, fsync at the end */
    uint64_t source_offset;       /* image window inside layers[0] (container) */
    uint64_t source_size;         /* 0 = to the end */
    /* per layer (n_layers entries, or NULL): the window of layers[i] inside its
     * file when size[i] != 0 (an OVA member under an overlay we wrote) */
    const uint64_t *layer_offset;
    const uint64_t *layer_size;
    bool force_share; /* -U: read a source another process holds open
                         (the repair appliance, idle and flushed) */
} hk_convert_plan;

/* Whether qemu-img gets -W (out-of-order writes) for @plan on @info.  Auto
 * (-1) turns it on except when compressing a source whose grains are
 * themselves compressed (a streamOptimized VMDK): there one thread inflates
 * the source in order while the compression workers take the two cores, and
 * -W measured about 6 % slower (bench/convert); everywhere else it is faster
 * (monolithicSparse to zstd by about 25 %). */
bool hk_convert_out_of_order(const h2k_disk_info *info, const hk_convert_plan *plan);

/* Builds the qemu-img argv converting the probed @info into @out_path.
 * A single image at offset 0 is passed as "-f FMT PATH"; a snapshot chain
 * (every layer's path and format pinned) or an image inside a container is
 * passed with --image-opts.  Returns a NULL-terminated array (caller frees
 * with hk_argv_free()) or NULL on allocation failure. */
char **hk_convert_build_argv(const h2k_disk_info *info, const hk_convert_plan *plan,
                             const char *out_path);

/* h2k_disk_convert() reading @src in shared mode (qemu-img -U): for an image
 * that a process of ours keeps open but no longer writes (the repair
 * appliance after an unmount and a flush).  Same returns and ownership. */
int hk_disk_convert_shared(h2k_ctx *ctx, const char *src, const char *dst,
                           const h2k_convert_options *opts, h2k_convert_result **out);

/* Frees an argv returned by hk_convert_build_argv().  NULL is allowed. */
void hk_argv_free(char **argv);

#endif
