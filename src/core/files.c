/*
 * File helpers: exact positional reads with errors that name the offset,
 * small-file reads, paths, temporary outputs.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "internal.h"

int
hk_pread_exact(h2k_ctx *ctx, int fd, const char *path, void *buf, size_t len, uint64_t off,
               const char *what)
{
    size_t got = 0;
    if (off > (uint64_t)INT64_MAX - len)
        return hk_error_at(ctx, H2K_ERR_FORMAT, path, (int64_t)INT64_MAX, what,
                           "offset out of range");
    while (got < len) {
        ssize_t n = pread(fd, (char *)buf + got, len - got, (off_t)(off + got));
        if (n < 0) {
            if (errno == EINTR)
                continue;
            int e = errno;
            return hk_error_at(ctx, H2K_ERR_IO, path, (int64_t)(off + got), what, "read failed: %s",
                               strerror(e));
        }
        if (n == 0)
            return hk_error_at(ctx, H2K_ERR_FORMAT, path, (int64_t)(off + got), what,
                               "file is truncated: needed %zu bytes at offset %llu", len,
                               (unsigned long long)off);
        got += (size_t)n;
    }
    return 0;
}

static const char *
file_kind(mode_t m)
{
    if (S_ISFIFO(m))
        return "a FIFO (named pipe)";
    if (S_ISSOCK(m))
        return "a socket";
    if (S_ISCHR(m))
        return "a character device";
    if (S_ISBLK(m))
        return "a block device";
    if (S_ISDIR(m))
        return "a folder";
    return "not a regular file";
}

int
hk_open_input(h2k_ctx *ctx, const char *path, const char *what, unsigned flags, struct stat *st_out)
{
    const char *w = what ? what : "input";
    /* O_NONBLOCK: opening a FIFO must not wait for a writer */
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
    if (fd < 0) {
        char *msg = hk_asprintf("cannot open %s", w);
        int rc = hk_error_errno(ctx, errno, path, msg ? msg : "cannot open");
        free(msg);
        return rc;
    }
    struct stat st;
    if (fstat(fd, &st) < 0) {
        int e = errno;
        close(fd);
        return hk_error_errno(ctx, e, path, "cannot stat");
    }
    bool ok = S_ISREG(st.st_mode) || ((flags & HK_OPEN_ALLOW_BLOCK) && S_ISBLK(st.st_mode));
    if (!ok) {
        close(fd);
        return hk_error_at(ctx, H2K_ERR_FORMAT, path, -1, NULL,
                           "the %s is %s; only regular files%s are read", w, file_kind(st.st_mode),
                           (flags & HK_OPEN_ALLOW_BLOCK) ? " and block devices" : "");
    }
    int fl = fcntl(fd, F_GETFL);
    if (fl < 0 || fcntl(fd, F_SETFL, fl & ~O_NONBLOCK) < 0) {
        int e = errno;
        close(fd);
        return hk_error_errno(ctx, e, path, "cannot set up");
    }
    if (st_out)
        *st_out = st;
    return fd;
}

int
hk_read_file(h2k_ctx *ctx, const char *path, size_t max_size, char **out, size_t *len_out)
{
    *out = NULL;
    struct stat st = {0}; /* set when fd >= 0; gcc -O2 cannot tell */
    int fd = hk_open_input(ctx, path, "file", 0, &st);
    if (fd < 0)
        return fd;
    if ((uint64_t)st.st_size > max_size) {
        close(fd);
        return hk_error_at(ctx, H2K_ERR_FORMAT, path, -1, NULL,
                           "file is too large (%lld bytes, limit %zu)", (long long)st.st_size,
                           max_size);
    }
    size_t len = (size_t)st.st_size;
    char *data = malloc(len + 1);
    if (!data) {
        close(fd);
        return hk_error_nomem(ctx);
    }
    int r = hk_pread_exact(ctx, fd, path, data, len, 0, "contents");
    close(fd);
    if (r < 0) {
        free(data);
        return r;
    }
    data[len] = '\0';
    *out = data;
    if (len_out)
        *len_out = len;
    return 0;
}

