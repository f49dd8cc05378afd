/* The layout of h2k_ctx, private to src/core. */
#ifndef HK_CORE_CTX_PRIVATE_H
#define HK_CORE_CTX_PRIVATE_H

#include <stdatomic.h>

#include "hyper2kvm/h2k_common.h"

struct h2k_ctx {
    h2k_log_fn log_fn;
    void *log_data;
    h2k_log_level log_level;
    h2k_progress_fn progress_fn;
    void *progress_data;
    atomic_int cancelled;
    char *tmpdir;
    char **allowed_roots; /* h2k_ctx_allow_path(): resolved directories */
    size_t n_allowed_roots;
    char **own_files; /* hk_ctx_trust_file(): files we wrote (overlays), resolved */
    size_t n_own_files;

    /* last error: 'err' points into the owned strings below */
    h2k_error err;
    char *msg;
    char *source_path;
    char *output_path;
    char *field;
    char *stage;
    char *console_tail;

    atomic_int kvm_state; /* hk_ctx_kvm_state(): 0 unknown, 1 usable, 2 not usable */
};

/* Frees every error string and resets the error to "no error". */
void hk_error_reset(h2k_ctx *ctx);

#endif
