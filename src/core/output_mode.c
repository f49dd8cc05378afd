/*
 * The permission bits of the files we create (disk images, reports, domain
 * XML): 0600 unless the caller asks for more, and never readable by anyone the
 * source is not readable by.  Applied with fchmod() so the umask plays no part.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "internal.h"

mode_t
hk_output_mode(unsigned requested, const struct stat *source)
{
    mode_t mode = requested ? (mode_t)(requested & 0666) : 0600;
    mode |= 0600; /* we write it, and the owner reads it back */
    if (source)
        mode &= (source->st_mode & 0066) | 0600;
    return mode;
}

int
hk_output_mode_fd(h2k_ctx *ctx, int fd, const char *path, unsigned requested, const char *source)
{
    struct stat st;
    mode_t mode = hk_output_mode(requested, source && stat(source, &st) == 0 ? &st : NULL);
    if (fchmod(fd, mode) != 0)
        return hk_error_errno(ctx, errno, path, "cannot set the mode of");
    return 0;
}

int
hk_output_mode_path(h2k_ctx *ctx, const char *path, unsigned requested, const char *source)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY);
    if (fd < 0)
        return hk_error_errno(ctx, errno, path, "cannot open to set the mode of");
    int rc = hk_output_mode_fd(ctx, fd, path, requested, source);
    close(fd);
    return rc;
}
