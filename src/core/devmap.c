/*
 * The block devices of a guest and the device references of its configuration
 * files (see devmap.h).
 *
 * Device lookup rules (hk_devmap_lookup):
 *  - an exact match of hk_dev.device wins;
 *  - "/dev/sdX[N]", "/dev/hdX[N]", "/dev/xvdX[N]", "/dev/vdX[N]": X is the disk
 *    letter(s) (a = disk 0, z = 25, aa = 26, at most three letters) and N the
 *    partition (none = whole disk, 0);
 *  - "/dev/nvme0nK[pN]": disk K-1, partition N.  VMware puts every disk of an
 *    NVMe controller in its own namespace, so this assumes a single NVMe
 *    controller (controller numbers other than 0 are not mapped);
 *  - "/dev/disk/by-path/pci-<addr>-scsi-H:0:T:0[-partN]": target T names the
 *    disk.  ASSUMPTION: all disks of the source VM sit on one SCSI controller
 *    (VMware's default), so target order is disk order.  Unit 7 is reserved
 *    for the controller on VMware, so target 7 is never a disk and targets
 *    above it shift down by one (0:8 is the 8th disk, index 7).  Any other
 *    by-path form (ata, sas, virtio, vmbus, non-zero channel or LUN) is NULL;
 *  - "/dev/disk/by-id/<anything>-partN": only when the VM has exactly one
 *    disk (n_disks == 1): disk 0, partition N.  Whole-disk by-id names are
 *    not mapped (they as often name a CD-ROM as a disk);
 *  - the device found must be the only one with that (disk, partition).
 */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "core/devmap.h"
#include "core/internal.h"

#define HK_MAX_PART 99999

/* Parses 1..6 decimal digits without a leading zero spanning [s, end of
 * string); returns the value or -1. */
static int
parse_small_uint(const char *s)
{
    if (!s || *s < '1' || *s > '9')
        return -1;
    int v = 0;
    size_t n = 0;
    for (; s[n]; n++) {
        if (s[n] < '0' || s[n] > '9' || n >= 6)
            return -1;
        v = v * 10 + (s[n] - '0');
    }
    return v;
}

bool
hk_parse_disk_name(const char *ref, int *disk_out, int *part_out, size_t *prefix_out)
{
    static const char *const prefixes[] = {"xvd", "sd", "hd", "vd"};
    if (!ref || strncmp(ref, "/dev/", 5) != 0)
        return false;
    const char *p = ref + 5;
    size_t plen = 0;
    for (size_t i = 0; i < HK_ARRAY_LEN(prefixes); i++) {
        size_t l = strlen(prefixes[i]);
        if (strncmp(p, prefixes[i], l) == 0) {
            plen = l;
            break;
        }
    }
    if (plen == 0)
        return false;
    p += plen;
    int idx = 0;
    size_t nl = 0;
    while (*p >= 'a' && *p <= 'z') {
        if (++nl > 3)
            return false;
        idx = idx * 26 + (*p - 'a' + 1);
        p++;
    }
    if (nl == 0)
        return false;
    int part = 0;
    if (*p) {
        part = parse_small_uint(p);
        if (part < 1 || part > HK_MAX_PART)
            return false;
    }
    if (disk_out)
        *disk_out = idx - 1;
    if (part_out)
        *part_out = part;
    if (prefix_out)
        *prefix_out = plen;
    return true;
}

bool
hk_disk_letters(int idx, char out[8])
{
    if (idx < 0 || idx >= 26 + 26 * 26 + 26 * 26 * 26)
        return false;
    char tmp[8];
    size_t n = 0;
    int v = idx + 1;
    while (v > 0 && n < 7) {
        int r = (v - 1) % 26;
        tmp[n++] = (char)('a' + r);
        v = (v - 1) / 26;
    }
    for (size_t i = 0; i < n; i++)
        out[i] = tmp[n - 1 - i];
    out[n] = '\0';
    return true;
}

/* Reads 1..6 digits at *p (no leading zero except "0" itself). */
static bool
read_num(const char **p, int *out)
{
    const char *s = *p;
    if (*s < '0' || *s > '9' || (s[0] == '0' && s[1] >= '0' && s[1] <= '9'))
        return false;
    int v = 0;
    size_t n = 0;
    while (s[n] >= '0' && s[n] <= '9') {
        if (n >= 6)
            return false;
        v = v * 10 + (s[n] - '0');
        n++;
    }
    *p = s + n;
    *out = v;
    return true;
}

/* "/dev/nvme<C>n<NS>[p<P>]" */
static bool
parse_nvme_name(const char *ref, int *ctrl, int *ns, int *part)
{
    if (strncmp(ref, "/dev/nvme", 9) != 0)
        return false;
    const char *p = ref + 9;
    if (!read_num(&p, ctrl) || *p++ != 'n' || !read_num(&p, ns) || *ns < 1)
        return false;
    *part = 0;
    if (*p == 'p') {
        p++;
        if (!read_num(&p, part) || *part < 1)
            return false;
    }
    return *p == '\0';
}

/* by-id names that do not depend on the hypervisor's disk naming. */
static bool
by_id_is_stable(const char *name)
{
    return hk_startswith(name, "dm-") || hk_startswith(name, "md-") ||
           hk_startswith(name, "lvm-pv-uuid-");
}

