/*
 * Recursive removal without a subprocess: openat/unlinkat, O_NOFOLLOW, so a
 * symbolic link inside the tree is removed as a link and what it names is
 * never touched.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "util.h"

/* Deep enough for any folder we create; deeper trees are left (EMLINK). */
#define HK_RMTREE_MAX_DEPTH 64

static int
remove_at(int parent, const char *name, unsigned depth)
{
    if (unlinkat(parent, name, 0) == 0 || errno == ENOENT)
        return 0;
    if (errno != EISDIR && errno != EPERM)
        return -errno;
    if (depth >= HK_RMTREE_MAX_DEPTH)
        return -EMLINK;
    int first = 0;
    int fd = openat(parent, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    DIR *d = fdopendir(fd);
    if (!d) {
        int e = errno;
        close(fd);
        return -e;
    }
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        int r = remove_at(fd, e->d_name, depth + 1);
        if (r < 0 && first == 0)
            first = r;
    }
    closedir(d);
    if (unlinkat(parent, name, AT_REMOVEDIR) < 0 && errno != ENOENT && first == 0)
        first = -errno;
    return first;
}

int
hk_remove_tree_at(int dirfd, const char *name)
{
    if (!name || !*name)
        return -EINVAL;
    return remove_at(dirfd, name, 0);
}

int
hk_remove_tree(const char *path)
{
    return hk_remove_tree_at(AT_FDCWD, path);
}
