/*
 * h2k_ctx: logging and progress hooks, cancellation, temporary directory
 * and the last error of a context.
 */
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "ctx_private.h"
#include "internal.h"

int
h2k_ctx_new(h2k_ctx **out)
{
    if (!out)
        return H2K_ERR_INVALID_ARG;
    *out = NULL;
    h2k_ctx *ctx = calloc(1, sizeof(*ctx));
    if (!ctx)
        return H2K_ERR_NO_MEMORY;
    ctx->log_level = H2K_LOG_INFO;
    const char *t = getenv("TMPDIR");
    ctx->tmpdir = strdup(t && *t ? t : "/var/tmp");
    if (!ctx->tmpdir) {
        free(ctx);
        return H2K_ERR_NO_MEMORY;
    }
    hk_error_reset(ctx);
    *out = ctx;
    return H2K_OK;
}

void
h2k_ctx_free(h2k_ctx *ctx)
{
    if (!ctx)
        return;
    hk_error_reset(ctx);
    free(ctx->tmpdir);
    for (size_t i = 0; i < ctx->n_allowed_roots; i++)
        free(ctx->allowed_roots[i]);
    free(ctx->allowed_roots);
    for (size_t i = 0; i < ctx->n_own_files; i++)
        free(ctx->own_files[i]);
    free(ctx->own_files);
    free(ctx);
}

void
h2k_ctx_set_log(h2k_ctx *ctx, h2k_log_fn fn, void *userdata, h2k_log_level max_level)
{
    if (!ctx)
        return;
    ctx->log_fn = fn;
    ctx->log_data = userdata;
    ctx->log_level = max_level;
}

void
h2k_ctx_set_progress(h2k_ctx *ctx, h2k_progress_fn fn, void *userdata)
{
    if (!ctx)
        return;
    ctx->progress_fn = fn;
    ctx->progress_data = userdata;
}

void
h2k_ctx_cancel(h2k_ctx *ctx)
{
    if (ctx)
        atomic_store(&ctx->cancelled, 1);
}

int
h2k_ctx_is_cancelled(const h2k_ctx *ctx)
{
    return ctx ? atomic_load(&((h2k_ctx *)ctx)->cancelled) : 0;
}

void
h2k_ctx_reset_cancel(h2k_ctx *ctx)
{
    if (ctx)
        atomic_store(&ctx->cancelled, 0);
}

int
h2k_ctx_set_tmpdir(h2k_ctx *ctx, const char *dir)
{
    if (!ctx || !dir || !*dir)
        return H2K_ERR_INVALID_ARG;
    char *copy = strdup(dir);
    if (!copy)
        return H2K_ERR_NO_MEMORY;
    free(ctx->tmpdir);
    ctx->tmpdir = copy;
    return H2K_OK;
}

const char *
h2k_ctx_tmpdir(const h2k_ctx *ctx)
{
    return ctx ? ctx->tmpdir : NULL;
}

int
h2k_ctx_allow_path(h2k_ctx *ctx, const char *dir)
{
    if (!ctx)
        return H2K_ERR_INVALID_ARG;
    if (!dir || !*dir)
        return hk_error(ctx, H2K_ERR_INVALID_ARG, "allowed path: empty directory name");
    char *real = realpath(dir, NULL);
    if (!real)
        return hk_error(ctx, errno == ENOMEM ? H2K_ERR_NO_MEMORY : H2K_ERR_INVALID_ARG,
                        "allowed path %s: %s", dir, strerror(errno));
    struct stat st;
    if (stat(real, &st) < 0 || !S_ISDIR(st.st_mode)) {
        free(real);
        return hk_error(ctx, H2K_ERR_INVALID_ARG, "allowed path %s: not a directory", dir);
    }
    char **grown = realloc(ctx->allowed_roots, (ctx->n_allowed_roots + 1) * sizeof(*grown));
    if (!grown) {
        free(real);
        return H2K_ERR_NO_MEMORY;
    }
    grown[ctx->n_allowed_roots++] = real;
    ctx->allowed_roots = grown;
    return H2K_OK;
}

const char *const *
hk_ctx_allowed_roots(const h2k_ctx *ctx, size_t *n)
{
    *n = ctx ? ctx->n_allowed_roots : 0;
    return ctx ? (const char *const *)ctx->allowed_roots : NULL;
}

void
hk_log(h2k_ctx *ctx, h2k_log_level level, const char *domain, const char *fmt, ...)
{
    if (!ctx || !ctx->log_fn || level > ctx->log_level)
        return;
    char stackbuf[1024];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(stackbuf, sizeof(stackbuf), fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    if ((size_t)n < sizeof(stackbuf)) {
        ctx->log_fn(ctx->log_data, level, domain ? domain : "h2k", stackbuf);
        return;
    }
    char *big = malloc((size_t)n + 1);
    if (!big) {
        ctx->log_fn(ctx->log_data, level, domain ? domain : "h2k", stackbuf);
        return;
    }
    va_start(ap, fmt);
    vsnprintf(big, (size_t)n + 1, fmt, ap);
    va_end(ap);
    ctx->log_fn(ctx->log_data, level, domain ? domain : "h2k", big);
    free(big);
}

void
hk_progress(h2k_ctx *ctx, const char *stage, uint64_t done, uint64_t total)
{
    /* total 0 (nothing to do) is not reported: callers divide by it */
    if (ctx && ctx->progress_fn && total)
        ctx->progress_fn(ctx->progress_data, stage, done, total);
}

h2k_progress_unit
h2k_progress_stage_unit(const char *stage)
{
    static const struct {
        const char *stage;
        h2k_progress_unit unit;
    } units[] = {
        {"convert", H2K_PROGRESS_PERMILLE}, {"extract", H2K_PROGRESS_BYTES},
        {"verify", H2K_PROGRESS_BYTES},     {"download", H2K_PROGRESS_BYTES},
        {"probe", H2K_PROGRESS_ITEMS},      {"fix", H2K_PROGRESS_PERMILLE},
        {"copy", H2K_PROGRESS_BYTES},       {"export", H2K_PROGRESS_STEPS},
        {"trim", H2K_PROGRESS_STEPS},       {"xml", H2K_PROGRESS_STEPS},
        {"define", H2K_PROGRESS_STEPS},     {"boot", H2K_PROGRESS_STEPS},
        {"report", H2K_PROGRESS_STEPS},
    };
    for (size_t i = 0; stage && i < HK_ARRAY_LEN(units); i++)
        if (strcmp(stage, units[i].stage) == 0)
            return units[i].unit;
    return H2K_PROGRESS_UNKNOWN;
}

int
hk_check_cancel(h2k_ctx *ctx)
{
    if (h2k_ctx_is_cancelled(ctx))
        return hk_error(ctx, H2K_ERR_CANCELLED, "operation cancelled");
    return 0;
}

int
hk_ctx_kvm_state(const h2k_ctx *ctx)
{
    return ctx ? atomic_load(&((h2k_ctx *)ctx)->kvm_state) : 0;
}

void
hk_ctx_set_kvm_state(h2k_ctx *ctx, int state)
{
    if (ctx)
        atomic_store(&ctx->kvm_state, state);
}
