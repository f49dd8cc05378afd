/*
 * A read-only view of a guest file system, so the detection logic runs the
 * same on a mounted directory (fsread_dir.c) and through libguestfs
 * (fsread_gfs.c).  Paths are absolute paths inside the guest; symbolic links
 * are resolved inside the guest, never on the host.
 */
#ifndef HK_GUEST_FSREAD_H
#define HK_GUEST_FSREAD_H

#include <stdbool.h>
#include <stddef.h>

#include "core/internal.h"
#include "core/util.h"

typedef struct hk_fsread hk_fsread;

struct hk_fsread {
    void *ud;
    /* Reads a regular file (after following links) of at most @max bytes; NUL
     * terminated; NULL when absent, not a file, or larger (caller frees). */
    char *(*read)(const hk_fsread *fs, const char *path, size_t max, size_t *len);
    /* True when @path exists (after following links). */
    bool (*exists)(const hk_fsread *fs, const char *path);
    /* True when @path is a directory (after following links). */
    bool (*is_dir)(const hk_fsread *fs, const char *path);
    /* Entry names of a directory, NULL-terminated, sorted; NULL when not a
     * directory (caller frees with hk_strv_free). */
    char **(*list)(const hk_fsread *fs, const char *dir);
};

/* A view of the directory @root (the guest's /).  Caller frees with hk_fsread_dir_free. */
hk_fsread *hk_fsread_dir_new(const char *root);
void hk_fsread_dir_free(hk_fsread *fs);

#endif