bool
hk_devref_is_unstable(const char *ref)
{
    if (!ref)
        return false;
    int d, p, c;
    size_t plen;
    if (hk_parse_disk_name(ref, &d, &p, &plen))
        return !(plen == 2 && ref[5] == 'v'); /* /dev/vdX is stable on KVM */
    if (parse_nvme_name(ref, &c, &d, &p))
        return true;
    if (hk_startswith(ref, "/dev/disk/by-path/") && ref[18] != '\0')
        return true;
    if (hk_startswith(ref, "/dev/disk/by-id/") && ref[16] != '\0')
        return !by_id_is_stable(ref + 16);
    return false;
}

/* Splits a trailing "-partN" off @name: returns N (>= 1) and sets *base_len,
 * or 0 when absent. */
static int
split_part_suffix(const char *name, size_t *base_len)
{
    size_t len = strlen(name);
    const char *dash = NULL;
    for (size_t i = len; i > 0; i--) {
        if (name[i - 1] == '-') {
            dash = name + i - 1;
            break;
        }
    }
    if (!dash || strncmp(dash, "-part", 5) != 0)
        return 0;
    int n = parse_small_uint(dash + 5);
    if (n < 1 || n > HK_MAX_PART)
        return 0;
    *base_len = (size_t)(dash - name);
    return n;
}

/* pci-<addr>-scsi-H:C:T:L[-partN] -> disk index, partition. */
static bool
parse_by_path(const char *name, int *disk, int *part)
{
    if (!hk_startswith(name, "pci-"))
        return false;
    const char *s = strstr(name, "-scsi-");
    if (!s || strstr(s + 1, "-scsi-"))
        return false;
    s += 6;
    long v[4];
    for (int k = 0; k < 4; k++) {
        if (*s < '0' || *s > '9')
            return false;
        long x = 0;
        size_t n = 0;
        while (*s >= '0' && *s <= '9') {
            if (++n > 6)
                return false;
            x = x * 10 + (*s - '0');
            s++;
        }
        v[k] = x;
        if (k < 3) {
            if (*s != ':')
                return false;
            s++;
        }
    }
    int p = 0;
    if (*s) {
        if (strncmp(s, "-part", 5) != 0)
            return false;
        p = parse_small_uint(s + 5);
        if (p < 1 || p > HK_MAX_PART)
            return false;
    }
    if (v[1] != 0 || v[3] != 0) /* channel and LUN */
        return false;
    long t = v[2];
    if (t == 7)
        return false;
    if (t > 7)
        t--;
    if (t > 100000)
        return false;
    *disk = (int)t;
    *part = p;
    return true;
}

static const hk_dev *
find_disk_part(const hk_devmap *map, int disk, int part)
{
    const hk_dev *found = NULL;
    for (size_t i = 0; i < map->n; i++) {
        const hk_dev *d = &map->devs[i];
        if (d->disk_index == disk && d->partition == part) {
            if (found)
                return NULL; /* ambiguous */
            found = d;
        }
    }
    return found;
}

const hk_dev *
hk_devmap_lookup(const hk_devmap *map, const char *ref)
{
    if (!map || !ref || !*ref || (map->n > 0 && !map->devs))
        return NULL;
    for (size_t i = 0; i < map->n; i++) {
        if (map->devs[i].device && strcmp(map->devs[i].device, ref) == 0)
            return &map->devs[i];
    }
    int disk, part, ctrl, ns;
    if (hk_parse_disk_name(ref, &disk, &part, NULL))
        return find_disk_part(map, disk, part);
    if (parse_nvme_name(ref, &ctrl, &ns, &part)) {
        if (ctrl != 0)
            return NULL;
        return find_disk_part(map, ns - 1, part);
    }
    if (hk_startswith(ref, "/dev/disk/by-path/")) {
        if (parse_by_path(ref + 18, &disk, &part))
            return find_disk_part(map, disk, part);
        return NULL;
    }
    if (hk_startswith(ref, "/dev/disk/by-id/")) {
        const char *name = ref + 16;
        size_t base = 0;
        if (by_id_is_stable(name) || map->n_disks != 1)
            return NULL;
        part = split_part_suffix(name, &base);
        if (part < 1 || base == 0)
            return NULL;
        return find_disk_part(map, 0, part);
    }
    return NULL;
}

static bool
starts_digits_or_end(const char *s)
{
    for (; *s; s++)
        if (*s < '0' || *s > '9')
            return false;
    return true;
}

bool
hk_devref_is_removable(const char *ref)
{
    static const char *const anyrest[] = {"/dev/floppy", "/dev/cdrom", "/dev/cdrw", "/dev/dvd"};
    static const char *const numbered[] = {"/dev/fd", "/dev/sr", "/dev/scd"};
    for (size_t i = 0; i < HK_ARRAY_LEN(anyrest); i++)
        if (hk_startswith(ref, anyrest[i]))
            return true;
    for (size_t i = 0; i < HK_ARRAY_LEN(numbered); i++) {
        size_t l = strlen(numbered[i]);
        if (strncmp(ref, numbered[i], l) == 0 && starts_digits_or_end(ref + l))
            return true;
    }
    return false;
}
