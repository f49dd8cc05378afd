/*
 * References from one input file to another (VMDK extents and parents, qcow2
 * backing files, VHD/VHDX parent locators, VMX disk names, OVF hrefs): the one
 * place that decides whether a named file may be read.  A reference must lead,
 * after every symlink is resolved, into the folder of the file that names it or
 * under a root the caller allowed with h2k_ctx_allow_path(); it must not name
 * a qemu protocol (file:, json:, nbd:, ...); and it must be a regular file (a
 * block device only under an allowed root).  Otherwise an input could make us
 * copy any host file (/etc/shadow) into a readable output, or block on a FIFO.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ctx_private.h"
#include "internal.h"

#define ALLOW_HINT "to read it, allow its folder (--allow-path DIR, h2k_ctx_allow_path())"

bool
hk_reference_has_protocol(const char *ref)
{
    if (!ref)
        return false;
    /* qemu takes "name:" before any '/' as a protocol (file:, json:, nbd:, ...) */
    const char *colon = strchr(ref, ':');
    const char *slash = strchr(ref, '/');
    return colon && (!slash || colon < slash);
}

bool
hk_path_is_under(const char *path, const char *root)
{
    if (!path || !root || path[0] != '/' || root[0] != '/')
        return false;
    size_t n = strlen(root);
    while (n > 1 && root[n - 1] == '/')
        n--;
    if (n == 1) /* "/" */
        return true;
    return strncmp(path, root, n) == 0 && (path[n] == '/' || path[n] == '\0');
}

/* realpath() of @abs, or, when @abs does not exist, realpath() of its folder
 * with the last component appended; NULL (errno set) when neither exists. */
static char *
resolve_maybe_missing(const char *abs, bool *missing)
{
    *missing = false;
    char *real = realpath(abs, NULL);
    if (real || errno != ENOENT)
        return real;
    *missing = true;
    char *dir = hk_dirname(abs);
    if (!dir)
        return NULL;
    char *rdir = realpath(dir, NULL);
    free(dir);
    if (!rdir)
        return NULL;
    const char *base = strrchr(abs, '/');
    base = base ? base + 1 : abs;
    char *out = hk_path_join(rdir, base);
    free(rdir);
    return out;
}

static bool
under_allowed_root(const h2k_ctx *ctx, const char *path)
{
    size_t n = 0;
    const char *const *roots = hk_ctx_allowed_roots(ctx, &n);
    for (size_t i = 0; i < n; i++)
        if (hk_path_is_under(path, roots[i]))
            return true;
    return false;
}

static const char *
file_kind(mode_t m)
{
    if (S_ISDIR(m))
        return "a folder";
    if (S_ISCHR(m))
        return "a character device";
    if (S_ISBLK(m))
        return "a block device";
    if (S_ISFIFO(m))
        return "a FIFO";
    if (S_ISSOCK(m))
        return "a socket";
    return "not a regular file";
}

int
hk_ctx_trust_file(h2k_ctx *ctx, const char *path)
{
    char *real = realpath(path, NULL);
    if (!real)
        return hk_error_errno(ctx, errno, path, "cannot resolve");
    char **grown = realloc(ctx->own_files, (ctx->n_own_files + 1) * sizeof(*grown));
    if (!grown) {
        free(real);
        return hk_error_nomem(ctx);
    }
    grown[ctx->n_own_files++] = real;
    ctx->own_files = grown;
    return 0;
}

/* True when @referring is a file this context wrote (an overlay): what it names
 * was written by us, after the probe checked it. */
static bool
referring_is_own(const h2k_ctx *ctx, const char *referring)
{
    if (!ctx || ctx->n_own_files == 0)
        return false;
    char *real = realpath(referring, NULL);
    bool own = false;
    for (size_t i = 0; real && !own && i < ctx->n_own_files; i++)
        own = strcmp(real, ctx->own_files[i]) == 0;
    free(real);
    return own;
}

