/*
 * The libguestfs handle of a guest: launch once, inspect, mount, and a
 * read-only file view for detection.
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "detect_files.h"
#include "gfs.h"
#include "win_inspect.h"
#include "hyper2kvm/h2k_disk.h"

int
hk_gfs_error(hk_gfs *gfs, int code, const char *what)
{
    if (h2k_ctx_is_cancelled(gfs->ctx))
        return hk_error(gfs->ctx, H2K_ERR_CANCELLED, "cancelled: %s (appliance stopped)", what);
    const char *msg = guestfs_last_error(gfs->g);
    return hk_error(gfs->ctx, code, "%s: %s", what, msg ? msg : "libguestfs failed");
}

/* ------------------------------------------------------ cancel watcher */

/* libguestfs serialises the calls on a handle with a lock held for the whole
 * call, so the watcher never calls into libguestfs: it kills the qemu child
 * itself.  That child is known by its pid once launched, and during the
 * launch by its command line, which names the handle's private socket folder. */
struct hk_gfs_watch {
    h2k_ctx *ctx;
    char *sockdir;  /* unique to the handle; NULL when unknown */
    atomic_int pid; /* the appliance, once launched; 0 when unknown */
    atomic_bool killed;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    bool stop;
    bool started;
    pthread_t tid;
};

#define WATCH_PERIOD_MS 100

/* The parent pid of @pid (from /proc/PID/stat), or -1. */
static pid_t
proc_ppid(pid_t pid)
{
    char path[64], buf[512];
    snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
    FILE *f = fopen(path, "re");
    if (!f)
        return -1;
    size_t n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = '\0';
    /* "PID (COMM) STATE PPID ...": COMM may hold spaces and parentheses */
    char *rp = strrchr(buf, ')');
    int ppid;
    if (!rp || sscanf(rp + 1, " %*c %d", &ppid) != 1)
        return -1;
    return (pid_t)ppid;
}

/* True when the command line of @pid contains @needle. */
static bool
proc_cmdline_has(pid_t pid, const char *needle)
{
    char path[64];
    snprintf(path, sizeof(path), "/proc/%d/cmdline", (int)pid);
    FILE *f = fopen(path, "re");
    if (!f)
        return false;
    static const size_t cap = 64 * 1024;
    char *buf = malloc(cap + 1);
    size_t n = buf ? fread(buf, 1, cap, f) : 0;
    fclose(f);
    if (!buf)
        return false;
    for (size_t i = 0; i < n; i++)
        if (buf[i] == '\0')
            buf[i] = ' ';
    buf[n] = '\0';
    bool found = strstr(buf, needle) != NULL;
    free(buf);
    return found;
}

/* True when @pid is a child of this process running the handle's appliance. */
static bool
is_our_appliance(const hk_gfs_watch *w, pid_t pid)
{
    return pid > 0 && proc_ppid(pid) == getpid() &&
           (!w->sockdir || proc_cmdline_has(pid, w->sockdir));
}

/* The appliance of the handle, found among this process's children, or 0. */
static pid_t
find_appliance(const hk_gfs_watch *w)
{
    pid_t known = (pid_t)atomic_load(&w->pid);
    if (known > 0)
        return is_our_appliance(w, known) ? known : 0;
    if (!w->sockdir)
        return 0;
    DIR *d = opendir("/proc");
    if (!d)
        return 0;
    pid_t found = 0;
    struct dirent *e;
    while (!found && (e = readdir(d)) != NULL) {
        if (!isdigit((unsigned char)e->d_name[0]))
            continue;
        pid_t pid = (pid_t)atoi(e->d_name);
        if (is_our_appliance(w, pid))
            found = pid;
    }
    closedir(d);
    return found;
}

static void *
watch_thread(void *arg)
{
    hk_gfs_watch *w = arg;
    pthread_mutex_lock(&w->lock);
    while (!w->stop) {
        if (!atomic_load(&w->killed) && h2k_ctx_is_cancelled(w->ctx)) {
            pid_t pid = find_appliance(w);
            if (pid > 0 && kill(pid, SIGKILL) == 0)
                atomic_store(&w->killed, true);
            /* else: not forked yet (or not ours to kill): look again */
        }
        struct timespec ts;
        hk_monotonic_after(&ts, WATCH_PERIOD_MS);
        pthread_cond_timedwait(&w->cond, &w->lock, &ts);
    }
    pthread_mutex_unlock(&w->lock);
    return NULL;
}

