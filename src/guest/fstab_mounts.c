/*
 * An fstab's mounts resolved to the appliance's devices: see fstab_mounts.h.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/internal.h"
#include "core/util.h"
#include "guest/fstab_mounts.h"

#define MAX_FIELD 4096
#define MAX_LINES 10000

/* File system types that are not a local block device of the guest. */
static const char *const skipped_types[] = {
    "swap",       "none",     "proc",    "sysfs",    "tmpfs",    "devtmpfs",    "devpts",
    "ramfs",      "cgroup",   "cgroup2", "debugfs",  "tracefs",  "securityfs",  "mqueue",
    "hugetlbfs",  "configfs", "fusectl", "pstore",   "efivarfs", "binfmt_misc", "autofs",
    "nfs",        "nfs4",     "cifs",    "smb3",     "smbfs",    "ncpfs",       "sshfs",
    "glusterfs",  "ceph",     "9p",      "virtiofs", "fuse",     "iso9660",     "udf",
    "rpc_pipefs", "nfsd",     "overlay", "squashfs", "zfs",
};

static bool
type_skipped(const char *type)
{
    if (strncmp(type, "fuse.", 5) == 0)
        return true;
    for (size_t i = 0; i < HK_ARRAY_LEN(skipped_types); i++)
        if (strcmp(type, skipped_types[i]) == 0)
            return true;
    return false;
}

/* The value of option @key ("subvol") in the comma list @opts, or NULL
 * (caller frees); *present says whether the bare word or key= is there. */
static char *
option_value(const char *opts, const char *key, bool *present)
{
    size_t kl = strlen(key);
    *present = false;
    for (const char *p = opts; p && *p;) {
        const char *end = strchr(p, ',');
        size_t n = end ? (size_t)(end - p) : strlen(p);
        if (n >= kl && strncmp(p, key, kl) == 0 && (n == kl || p[kl] == '=')) {
            *present = true;
            return n > kl ? hk_strndup(p + kl + 1, n - kl - 1) : NULL;
        }
        p = end ? end + 1 : NULL;
    }
    return NULL;
}

static bool
has_option(const char *opts, const char *key)
{
    bool present;
    free(option_value(opts, key, &present));
    return present;
}

/* fstab's octal escapes (\040 for a blank) decoded in place; false when an
 * escape would give NUL. */
static bool
unescape(char *s)
{
    char *w = s;
    for (const char *r = s; *r; r++) {
        if (r[0] == '\\' && r[1] >= '0' && r[1] <= '3' && r[2] >= '0' && r[2] <= '7' &&
            r[3] >= '0' && r[3] <= '7') {
            int v = (r[1] - '0') * 64 + (r[2] - '0') * 8 + (r[3] - '0');
            if (v == 0)
                return false;
            *w++ = (char)v;
            r += 3;
        } else {
            *w++ = *r;
        }
    }
    *w = '\0';
    return true;
}

/* "/dev/mapper/vg-lv" -> "/dev/vg/lv" (device-mapper doubles a '-' inside a
 * name); NULL when it is not a VG-LV name. */
static char *
mapper_to_lv(const char *name)
{
    hk_buf b = {0};
    hk_buf_puts(&b, "/dev/");
    bool split = false;
    for (const char *p = name; *p; p++) {
        if (p[0] == '-' && p[1] == '-') {
            hk_buf_puts(&b, "-");
            p++;
        } else if (p[0] == '-' && !split && p != name && p[1]) {
            hk_buf_puts(&b, "/");
            split = true;
        } else if (p[0] == '/') {
            split = false;
            break;
        } else {
            hk_buf_append(&b, p, 1);
        }
    }
    if (!split) {
        hk_buf_free(&b);
        return NULL;
    }
    return hk_buf_steal(&b);
}

static bool
is_btrfsvol(const char *dev)
{
    return hk_startswith(dev, "btrfsvol:");
}