int
hk_resolve_reference(h2k_ctx *ctx, const char *referring, const char *ref, const char *what,
                     char **resolved)
{
    *resolved = NULL;
    if (!what)
        what = "reference";
    if (!ref || !*ref)
        return hk_error_at(ctx, H2K_ERR_VALIDATION, referring, -1, what, "the %s names no file",
                           what);
    if (hk_reference_has_protocol(ref))
        return hk_error_at(ctx, H2K_ERR_VALIDATION, referring, -1, what,
                           "%s \"%s\" names a qemu protocol or JSON description, not a file; "
                           "refused (only plain file names are followed)",
                           what, ref);

    int rc = 0;
    char *ref_dir_lex = hk_dirname(referring);
    char *ref_abs = ref_dir_lex ? hk_abspath(ref_dir_lex) : NULL;
    char *joined = ref_abs ? hk_path_join(ref_abs, ref) : NULL;
    char *lexical = joined ? hk_abspath(joined) : NULL;
    char *home = ref_abs ? realpath(ref_abs, NULL) : NULL;
    char *real = NULL;
    if (!lexical) {
        rc = hk_error_nomem(ctx);
        goto out;
    }
    if (!home) {
        rc = hk_error_errno(ctx, errno, ref_abs, "cannot resolve the folder of");
        goto out;
    }
    bool missing = false;
    real = resolve_maybe_missing(lexical, &missing);
    if (!real) {
        int e = errno;
        if (e == ENOENT || e == ENOTDIR) {
            /* not even its folder exists: judge the name as written */
            *resolved = lexical;
            lexical = NULL;
            if (!hk_path_is_under(*resolved, home) && !under_allowed_root(ctx, *resolved)) {
                rc = hk_error_at(ctx, H2K_ERR_VALIDATION, referring, -1, what,
                                 "%s \"%s\" lies outside %s, the folder of the file that names "
                                 "it; refused: " ALLOW_HINT,
                                 what, ref, home);
                free(*resolved);
                *resolved = NULL;
                goto out;
            }
            rc = hk_error_at(ctx, H2K_ERR_NOT_FOUND, referring, -1, what,
                             "%s \"%s\" does not exist (%s)", what, ref, *resolved);
            goto out;
        }
        rc = hk_error_at(ctx, e == ENOMEM ? H2K_ERR_NO_MEMORY : H2K_ERR_IO, referring, -1, what,
                         "%s \"%s\" (%s) cannot be resolved: %s", what, ref, lexical, strerror(e));
        goto out;
    }
    bool allowed = under_allowed_root(ctx, real) || referring_is_own(ctx, referring);
    if (!allowed && !hk_path_is_under(real, home)) {
        bool via_link = hk_path_is_under(lexical, home);
        rc = hk_error_at(ctx, H2K_ERR_VALIDATION, referring, -1, what,
                         "%s \"%s\" %s %s, outside %s, the folder of the file that names it; "
                         "refused: " ALLOW_HINT,
                         what, ref, via_link ? "leads through a symbolic link to" : "resolves to",
                         real, home);
        goto out;
    }
    if (missing) {
        *resolved = real;
        real = NULL;
        rc = hk_error_at(ctx, H2K_ERR_NOT_FOUND, referring, -1, what,
                         "%s \"%s\" does not exist (%s)", what, ref, *resolved);
        goto out;
    }
    struct stat st;
    if (stat(real, &st) < 0) {
        rc = hk_error_errno(ctx, errno, real, "cannot stat");
        goto out;
    }
    if (!S_ISREG(st.st_mode) && !(S_ISBLK(st.st_mode) && allowed)) {
        rc = hk_error_at(ctx, H2K_ERR_FORMAT, referring, -1, what,
                         "%s \"%s\" (%s) is %s, not a regular file; refused%s", what, ref, real,
                         file_kind(st.st_mode),
                         S_ISBLK(st.st_mode) ? ": a block device is read only under an allowed "
                                               "folder (--allow-path DIR, h2k_ctx_allow_path())"
                                             : "");
        goto out;
    }
    *resolved = real;
    real = NULL;
out:
    free(ref_dir_lex);
    free(ref_abs);
    free(joined);
    free(lexical);
    free(home);
    free(real);
    return rc;
}

