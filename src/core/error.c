/*
 * Error codes, their names and messages, and the last error of a context.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctx_private.h"
#include "internal.h"

static const struct {
    int code;
    const char *name;
    const char *text;
} code_table[] = {
    {H2K_OK, "OK", "success"},
    {H2K_ERR_GENERIC, "GENERIC", "unclassified failure"},
    {H2K_ERR_CONNECTION, "CONNECTION", "could not connect to the source platform"},
    {H2K_ERR_AUTHENTICATION, "AUTHENTICATION", "authentication failed"},
    {H2K_ERR_CONVERSION, "CONVERSION", "disk conversion failed"},
    {H2K_ERR_GUEST_DETECTION, "GUEST_DETECTION", "guest operating system not identified"},
    {H2K_ERR_FIXER, "FIXER", "guest repair failed"},
    {H2K_ERR_BOOT_TEST, "BOOT_TEST", "boot test failed"},
    {H2K_ERR_VALIDATION, "VALIDATION", "validation failed"},
    {H2K_ERR_IO, "IO", "input/output error"},
    {H2K_ERR_NOT_FOUND, "NOT_FOUND", "not found"},
    {H2K_ERR_NO_MEMORY, "NO_MEMORY", "out of memory"},
    {H2K_ERR_UNSUPPORTED, "UNSUPPORTED", "not supported"},
    {H2K_ERR_CANCELLED, "CANCELLED", "cancelled"},
    {H2K_ERR_FORMAT, "FORMAT", "malformed or inconsistent input"},
    {H2K_ERR_INVALID_ARG, "INVALID_ARG", "invalid argument"},
    {H2K_ERR_TIMEOUT, "TIMEOUT", "timed out"},
    {H2K_ERR_EXISTS, "EXISTS", "output already exists"},
};

const char *
h2k_strerror(int code)
{
    for (size_t i = 0; i < HK_ARRAY_LEN(code_table); i++)
        if (code_table[i].code == code)
            return code_table[i].text;
    return "unknown error code";
}

const char *
h2k_code_name(int code)
{
    for (size_t i = 0; i < HK_ARRAY_LEN(code_table); i++)
        if (code_table[i].code == code)
            return code_table[i].name;
    return "UNKNOWN";
}

static void
replace(char **slot, const char *value)
{
    free(*slot);
    *slot = value ? strdup(value) : NULL;
}

static void
sync_view(h2k_ctx *ctx)
{
    ctx->err.message = ctx->msg ? ctx->msg : "";
    ctx->err.source_path = ctx->source_path;
    ctx->err.output_path = ctx->output_path;
    ctx->err.field = ctx->field;
    ctx->err.stage = ctx->stage;
    ctx->err.console_tail = ctx->console_tail;
}

void
hk_error_reset(h2k_ctx *ctx)
{
    free(ctx->msg);
    free(ctx->source_path);
    free(ctx->output_path);
    free(ctx->field);
    free(ctx->stage);
    free(ctx->console_tail);
    ctx->msg = ctx->source_path = ctx->output_path = NULL;
    ctx->field = ctx->stage = ctx->console_tail = NULL;
    ctx->err.code = 0;
    ctx->err.offset = -1;
    sync_view(ctx);
}

static int
set_message(h2k_ctx *ctx, int code, char *msg)
{
    hk_error_reset(ctx);
    ctx->err.code = code;
    ctx->msg = msg; /* may be NULL on OOM: the view shows "" */
    if (!ctx->msg)
        ctx->msg = strdup(h2k_strerror(code));
    sync_view(ctx);
    hk_log(ctx, H2K_LOG_DEBUG, "error", "%s: %s", h2k_code_name(code), ctx->err.message);
    return code;
}

static char *vformat(const char *fmt, va_list ap) HK_PRINTF(1, 0);