char *
hk_abspath(const char *path)
{
    hk_buf b = {0};
    if (path[0] != '/') {
        char cwd[PATH_MAX];
        if (!getcwd(cwd, sizeof(cwd)))
            return NULL;
        hk_buf_puts(&b, cwd);
    }
    hk_buf_puts(&b, "/");
    hk_buf_puts(&b, path);
    char *raw = hk_buf_steal(&b);
    if (!raw)
        return NULL;
    /* normalise: collapse //, drop ".", resolve ".." lexically */
    char *outp = malloc(strlen(raw) + 2);
    if (!outp) {
        free(raw);
        return NULL;
    }
    size_t o = 0;
    const char *p = raw;
    while (*p) {
        while (*p == '/')
            p++;
        if (!*p)
            break;
        const char *e = strchr(p, '/');
        size_t n = e ? (size_t)(e - p) : strlen(p);
        if (n == 1 && p[0] == '.') {
            /* skip */
        } else if (n == 2 && p[0] == '.' && p[1] == '.') {
            while (o > 0 && outp[o - 1] != '/')
                o--;
            if (o > 0)
                o--;
        } else {
            outp[o++] = '/';
            memcpy(outp + o, p, n);
            o += n;
        }
        p += n;
    }
    if (o == 0)
        outp[o++] = '/';
    outp[o] = '\0';
    free(raw);
    return outp;
}

char *
hk_dirname(const char *path)
{
    const char *slash = strrchr(path, '/');
    if (!slash)
        return strdup(".");
    if (slash == path)
        return strdup("/");
    return hk_strndup(path, (size_t)(slash - path));
}

char *
hk_path_join(const char *dir, const char *name)
{
    if (name[0] == '/' || !dir || !*dir)
        return strdup(name);
    size_t l = strlen(dir);
    return hk_asprintf("%s%s%s", dir, dir[l - 1] == '/' ? "" : "/", name);
}

uint64_t
hk_fd_allocated(int fd)
{
    struct stat st;
    if (fstat(fd, &st) < 0)
        return 0;
    return (uint64_t)st.st_blocks * 512u;
}

int
hk_tmpfile_beside(h2k_ctx *ctx, const char *final_path, char **tmp_out)
{
    *tmp_out = NULL;
    char *tmpl = hk_asprintf("%s.part-XXXXXX", final_path);
    if (!tmpl)
        return hk_error_nomem(ctx);
    int fd = mkostemp(tmpl, O_CLOEXEC);
    if (fd < 0) {
        int e = errno;
        int r = hk_error_errno(ctx, e, tmpl, "cannot create temporary output");
        hk_error_set_output(ctx, final_path);
        free(tmpl);
        return r;
    }
    *tmp_out = tmpl;
    return fd;
}

int
hk_temp_dir(h2k_ctx *ctx, const char *prefix, const char *what, char **out)
{
    *out = NULL;
    char *tmpl = hk_asprintf("%s/%sXXXXXX", h2k_ctx_tmpdir(ctx), prefix);
    if (!tmpl)
        return hk_error_nomem(ctx);
    if (!mkdtemp(tmpl)) {
        int e = errno;
        char *msg = hk_asprintf("cannot create the %s", what);
        int r = hk_error_errno(ctx, e, tmpl, msg ? msg : what);
        free(msg);
        free(tmpl);
        return r;
    }
    *out = tmpl;
    return 0;
}

double
hk_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void
hk_monotonic_after(struct timespec *ts, long ms)
{
    clock_gettime(CLOCK_MONOTONIC, ts);
    ts->tv_sec += ms / 1000;
    ts->tv_nsec += (ms % 1000) * 1000000L;
    if (ts->tv_nsec >= 1000000000L) {
        ts->tv_sec++;
        ts->tv_nsec -= 1000000000L;
    }
}