int
hk_ctx_copy_allowed_roots(h2k_ctx *from, h2k_ctx *to)
{
    size_t n = 0;
    const char *const *roots = hk_ctx_allowed_roots(from, &n);
    for (size_t i = 0; i < n; i++) {
        int rc = h2k_ctx_allow_path(to, roots[i]);
        if (rc < 0)
            return hk_error(from, rc, "%s", h2k_ctx_last_error(to)->message);
    }
    return 0;
}

/* ------------------------------------------- container windows (OVA members) */

/* Characters a file name may hold to be written into our JSON without escapes. */
static bool
window_name_ok(const char *path)
{
    if (!path || path[0] != '/')
        return false;
    for (const unsigned char *p = (const unsigned char *)path; *p; p++)
        if (*p < 0x20 || *p == 0x7f || *p == '"' || *p == '\\')
            return false;
    return true;
}

char *
hk_window_json(const char *format, const char *container, uint64_t offset, uint64_t size)
{
    if (!format || !*format || !window_name_ok(container) || size == 0)
        return NULL;
    for (const char *p = format; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9')))
            return NULL;
    return hk_asprintf("json:{\"driver\":\"%s\",\"file\":{\"driver\":\"raw\",\"offset\":%llu,"
                       "\"size\":%llu,\"file\":{\"driver\":\"file\",\"filename\":\"%s\"}}}",
                       format, (unsigned long long)offset, (unsigned long long)size, container);
}

int
hk_window_json_parse(const char *name, char **format, char **container, uint64_t *offset,
                     uint64_t *size)
{
    *format = NULL;
    *container = NULL;
    static const char p1[] = "json:{\"driver\":\"";
    static const char p2[] = "\",\"file\":{\"driver\":\"raw\",\"offset\":";
    if (!name || strncmp(name, p1, sizeof(p1) - 1) != 0)
        return -1;
    const char *f = name + sizeof(p1) - 1;
    const char *fe = strchr(f, '"');
    if (!fe || fe == f || fe - f > 16 || strncmp(fe, p2, sizeof(p2) - 1) != 0)
        return -1;
    const char *n = fe + sizeof(p2) - 1;
    char *end = NULL;
    if (*n < '0' || *n > '9')
        return -1;
    errno = 0;
    unsigned long long off = strtoull(n, &end, 10);
    if (errno || strncmp(end, ",\"size\":", 8) != 0)
        return -1;
    n = end + 8;
    if (*n < '0' || *n > '9')
        return -1;
    unsigned long long sz = strtoull(n, &end, 10);
    static const char p3[] = ",\"file\":{\"driver\":\"file\",\"filename\":\"";
    if (errno || strncmp(end, p3, sizeof(p3) - 1) != 0)
        return -1;
    const char *fn = end + sizeof(p3) - 1;
    const char *fne = strchr(fn, '"');
    if (!fne || strcmp(fne, "\"}}}") != 0)
        return -1;
    char *fmt = hk_strndup(f, (size_t)(fe - f));
    char *path = hk_strndup(fn, (size_t)(fne - fn));
    /* exactly what hk_window_json() writes, nothing more */
    char *again = fmt && path ? hk_window_json(fmt, path, off, sz) : NULL;
    bool same = again && strcmp(again, name) == 0;
    free(again);
    if (!same) {
        free(fmt);
        free(path);
        return -1;
    }
    *format = fmt;
    *container = path;
    *offset = off;
    *size = sz;
    return 0;
}

bool
hk_ctx_file_is_own(const h2k_ctx *ctx, const char *path)
{
    return referring_is_own(ctx, path);
}