static char *
vformat(const char *fmt, va_list ap)
{
    va_list ap2;
    va_copy(ap2, ap);
    int n = vsnprintf(NULL, 0, fmt, ap2);
    va_end(ap2);
    if (n < 0)
        return NULL;
    char *s = malloc((size_t)n + 1);
    if (s)
        vsnprintf(s, (size_t)n + 1, fmt, ap);
    return s;
}

int
hk_error(h2k_ctx *ctx, int code, const char *fmt, ...)
{
    if (!ctx)
        return code;
    va_list ap;
    va_start(ap, fmt);
    char *msg = vformat(fmt, ap);
    va_end(ap);
    return set_message(ctx, code, msg);
}

int
hk_error_at(h2k_ctx *ctx, int code, const char *path, int64_t offset, const char *field,
            const char *fmt, ...)
{
    if (!ctx)
        return code;
    va_list ap;
    va_start(ap, fmt);
    char *body = vformat(fmt, ap);
    va_end(ap);
    hk_buf b = {0};
    if (path)
        hk_buf_printf(&b, "%s: ", path);
    hk_buf_puts(&b, body ? body : h2k_strerror(code));
    if (field && offset >= 0)
        hk_buf_printf(&b, " (field %s, offset %" PRId64 ")", field, offset);
    else if (field)
        hk_buf_printf(&b, " (field %s)", field);
    else if (offset >= 0)
        hk_buf_printf(&b, " (offset %" PRId64 ")", offset);
    free(body);
    set_message(ctx, code, hk_buf_steal(&b));
    replace(&ctx->source_path, path);
    replace(&ctx->field, field);
    ctx->err.offset = offset;
    sync_view(ctx);
    return code;
}

int
hk_error_errno(h2k_ctx *ctx, int errnum, const char *path, const char *what)
{
    int code;
    switch (errnum) {
    case ENOENT:
        code = H2K_ERR_NOT_FOUND;
        break;
    case ENOMEM:
        code = H2K_ERR_NO_MEMORY;
        break;
    case EEXIST:
        code = H2K_ERR_EXISTS;
        break;
    default:
        code = H2K_ERR_IO;
        break;
    }
    if (!ctx)
        return code;
    if (path)
        hk_error(ctx, code, "%s: %s: %s", what, path, strerror(errnum));
    else
        hk_error(ctx, code, "%s: %s", what, strerror(errnum));
    replace(&ctx->source_path, path);
    sync_view(ctx);
    return code;
}

int
hk_error_nomem(h2k_ctx *ctx)
{
    return hk_error(ctx, H2K_ERR_NO_MEMORY, "out of memory");
}

#define SETTER(fn, slot)                                                                           \
    void fn(h2k_ctx *ctx, const char *value)                                                       \
    {                                                                                              \
        if (!ctx)                                                                                  \
            return;                                                                                \
        replace(&ctx->slot, value);                                                                \
        sync_view(ctx);                                                                            \
    }
SETTER(hk_error_set_source, source_path)
SETTER(hk_error_set_output, output_path)
SETTER(hk_error_set_stage, stage)
SETTER(hk_error_set_console_tail, console_tail)
#undef SETTER

void
hk_error_prefix(h2k_ctx *ctx, const char *fmt, ...)
{
    if (!ctx || !ctx->err.code)
        return;
    va_list ap;
    va_start(ap, fmt);
    char *prefix = vformat(fmt, ap);
    va_end(ap);
    if (!prefix)
        return;
    char *joined = hk_asprintf("%s: %s", prefix, ctx->msg ? ctx->msg : "");
    free(prefix);
    if (!joined)
        return;
    free(ctx->msg);
    ctx->msg = joined;
    sync_view(ctx);
}

const h2k_error *
h2k_ctx_last_error(const h2k_ctx *ctx)
{
    static const h2k_error none = {0, "", NULL, NULL, -1, NULL, NULL, NULL};
    return ctx ? &ctx->err : &none;
}

void
h2k_ctx_clear_error(h2k_ctx *ctx)
{
    if (ctx)
        hk_error_reset(ctx);
}