static const hk_dev *
find_exact(const hk_devmap *map, const char *device)
{
    for (size_t i = 0; i < map->n; i++)
        if (map->devs[i].device && strcmp(map->devs[i].device, device) == 0)
            return &map->devs[i];
    return NULL;
}

/* The one plain (not subvolume) device whose UUID or label is @want. */
static const hk_dev *
find_by_id(const hk_devmap *map, const char *want, bool label)
{
    const hk_dev *found = NULL;
    for (size_t i = 0; i < map->n; i++) {
        const hk_dev *d = &map->devs[i];
        const char *v = label ? d->label : d->uuid;
        if (!v || !d->device || is_btrfsvol(d->device))
            continue;
        if (label ? strcmp(v, want) == 0 : strcasecmp(v, want) == 0) {
            if (found)
                return NULL; /* ambiguous: a cloned disk */
            found = d;
        }
    }
    return found;
}

static const hk_dev *
resolve_spec(const hk_devmap *map, const char *spec)
{
    if (hk_startswith(spec, "UUID="))
        return find_by_id(map, spec + 5, false);
    if (hk_startswith(spec, "/dev/disk/by-uuid/"))
        return find_by_id(map, spec + 18, false);
    if (hk_startswith(spec, "LABEL="))
        return find_by_id(map, spec + 6, true);
    if (hk_startswith(spec, "/dev/disk/by-label/"))
        return strchr(spec, '\\') ? NULL : find_by_id(map, spec + 19, true);
    if (hk_startswith(spec, "/dev/mapper/")) {
        char *lv = mapper_to_lv(spec + 12);
        const hk_dev *d = lv ? find_exact(map, lv) : NULL;
        free(lv);
        return d;
    }
    if (!hk_startswith(spec, "/dev/"))
        return NULL;
    const hk_dev *d = hk_devmap_lookup(map, spec);
    return d && d->device && !is_btrfsvol(d->device) ? d : NULL;
}

const char *
hk_mountable_device(const hk_devmap *map, const char *mountable)
{
    if (!map || !mountable || !is_btrfsvol(mountable))
        return mountable;
    const char *rest = mountable + 9;
    const char *best = NULL;
    size_t best_len = 0;
    for (size_t i = 0; i < map->n; i++) {
        const char *d = map->devs[i].device;
        size_t l = d ? strlen(d) : 0;
        if (l && !is_btrfsvol(d) && strncmp(rest, d, l) == 0 && rest[l] == '/' && l > best_len) {
            best = d;
            best_len = l;
        }
    }
    return best ? best : mountable;
}

void
hk_fstab_mounts_free(hk_fstab_mounts *m)
{
    if (!m)
        return;
    size_t n = m->n; /* both arrays hold n strings */
    hk_strv_clear(&m->mountpoint, &n);
    n = m->n;
    hk_strv_clear(&m->mountable, &n);
    free(m->unresolved);
    memset(m, 0, sizeof(*m));
}

/* One fstab line split into its first four fields (NUL-terminated in @line). */
static size_t
split_fields(char *line, char *f[4])
{
    size_t n = 0;
    char *save = NULL;
    for (char *t = strtok_r(line, " \t\r\v\f", &save); t && n < 4;
         t = strtok_r(NULL, " \t\r\v\f", &save))
        f[n++] = t;
    return n;
}

typedef enum {
    LINE_SKIP,
    LINE_MOUNT,
    LINE_UNRESOLVED
} line_kind;

