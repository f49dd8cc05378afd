/*
 * Atomic file writes: a temporary name beside the output, fsync, rename.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util.h"

int
hk_write_all(h2k_ctx *ctx, int fd, const char *path, const void *data, size_t len)
{
    size_t off = 0;
    while (off < len) {
        ssize_t n = write(fd, (const char *)data + off, len - off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return hk_error_errno(ctx, n < 0 ? errno : EIO, path, "cannot write");
        off += (size_t)n;
    }
    return 0;
}

int
hk_write_file_atomic(h2k_ctx *ctx, const char *path, const void *data, size_t len, unsigned mode,
                     const char *source)
{
    if (!path || !*path || (!data && len))
        return hk_error(ctx, H2K_ERR_INVALID_ARG, "hk_write_file_atomic: NULL argument");
    char *tmp = NULL;
    int fd = hk_tmpfile_beside(ctx, path, &tmp);
    if (fd < 0)
        return fd;
    int rc = hk_write_all(ctx, fd, tmp, data, len);
    if (rc == 0)
        rc = hk_output_mode_fd(ctx, fd, tmp, mode, source);
    if (rc == 0 && fsync(fd) < 0)
        rc = hk_error_errno(ctx, errno, tmp, "cannot sync");
    if (close(fd) < 0 && rc == 0)
        rc = hk_error_errno(ctx, errno, tmp, "cannot close");
    if (rc == 0 && rename(tmp, path) < 0)
        rc = hk_error_errno(ctx, errno, path, "cannot rename into place");
    if (rc < 0) {
        unlink(tmp);
        hk_error_set_output(ctx, path);
        free(tmp);
        return rc;
    }
    free(tmp);
    /* make the rename durable */
    char *dir = hk_dirname(path);
    if (dir) {
        int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dfd >= 0) {
            (void)fsync(dfd);
            close(dfd);
        }
        free(dir);
    }
    return 0;
}
