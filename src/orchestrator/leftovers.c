/*
 * What a run killed outright (SIGKILL, power loss) leaves behind, and how a
 * later run of the same output removes it.
 *
 * Each work folder ("h2k-run-XXXXXX") holds a file "owner":
 *
 *     pid=1234
 *     start=987654          (the process's start time, /proc/PID/stat field 22)
 *     boot=<boot id>        (/proc/sys/kernel/random/boot_id)
 *     target=/abs/out/vm.xml
 *     done=/abs/out/vm-disk1.qcow2    (one line per output the run completed)
 *
 * The owner is alive when the same boot, a process PID exists and it started
 * at the same time (so a reused pid is not mistaken for it).  A run removes,
 * before it starts work, the work folders of dead owners with the same
 * target, the "<output>.part*" files of its outputs when no live run of that
 * target exists, and the outputs a dead run completed (disks, the XML, the
 * reports: a run lists each one as it completes it) when its XML does not
 * exist or is one of them: a run whose work folder is left did not finish,
 * and an XML present before it started would have stopped it.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "orch_internal.h"

#define DOM "orchestrator"
#define OWNER_FILE "owner"
#define OWNER_MAX 65536

/* Reads a small file (no symlink followed); NULL when absent or unreadable. */
static char *
read_small(int dirfd, const char *name)
{
    int fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0)
        return NULL;
    struct stat sb;
    char *buf = NULL;
    if (fstat(fd, &sb) == 0 && S_ISREG(sb.st_mode) && sb.st_size < OWNER_MAX &&
        (buf = malloc((size_t)sb.st_size + 1)) != NULL) {
        ssize_t n = read(fd, buf, (size_t)sb.st_size);
        if (n < 0) {
            free(buf);
            buf = NULL;
        } else {
            buf[n] = '\0';
        }
    }
    close(fd);
    return buf;
}

/* Start time of process @pid (clock ticks after boot), 0 when it does not exist. */
static unsigned long long
proc_start(long pid)
{
    char path[64];
    snprintf(path, sizeof(path), "/proc/%ld/stat", pid);
    /* st_size of /proc files is 0: read up to a page */
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return 0;
    char *s = calloc(1, 4096);
    ssize_t n = s ? read(fd, s, 4095) : -1;
    close(fd);
    if (n <= 0) {
        free(s);
        return 0;
    }
    unsigned long long start = 0;
    char *p = strrchr(s, ')'); /* the command name may hold spaces */
    if (p) {
        /* after ")": state is field 3; start time is field 22 */
        int field = 2;
        for (char *q = p + 1; *q && field < 22; q++)
            if (*q == ' ' && q[1] != ' ')
                field++, p = q + 1;
        if (field == 22)
            start = strtoull(p, NULL, 10);
    }
    free(s);
    return start;
}

static void
boot_id(char out[64])
{
    out[0] = '\0';
    int fd = open("/proc/sys/kernel/random/boot_id", O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return;
    ssize_t n = read(fd, out, 63);
    close(fd);
    if (n < 0)
        n = 0;
    out[n] = '\0';
    out[strcspn(out, "\n")] = '\0';
}

int
hk_orch_owner_write(h2k_ctx *ctx, const char *work_dir, const char *target)
{
    char boot[64];
    boot_id(boot);
    long pid = (long)getpid();
    char *text = hk_asprintf("pid=%ld\nstart=%llu\nboot=%s\ntarget=%s\n", pid, proc_start(pid),
                             boot, target ? target : "");
    char *path = hk_path_join(work_dir, OWNER_FILE);
    if (!text || !path) {
        free(text);
        free(path);
        return hk_error_nomem(ctx);
    }
    int rc = 0;
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0 || write(fd, text, strlen(text)) != (ssize_t)strlen(text))
        rc = hk_error_errno(ctx, errno, path, "cannot write the work folder's owner file");
    if (fd >= 0 && close(fd) < 0 && rc == 0)
        rc = hk_error_errno(ctx, errno, path, "cannot write the work folder's owner file");
    free(text);
    free(path);
    return rc;
}

void
hk_orch_owner_add_done(const char *work_dir, const char *output)
{
    char *path = hk_path_join(work_dir, OWNER_FILE);
    char *line = hk_asprintf("done=%s\n", output);
    if (path && line) {
        int fd = open(path, O_WRONLY | O_APPEND | O_NOFOLLOW | O_CLOEXEC);
        if (fd >= 0) {
            if (write(fd, line, strlen(line)) < 0) {
                /* best effort: without it a rerun refuses the output as existing */
            }
            close(fd);
        }
    }
    free(path);
    free(line);
}

/* The value of "key=" on its own line of @text (a pointer into @text, ended by
 * '\n' or NUL: copied by the caller), or NULL. */