/* Starts the watcher of @gfs (before the launch).  Without it a cancel is
 * still seen between calls, so a failure here is only logged. */
static void
watch_start(hk_gfs *gfs)
{
    hk_gfs_watch *w = calloc(1, sizeof(*w));
    if (!w)
        return;
    w->ctx = gfs->ctx;
    char *backend = guestfs_get_backend(gfs->g);
    bool direct = backend && strcmp(backend, "direct") == 0;
    free(backend);
    /* the socket folder tells our qemu from others during the launch */
    w->sockdir = direct ? guestfs_get_sockdir(gfs->g) : NULL;
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&w->cond, &ca);
    pthread_condattr_destroy(&ca);
    pthread_mutex_init(&w->lock, NULL);
    if (!direct) {
        hk_debug(gfs->ctx, "guestfs",
                 "not the direct backend: a cancel waits for the libguestfs call in flight");
    } else if (pthread_create(&w->tid, NULL, watch_thread, w) == 0) {
        w->started = true;
    } else {
        hk_warn(gfs->ctx, "guestfs", "cannot start the cancel watcher: %s", strerror(errno));
    }
    gfs->watch = w;
}

/* Stops the watcher; the appliance is no longer killed after this. */
static void
watch_stop(hk_gfs *gfs)
{
    hk_gfs_watch *w = gfs->watch;
    if (!w || !w->started)
        return;
    pthread_mutex_lock(&w->lock);
    w->stop = true;
    pthread_cond_signal(&w->cond);
    pthread_mutex_unlock(&w->lock);
    pthread_join(w->tid, NULL);
    w->started = false;
}

static void
watch_free(hk_gfs *gfs)
{
    hk_gfs_watch *w = gfs->watch;
    if (!w)
        return;
    watch_stop(gfs);
    pthread_cond_destroy(&w->cond);
    pthread_mutex_destroy(&w->lock);
    free(w->sockdir);
    free(w);
    gfs->watch = NULL;
}

bool
hk_gfs_killed(const hk_gfs *gfs)
{
    return gfs && gfs->watch && atomic_load(&gfs->watch->killed);
}