/* Classifies one entry; for LINE_MOUNT sets *mountable (malloc'd) and *dev. */
static line_kind
resolve_entry(const hk_devmap *map, char *spec, char *mp, const char *type, const char *opts,
              char **mountable, const hk_dev **dev, const char **why)
{
    *mountable = NULL;
    *dev = NULL;
    if (mp[0] != '/' || strcmp(mp, "/") == 0 || type_skipped(type))
        return LINE_SKIP;
    if (has_option(opts, "bind") || has_option(opts, "rbind") || has_option(opts, "noauto"))
        return LINE_SKIP;
    if (hk_devref_is_removable(spec))
        return LINE_SKIP;
    bool nofail = has_option(opts, "nofail");
    if (!unescape(spec) || !unescape(mp)) {
        *why = "a NUL escape";
        return nofail ? LINE_SKIP : LINE_UNRESOLVED;
    }
    const hk_dev *d = resolve_spec(map, spec);
    if (!d) {
        *why = "no disk of the VM has it";
        return nofail ? LINE_SKIP : LINE_UNRESOLVED;
    }
    bool has_subvol, has_subvolid;
    char *subvol = option_value(opts, "subvol", &has_subvol);
    free(option_value(opts, "subvolid", &has_subvolid));
    if (has_subvolid || (has_subvol && !subvol)) {
        free(subvol);
        *why = "a btrfs subvolume named by number";
        return nofail ? LINE_SKIP : LINE_UNRESOLVED;
    }
    if (subvol) {
        const char *name = subvol[0] == '/' ? subvol + 1 : subvol;
        bool empty = !*name;
        char *vol = hk_asprintf("btrfsvol:%s/%s", d->device, name);
        free(subvol);
        if (!vol)
            return LINE_UNRESOLVED; /* no memory: *why stays NULL */
        if (empty || !find_exact(map, vol)) {
            free(vol);
            *why = "no such btrfs subvolume";
            return nofail ? LINE_SKIP : LINE_UNRESOLVED;
        }
        *mountable = vol;
    } else if (!(*mountable = strdup(d->device))) {
        return LINE_UNRESOLVED;
    }
    *dev = d;
    return LINE_MOUNT;
}

int
hk_fstab_mounts_resolve(const char *fstab, const hk_devmap *map, hk_fstab_mounts *out)
{
    if (!fstab || !map || !out)
        return H2K_ERR_INVALID_ARG;
    char *copy = strdup(fstab);
    if (!copy)
        return H2K_ERR_NO_MEMORY;
    bool oom = false;
    size_t n_mp = 0, n_mt = 0, lineno = 0;
    char *save = NULL;
    for (char *line = strtok_r(copy, "\n", &save); line && !oom && !out->unresolved;
         line = strtok_r(NULL, "\n", &save)) {
        lineno++;
        if (lineno > MAX_LINES) {
            out->unresolved = hk_asprintf("more than %d lines", MAX_LINES);
            break;
        }
        char *f[4];
        size_t nf = split_fields(line, f);
        if (nf < 3 || f[0][0] == '#')
            continue; /* blank, comment, or not an entry: mount(8) ignores it too */
        if (strlen(f[0]) > MAX_FIELD || strlen(f[1]) > MAX_FIELD)
            continue;
        const char *opts = nf >= 4 ? f[3] : "defaults";
        char *mountable = NULL;
        const hk_dev *d = NULL;
        const char *why = NULL;
        line_kind k = resolve_entry(map, f[0], f[1], f[2], opts, &mountable, &d, &why);
        if (k == LINE_SKIP)
            continue;
        if (k == LINE_UNRESOLVED) {
            if (!why) {
                oom = true;
                break;
            }
            out->unresolved = hk_asprintf("line %zu: %s on %s: %s", lineno, f[0], f[1], why);
            if (!out->unresolved)
                oom = true;
            break;
        }
        if (!hk_strv_add(&out->mountpoint, &n_mp, f[1]) ||
            !hk_strv_add(&out->mountable, &n_mt, mountable))
            oom = true;
        free(mountable);
    }
    free(copy);
    if (oom || out->unresolved) {
        /* nothing half-resolved is returned */
        char *why = oom ? NULL : out->unresolved;
        hk_strv_clear(&out->mountpoint, &n_mp);
        hk_strv_clear(&out->mountable, &n_mt);
        free(oom ? out->unresolved : NULL);
        out->unresolved = why;
        out->n = 0;
        return oom ? H2K_ERR_NO_MEMORY : 0;
    }
    out->n = n_mp;
    return 0;
}