static const char *
owner_field(const char *text, const char *key, size_t *len)
{
    size_t kl = strlen(key);
    for (const char *p = text; p && *p;) {
        if (strncmp(p, key, kl) == 0 && p[kl] == '=') {
            *len = strcspn(p + kl + 1, "\n");
            return p + kl + 1;
        }
        p = strchr(p, '\n');
        if (p)
            p++;
    }
    return NULL;
}

static bool
field_is(const char *text, const char *key, const char *want)
{
    size_t len = 0;
    const char *v = owner_field(text, key, &len);
    return v && len == strlen(want) && strncmp(v, want, len) == 0;
}

/* True while the run that wrote @owner (an owner file's text) may still run. */
static bool
owner_alive(const char *owner)
{
    size_t len = 0;
    const char *v = owner_field(owner, "pid", &len);
    long pid = v ? strtol(v, NULL, 10) : 0;
    v = owner_field(owner, "start", &len);
    unsigned long long start = v ? strtoull(v, NULL, 10) : 0;
    if (pid <= 0 || start == 0)
        return true; /* unreadable: never assume it died */
    char boot[64];
    boot_id(boot);
    if (boot[0] && !field_is(owner, "boot", boot))
        return false; /* written before the last boot */
    return proc_start(pid) == start;
}

/* Removes "<base>.part*" files in @dir (the temporary names a run writes
 * @path under). */
static void
remove_parts(h2k_ctx *ctx, const char *path)
{
    char *dir = hk_dirname(path);
    const char *slash = strrchr(path, '/');
    const char *base = slash ? slash + 1 : path;
    char *prefix = hk_asprintf("%s.part", base);
    DIR *d = dir ? opendir(dir) : NULL;
    if (d && prefix) {
        struct dirent *e;
        while ((e = readdir(d)) != NULL)
            if (hk_startswith(e->d_name, prefix)) {
                hk_info(ctx, DOM, "removing %s/%s, left by an interrupted run", dir, e->d_name);
                unlinkat(dirfd(d), e->d_name, 0);
            }
    }
    if (d)
        closedir(d);
    free(prefix);
    free(dir);
}

/* True when the owner file text @owner lists @path as done. */
static bool
owner_lists_done(const char *owner, const char *path)
{
    size_t pl = strlen(path);
    for (const char *p = owner; p && *p;) {
        size_t len = strcspn(p, "\n");
        if (len == pl + 5 && strncmp(p, "done=", 5) == 0 && strncmp(p + 5, path, pl) == 0)
            return true;
        p += len;
        if (*p == '\n')
            p++;
    }
    return false;
}

void
hk_orch_clean_leftovers(h2k_ctx *ctx, const char *target, const char *const *outputs, size_t n)
{
    const char *tmp = h2k_ctx_tmpdir(ctx);
    DIR *d = opendir(tmp);
    if (!d)
        return;
    bool live = false;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (!hk_startswith(e->d_name, "h2k-run-") || hk_check_cancel(ctx) < 0)
            continue;
        int fd = openat(dirfd(d), e->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0)
            continue;
        struct stat sb;
        char *owner = NULL;
        if (fstat(fd, &sb) == 0 && sb.st_uid == geteuid())
            owner = read_small(fd, OWNER_FILE);
        close(fd);
        if (!owner || !field_is(owner, "target", target)) {
            free(owner);
            continue;
        }
        if (owner_alive(owner)) {
            live = true;
            free(owner);
            continue;
        }
        hk_info(ctx, DOM, "removing %s/%s, the work folder of an interrupted run of %s", tmp,
                e->d_name, target);
        /* the outputs it completed, unless a VM it did not write is there */
        if (access(target, F_OK) != 0 || owner_lists_done(owner, target)) {
            for (const char *p = owner; p && *p;) {
                size_t len = strcspn(p, "\n");
                if (len > 5 && strncmp(p, "done=", 5) == 0) {
                    char *out = hk_strndup(p + 5, len - 5);
                    bool ours = out && strcmp(out, target) == 0;
                    for (size_t i = 0; out && !ours && i < n; i++)
                        ours = outputs[i] && strcmp(out, outputs[i]) == 0;
                    if (ours) {
                        hk_info(ctx, DOM, "removing %s, written by an interrupted run", out);
                        unlink(out);
                    }
                    free(out);
                }
                p += len;
                if (*p == '\n')
                    p++;
            }
        }
        free(owner);
        hk_remove_tree_at(dirfd(d), e->d_name);
    }
    closedir(d);
    if (live) {
        hk_info(ctx, DOM, "another run of %s is in progress: its temporary files are kept", target);
        return;
    }
    for (size_t i = 0; i < n; i++)
        if (outputs[i])
            remove_parts(ctx, outputs[i]);
    remove_parts(ctx, target);
}