static void
on_gfs_event(guestfs_h *g, void *opaque, uint64_t event, int event_handle, int flags,
             const char *buf, size_t buf_len, const uint64_t *array, size_t array_len)
{
    (void)g, (void)event, (void)event_handle, (void)flags, (void)array, (void)array_len;
    hk_gfs *gfs = opaque;
    if (!buf || !buf_len)
        return;
    size_t n = buf_len;
    while (n && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
        n--;
    if (n)
        hk_debug(gfs->ctx, "guestfs", "%.*s", (int)n, buf);
}

/* ---------------------------------------------------------- file view */

static hk_gfs *
fs_gfs(const hk_fsread *fs)
{
    return (hk_gfs *)fs->ud;
}

static char *
gfs_read(const hk_fsread *fs, const char *path, size_t max, size_t *len)
{
    guestfs_h *g = fs_gfs(fs)->g;
    if (guestfs_is_file_opts(g, path, GUESTFS_IS_FILE_OPTS_FOLLOWSYMLINKS, 1, -1) != 1)
        return NULL;
    int64_t size = guestfs_filesize(g, path);
    if (size < 0 || (uint64_t)size > max)
        return NULL;
    size_t got = 0;
    char *data = guestfs_read_file(g, path, &got);
    if (!data)
        return NULL;
    char *out = realloc(data, got + 1);
    if (!out) {
        free(data);
        return NULL;
    }
    out[got] = '\0';
    if (len)
        *len = got;
    return out;
}

static bool
gfs_exists(const hk_fsread *fs, const char *path)
{
    return guestfs_exists(fs_gfs(fs)->g, path) == 1;
}

static bool
gfs_is_dir(const hk_fsread *fs, const char *path)
{
    return guestfs_is_dir_opts(fs_gfs(fs)->g, path, GUESTFS_IS_DIR_OPTS_FOLLOWSYMLINKS, 1, -1) == 1;
}

static char **
gfs_list(const hk_fsread *fs, const char *path)
{
    if (!gfs_is_dir(fs, path))
        return NULL;
    return guestfs_ls(fs_gfs(fs)->g, path); /* sorted, NULL-terminated, malloc'd */
}

/* ------------------------------------------------------------- handle */

int
hk_gfs_open(h2k_ctx *ctx, const char *const *disks, const char *const *formats, size_t n_disks,
            bool readonly, hk_gfs **out)
{
    *out = NULL;
    if (!n_disks)
        return hk_error(ctx, H2K_ERR_INVALID_ARG, "no disk given");
    hk_gfs *gfs = calloc(1, sizeof(*gfs));
    if (!gfs)
        return hk_error_nomem(ctx);
    gfs->ctx = ctx;
    gfs->readonly = readonly;
    gfs->n_disks = n_disks;
    gfs->fs = (hk_fsread){gfs, gfs_read, gfs_exists, gfs_is_dir, gfs_list};
    int rc = 0;
    gfs->g = guestfs_create_flags(GUESTFS_CREATE_NO_ENVIRONMENT);
    if (!gfs->g) {
        free(gfs);
        return hk_error(ctx, H2K_ERR_GUEST_DETECTION, "cannot create a libguestfs handle");
    }
    guestfs_set_error_handler(gfs->g, NULL, NULL);
    if (guestfs_parse_environment(gfs->g) < 0) {
        rc = hk_gfs_error(gfs, H2K_ERR_GUEST_DETECTION, "libguestfs environment");
        goto fail;
    }
    guestfs_set_memsize(gfs->g, 1024);
    /* Two or more vCPUs let the guest's own tools (update-initramfs and its
     * compressor, grub-mkconfig, dpkg) use the host's cores; under TCG qemu
     * runs each vCPU in a thread of its own (MTTCG).  Measured on 2 cores,
     * TCG: the Debian guest's repairs in 204 s instead of 239 s. */
    long cpus = hk_host_cpus();
    int smp = cpus >= 4 ? 4 : cpus >= 2 ? (int)cpus : 1;
    if (smp > 1 && guestfs_set_smp(gfs->g, smp) < 0)
        hk_debug(ctx, "guestfs", "cannot set %d vCPUs: %s", smp, guestfs_last_error(gfs->g));
    if (!hk_kvm_possible()) {
        /* libguestfs would pick a /dev/kvm that cannot run its appliance */
        if (guestfs_set_backend_setting(gfs->g, "force_tcg", "1") < 0)
            hk_debug(ctx, "guestfs", "cannot force TCG: %s", guestfs_last_error(gfs->g));
        else
            hk_debug(ctx, "guestfs", "KVM is not usable here: the appliance runs under TCG");
    }
    guestfs_set_event_callback(gfs->g, on_gfs_event,
                               GUESTFS_EVENT_APPLIANCE | GUESTFS_EVENT_LIBRARY |
                                   GUESTFS_EVENT_WARNING,
                               0, gfs);
    for (size_t i = 0; i < n_disks; i++) {
        const char *fmt = formats ? formats[i] : NULL;
        h2k_disk_info *info = NULL;
        if (!fmt) {
            h2k_probe_options po = H2K_PROBE_OPTIONS_INIT;
            if ((rc = h2k_disk_probe(ctx, disks[i], &po, &info)) < 0)
                goto fail;
            fmt = h2k_disk_format_qemu_name(info->format);
        }
        /* Pinned to what was probed: the format, and an absolute name that
         * qemu cannot take for a protocol ("nbd:x", "json:{..}"); an overlay's
         * backing file is pinned by the header we wrote (hk_qcow2_overlay()). */
        char *abs = hk_abspath(disks[i]);
        if (!abs) {
            h2k_disk_info_free(info);
            rc = hk_error_nomem(ctx);
            goto fail;
        }
        /* discard passed through, or fstrim frees nothing in the overlay */
        int r = readonly ? guestfs_add_drive_opts(gfs->g, abs, GUESTFS_ADD_DRIVE_OPTS_FORMAT, fmt,
                                                  GUESTFS_ADD_DRIVE_OPTS_READONLY, 1, -1)
                         : guestfs_add_drive_opts(gfs->g, abs, GUESTFS_ADD_DRIVE_OPTS_FORMAT, fmt,
                                                  GUESTFS_ADD_DRIVE_OPTS_READONLY, 0,
                                                  GUESTFS_ADD_DRIVE_OPTS_DISCARD, "besteffort", -1);
        free(abs);
        h2k_disk_info_free(info);
        if (r < 0) {
            rc = hk_gfs_error(gfs, H2K_ERR_IO, disks[i]);
            hk_error_set_source(ctx, disks[i]);
            goto fail;
        }
    }
    if ((rc = hk_check_cancel(ctx)) < 0)
        goto fail;
    hk_info(ctx, "guestfs", "launching the libguestfs appliance (%zu disk%s)", n_disks,
            n_disks == 1 ? "" : "s");
    watch_start(gfs);
    double t0 = hk_now();
    if (guestfs_launch(gfs->g) < 0) {
        rc = hk_gfs_error(gfs, H2K_ERR_GUEST_DETECTION, "libguestfs appliance launch failed");
        goto fail;
    }
    if (gfs->watch) {
        int pid = guestfs_get_pid(gfs->g);
        if (pid > 0)
            atomic_store(&gfs->watch->pid, pid);
    }
    hk_info(ctx, "guestfs", "appliance up in %.1f s", hk_now() - t0);
    if ((rc = hk_check_cancel(ctx)) < 0)
        goto fail;
    *out = gfs;
    return 0;
fail:
    watch_free(gfs);
    guestfs_close(gfs->g);
    free(gfs);
    return rc;
}

static int
cmp_mp(const void *a, const void *b)
{
    /* shortest mount point first, so "/" is mounted before "/boot" */
    const char *const *x = a, *const *y = b;
    size_t lx = strlen(x[0]), ly = strlen(y[0]);
    return lx < ly ? -1 : lx > ly ? 1 : strcmp(x[0], y[0]);
}

static int mount_all(hk_gfs *gfs, bool ro);

int
hk_gfs_inspect_mount(hk_gfs *gfs)
{
    guestfs_h *g = gfs->g;
    double t0 = hk_now();
    int own = hk_gfs_mount_own(gfs);
    if (own < 0)
        return own;
    if (own == 1) {
        hk_info(gfs->ctx, "guestfs", "guest found from its own files in %.1f s", hk_now() - t0);
        return mount_all(gfs, gfs->readonly);
    }
    char **roots = guestfs_inspect_os(g);
    if (!roots) {
        /* libguestfs' registry reader failing names no file: find the hive */
        const char *le = guestfs_last_error(g);
        bool hivex = le && strstr(le, "Hivex") != NULL;
        int rc = hk_gfs_error(gfs, H2K_ERR_GUEST_DETECTION, "inspection failed");
        if (hivex && !hk_gfs_killed(gfs) && hk_win_diagnose_hives(gfs) < 0)
            return H2K_ERR_GUEST_DETECTION;
        return rc;
    }
    size_t n = hk_strv_len(roots);
    if (n == 0) {
        hk_strv_free(roots);
        return hk_error(gfs->ctx, H2K_ERR_GUEST_DETECTION,
                        "no operating system found on the %zu disk%s", gfs->n_disks,
                        gfs->n_disks == 1 ? "" : "s");
    }
    if (n > 1) {
        hk_buf b = {0};
        for (size_t i = 0; i < n; i++)
            hk_buf_printf(&b, "%s%s", i ? ", " : "", roots[i]);
        int rc = hk_error(gfs->ctx, H2K_ERR_GUEST_DETECTION,
                          "multi-boot guest: %zu operating systems found (%s); convert "
                          "one at a time",
                          n, b.data ? b.data : "");
        hk_buf_free(&b);
        hk_strv_free(roots);
        return rc;
    }
    gfs->root = strdup(roots[0]);
    hk_strv_free(roots);
    if (!gfs->root)
        return hk_error_nomem(gfs->ctx);
    hk_info(gfs->ctx, "guestfs", "guest inspected in %.1f s", hk_now() - t0);

    /* Windows is mounted read-only even in a writable session until its repair
     * decided to change it: ntfs-3g writes to a volume it mounts read-write,
     * and a refused guest (hibernated, no drivers) must stay byte for byte. */
    char *type = guestfs_inspect_get_type(g, gfs->root);
    gfs->mounted_ro = !gfs->readonly && type && strcmp(type, "windows") == 0;
    free(type);
    return mount_all(gfs, gfs->readonly || gfs->mounted_ro);
}

int
hk_gfs_remount_rw(hk_gfs *gfs)
{
    if (!gfs->mounted_ro)
        return 0;
    if (guestfs_umount_all(gfs->g) < 0)
        return hk_gfs_error(gfs, H2K_ERR_IO, "unmounting the guest to remount it read-write");
    gfs->mounted_ro = false;
    return mount_all(gfs, false);
}

int
hk_gfs_quiesce(hk_gfs *gfs)
{
    if (!gfs->root)
        return hk_error(gfs->ctx, H2K_ERR_INVALID_ARG, "quiesce: the guest is not mounted");
    if (guestfs_umount_all(gfs->g) < 0)
        return hk_gfs_error(gfs, H2K_ERR_IO, "unmounting the guest file systems");
    /* the daemon syncs and fsyncs each block device: qemu writes its caches
     * (qcow2 metadata included) to the image files */
    if (guestfs_sync(gfs->g) < 0)
        return hk_gfs_error(gfs, H2K_ERR_IO, "flushing the guest's disks");
    return 0;
}

int
hk_gfs_remount(hk_gfs *gfs)
{
    if (!gfs->root)
        return hk_error(gfs->ctx, H2K_ERR_INVALID_ARG, "remount: the guest was never mounted");
    return mount_all(gfs, gfs->readonly || gfs->mounted_ro);
}

static int
mount_all(hk_gfs *gfs, bool ro)
{
    guestfs_h *g = gfs->g;
    char **mps = gfs->own_mounts ? hk_strv_dup(gfs->own_mounts)
                                 : guestfs_inspect_get_mountpoints(g, gfs->root);
    if (!mps && gfs->own_mounts)
        return hk_error_nomem(gfs->ctx);
    if (!mps)
        return hk_gfs_error(gfs, H2K_ERR_GUEST_DETECTION, "cannot list mount points");
    size_t nm = hk_strv_len(mps) / 2;
    qsort(mps, nm, 2 * sizeof(char *), cmp_mp);
    int rc = 0;
    for (size_t i = 0; i < nm; i++) {
        const char *mp = mps[2 * i], *dev = mps[2 * i + 1];
        int r = ro ? guestfs_mount_ro(g, dev, mp) : guestfs_mount(g, dev, mp);
        if (r < 0) {
            if (strcmp(mp, "/") == 0) {
                rc = hk_gfs_error(gfs, H2K_ERR_GUEST_DETECTION,
                                  "cannot mount the root file system");
                break;
            }
            hk_warn(gfs->ctx, "guestfs", "cannot mount %s on %s: %s", dev, mp,
                    guestfs_last_error(g));
        }
    }
    hk_strv_free(mps);
    return rc;
}

static char *
own(char *s)
{
    /* libguestfs strings are malloc'd: adopt them; "unknown" means nothing */
    if (s && strcmp(s, "unknown") == 0) {
        free(s);
        return NULL;
    }
    return s;
}

static void
detect_firmware(hk_gfs *gfs, h2k_guest_identity *id)
{
    guestfs_h *g = gfs->g;
    char **devs = guestfs_list_devices(g);
    id->firmware = H2K_FIRMWARE_BIOS;
    for (size_t i = 0; devs && devs[i]; i++) {
        char *pt = guestfs_part_get_parttype(g, devs[i]);
        if (pt && strcmp(pt, "gpt") == 0) {
            struct guestfs_partition_list *parts = guestfs_part_list(g, devs[i]);
            for (size_t p = 0; parts && p < parts->len; p++) {
                char *t = guestfs_part_get_gpt_type(g, devs[i], parts->val[p].part_num);
                if (t && strcasecmp(t, "C12A7328-F81F-11D2-BA4B-00A0C93EC93B") == 0)
                    id->firmware = H2K_FIRMWARE_UEFI;
                free(t);
            }
            if (parts)
                guestfs_free_partition_list(parts);
        }
        free(pt);
    }
    hk_strv_free(devs);
}

/* A guest mounted from its own fstab: everything comes from its files. */
static int
own_identity(hk_gfs *gfs, h2k_guest_identity *id)
{
    if (!(id->root_device = strdup(gfs->root)))
        return hk_error_nomem(gfs->ctx);
    for (size_t i = 0; gfs->own_mounts[i] && gfs->own_mounts[i + 1]; i += 2)
        if (!hk_guest_add_mount(id, gfs->own_mounts[i + 1], gfs->own_mounts[i]))
            return hk_error_nomem(gfs->ctx);
    detect_firmware(gfs, id);
    int rc = hk_guest_detect_files(gfs->ctx, &gfs->fs, id, false);
    if (rc == 0 && id->type != H2K_GUEST_LINUX)
        rc = hk_error(gfs->ctx, H2K_ERR_GUEST_DETECTION,
                      "%s holds /etc/fstab but is not a Linux system", gfs->root);
    return rc;
}

int
hk_gfs_identity(hk_gfs *gfs, h2k_guest_identity **out)
{
    *out = NULL;
    guestfs_h *g = gfs->g;
    h2k_guest_identity *id = calloc(1, sizeof(*id));
    if (!id)
        return hk_error_nomem(gfs->ctx);
    if (gfs->own_mounts) {
        int rc = own_identity(gfs, id);
        if (rc < 0) {
            h2k_guest_identity_free(id);
            return rc;
        }
        *out = id;
        return 0;
    }
    char *type = guestfs_inspect_get_type(g, gfs->root);
    id->type = type && strcmp(type, "linux") == 0     ? H2K_GUEST_LINUX
               : type && strcmp(type, "windows") == 0 ? H2K_GUEST_WINDOWS
                                                      : H2K_GUEST_UNKNOWN;
    free(type);
    if (id->type == H2K_GUEST_UNKNOWN) {
        h2k_guest_identity_free(id);
        return hk_error(gfs->ctx, H2K_ERR_GUEST_DETECTION,
                        "unsupported guest operating system on %s", gfs->root);
    }
    id->os_id = own(guestfs_inspect_get_distro(g, gfs->root));
    id->major_version = guestfs_inspect_get_major_version(g, gfs->root);
    id->minor_version = guestfs_inspect_get_minor_version(g, gfs->root);
    id->os_pretty = own(guestfs_inspect_get_product_name(g, gfs->root));
    id->architecture = own(guestfs_inspect_get_arch(g, gfs->root));
    id->hostname = own(guestfs_inspect_get_hostname(g, gfs->root));
    id->root_device = strdup(gfs->root);
    char *pm = own(guestfs_inspect_get_package_management(g, gfs->root));
    id->package_manager = pm;
    if (id->type == H2K_GUEST_WINDOWS) {
        id->distro_family = strdup("windows");
        free(id->os_id);
        id->os_id = strdup("windows");
        id->os_version = hk_asprintf("%d.%d", id->major_version, id->minor_version);
    }
    char **mps = guestfs_inspect_get_mountpoints(g, gfs->root);
    for (size_t i = 0; mps && mps[i] && mps[i + 1]; i += 2)
        if (!hk_guest_add_mount(id, mps[i + 1], mps[i]))
            break;
    hk_strv_free(mps);
    detect_firmware(gfs, id);
    /* the guest's own files fill in the rest (os-release, kernels, tools, network) */
    int rc = hk_guest_detect_files(gfs->ctx, &gfs->fs, id, false);
    if (rc < 0 && id->type != H2K_GUEST_UNKNOWN)
        rc = 0; /* inspection already identified the OS */
    if (rc == 0 && id->type == H2K_GUEST_WINDOWS)
        rc = hk_win_inspect(gfs, id);
    if (rc < 0) {
        h2k_guest_identity_free(id);
        return rc;
    }
    *out = id;
    return 0;
}

int
hk_gfs_close(hk_gfs *gfs)
{
    if (!gfs)
        return 0;
    int rc = 0;
    watch_stop(gfs);
    if (gfs->g && (hk_gfs_killed(gfs) || h2k_ctx_is_cancelled(gfs->ctx))) {
        /* cancelled: stop the appliance, flush nothing */
        hk_info(gfs->ctx, "guestfs", "cancelled: the appliance is stopped without a sync");
        guestfs_close(gfs->g);
    } else if (gfs->g) {
        if (gfs->root && guestfs_umount_all(gfs->g) < 0 && !gfs->readonly)
            rc = hk_gfs_error(gfs, H2K_ERR_IO, "unmounting the guest file systems");
        if (guestfs_shutdown(gfs->g) < 0 && !gfs->readonly && rc == 0)
            rc = hk_gfs_error(gfs, H2K_ERR_IO, "shutting the appliance down");
        guestfs_close(gfs->g);
    }
    watch_free(gfs);
    free(gfs->root);
    hk_strv_free(gfs->own_mounts);
    hk_gfs_devices_free(gfs);
    free(gfs);
    return rc;
}
