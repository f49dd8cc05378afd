/*
 * hk_fsread over a directory holding a guest's root file system.  Symbolic
 * links are resolved as the guest would resolve them: absolute targets are
 * taken relative to the guest root, and ".." never climbs above it.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fsread.h"

typedef struct dir_fs {
    hk_fsread fs;
    char *root;
} dir_fs;

/* Resolves @gpath inside the guest; returns the host path (caller frees) or NULL. */
static char *
resolve(const dir_fs *d, const char *gpath)
{
    char *cur = hk_abspath(gpath); /* lexical, inside the guest */
    if (!cur)
        return NULL;
    for (int hops = 0; hops < 40; hops++) {
        /* walk components; find the first symlink */
        size_t n = strlen(cur);
        bool changed = false;
        for (size_t i = 1; i <= n; i++) {
            if (i != n && cur[i] != '/')
                continue;
            char *prefix = hk_strndup(cur, i);
            char *host = prefix ? hk_asprintf("%s%s", d->root, prefix) : NULL;
            struct stat st;
            if (!host || lstat(host, &st) < 0) {
                free(prefix);
                free(host);
                break; /* does not exist: leave as is */
            }
            if (S_ISLNK(st.st_mode)) {
                char target[PATH_MAX];
                ssize_t tl = readlink(host, target, sizeof(target) - 1);
                free(host);
                if (tl < 0) {
                    free(prefix);
                    free(cur);
                    return NULL;
                }
                target[tl] = '\0';
                char *base;
                if (target[0] == '/') {
                    base = strdup(target);
                } else {
                    char *dir = hk_dirname(prefix);
                    base = dir ? hk_path_join(dir, target) : NULL;
                    free(dir);
                }
                char *rest = hk_strdup0(cur + i);
                char *next = (base && rest) ? hk_asprintf("%s%s", base, rest) : NULL;
                free(base);
                free(rest);
                free(prefix);
                free(cur);
                cur = next ? hk_abspath(next) : NULL;
                free(next);
                if (!cur)
                    return NULL;
                changed = true;
                break;
            }
            free(prefix);
            free(host);
        }
        if (!changed) {
            char *host = hk_asprintf("%s%s", d->root, strcmp(cur, "/") == 0 ? "" : cur);
            free(cur);
            return host;
        }
    }
    free(cur);
    return NULL; /* too many links */
}

static char *
dir_read(const hk_fsread *fs, const char *path, size_t max, size_t *len)
{
    char *host = resolve((const dir_fs *)fs, path);
    if (!host)
        return NULL;
    char *data = NULL;
    h2k_ctx *quiet = NULL;
    if (h2k_ctx_new(&quiet) == 0) {
        if (hk_read_file(quiet, host, max, &data, len) < 0)
            data = NULL;
        h2k_ctx_free(quiet);
    }
    free(host);
    return data;
}

static bool
dir_exists(const hk_fsread *fs, const char *path)
{
    char *host = resolve((const dir_fs *)fs, path);
    struct stat st;
    bool r = host && lstat(host, &st) == 0;
    free(host);
    return r;
}

static bool
dir_is_dir(const hk_fsread *fs, const char *path)
{
    char *host = resolve((const dir_fs *)fs, path);
    struct stat st;
    bool r = host && lstat(host, &st) == 0 && S_ISDIR(st.st_mode);
    free(host);
    return r;
}

static int
cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static char **
dir_list(const hk_fsread *fs, const char *path)
{
    char *host = resolve((const dir_fs *)fs, path);
    if (!host)
        return NULL;
    DIR *dh = opendir(host);
    free(host);
    if (!dh)
        return NULL;
    size_t n = 0, cap = 16;
    char **v = calloc(cap + 1, sizeof(char *));
    struct dirent *e;
    while (v && (e = readdir(dh))) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
            continue;
        if (n == cap) {
            char **nv = realloc(v, (cap * 2 + 1) * sizeof(char *));
            if (!nv) {
                hk_strv_free(v);
                v = NULL;
                break;
            }
            v = nv;
            cap *= 2;
        }
        v[n] = strdup(e->d_name);
        if (!v[n]) {
            hk_strv_free(v);
            v = NULL;
            break;
        }
        v[++n] = NULL;
    }
    closedir(dh);
    if (v)
        qsort(v, n, sizeof(char *), cmp_str);
    return v;
}

hk_fsread *
hk_fsread_dir_new(const char *root)
{
    dir_fs *d = calloc(1, sizeof(*d));
    if (!d)
        return NULL;
    d->root = hk_abspath(root);
    if (!d->root) {
        free(d);
        return NULL;
    }
    if (strcmp(d->root, "/") == 0)
        d->root[0] = '\0'; /* host paths are root + guest path */
    d->fs.ud = d;
    d->fs.read = dir_read;
    d->fs.exists = dir_exists;
    d->fs.is_dir = dir_is_dir;
    d->fs.list = dir_list;
    return &d->fs;
}

void
hk_fsread_dir_free(hk_fsread *fs)
{
    if (!fs)
        return;
    dir_fs *d = (dir_fs *)fs;
    free(d->root);
    free(d);
}
